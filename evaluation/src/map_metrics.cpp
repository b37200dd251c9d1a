#include <bowlrp/evaluation/map_metrics.h>

#include <bowlrp/core/option_schema.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::evaluation {

namespace {

std::string size_text(int width, int height) { return std::to_string(width) + "x" + std::to_string(height); }

/// Checks a W x H map (non-empty, finite) and returns its pixel count.
std::size_t check_map(const char* fn, const double* relevance, int width, int height) {
  if (!relevance || width < 1 || height < 1) {
    throw std::invalid_argument(std::string(fn) + ": relevance map " + size_text(width, height) +
                                " is empty; expected a W x H map with W, H >= 1");
  }
  const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(relevance[i])) {
      throw std::invalid_argument(std::string(fn) + ": relevance at pixel (x " + std::to_string(i % width) + ", y " +
                                  std::to_string(i / width) + ") is " + core::format_real(relevance[i]) +
                                  "; expected finite values (replace NaN/inf before scoring)");
    }
  }
  return n;
}

/// Pixel counts of a checked mask.
struct MaskCounts {
  std::size_t inside = 0, outside = 0;
};

/// Checks that the mask fits the map, holds only 0 / 1 / 255 and has an inside pixel.
MaskCounts check_mask(const char* fn, const RegionMask& mask, int width, int height, std::size_t n) {
  if (mask.width != width || mask.height != height || mask.values.size() != n) {
    throw std::invalid_argument(std::string(fn) + ": the mask is " + size_text(mask.width, mask.height) + " with " +
                                std::to_string(mask.values.size()) + " values but the map is " +
                                size_text(width, height) + "; expected a mask of the map's size");
  }
  MaskCounts c;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char v = mask.values[i];
    if (v == 1) {
      ++c.inside;
    } else if (v == 0) {
      ++c.outside;
    } else if (v != 255) {
      throw std::invalid_argument(std::string(fn) + ": mask value " + std::to_string(v) + " at pixel (x " +
                                  std::to_string(i % width) + ", y " + std::to_string(i / width) +
                                  "); expected 0 (outside), 1 (inside) or 255 (void)");
    }
  }
  if (c.inside == 0) {
    throw std::invalid_argument(std::string(fn) + ": the mask has no inside pixel (value 1) among its " +
                                std::to_string(c.outside) + " non-void pixels; a localisation score needs the "
                                "object's pixels (is the object in this image? 255 means void, not inside)");
  }
  return c;
}

/// R.size() == width * height of a PixelRelevance.
void check_pixel_relevance(const char* fn, const decompose::PixelRelevance& r) {
  if (r.R.size() != static_cast<std::size_t>(std::max(r.width, 0)) * static_cast<std::size_t>(std::max(r.height, 0))) {
    throw std::invalid_argument(std::string(fn) + ": decompose::PixelRelevance holds " + std::to_string(r.R.size()) +
                                " values for " + size_text(r.width, r.height) + " pixels");
  }
}

/// max_q |R_q|.
double max_abs(const double* relevance, std::size_t n) {
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(relevance[i]));
  return m;
}

/// The non-void pixels' relevance and whether each is inside.
std::vector<std::pair<double, bool>> scored_pixels(const double* relevance, const RegionMask& mask, std::size_t n,
                                                   std::size_t valid) {
  std::vector<std::pair<double, bool>> out;
  out.reserve(valid);
  for (std::size_t i = 0; i < n; ++i) {
    if (mask.values[i] != 255) out.emplace_back(relevance[i], mask.values[i] == 1);
  }
  return out;
}

}  // namespace

double sparseness(const double* relevance, int width, int height) {
  const std::size_t n = check_map("sparseness", relevance, width, height);
  const double scale = max_abs(relevance, n);
  if (scale == 0.0) return 0.0;
  std::vector<double> a(relevance, relevance + n);
  for (double& v : a) v = std::fabs(v) / scale;  // in [0, 1]: the sums cannot overflow
  std::sort(a.begin(), a.end());
  double total = 0.0;
  for (double v : a) total += v;
  // sum_i (2i - n - 1) a_(i) with the terms of i and n + 1 - i paired: each pair is
  // (n + 1 - 2i)(a_(n+1-i) - a_(i)) >= 0, so a constant map gives exactly 0 and rounding cannot go negative.
  double s = 0.0;
  for (std::size_t i = 0; i < n / 2; ++i) {
    s += static_cast<double>(n - 1 - 2 * i) * (a[n - 1 - i] - a[i]);
  }
  return s / (static_cast<double>(n) * total);
}

double sparseness(const decompose::PixelRelevance& relevance) {
  check_pixel_relevance("sparseness", relevance);
  return sparseness(relevance.R.data(), relevance.width, relevance.height);
}

double complexity(const double* relevance, int width, int height) {
  const std::size_t n = check_map("complexity", relevance, width, height);
  const double scale = max_abs(relevance, n);
  if (scale == 0.0) return std::log(static_cast<double>(n));
  double total = 0.0;  // of |R| / max |R|, which cannot overflow
  for (std::size_t i = 0; i < n; ++i) total += std::fabs(relevance[i]) / scale;
  double h = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double p = std::fabs(relevance[i]) / scale / total;
    if (p > 0.0) h -= p * std::log(p);
  }
  return std::max(h, 0.0);
}

double complexity(const decompose::PixelRelevance& relevance) {
  check_pixel_relevance("complexity", relevance);
  return complexity(relevance.R.data(), relevance.width, relevance.height);
}

double relevance_mass_accuracy(const double* relevance, int width, int height, const RegionMask& mask) {
  const std::size_t n = check_map("relevance_mass_accuracy", relevance, width, height);
  check_mask("relevance_mass_accuracy", mask, width, height, n);
  double scale = 0.0;  // the sums run over R / max R+, which cannot overflow
  for (std::size_t i = 0; i < n; ++i)
    if (mask.values[i] != 255) scale = std::max(scale, relevance[i]);
  if (scale == 0.0) return 0.0;
  double inside = 0.0, total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (mask.values[i] == 255 || !(relevance[i] > 0.0)) continue;
    total += relevance[i] / scale;
    if (mask.values[i] == 1) inside += relevance[i] / scale;
  }
  return total > 0.0 ? std::min(inside / total, 1.0) : 0.0;
}

double relevance_mass_accuracy(const decompose::PixelRelevance& relevance, const RegionMask& mask) {
  check_pixel_relevance("relevance_mass_accuracy", relevance);
  return relevance_mass_accuracy(relevance.R.data(), relevance.width, relevance.height, mask);
}

double relevance_rank_accuracy(const double* relevance, int width, int height, const RegionMask& mask) {
  const std::size_t n = check_map("relevance_rank_accuracy", relevance, width, height);
  const MaskCounts c = check_mask("relevance_rank_accuracy", mask, width, height, n);
  const std::size_t valid = c.inside + c.outside, k = c.inside;
  // v = the K-th highest relevance among the non-void pixels.
  std::vector<double> values;
  values.reserve(valid);
  for (std::size_t i = 0; i < n; ++i)
    if (mask.values[i] != 255) values.push_back(relevance[i]);
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(valid - k), values.end());
  const double v = values[valid - k];
  std::size_t above = 0, above_in = 0, equal = 0, equal_in = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (mask.values[i] == 255) continue;
    const bool in = mask.values[i] == 1;
    if (relevance[i] > v) {
      ++above;
      if (in) ++above_in;
    } else if (relevance[i] == v) {
      ++equal;
      if (in) ++equal_in;
    }
  }
  // K - above of the `equal` tied pixels enter the top K; on average a share equal_in / equal of them is inside.
  const double tied_in = static_cast<double>(k - above) * static_cast<double>(equal_in) / static_cast<double>(equal);
  return (static_cast<double>(above_in) + tied_in) / static_cast<double>(k);
}

double relevance_rank_accuracy(const decompose::PixelRelevance& relevance, const RegionMask& mask) {
  check_pixel_relevance("relevance_rank_accuracy", relevance);
  return relevance_rank_accuracy(relevance.R.data(), relevance.width, relevance.height, mask);
}

double mask_auc(const double* relevance, int width, int height, const RegionMask& mask) {
  const std::size_t n = check_map("mask_auc", relevance, width, height);
  const MaskCounts c = check_mask("mask_auc", mask, width, height, n);
  if (c.outside == 0) return 0.5;
  std::vector<std::pair<double, bool>> px = scored_pixels(relevance, mask, n, c.inside + c.outside);
  std::sort(px.begin(), px.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  // Twice the Mann-Whitney count: each inside pixel scores 2 per outside pixel below it and 1 per
  // tied one. Integer-valued terms, exact in double while below 2^53 (maps up to ~6e7 pixels).
  double twice_wins = 0.0, outside_below = 0.0;
  for (std::size_t i = 0; i < px.size();) {
    std::size_t j = i;
    double in_group = 0.0, out_group = 0.0;
    for (; j < px.size() && px[j].first == px[i].first; ++j) (px[j].second ? in_group : out_group) += 1.0;
    twice_wins += in_group * (2.0 * outside_below + out_group);
    outside_below += out_group;
    i = j;
  }
  return twice_wins / (2.0 * static_cast<double>(c.inside) * static_cast<double>(c.outside));
}

double mask_auc(const decompose::PixelRelevance& relevance, const RegionMask& mask) {
  check_pixel_relevance("mask_auc", relevance);
  return mask_auc(relevance.R.data(), relevance.width, relevance.height, mask);
}

void PointingGameOptions::validate() const {
  if (!(tolerance > 0.0) || !std::isfinite(tolerance)) {
    throw std::invalid_argument("PointingGameOptions.tolerance = " + core::format_real(tolerance) +
                                "; expected a finite hit radius > 0 px (the test is strict: distance < tolerance; "
                                "TorchRay uses 15)");
  }
}

PointingResult pointing_game(const double* relevance, int width, int height, const RegionMask& mask,
                             const PointingGameOptions& options) {
  options.validate();
  const std::size_t n = check_map("pointing_game", relevance, width, height);
  check_mask("pointing_game", mask, width, height, n);
  std::size_t best = 0;
  double lowest = relevance[0];
  for (std::size_t i = 1; i < n; ++i) {
    if (relevance[i] > relevance[best]) best = i;
    lowest = std::min(lowest, relevance[i]);
  }
  PointingResult out;
  out.x = static_cast<int>(best % static_cast<std::size_t>(width));
  out.y = static_cast<int>(best / static_cast<std::size_t>(width));
  out.constant_map = !(relevance[best] > lowest);
  const double t2 = options.tolerance * options.tolerance;
  // Pixels strictly closer than the tolerance lie within ceil(tolerance) - 1 <= r rows/columns.
  const int r = static_cast<int>(std::min(std::ceil(options.tolerance), static_cast<double>(std::max(width, height))));
  for (int y = std::max(0, out.y - r); y <= std::min(height - 1, out.y + r) && !out.hit; ++y) {
    for (int x = std::max(0, out.x - r); x <= std::min(width - 1, out.x + r); ++x) {
      const double dx = x - out.x, dy = y - out.y;
      if (dx * dx + dy * dy < t2 && mask.values[static_cast<std::size_t>(y) * width + x] == 1) {
        out.hit = true;
        break;
      }
    }
  }
  return out;
}

PointingResult pointing_game(const decompose::PixelRelevance& relevance, const RegionMask& mask,
                             const PointingGameOptions& options) {
  check_pixel_relevance("pointing_game", relevance);
  return pointing_game(relevance.R.data(), relevance.width, relevance.height, mask, options);
}

double lerf_morf_area(const std::vector<double>& fractions, const std::vector<double>& lerf,
                      const std::vector<double>& morf) {
  if (fractions.size() < 2 || lerf.size() != fractions.size() || morf.size() != fractions.size()) {
    throw std::invalid_argument("lerf_morf_area: " + std::to_string(fractions.size()) + " fractions, " +
                                std::to_string(lerf.size()) + " LeRF and " + std::to_string(morf.size()) +
                                " MoRF scores; expected the same number (>= 2) of each");
  }
  const auto check = [](const std::vector<double>& v, const char* what) {
    for (std::size_t k = 0; k < v.size(); ++k) {
      if (!std::isfinite(v[k])) {
        throw std::invalid_argument(std::string("lerf_morf_area: ") + what + "[" + std::to_string(k) + "] is " +
                                    core::format_real(v[k]) + "; expected finite values");
      }
    }
  };
  check(fractions, "fractions");
  check(lerf, "lerf");
  check(morf, "morf");
  for (std::size_t k = 1; k < fractions.size(); ++k) {
    if (fractions[k] < fractions[k - 1]) {
      throw std::invalid_argument("lerf_morf_area: fractions[" + std::to_string(k) + "] = " + core::format_real(fractions[k]) +
                                  " < fractions[" + std::to_string(k - 1) + "] = " + core::format_real(fractions[k - 1]) +
                                  "; expected non-decreasing removal fractions");
    }
  }
  const double range = fractions.back() - fractions.front();
  if (!(range > 0.0)) {
    throw std::invalid_argument("lerf_morf_area: the fractions span no range (all " + core::format_real(fractions.front()) +
                                "); expected the last above the first");
  }
  double area = 0.0;
  for (std::size_t k = 1; k < fractions.size(); ++k) {
    const double d0 = lerf[k - 1] - morf[k - 1], d1 = lerf[k] - morf[k];
    area += (fractions[k] - fractions[k - 1]) * 0.5 * (d0 + d1);
  }
  return area / range;
}

}  // namespace bowlrp::evaluation
