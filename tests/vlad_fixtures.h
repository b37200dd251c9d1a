// Fixtures shared by the VLAD suites (bow/vlad, decompose/vlad, model/vlad, evaluation/vlad): small
// synthetic images, the shared training (a K = 8 codebook), naive nearest centres and RootSIFT, pipeline
// variants and the numeric helpers. Needs the bow module only; vlad_model_fixtures.h adds a model.
#pragma once

#include <bowlrp/bow/vlad.h>

#include <boost/test/unit_test.hpp>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::test::vlad {

/// Values per SIFT descriptor.
inline constexpr int kSift = bowlrp::bow::FeatureTrace::kDim;

/// A W x H grey image: a gradient, a disc, a stripe patch, a flat patch (whose descriptors fall below
/// the contrast threshold and are zeroed) and mild noise.
inline bowlrp::bow::GrayImage synthetic_image(int W, int H, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const double gx = u(rng) - 0.5, gy = u(rng) - 0.5;
  const double cx = W * (0.2 + 0.6 * u(rng)), cy = H * (0.2 + 0.6 * u(rng)), r = std::min(W, H) * (0.12 + 0.15 * u(rng));
  const int sx0 = static_cast<int>(W * 0.5 * u(rng)), sy0 = static_cast<int>(H * 0.5 * u(rng));
  const double period = 3 + 5 * u(rng), angle = 3.14159 * u(rng), disc = u(rng);
  const int fx0 = static_cast<int>((W - 24) * u(rng)), fy0 = static_cast<int>((H - 24) * u(rng));
  std::vector<float> px(static_cast<std::size_t>(W) * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double v = 0.5 + gx * x / W + gy * y / H;
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) v = disc;
      if (x >= sx0 && x < sx0 + W / 3 && y >= sy0 && y < sy0 + H / 3)
        v = 0.5 + 0.4 * std::sin(6.28318 * (x * std::cos(angle) + y * std::sin(angle)) / period);
      v += 0.04 * (u(rng) - 0.5);
      if (x >= fx0 && x < fx0 + 24 && y >= fy0 && y < fy0 + 24) v = 0.3;  // flat: zeroed descriptors
      px[static_cast<std::size_t>(y) * W + x] = static_cast<float>(std::clamp(v, 0.0, 1.0));
    }
  return bowlrp::bow::ImageLoader(bowlrp::bow::ImageOptions{0}).from_gray(px.data(), W, H);
}

/// The suites' options: no size cap, two bin sizes, K = 8, a 1x1 + 2x1 pyramid.
inline bowlrp::bow::VladPipelineOptions small_options() {
  bowlrp::bow::VladPipelineOptions o;
  o.image.max_side = 0;
  o.dsift.bin_sizes = {4, 6};
  o.vlad.words = 8;
  o.vlad.seed = 1;
  o.vlad.pyramid = {{1, 1}, {2, 1}};
  return o;
}

/// The shared training: descriptors of six synthetic images, one codebook, one pipeline.
struct Fixture {
  bowlrp::bow::VladPipelineOptions options = small_options();
  std::vector<float> descriptors;
  std::size_t n = 0;
  bowlrp::bow::Codebook codebook;
  std::shared_ptr<const bowlrp::bow::VladPipeline> pipeline;
};

/// The shared training, made on first use.
inline const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    const bowlrp::bow::DenseSift sift(x.options.dsift);
    for (std::uint64_t s = 0; s < 6; ++s) {
      const auto t = sift.extract(synthetic_image(64 + 8 * static_cast<int>(s % 3), 48 + 4 * static_cast<int>(s % 2), 100 + s));
      x.descriptors.insert(x.descriptors.end(), t.descriptors.begin(), t.descriptors.end());
    }
    x.n = x.descriptors.size() / kSift;
    x.codebook = bowlrp::bow::train_vlad_codebook(x.descriptors.data(), x.n, x.options.vlad);
    x.pipeline = std::make_shared<const bowlrp::bow::VladPipeline>(x.options, x.codebook);
    return x;
  }();
  return f;
}

/// Whether a SIFT descriptor is all zero (dense SIFT zeroed it).
inline bool zero_descriptor(const float* d) {
  return std::all_of(d, d + kSift, [](float v) { return v == 0.0f; });
}

/// The nearest centre in double over every word (ties to the lowest k).
inline int naive_nearest(const bowlrp::bow::Codebook& cb, const float* s) {
  int best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (int k = 0; k < cb.size(); ++k) {
    double d = 0;
    for (int j = 0; j < kSift; ++j) {
      const double e = static_cast<double>(s[j]) - cb.centre(k)[j];
      d += e * e;
    }
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

/// RootSIFT in double, written out again.
inline std::vector<float> naive_root_sift(const float* d) {
  double l1 = 0;
  for (int j = 0; j < kSift; ++j) l1 += std::abs(d[j]);
  std::vector<float> out(kSift, 0.0f);
  if (l1 > 0)
    for (int j = 0; j < kSift; ++j) out[j] = static_cast<float>(std::sqrt(std::abs(d[j]) / l1));
  return out;
}

/// max |a - b| (over a's size).
inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

/// V standard normal values, seeded.
inline std::vector<double> random_relevance(std::size_t V, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> R(V);
  for (double& r : R) r = g(rng);
  return R;
}

/// Σ v.
inline double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

/// Σ |v|.
inline double abs_sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return s;
}

using bowlrp::test::throws_with;

/// A pipeline of the fixture's codebook with other normalisation flags and pyramid.
inline bowlrp::bow::VladPipeline variant(bool ssr, bool intra, std::vector<bowlrp::core::PyramidLevel> pyramid) {
  bowlrp::bow::VladPipelineOptions o = fixture().options;
  o.vlad.signed_sqrt = ssr;
  o.vlad.intra_normalisation = intra;
  o.vlad.pyramid = std::move(pyramid);
  return bowlrp::bow::VladPipeline(o, fixture().codebook);
}

}  // namespace bowlrp::test::vlad
