#include <bowlrp/render/heatmap.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>

namespace bowlrp::render {

namespace {

struct ColourStop {
  double v, r, g, b;
};

// Piecewise-linear diverging maps on [-1, 1], neutral colour at 0.
const std::vector<ColourStop>& colour_stops(const std::string& name) {
  static const std::vector<ColourStop> bwr{{-1, 0, 0, 1}, {0, 1, 1, 1}, {1, 1, 0, 0}};
  static const std::vector<ColourStop> seismic{
      {-1, 0, 0, 0.3}, {-0.5, 0, 0, 1}, {0, 1, 1, 1}, {0.5, 1, 0, 0}, {1, 0.5, 0, 0}};
  static const std::vector<ColourStop> hot_cold{
      {-1, 0, 1, 1}, {-0.5, 0, 0, 1}, {0, 0, 0, 0}, {0.5, 1, 0, 0}, {1, 1, 1, 0}};
  if (name == "bwr") return bwr;
  if (name == "seismic") return seismic;
  if (name == "hot-cold") return hot_cold;
  throw std::invalid_argument("colour map " + core::quoted(name) + " unknown; expected bwr, seismic or hot-cold");
}

unsigned char to_byte(double c) { return static_cast<unsigned char>(std::lround(std::clamp(c, 0.0, 1.0) * 255.0)); }

std::array<unsigned char, 3> lookup(const std::vector<ColourStop>& stops, double v) {
  v = std::clamp(v, -1.0, 1.0);
  std::size_t i = 1;
  while (i + 1 < stops.size() && v > stops[i].v) ++i;
  const ColourStop& a = stops[i - 1];
  const ColourStop& b = stops[i];
  const double t = (v - a.v) / (b.v - a.v);
  return {to_byte(a.b + t * (b.b - a.b)), to_byte(a.g + t * (b.g - a.g)), to_byte(a.r + t * (b.r - a.r))};
}

void require_image(const Bgr8Image* image, const decompose::PixelRelevance& rel, const std::string& view) {
  if (!image)
    throw std::invalid_argument("render_heatmap: view '" + view + "' needs the image; none was given");
  if (image->width != rel.width || image->height != rel.height ||
      image->data.size() != static_cast<std::size_t>(image->width) * image->height * 3)
    throw std::invalid_argument("render_heatmap: image is " + std::to_string(image->width) + " x " +
                                std::to_string(image->height) + " but the relevance map is " + std::to_string(rel.width) +
                                " x " + std::to_string(rel.height) + "; expected the same size (original image)");
}

// Divisor s mapping R to [-1, 1].
double scale_of(const std::vector<double>& R, const HeatmapOptions& o) {
  std::vector<double> a(R.size());
  for (std::size_t i = 0; i < R.size(); ++i) a[i] = std::abs(R[i]);
  if (a.empty()) return 0.0;
  double s = *std::max_element(a.begin(), a.end());
  if (o.scaling == HeatmapScaling::percentile) {
    const double pos = std::ceil(o.percentile / 100.0 * a.size()) - 1.0;
    const std::size_t k = static_cast<std::size_t>(std::clamp(pos, 0.0, static_cast<double>(a.size() - 1)));
    std::nth_element(a.begin(), a.begin() + k, a.end());
    if (a[k] > 0) s = a[k];  // a percentile of zeros falls back to max |R|
  }
  return s;
}

}  // namespace

std::string to_string(HeatmapScaling s) { return s == HeatmapScaling::max_abs ? "max_abs" : "percentile"; }

std::string to_string(HeatmapView v) {
  switch (v) {
    case HeatmapView::heatmap: return "heatmap";
    case HeatmapView::edges: return "edges";
    case HeatmapView::mask: return "mask";
  }
  return "?";
}

HeatmapScaling heatmap_scaling_from_string(const std::string& name) {
  if (name == "max_abs") return HeatmapScaling::max_abs;
  if (name == "percentile") return HeatmapScaling::percentile;
  throw std::invalid_argument("heatmap scaling " + core::quoted(name) + " unknown; expected max_abs or percentile");
}

HeatmapView heatmap_view_from_string(const std::string& name) {
  if (name == "heatmap") return HeatmapView::heatmap;
  if (name == "edges") return HeatmapView::edges;
  if (name == "mask") return HeatmapView::mask;
  throw std::invalid_argument("heatmap view " + core::quoted(name) + " unknown; expected heatmap, edges or mask");
}

std::vector<std::string> colormap_names() { return {"bwr", "seismic", "hot-cold"}; }

std::array<unsigned char, 3> colormap_bgr(const std::string& name, double v) {
  if (!std::isfinite(v)) throw std::invalid_argument("colormap_bgr: value " + std::to_string(v) + " is not finite");
  return lookup(colour_stops(name), v);
}

void HeatmapOptions::validate() const {
  (void)colour_stops(colormap);
  if (!(percentile > 0 && percentile <= 100))
    throw std::invalid_argument("HeatmapOptions.percentile = " + std::to_string(percentile) + "; expected (0, 100]");
  if (!(mask_top_percent > 0 && mask_top_percent <= 100))
    throw std::invalid_argument("HeatmapOptions.mask_top_percent = " + std::to_string(mask_top_percent) +
                                "; expected (0, 100]");
  if (!(mask_dim >= 0 && mask_dim <= 1))
    throw std::invalid_argument("HeatmapOptions.mask_dim = " + std::to_string(mask_dim) + "; expected [0, 1]");
  if (!(edge_low >= 0) || !(edge_high >= edge_low) || !std::isfinite(edge_high))
    throw std::invalid_argument("HeatmapOptions.edge_low/edge_high = " + std::to_string(edge_low) + "/" +
                                std::to_string(edge_high) + "; expected 0 <= edge_low <= edge_high, finite");
  (void)to_string(scaling);
  (void)to_string(view);
}

Bgr8Image render_heatmap(const decompose::PixelRelevance& rel, const HeatmapOptions& o, const Bgr8Image* image) {
  o.validate();
  const std::size_t n = static_cast<std::size_t>(rel.width) * rel.height;
  if (rel.width < 0 || rel.height < 0 || rel.R.size() != n)
    throw std::invalid_argument("render_heatmap: relevance map holds " + std::to_string(rel.R.size()) + " values for " +
                                std::to_string(rel.width) + " x " + std::to_string(rel.height) + " pixels");
  Bgr8Image out;
  out.width = rel.width;
  out.height = rel.height;
  out.data.resize(n * 3);

  if (o.view == HeatmapView::mask) {
    require_image(image, rel, "mask");
    // Keep the top q% of all pixels by relevance, among those with R > 0.
    const std::size_t keep = static_cast<std::size_t>(std::floor(o.mask_top_percent / 100.0 * n));
    double t = std::numeric_limits<double>::infinity();
    if (keep > 0) {
      std::vector<double> sorted(rel.R);
      std::nth_element(sorted.begin(), sorted.begin() + (keep - 1), sorted.end(), std::greater<double>());
      t = sorted[keep - 1];
    }
    for (std::size_t q = 0; q < n; ++q) {
      const bool kept = rel.R[q] > 0 && rel.R[q] >= t;
      const double f = kept ? 1.0 : o.mask_dim;
      for (int c = 0; c < 3; ++c)
        out.data[q * 3 + c] = static_cast<unsigned char>(std::lround(image->data[q * 3 + c] * f));
    }
    return out;
  }

  const auto& stops = colour_stops(o.colormap);
  const double s = scale_of(rel.R, o);
  for (std::size_t q = 0; q < n; ++q) {
    const double v = s > 0 ? std::clamp(rel.R[q] / s, -1.0, 1.0) : 0.0;
    const auto c = lookup(stops, v);
    std::memcpy(&out.data[q * 3], c.data(), 3);
  }

  if (o.view == HeatmapView::edges) {
    require_image(image, rel, "edges");
    cv::Mat bgr(image->height, image->width, CV_8UC3, const_cast<unsigned char*>(image->data.data()));
    cv::Mat grey, edges;
    cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
    cv::Canny(grey, edges, o.edge_low, o.edge_high);
    const auto neutral = lookup(stops, 0.0);
    const bool light = (neutral[0] + neutral[1] + neutral[2]) > 3 * 127;
    for (int y = 0; y < rel.height; ++y) {
      const unsigned char* e = edges.ptr<unsigned char>(y);
      for (int x = 0; x < rel.width; ++x) {
        if (!e[x]) continue;
        unsigned char* p = &out.data[(static_cast<std::size_t>(y) * rel.width + x) * 3];
        for (int c = 0; c < 3; ++c)
          p[c] = static_cast<unsigned char>(light ? std::lround(0.2 * p[c]) : std::lround(0.2 * p[c] + 0.8 * 255));
      }
    }
  }
  return out;
}

Bgr8Image bgr8_from_pixels(const unsigned char* data, int width, int height, int channels) {
  if (width <= 0 || height <= 0 || !data)
    throw std::invalid_argument("bgr8_from_pixels: image " + std::to_string(width) + " x " + std::to_string(height) +
                                " is empty");
  int code = -1;
  if (channels == 1) code = cv::COLOR_GRAY2BGR;
  else if (channels == 4) code = cv::COLOR_BGRA2BGR;
  else if (channels != 3)
    throw std::invalid_argument("bgr8_from_pixels: " + std::to_string(channels) + " channels; expected 1, 3 or 4");
  Bgr8Image out;
  out.width = width;
  out.height = height;
  out.data.resize(static_cast<std::size_t>(width) * height * 3);
  cv::Mat dst(height, width, CV_8UC3, out.data.data());
  cv::Mat src(height, width, CV_8UC(channels), const_cast<unsigned char*>(data));
  if (code < 0) src.copyTo(dst);
  else cv::cvtColor(src, dst, code);
  return out;
}

Bgr8Image load_bgr8(const std::string& path) { return decode_bgr8(core::read_file(path), path); }

Bgr8Image decode_bgr8(const std::string& bytes, const std::string& path) {
  // A forged header would otherwise reach OpenCV's allocation (and its assertion text).
  bow::check_declared_pixels(bytes, path, bow::ImageOptions{}.max_pixels);
  const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data()));
  cv::Mat img = bytes.empty() ? cv::Mat() : bow::imdecode(buf, cv::IMREAD_COLOR);
  if (img.empty() || img.type() != CV_8UC3)
    throw std::runtime_error("decode_bgr8: " + path + " is not a readable image (expected PNG, JPEG, ... )");
  if (!img.isContinuous()) img = img.clone();
  return bgr8_from_pixels(img.data, img.cols, img.rows, 3);
}

void write_png(const std::string& path, const Bgr8Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.data.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    throw std::runtime_error("write_png: " + path + ": image " + std::to_string(image.width) + " x " +
                             std::to_string(image.height) + " with " + std::to_string(image.data.size()) +
                             " bytes is not a non-empty BGR image");
  const cv::Mat m(image.height, image.width, CV_8UC3, const_cast<unsigned char*>(image.data.data()));
  std::vector<unsigned char> buf;
  if (!bow::imencode(".png", m, buf)) throw std::runtime_error("write_png: PNG encoding failed for " + path);
  core::write_file_atomic(path, std::string(buf.begin(), buf.end()));
}

void write_png(const std::string& path, const decompose::PixelRelevance& relevance, const HeatmapOptions& options,
               const Bgr8Image* image) {
  write_png(path, render_heatmap(relevance, options, image));
}

void write_npy(const std::string& path, const decompose::PixelRelevance& rel) {
  const std::size_t n = static_cast<std::size_t>(rel.width) * rel.height;
  if (rel.width < 0 || rel.height < 0 || rel.R.size() != n)
    throw std::runtime_error("write_npy: " + path + ": relevance map holds " + std::to_string(rel.R.size()) +
                             " values for " + std::to_string(rel.width) + " x " + std::to_string(rel.height) + " pixels");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rel.height) + ", " +
                       std::to_string(rel.width) + "), }";
  // Magic (6) + version (2) + length (2) + header + '\n' padded with spaces to a multiple of 64.
  const std::size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header.push_back('\n');
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  bytes += header;
  bytes.reserve(bytes.size() + n * 4);
  for (double v : rel.R) {
    const float f = static_cast<float>(v);
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    for (int k = 0; k < 4; ++k) bytes.push_back(static_cast<char>((u >> (8 * k)) & 0xff));
  }
  core::write_file_atomic(path, bytes);
}

}  // namespace bowlrp::render
