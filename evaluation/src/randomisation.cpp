#include <bowlrp/evaluation/randomisation.h>

#include <bowlrp/core/option_schema.h>
#include <bowlrp/core/random.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace bowlrp::evaluation {

namespace {

void check_finite(const char* fn, const double* v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (!std::isfinite(v[i]))
      throw std::invalid_argument(std::string(fn) + ": value " + std::to_string(i) + " is " + core::format_real(v[i]) +
                                  "; expected finite values");
}

// Average ranks (1-based) of |v|, ties sharing the mean of their positions.
std::vector<double> magnitude_ranks(const double* v, std::size_t n) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return std::fabs(v[a]) < std::fabs(v[b]); });
  std::vector<double> rank(n);
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i + 1;
    while (j < n && std::fabs(v[idx[j]]) == std::fabs(v[idx[i]])) ++j;
    const double r = 0.5 * static_cast<double>(i + 1 + j);  // mean of positions i+1 .. j
    for (std::size_t k = i; k < j; ++k) rank[idx[k]] = r;
    i = j;
  }
  return rank;
}

// |v| / max|v| (all zero stays zero).
std::vector<double> normalised_magnitude(const double* v, std::size_t n) {
  double m = 0.0;
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(v[i]));
  std::vector<double> out(n, 0.0);
  if (m > 0)
    for (std::size_t i = 0; i < n; ++i) out[i] = std::fabs(v[i]) / m;
  return out;
}

// Summed-area table with a zero first row and column: (W+1) x (H+1).
std::vector<double> integral(const std::vector<double>& v, int W, int H) {
  std::vector<double> s(static_cast<std::size_t>(W + 1) * (H + 1), 0.0);
  for (int y = 0; y < H; ++y) {
    double row = 0.0;
    for (int x = 0; x < W; ++x) {
      row += v[static_cast<std::size_t>(y) * W + x];
      s[static_cast<std::size_t>(y + 1) * (W + 1) + x + 1] = s[static_cast<std::size_t>(y) * (W + 1) + x + 1] + row;
    }
  }
  return s;
}

double box_sum(const std::vector<double>& s, int W, int x0, int y0, int side) {
  const std::size_t w = static_cast<std::size_t>(W + 1);
  const std::size_t a = static_cast<std::size_t>(y0) * w + x0, b = static_cast<std::size_t>(y0 + side) * w + x0;
  return s[b + side] - s[b] - s[a + side] + s[a];
}

}  // namespace

double spearman_correlation(const double* a, const double* b, std::size_t n) {
  if (n < 2) throw std::invalid_argument("spearman_correlation: " + std::to_string(n) + " values; expected at least 2");
  check_finite("spearman_correlation", a, n);
  check_finite("spearman_correlation", b, n);
  const std::vector<double> ra = magnitude_ranks(a, n), rb = magnitude_ranks(b, n);
  const double mean = 0.5 * static_cast<double>(n + 1);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (ra[i] - mean) * (rb[i] - mean);
    saa += (ra[i] - mean) * (ra[i] - mean);
    sbb += (rb[i] - mean) * (rb[i] - mean);
  }
  if (saa == 0 || sbb == 0) return 0.0;
  return sab / std::sqrt(saa * sbb);
}

double map_ssim(const double* a, const double* b, int width, int height) {
  constexpr int side = 7;
  if (width < side || height < side)
    throw std::invalid_argument("map_ssim: maps of " + std::to_string(width) + "x" + std::to_string(height) +
                                " px; expected at least 7x7 (the SSIM window)");
  const std::size_t n = static_cast<std::size_t>(width) * height;
  check_finite("map_ssim", a, n);
  check_finite("map_ssim", b, n);
  const std::vector<double> x = normalised_magnitude(a, n), y = normalised_magnitude(b, n);
  std::vector<double> xx(n), yy(n), xy(n);
  for (std::size_t i = 0; i < n; ++i) {
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  const std::vector<double> sx = integral(x, width, height), sy = integral(y, width, height),
                            sxx = integral(xx, width, height), syy = integral(yy, width, height),
                            sxy = integral(xy, width, height);
  const double N = side * side, cov_norm = N / (N - 1), C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;
  double total = 0.0;
  std::size_t windows = 0;
  for (int y0 = 0; y0 + side <= height; ++y0)
    for (int x0 = 0; x0 + side <= width; ++x0) {
      const double mx = box_sum(sx, width, x0, y0, side) / N, my = box_sum(sy, width, x0, y0, side) / N;
      const double vx = cov_norm * (box_sum(sxx, width, x0, y0, side) / N - mx * mx);
      const double vy = cov_norm * (box_sum(syy, width, x0, y0, side) / N - my * my);
      const double vxy = cov_norm * (box_sum(sxy, width, x0, y0, side) / N - mx * my);
      total += (2 * mx * my + C1) * (2 * vxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      ++windows;
    }
  return total / static_cast<double>(windows);
}

std::map<std::string, std::vector<double>> method_maps(const model::Model& model, const bow::GrayImage& image,
                                                       std::size_t cls, const QualityOptions& options) {
  const bow::Trace trace = model.encode(image);
  std::map<std::string, std::vector<double>> maps;
  if (options.measures(Ordering::lrp))
    maps[to_string(Ordering::lrp)] = model.explainer(options.composite).explain(trace, cls).pixels.R;
  if (options.measures(Ordering::sensitivity)) maps[to_string(Ordering::sensitivity)] = sensitivity_map(model, cls, trace);
  if (options.measures(Ordering::occlusion))
    maps[to_string(Ordering::occlusion)] =
        occlusion_map(IncrementalFlipper(model, cls), image, trace, options.occlusion_patch, options.seed);
  return maps;
}

std::vector<RandomisationLevel> randomisation_check(const model::Model& model, const bow::GrayImage& image,
                                                    std::size_t cls, const QualityOptions& options,
                                                    std::uint64_t seed) {
  return randomisation_check(model, image, cls, options, seed, method_maps(model, image, cls, options));
}

std::vector<RandomisationLevel> randomisation_check(const model::Model& model, const bow::GrayImage& image,
                                                    std::size_t cls, const QualityOptions& options, std::uint64_t seed,
                                                    const std::map<std::string, std::vector<double>>& original) {
  options.validate();
  if (cls >= model.classes())
    throw std::out_of_range("randomisation_check: class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(model.classes()) + " classes");
  const int W = image.original_width, H = image.original_height;
  const auto compare = [&](RandomisationLevel level, const std::map<std::string, std::vector<double>>& maps) {
    for (const auto& [name, map] : maps) {
      const std::vector<double>& o = original.at(name);
      if (o.size() != map.size() || o.size() != static_cast<std::size_t>(W) * H)
        throw std::invalid_argument("randomisation_check: the original '" + name + "' map has " +
                                    std::to_string(o.size()) + " values; expected " + std::to_string(W) + "x" +
                                    std::to_string(H));
      level.methods[name] = {spearman_correlation(o.data(), map.data(), o.size()), map_ssim(o.data(), map.data(), W, H)};
    }
    return level;
  };
  std::vector<RandomisationLevel> out;
  const std::size_t L = model.head_parameter_layers();
  for (std::size_t k = 1; k <= L; ++k) {
    RandomisationLevel level;
    level.name = "head " + std::to_string(k) + "/" + std::to_string(L);
    level.layers = k;
    level.compared_class = cls;
    out.push_back(compare(level, method_maps(model.with_randomised_head(k, seed), image, cls, options)));
  }
  if (model.classes() > 1) {
    // Another class, uniformly among the others (an exact draw from the seed's permutation).
    std::size_t other = core::random_permutation(model.classes() - 1, core::derived_seed(seed, 0x1061))[0];
    if (other >= cls) ++other;
    RandomisationLevel level;
    level.name = "random logit";
    level.compared_class = other;
    out.push_back(compare(level, method_maps(model, image, other, options)));
  }
  return out;
}

}  // namespace bowlrp::evaluation
