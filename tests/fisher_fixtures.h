// Fixtures shared by the Fisher-vector suites (bow/fisher, decompose/fisher, evaluation/fisher): small
// synthetic images, the shared training (D = 6 principal components + xy, K = 4 Gaussians), every ψ_d(l)
// of a trace written out in double, and the numeric helpers. Needs the bow module only.
#pragma once

#include <bowlrp/bow/fisher.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::test::fisher {

/// Values per SIFT descriptor.
inline constexpr int kSift = bowlrp::bow::FeatureTrace::kDim;

/// A W x H grey image: a gradient of random direction, a disc, a rectangle, a stripe patch, a flat
/// patch (whose descriptors fall below the contrast threshold and are zeroed) and mild noise.
inline bowlrp::bow::GrayImage synthetic_image(int W, int H, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const double gx = u(rng) - 0.5, gy = u(rng) - 0.5;
  const double cx = W * (0.2 + 0.6 * u(rng)), cy = H * (0.2 + 0.6 * u(rng)), r = std::min(W, H) * (0.12 + 0.15 * u(rng));
  const int rx0 = static_cast<int>(W * 0.6 * u(rng)), ry0 = static_cast<int>(H * 0.6 * u(rng));
  const int rx1 = rx0 + 6 + static_cast<int>(W * 0.3 * u(rng)), ry1 = ry0 + 6 + static_cast<int>(H * 0.3 * u(rng));
  const int sx0 = static_cast<int>(W * 0.5 * u(rng)), sy0 = static_cast<int>(H * 0.5 * u(rng));
  const double period = 3 + 5 * u(rng), angle = 3.14159 * u(rng);
  const double disc = u(rng), rect = u(rng);
  const int fx0 = static_cast<int>(W * 0.7 * u(rng)), fy0 = static_cast<int>(H * 0.6 * u(rng));
  std::vector<float> px(static_cast<std::size_t>(W) * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double v = 0.5 + gx * x / W + gy * y / H;
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) v = disc;
      if (x >= rx0 && x < rx1 && y >= ry0 && y < ry1) v = 0.5 * v + 0.5 * rect;
      if (x >= sx0 && x < sx0 + W / 3 && y >= sy0 && y < sy0 + H / 3)
        v = 0.5 + 0.4 * std::sin(6.28318 * (x * std::cos(angle) + y * std::sin(angle)) / period);
      v += 0.04 * (u(rng) - 0.5);
      if (x >= fx0 && x < fx0 + 14 && y >= fy0 && y < fy0 + 14) v = 0.3;  // flat: zeroed descriptors
      px[static_cast<std::size_t>(y) * W + x] = static_cast<float>(std::clamp(v, 0.0, 1.0));
    }
  return bowlrp::bow::ImageLoader(bowlrp::bow::ImageOptions{0}).from_gray(px.data(), W, H);
}

/// Normalised frame centres as the pipeline defines them: the centre in edge coordinates (pixel i
/// spans [i, i + 1), so the centre of a frame at x is x + 1/2) over the size, minus 1/2.
inline std::vector<float> normalised_centres(const bowlrp::bow::FeatureTrace& f) {
  std::vector<float> out(2 * f.size());
  for (std::size_t l = 0; l < f.size(); ++l) {
    out[2 * l] = static_cast<float>((f.frames[l].x + 0.5) / f.width - 0.5);
    out[2 * l + 1] = static_cast<float>((f.frames[l].y + 0.5) / f.height - 0.5);
  }
  return out;
}

/// The suites' options: no size cap, two bin sizes, D = 6, K = 4, a 1x1 + 2x1 pyramid.
inline bowlrp::bow::FisherPipelineOptions small_options() {
  bowlrp::bow::FisherPipelineOptions o;
  o.image.max_side = 0;
  o.dsift.bin_sizes = {4, 6};
  o.fisher.pca_dimension = 6;
  o.fisher.components = 4;
  o.fisher.max_iterations = 60;
  o.fisher.seed = 1;
  o.fisher.pyramid = {{1, 1}, {2, 1}};
  return o;
}

/// The shared training: descriptors of six synthetic images, one mixture, one pipeline.
struct Fixture {
  bowlrp::bow::FisherPipelineOptions options = small_options();
  std::vector<float> descriptors, positions;
  std::size_t n = 0;
  bowlrp::bow::FisherParameters parameters;
  bowlrp::bow::FisherTrainReport report;
  std::shared_ptr<const bowlrp::bow::FisherPipeline> pipeline;
};

/// The shared training, made on first use.
inline const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    const bowlrp::bow::DenseSift sift(x.options.dsift);
    for (std::uint64_t s = 0; s < 6; ++s) {
      const auto t = sift.extract(synthetic_image(64 + 8 * static_cast<int>(s % 3), 48 + 4 * static_cast<int>(s % 2), 100 + s));
      const auto p = normalised_centres(t);
      x.descriptors.insert(x.descriptors.end(), t.descriptors.begin(), t.descriptors.end());
      x.positions.insert(x.positions.end(), p.begin(), p.end());
    }
    x.n = x.descriptors.size() / kSift;
    x.parameters = bowlrp::bow::train_fisher(x.descriptors.data(), x.positions.data(), x.n, x.options.fisher, &x.report);
    x.pipeline = std::make_shared<const bowlrp::bow::FisherPipeline>(x.options, x.parameters);
    return x;
  }();
  return f;
}

/// Global pyramid cell of a frame at a level, by the rule of bow/pooling.h written out again.
inline int naive_cell(const bowlrp::bow::Frame& f, int W, int H, const std::vector<bowlrp::core::PyramidLevel>& pyramid, std::size_t level) {
  int base = 0;
  for (std::size_t j = 0; j < level; ++j) base += pyramid[j].cols * pyramid[j].rows;
  const bowlrp::core::PyramidLevel& L = pyramid[level];
  const int cx = std::min(L.cols - 1, std::max(0, static_cast<int>(std::floor((f.x + 0.5) * L.cols / W))));
  const int cy = std::min(L.rows - 1, std::max(0, static_cast<int>(std::floor((f.y + 0.5) * L.rows / H))));
  return base + cy * L.cols + cx;
}

/// Every ψ_d(l) of a trace (V x L, row-major), from the header's formula with the trace's own local
/// descriptors and kept posteriors; the feature cells are recomputed here from the frames.
struct NaivePsi {
  std::size_t V = 0, L = 0, K = 0, G = 0, cells = 0, levels = 0;
  std::vector<double> psi;        // V x L
  std::vector<int> cell_of;       // L x levels
  std::vector<int> counts;        // N_c
  std::vector<char> used;         // cells x K: some feature of c kept a posterior of k
  double at(std::size_t d, std::size_t l) const { return psi[d * L + l]; }
  // Cell, part (0 = u, 1 = v), component and dimension of d.
  std::size_t cell(std::size_t d) const { return d / (2 * K * G); }
  std::size_t component(std::size_t d) const { return (d % (K * G)) / G; }
};

inline NaivePsi naive_psi(const bowlrp::bow::FisherPipeline& pipeline, const bowlrp::bow::FisherTrace& t) {
  const bowlrp::bow::FisherParameters& p = pipeline.parameters();
  const auto& pyramid = pipeline.options().fisher.pyramid;
  NaivePsi n;
  n.K = p.components();
  n.G = p.descriptor_dimension();
  n.L = t.features.size();
  n.levels = pyramid.size();
  for (const auto& lv : pyramid) n.cells += lv.cols * lv.rows;
  n.V = n.cells * 2 * n.K * n.G;
  n.cell_of.resize(n.L * n.levels);
  n.counts.assign(n.cells, 0);
  for (std::size_t l = 0; l < n.L; ++l)
    for (std::size_t j = 0; j < n.levels; ++j) {
      const int c = naive_cell(t.features.frames[l], t.features.width, t.features.height, pyramid, j);
      n.cell_of[l * n.levels + j] = c;
      ++n.counts[c];
    }
  n.used.assign(n.cells * n.K, 0);
  n.psi.assign(n.V * n.L, 0.0);
  for (std::size_t l = 0; l < n.L; ++l)
    for (std::uint32_t e = t.posteriors.offsets[l]; e < t.posteriors.offsets[l + 1]; ++e) {
      const std::size_t k = t.posteriors.components[e];
      const double g = t.posteriors.values[e];
      for (std::size_t j = 0; j < n.levels; ++j) {
        const std::size_t c = n.cell_of[l * n.levels + j];
        n.used[c * n.K + k] = 1;
        const double N = n.counts[c];
        for (std::size_t i = 0; i < n.G; ++i) {
          const double x = t.local[l * n.G + i], mu = p.means[k * n.G + i], sigma = std::sqrt(p.variances[k * n.G + i]);
          const double dev = (x - mu) / sigma;
          const std::size_t du = c * 2 * n.K * n.G + k * n.G + i, dv = du + n.K * n.G;
          n.psi[du * n.L + l] += g * dev / (N * std::sqrt(p.priors[k]));
          n.psi[dv * n.L + l] += g * (dev * dev - 1) / (N * std::sqrt(2 * p.priors[k]));
        }
      }
    }
  return n;
}

/// Σ v.
inline double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

/// Σ |v|.
inline double sum_abs(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return s;
}

/// max |a - b| over equal-sized vectors.
inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

/// Runs f, which must throw std::invalid_argument whose message contains every one of `parts`.
inline void require_invalid_argument(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const auto& part : parts) BOOST_TEST(what.find(part) != std::string::npos, "'" << what << "' names '" << part << "'");
    return;
  }
  BOOST_ERROR("no std::invalid_argument thrown (expected one naming " << parts.front() << ")");
}

}  // namespace bowlrp::test::fisher
