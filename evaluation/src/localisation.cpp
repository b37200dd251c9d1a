#include <bowlrp/evaluation/localisation.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace bowlrp::evaluation {

void LocalisationOptions::validate() const {
  if (!(sigma >= 0.0) || !std::isfinite(sigma)) {
    throw std::invalid_argument("LocalisationOptions.sigma = " + std::to_string(sigma) +
                                "; expected a smoothing width >= 0 px (0 = none)");
  }
  if (!(tolerance >= 0.0) || !std::isfinite(tolerance)) {
    throw std::invalid_argument("LocalisationOptions.tolerance = " + std::to_string(tolerance) +
                                "; expected a hit radius >= 0 px (Zhang et al. 2016 use 15)");
  }
}

bow::Box voc_box_to_pixels(int xmin, int ymin, int xmax, int ymax) {
  bow::Box b;
  b.x0 = xmin - 1;
  b.y0 = ymin - 1;
  b.x1 = xmax;
  b.y1 = ymax;
  return b;
}

RegionMask mask_from_boxes(int width, int height, const std::vector<bow::Box>& boxes) {
  if (width < 1 || height < 1) {
    throw std::invalid_argument("mask_from_boxes: image " + std::to_string(width) + "x" + std::to_string(height) +
                                "; expected a non-empty size");
  }
  RegionMask m{width, height, std::vector<unsigned char>(static_cast<std::size_t>(width) * height, 0)};
  for (const bow::Box& b : boxes) {
    const int x0 = std::max(0, b.x0), x1 = std::min(width, b.x1);
    const int y0 = std::max(0, b.y0), y1 = std::min(height, b.y1);
    for (int y = y0; y < y1; ++y) std::fill_n(m.values.begin() + static_cast<std::size_t>(y) * width + x0, std::max(0, x1 - x0), 1);
  }
  return m;
}

RegionMask mask_from_labels(int width, int height, const unsigned char* labels, unsigned char label) {
  if (width < 1 || height < 1 || !labels) {
    throw std::invalid_argument("mask_from_labels: label image " + std::to_string(width) + "x" +
                                std::to_string(height) + " is empty; expected W x H palette indices");
  }
  RegionMask m{width, height, std::vector<unsigned char>(static_cast<std::size_t>(width) * height)};
  for (std::size_t i = 0; i < m.values.size(); ++i) {
    m.values[i] = labels[i] == 255 ? 255 : (labels[i] == label ? 1 : 0);
  }
  return m;
}

Localisation localise(const double* relevance, int width, int height, const RegionMask& region,
                      const LocalisationOptions& options) {
  options.validate();
  const std::size_t n = static_cast<std::size_t>(std::max(width, 0)) * std::max(height, 0);
  if (!relevance || n == 0) {
    throw std::invalid_argument("localise: relevance map " + std::to_string(width) + "x" + std::to_string(height) +
                                " is empty; expected a W x H map");
  }
  if (region.width != width || region.height != height || region.values.size() != n) {
    throw std::invalid_argument("localise: region mask is " + std::to_string(region.width) + "x" +
                                std::to_string(region.height) + " but the map is " + std::to_string(width) + "x" +
                                std::to_string(height) + "; expected the same size");
  }
  Localisation out;
  double inside = 0.0, total = 0.0;
  std::size_t in_px = 0, valid_px = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char v = region.values[i];
    if (v == 255) continue;
    const double r = std::max(relevance[i], 0.0);
    ++valid_px;
    total += r;
    if (v) {
      ++in_px;
      inside += r;
    }
  }
  out.positive_total = total;
  out.relevance_share = total > 0.0 ? inside / total : 0.0;
  out.area_share = valid_px ? static_cast<double>(in_px) / static_cast<double>(valid_px) : 0.0;

  // Pointing game on the smoothed map.
  cv::Mat map(height, width, CV_64F, const_cast<double*>(relevance));
  cv::Mat smooth;
  if (options.sigma > 0.0) {
    cv::GaussianBlur(map, smooth, cv::Size(0, 0), options.sigma, options.sigma, cv::BORDER_REFLECT_101);
  } else {
    smooth = map;
  }
  double best = -std::numeric_limits<double>::infinity(), worst = std::numeric_limits<double>::infinity();
  int bx = 0, by = 0;
  for (int y = 0; y < height; ++y) {
    const double* row = smooth.ptr<double>(y);
    for (int x = 0; x < width; ++x) {
      if (row[x] > best) {
        best = row[x];
        bx = x;
        by = y;
      }
      worst = std::min(worst, row[x]);
    }
  }
  out.point_x = bx;
  out.point_y = by;
  out.pointing_defined = best > worst;
  if (out.pointing_defined) {
    const double t2 = options.tolerance * options.tolerance;
    const int t = static_cast<int>(std::floor(options.tolerance));
    for (int y = std::max(0, by - t); y <= std::min(height - 1, by + t) && !out.pointing_hit; ++y) {
      for (int x = std::max(0, bx - t); x <= std::min(width - 1, bx + t); ++x) {
        const double dx = x - bx, dy = y - by;
        if (dx * dx + dy * dy <= t2 && region.values[static_cast<std::size_t>(y) * width + x] == 1) {
          out.pointing_hit = true;
          break;
        }
      }
    }
  }
  return out;
}

Localisation localise(const decompose::PixelRelevance& relevance, const RegionMask& region, const LocalisationOptions& options) {
  if (relevance.R.size() != static_cast<std::size_t>(std::max(relevance.width, 0)) * std::max(relevance.height, 0)) {
    throw std::invalid_argument("localise: decompose::PixelRelevance holds " + std::to_string(relevance.R.size()) +
                                " values for " + std::to_string(relevance.width) + "x" +
                                std::to_string(relevance.height) + " pixels");
  }
  return localise(relevance.R.data(), relevance.width, relevance.height, region, options);
}

LocalisationSummary summarise(const std::vector<Localisation>& scores) {
  LocalisationSummary s;
  s.images = scores.size();
  for (const Localisation& l : scores) {
    if (l.pointing_hit) ++s.hits;
    if (!l.share_defined()) continue;
    ++s.share_images;
    s.mean_relevance_share += l.relevance_share;
    s.mean_area_share += l.area_share;
  }
  if (s.share_images) {
    s.mean_relevance_share /= static_cast<double>(s.share_images);
    s.mean_area_share /= static_cast<double>(s.share_images);
  }
  if (s.images) s.pointing_accuracy = static_cast<double>(s.hits) / static_cast<double>(s.images);
  return s;
}

}  // namespace bowlrp::evaluation
