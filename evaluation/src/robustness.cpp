#include <bowlrp/evaluation/robustness.h>

#include <bowlrp/core/digest.h>
#include <bowlrp/core/option_schema.h>
#include <bowlrp/core/random.h>
#include <bowlrp/evaluation/randomisation.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

namespace bowlrp::evaluation {

namespace {

double norm(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

double distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// ||a - b|| / ||b||: 0 when both are zero, +inf when only b is.
double relative_distance(const std::vector<double>& a, const std::vector<double>& b) {
  const double d = distance(a, b), n = norm(b);
  if (n > 0) return d / n;
  return d > 0 ? std::numeric_limits<double>::infinity() : 0.0;
}

}  // namespace

void RobustnessOptions::validate() const {
  if (samples < 1)
    throw std::invalid_argument("RobustnessOptions.samples = " + std::to_string(samples) + "; expected >= 1");
  if (!(noise > 0.0 && noise <= 1.0))
    throw std::invalid_argument("RobustnessOptions.noise = " + core::format_real(noise) +
                                "; expected a half width in (0, 1] of the per-pixel noise");
  if (!std::isfinite(shift) || shift == 0.0)
    throw std::invalid_argument("RobustnessOptions.shift = " + core::format_real(shift) +
                                "; expected a finite non-zero constant");
}

std::vector<double> mirrored_map(const std::vector<double>& map, int width, int height) {
  if (map.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    throw std::invalid_argument("mirrored_map: " + std::to_string(map.size()) + " values for " +
                                std::to_string(width) + "x" + std::to_string(height) + " pixels");
  std::vector<double> out = map;
  for (int y = 0; y < height; ++y) {
    auto row = out.begin() + static_cast<std::ptrdiff_t>(y) * width;
    std::reverse(row, row + width);
  }
  return out;
}

bow::GrayImage perturbed(const bow::GrayImage& image, double noise, std::uint64_t seed, std::size_t sample) {
  bow::GrayImage out = image;
  std::mt19937_64 engine(core::mix_seed(core::derived_seed(seed, sample)));
  for (float& p : out.pixels) {
    const double u = static_cast<double>(engine() >> 11) * 0x1p-53;  // [0, 1)
    p = static_cast<float>(std::clamp(static_cast<double>(p) + noise * (2.0 * u - 1.0), 0.0, 1.0));
  }
  return out;
}

RobustnessResult robustness(const model::Model& model, const bow::GrayImage& image, std::size_t cls,
                            const QualityOptions& quality, const RobustnessOptions& options,
                            const std::map<std::string, std::vector<double>>& original) {
  options.validate();
  const int W = image.original_width, H = image.original_height;
  for (const auto& [name, map] : original)
    if (map.size() != static_cast<std::size_t>(W) * H)
      throw std::invalid_argument("robustness: the original '" + name + "' map has " + std::to_string(map.size()) +
                                  " values; expected " + std::to_string(W) + "x" + std::to_string(H));
  RobustnessResult out;
  for (std::size_t i = 0; i < static_cast<std::size_t>(options.samples); ++i) {
    const bow::GrayImage xi = perturbed(image, options.noise, options.seed, i);
    double dx = 0.0;
    for (std::size_t p = 0; p < xi.pixels.size(); ++p) {
      const double d = static_cast<double>(xi.pixels[p]) - image.pixels[p];
      dx += d * d;
    }
    dx = std::sqrt(dx);
    for (const auto& [name, map] : method_maps(model, xi, cls, quality)) {
      const std::vector<double>& e = original.at(name);
      double& sens = out["max_sensitivity"][name];
      sens = std::max(sens, relative_distance(map, e));
      double& lip = out["local_lipschitz"][name];
      if (dx > 0) lip = std::max(lip, distance(map, e) / dx);
    }
  }
  for (const auto& [name, map] : method_maps(model, bow::mirror_left_right(image), cls, quality)) {
    const std::vector<double> back = mirrored_map(map, W, H);
    const std::vector<double>& e = original.at(name);
    out["mirror_spearman"][name] = spearman_correlation(e.data(), back.data(), e.size());
    out["mirror_difference"][name] = relative_distance(back, e);
  }
  bow::GrayImage shifted = image;
  for (float& p : shifted.pixels) p = static_cast<float>(p + options.shift);
  for (const auto& [name, map] : method_maps(model, shifted, cls, quality))
    out["shift_difference"][name] = relative_distance(map, original.at(name));
  return out;
}

}  // namespace bowlrp::evaluation
