// Tests of the Fisher-vector encoding (bow/fisher.h) and its ε-rule relevance
// (decompose/fisher_relevance.h): the forward sums, the projection, training, the backward split
// and the incremental flipper, each against a naive reference written here in double, on small
// synthetic images and a tiny mixture (D = 6 principal components + xy, K = 4 Gaussians).
// Registered like every suite (its own ctest entry "fisher"); partial module builds compile it with
// -DBOWLRP_EXTRA_SUITES=fisher (it needs bow, svm and decompose).
#include <bowlrp/bow/fisher.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/fisher_relevance.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/svm/linear_svm.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bb = bowlrp::bow;
namespace bd = bowlrp::decompose;
namespace bs = bowlrp::svm;

namespace {

constexpr int kSift = bb::FeatureTrace::kDim;

// ---------- synthetic images ----------

// A W x H grey image: a gradient of random direction, a disc, a rectangle, a stripe patch, a flat
// patch (whose descriptors fall below the contrast threshold and are zeroed) and mild noise.
bb::GrayImage synthetic_image(int W, int H, std::uint64_t seed) {
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
  return bb::ImageLoader(bb::ImageOptions{0}).from_gray(px.data(), W, H);
}

// Normalised frame centres as the pipeline defines them: the centre in edge coordinates (pixel i
// spans [i, i + 1), so the centre of a frame at x is x + 1/2) over the size, minus 1/2.
std::vector<float> normalised_centres(const bb::FeatureTrace& f) {
  std::vector<float> out(2 * f.size());
  for (std::size_t l = 0; l < f.size(); ++l) {
    out[2 * l] = static_cast<float>((f.frames[l].x + 0.5) / f.width - 0.5);
    out[2 * l + 1] = static_cast<float>((f.frames[l].y + 0.5) / f.height - 0.5);
  }
  return out;
}

bb::FisherPipelineOptions small_options() {
  bb::FisherPipelineOptions o;
  o.image.max_side = 0;
  o.dsift.bin_sizes = {4, 6};
  o.fisher.pca_dimension = 6;
  o.fisher.components = 4;
  o.fisher.max_iterations = 60;
  o.fisher.seed = 1;
  o.fisher.pyramid = {{1, 1}, {2, 1}};
  return o;
}

// The shared training: descriptors of six synthetic images, one mixture, one pipeline.
struct Fixture {
  bb::FisherPipelineOptions options = small_options();
  std::vector<float> descriptors, positions;
  std::size_t n = 0;
  bb::FisherParameters parameters;
  bb::FisherTrainReport report;
  std::shared_ptr<const bb::FisherPipeline> pipeline;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    const bb::DenseSift sift(x.options.dsift);
    for (std::uint64_t s = 0; s < 6; ++s) {
      const auto t = sift.extract(synthetic_image(64 + 8 * static_cast<int>(s % 3), 48 + 4 * static_cast<int>(s % 2), 100 + s));
      const auto p = normalised_centres(t);
      x.descriptors.insert(x.descriptors.end(), t.descriptors.begin(), t.descriptors.end());
      x.positions.insert(x.positions.end(), p.begin(), p.end());
    }
    x.n = x.descriptors.size() / kSift;
    x.parameters = bb::train_fisher(x.descriptors.data(), x.positions.data(), x.n, x.options.fisher, &x.report);
    x.pipeline = std::make_shared<const bb::FisherPipeline>(x.options, x.parameters);
    return x;
  }();
  return f;
}

// ---------- naive references ----------

// Global pyramid cell of a frame at a level, by the rule of bow/pooling.h written out again.
int naive_cell(const bb::Frame& f, int W, int H, const std::vector<bowlrp::core::PyramidLevel>& pyramid, std::size_t level) {
  int base = 0;
  for (std::size_t j = 0; j < level; ++j) base += pyramid[j].cols * pyramid[j].rows;
  const bowlrp::core::PyramidLevel& L = pyramid[level];
  const int cx = std::min(L.cols - 1, std::max(0, static_cast<int>(std::floor((f.x + 0.5) * L.cols / W))));
  const int cy = std::min(L.rows - 1, std::max(0, static_cast<int>(std::floor((f.y + 0.5) * L.rows / H))));
  return base + cy * L.cols + cx;
}

// γ_lk = π_k N(x; μ_k, σ²_k) / Σ_k' π_k' N(x; μ_k', σ²_k'), all in double, without thresholding.
std::vector<double> naive_posteriors(const bb::FisherParameters& p, const float* x) {
  const int K = p.components(), G = p.descriptor_dimension();
  std::vector<double> lg(K);
  for (int k = 0; k < K; ++k) {
    double s = std::log(p.priors[k]);
    for (int j = 0; j < G; ++j) {
      const double var = p.variances[k * G + j], d = x[j] - p.means[k * G + j];
      s -= 0.5 * (std::log(2 * M_PI * var) + d * d / var);
    }
    lg[k] = s;
  }
  const double top = *std::max_element(lg.begin(), lg.end());
  double sum = 0;
  for (double& v : lg) sum += (v = std::exp(v - top));
  for (double& v : lg) v /= sum;
  return lg;
}

// Every ψ_d(l) of a trace (V x L, row-major), from the header's formula with the trace's own local
// descriptors and kept posteriors; the feature cells are recomputed here from the frames.
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

NaivePsi naive_psi(const bb::FisherPipeline& pipeline, const bb::FisherTrace& t) {
  const bb::FisherParameters& p = pipeline.parameters();
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

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
// Runs f, which must throw std::invalid_argument whose message contains every one of `parts`.
void require_invalid_argument(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    for (const auto& part : parts) BOOST_TEST(what.find(part) != std::string::npos, "'" << what << "' names '" << part << "'");
    return;
  }
  BOOST_ERROR("no std::invalid_argument thrown (expected one naming " << parts.front() << ")");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fisher)

// ---------- forward ----------

// The trace's Fisher sums against the header's formula written out per cell, from the trace's own
// local descriptors and kept posteriors (1x1 + 2x1 and 1x1 + 3x1 pyramids), then the improved
// normalisation (signed square root, per-cell L2, 1/sqrt(cells)); the kept posteriors against
// posteriors recomputed in double from the parameters.
BOOST_AUTO_TEST_CASE(fisher_vector_matches_the_naive_sums_and_normalisation) {
  const Fixture& fx = fixture();
  const bb::FisherParameters& p = fx.parameters;
  const std::size_t K = p.components(), G = p.descriptor_dimension(), D = p.pca_dimension();
  const double threshold = fx.options.fisher.posterior_threshold;
  for (const auto& pyramid : std::vector<std::vector<bowlrp::core::PyramidLevel>>{{{1, 1}, {2, 1}}, {{1, 1}, {3, 1}}}) {
    BOOST_TEST_CONTEXT("pyramid 1x1 + " << pyramid[1].cols << "x1") {
      bb::FisherPipelineOptions o = fx.options;
      o.fisher.pyramid = pyramid;
      o.fisher.skip_zeroed = pyramid[1].cols == 2;  // both ways with zeroed descriptors
      const bb::FisherPipeline pipeline(o, p);
      const bb::GrayImage image = synthetic_image(72, 56, 201);
      const bb::FisherTrace t = pipeline.encode(image);
      const std::size_t L = t.features.size(), cells = 1 + pyramid[1].cols, V = cells * 2 * K * G;
      BOOST_TEST_REQUIRE(L > 100u);
      BOOST_TEST_REQUIRE(pipeline.dimension() == V);
      BOOST_TEST_REQUIRE(t.unnormalised.size() == V);
      BOOST_TEST_REQUIRE(t.fisher.size() == V);
      BOOST_TEST_REQUIRE(t.dimension == static_cast<int>(G));
      BOOST_TEST_REQUIRE(t.cells == static_cast<int>(cells));
      BOOST_TEST((t.pipeline == pipeline.fingerprint()));

      // The appended position and the cells, from the frames.
      const std::vector<float> xy = normalised_centres(t.features);
      for (std::size_t l = 0; l < L; ++l) {
        BOOST_TEST_REQUIRE(t.local[l * G + D] == xy[2 * l]);
        BOOST_TEST_REQUIRE(t.local[l * G + D + 1] == xy[2 * l + 1]);
      }
      const NaivePsi n = naive_psi(pipeline, t);
      BOOST_TEST(t.feature_cells == n.cell_of);
      BOOST_TEST(t.cell_counts == n.counts);

      // Posteriors: every feature, every component, against the double softmax of log-likelihoods.
      BOOST_TEST_REQUIRE(t.posteriors.features() == L);
      double worst_gamma = 0;
      std::size_t kept = 0, zeroed = 0;
      for (std::size_t l = 0; l < L; ++l) {
        const float* sift = t.features.descriptor(l);
        if (std::all_of(sift, sift + 128, [](float v) { return v == 0.0f; })) {
          ++zeroed;
          if (o.fisher.skip_zeroed) {  // no posterior, so no Fisher term
            BOOST_TEST_REQUIRE(t.posteriors.offsets[l] == t.posteriors.offsets[l + 1]);
            continue;
          }
        }
        const std::vector<double> ref = naive_posteriors(p, t.local.data() + l * G);
        std::vector<double> got(K, 0.0);
        int previous = -1;
        for (std::uint32_t e = t.posteriors.offsets[l]; e < t.posteriors.offsets[l + 1]; ++e, ++kept) {
          const int k = t.posteriors.components[e];
          BOOST_TEST_REQUIRE(k > previous);  // each component once, in increasing order
          previous = k;
          got[k] = t.posteriors.values[e];
          BOOST_TEST_REQUIRE(t.posteriors.values[e] > threshold);
          BOOST_TEST_REQUIRE(ref[k] > threshold, "feature " << l << " component " << k << ": kept but γ = " << ref[k]);
        }
        for (std::size_t k = 0; k < K; ++k) {
          // A dropped posterior is 0 in the trace and at most the threshold in double.
          const double diff = got[k] > 0 ? std::abs(got[k] - ref[k]) : std::max(0.0, ref[k] - threshold);
          worst_gamma = std::max(worst_gamma, diff);
        }
      }
      BOOST_TEST_MESSAGE("pyramid 1x1 + " << pyramid[1].cols << "x1: " << L << " features, " << kept
                                          << " kept posteriors; worst |γ - γ_double| = " << worst_gamma);
      BOOST_TEST(worst_gamma < 1e-5);
      BOOST_TEST(zeroed > 0u);  // the flat patch: the skip_zeroed rule is exercised

      // z_d = Σ_l ψ_d(l), compared relative to Σ_l |ψ_d(l)| (the scale of its rounding; a z_d that
      // cancels to ~0 has no relative accuracy to speak of).
      double worst_z = 0, worst_z_plain = 0;
      for (std::size_t d = 0; d < V; ++d) {
        double z = 0, scale = 0;
        for (std::size_t l = 0; l < L; ++l) {
          z += n.at(d, l);
          scale += std::abs(n.at(d, l));
        }
        const double err = std::abs(t.unnormalised[d] - z);
        if (scale == 0) {
          BOOST_TEST_REQUIRE(t.unnormalised[d] == 0.0);
          continue;
        }
        worst_z = std::max(worst_z, err / scale);
        if (z != 0) worst_z_plain = std::max(worst_z_plain, err / std::abs(z));
      }
      BOOST_TEST_MESSAGE("  z: worst |Δz| / Σ|ψ| = " << worst_z << ", worst |Δz| / |z| = " << worst_z_plain);
      BOOST_TEST(worst_z < 1e-12);

      // Φ from the trace's own z by the improved normalisation, element by element.
      double worst_phi = 0, worst_norm = 0, norm2 = 0;
      const std::size_t cell_dim = 2 * K * G;
      for (std::size_t c = 0; c < cells; ++c) {
        double mass = 0;
        for (std::size_t d = c * cell_dim; d < (c + 1) * cell_dim; ++d) mass += std::abs(t.unnormalised[d]);
        BOOST_TEST_REQUIRE(mass > 0);
        const double norm = std::sqrt(mass) * std::sqrt(static_cast<double>(cells));
        worst_norm = std::max(worst_norm, std::abs(t.cell_norms[c] - norm) / norm);
        for (std::size_t d = c * cell_dim; d < (c + 1) * cell_dim; ++d) {
          const double z = t.unnormalised[d];
          const double phi = (z < 0 ? -1.0 : 1.0) * std::sqrt(std::abs(z)) / norm;
          if (phi == 0)
            BOOST_TEST_REQUIRE(t.fisher[d] == 0.0);
          else
            worst_phi = std::max(worst_phi, std::abs(t.fisher[d] - phi) / std::abs(phi));
          norm2 += t.fisher[d] * t.fisher[d];
        }
      }
      // End to end: Φ of the naive z (not asserted elementwise: sqrt amplifies the rounding of a
      // z that cancels to ~0).
      BOOST_TEST_MESSAGE("  Φ: worst relative |ΔΦ| = " << worst_phi << ", cell norms " << worst_norm
                                                        << "; |Φ|² - 1 = " << norm2 - 1);
      BOOST_TEST(worst_phi < 1e-12);
      BOOST_TEST(worst_norm < 1e-12);
      BOOST_TEST(std::abs(norm2 - 1) < 1e-12);  // every cell has features

      // pool() is the forward sum of encode(): re-pooling a copy gives the same bits.
      bb::FisherTrace again = t;
      again.unnormalised.assign(V, 123.0);
      again.fisher.assign(V, -1.0);
      pipeline.pool(again);
      BOOST_TEST(again.unnormalised == t.unnormalised);
      BOOST_TEST(again.fisher == t.fisher);
    }
  }
}

// A cell without features stays 0 (norm 1), so Φ has squared norm (non-empty cells) / cells.
BOOST_AUTO_TEST_CASE(empty_pyramid_cell_stays_zero) {
  const Fixture& fx = fixture();
  const bb::FisherPipeline& pipeline = *fx.pipeline;
  const bb::FeatureTrace all = pipeline.sift().extract(synthetic_image(64, 48, 202));
  bb::FeatureTrace left = all;  // only the features of the left half: the 2x1 level's right cell is empty
  left.frames.clear();
  left.descriptors.clear();
  for (std::size_t l = 0; l < all.size(); ++l)
    if ((all.frames[l].x + 0.5) * 2 < all.width) {
      left.frames.push_back(all.frames[l]);
      left.descriptors.insert(left.descriptors.end(), all.descriptor(l), all.descriptor(l) + kSift);
    }
  BOOST_TEST_REQUIRE(left.size() > 20u);
  const bb::FisherTrace t = pipeline.encode_features(left);
  BOOST_TEST_REQUIRE(t.cell_counts == (std::vector<int>{static_cast<int>(left.size()), static_cast<int>(left.size()), 0}));
  const std::size_t cell_dim = pipeline.dimension() / 3;
  double norm2 = 0;
  for (std::size_t d = 0; d < t.fisher.size(); ++d) {
    if (d >= 2 * cell_dim) {
      BOOST_TEST_REQUIRE(t.unnormalised[d] == 0.0);
      BOOST_TEST_REQUIRE(t.fisher[d] == 0.0);
    }
    norm2 += t.fisher[d] * t.fisher[d];
  }
  BOOST_TEST(t.cell_norms[2] == 1.0);
  BOOST_TEST(std::abs(norm2 - 2.0 / 3.0) < 1e-12);
  // The left cell of the 2x1 level holds exactly the 1x1 cell's features: same z, same Φ.
  for (std::size_t d = 0; d < cell_dim; ++d) {
    BOOST_TEST_REQUIRE(t.unnormalised[d] == t.unnormalised[cell_dim + d]);
    BOOST_TEST_REQUIRE(t.fisher[d] == t.fisher[cell_dim + d]);
  }
}

// ---------- projection ----------

// x_l = [P (RootSIFT(d_l) - m) ; xy] against the same computed in double, for the trained
// parameters on a trace's descriptors and on random ones (including an all-zero descriptor), and
// without RootSIFT or xy on random parameters.
BOOST_AUTO_TEST_CASE(project_descriptors_matches_naive_rootsift_pca_and_xy) {
  const Fixture& fx = fixture();
  // The error of each output is a float dot product of 128 terms: compare relative to Σ|terms|.
  auto check = [](const bb::FisherParameters& p, const bb::FisherOptions& o, const std::vector<float>& desc,
                  const std::vector<float>& pos, const std::vector<float>& got, const char* what) {
    const std::size_t n = desc.size() / kSift, D = o.pca_dimension, G = o.descriptor_dimension();
    BOOST_TEST_REQUIRE(got.size() == n * G);
    double worst = 0;
    for (std::size_t l = 0; l < n; ++l) {
      std::vector<double> s(kSift);
      double l1 = 0;
      for (int j = 0; j < kSift; ++j) l1 += std::abs(desc[l * kSift + j]);
      for (int j = 0; j < kSift; ++j)
        s[j] = !o.root_sift ? desc[l * kSift + j] : l1 > 0 ? std::sqrt(std::abs(desc[l * kSift + j]) / l1) : 0.0;
      for (std::size_t r = 0; r < D; ++r) {
        double y = 0, scale = 0;
        for (int j = 0; j < kSift; ++j) {
          const double term = p.projection[r * kSift + j] * (s[j] - p.mean[j]);
          y += term;
          scale += std::abs(term);
        }
        worst = std::max(worst, std::abs(got[l * G + r] - y) / scale);
      }
      if (o.append_xy) {
        BOOST_TEST_REQUIRE(got[l * G + D] == pos[2 * l]);
        BOOST_TEST_REQUIRE(got[l * G + D + 1] == pos[2 * l + 1]);
      }
    }
    BOOST_TEST_MESSAGE(what << ": worst |Δx| / Σ|P (s - m)| = " << worst);
    // Float inputs and a float dot product of 128 terms: at most ~131 float epsilons (7.8e-6).
    BOOST_TEST(worst < 1e-5);
  };

  // A trace's descriptors: its local descriptors are this projection.
  const bb::FisherTrace t = fx.pipeline->encode(synthetic_image(64, 48, 203));
  check(fx.parameters, fx.options.fisher, t.features.descriptors, normalised_centres(t.features), t.local, "trace");

  // Random descriptors (non-negative, as SIFT), one all zero.
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> desc(20 * kSift), pos(40);
  for (float& v : desc) v = u(rng) < 0.3f ? 0.0f : 0.3f * u(rng);
  std::fill(desc.begin() + 7 * kSift, desc.begin() + 8 * kSift, 0.0f);
  for (float& v : pos) v = u(rng) - 0.5f;
  const std::vector<float> x = bb::project_descriptors(fx.parameters, fx.options.fisher, desc.data(), pos.data(), 20);
  check(fx.parameters, fx.options.fisher, desc, pos, x, "random descriptors");
  // The zeroed descriptor stays 0 after RootSIFT: its projection is -P m.
  for (int r = 0; r < fx.options.fisher.pca_dimension; ++r) {
    double y = 0;
    for (int j = 0; j < kSift; ++j) y -= fx.parameters.projection[r * kSift + j] * fx.parameters.mean[j];
    BOOST_TEST(std::abs(x[7 * fx.options.fisher.descriptor_dimension() + r] - y) < 1e-6);
  }

  // No RootSIFT, no xy, random (non-orthogonal) parameters of another D.
  bb::FisherOptions o;
  o.pca_dimension = 7;
  o.root_sift = false;
  o.append_xy = false;
  bb::FisherParameters q;
  std::normal_distribution<double> g(0, 1);
  q.mean.resize(kSift);
  q.projection.resize(7 * kSift);
  for (double& v : q.mean) v = 0.1 * g(rng);
  for (double& v : q.projection) v = g(rng);
  const std::vector<float> y = bb::project_descriptors(q, o, desc.data(), pos.data(), 20);
  check(q, o, desc, pos, y, "no RootSIFT, no xy");
  BOOST_TEST(bb::project_descriptors(q, o, desc.data(), pos.data(), 0).empty());
}

// ---------- training ----------

BOOST_AUTO_TEST_CASE(train_fisher_is_deterministic_and_gives_valid_orthonormal_pca) {
  const Fixture& fx = fixture();
  const bb::FisherParameters& p = fx.parameters;
  const bb::FisherOptions& o = fx.options.fisher;
  const int D = o.pca_dimension, G = o.descriptor_dimension(), K = o.components;
  BOOST_TEST_REQUIRE(p.components() == K);
  BOOST_TEST_REQUIRE(p.pca_dimension() == D);
  BOOST_TEST_REQUIRE(p.descriptor_dimension() == G);
  p.validate(o);  // throws on any violation

  // Same inputs, same seed: the same bits.
  bb::FisherTrainReport again_report;
  const bb::FisherParameters again = bb::train_fisher(fx.descriptors.data(), fx.positions.data(), fx.n, o, &again_report);
  auto bitwise = [](const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
  };
  BOOST_TEST(bitwise(again.mean, p.mean));
  BOOST_TEST(bitwise(again.projection, p.projection));
  BOOST_TEST(bitwise(again.means, p.means));
  BOOST_TEST(bitwise(again.variances, p.variances));
  BOOST_TEST(bitwise(again.priors, p.priors));
  BOOST_TEST(again_report.explained_variance == fx.report.explained_variance);
  BOOST_TEST(again_report.log_likelihood == fx.report.log_likelihood);
  BOOST_TEST(fx.report.samples == fx.n);

  // Priors sum to 1, variances > 0.
  BOOST_TEST(std::abs(sum(p.priors) - 1) < 1e-12);
  for (double v : p.priors) BOOST_TEST_REQUIRE(v > 0);
  for (double v : p.variances) BOOST_TEST_REQUIRE((v > 0 && std::isfinite(v)));

  // PCA in double here: mean, covariance, the axes orthonormal eigenvectors by decreasing
  // eigenvalue (largest-magnitude entry positive), the explained share their eigenvalues' sum.
  std::vector<double> mean(kSift, 0.0), s(fx.n * kSift);
  for (std::size_t l = 0; l < fx.n; ++l) {
    double l1 = 0;
    for (int j = 0; j < kSift; ++j) l1 += std::abs(fx.descriptors[l * kSift + j]);
    for (int j = 0; j < kSift; ++j) {
      // RootSIFT as the pipeline stores it: rounded to float.
      s[l * kSift + j] = l1 > 0 ? static_cast<float>(std::sqrt(std::abs(fx.descriptors[l * kSift + j]) / l1)) : 0.0;
      mean[j] += s[l * kSift + j];
    }
  }
  for (double& m : mean) m /= static_cast<double>(fx.n);
  double worst_mean = 0;
  for (int j = 0; j < kSift; ++j) worst_mean = std::max(worst_mean, std::abs(mean[j] - p.mean[j]));
  BOOST_TEST(worst_mean < 1e-12);
  std::vector<double> C(kSift * kSift, 0.0);
  for (std::size_t l = 0; l < fx.n; ++l)
    for (int a = 0; a < kSift; ++a)
      for (int b = 0; b < kSift; ++b) C[a * kSift + b] += (s[l * kSift + a] - mean[a]) * (s[l * kSift + b] - mean[b]);
  double trace = 0, cnorm = 0;
  for (double& c : C) c /= static_cast<double>(fx.n);
  for (int a = 0; a < kSift; ++a) trace += C[a * kSift + a];
  for (double c : C) cnorm = std::max(cnorm, std::abs(c));
  double worst_orth = 0, worst_eig = 0, kept = 0, previous = std::numeric_limits<double>::infinity();
  for (int r = 0; r < D; ++r) {
    const double* v = p.projection.data() + r * kSift;
    for (int q = 0; q < D; ++q) {
      double dot = 0;
      for (int j = 0; j < kSift; ++j) dot += v[j] * p.projection[q * kSift + j];
      worst_orth = std::max(worst_orth, std::abs(dot - (r == q ? 1.0 : 0.0)));
    }
    std::vector<double> Cv(kSift, 0.0);
    double lambda = 0;
    for (int a = 0; a < kSift; ++a) {
      for (int b = 0; b < kSift; ++b) Cv[a] += C[a * kSift + b] * v[b];
      lambda += v[a] * Cv[a];
    }
    for (int a = 0; a < kSift; ++a) worst_eig = std::max(worst_eig, std::abs(Cv[a] - lambda * v[a]) / cnorm);
    BOOST_TEST(lambda <= previous * (1 + 1e-12), "axis " << r << ": eigenvalue " << lambda << " after " << previous);
    previous = lambda;
    kept += lambda;
    const double* big = std::max_element(v, v + kSift, [](double a, double b) { return std::abs(a) < std::abs(b); });
    BOOST_TEST(*big > 0);
  }
  const double explained = fx.report.explained_variance;
  BOOST_TEST_MESSAGE("PCA: |P P^T - I| = " << worst_orth << ", |C v - λ v| / max|C| = " << worst_eig
                                           << ", explained variance " << explained << " (naive " << kept / trace << ")");
  BOOST_TEST(worst_orth < 1e-9);
  BOOST_TEST(worst_eig < 1e-9);
  BOOST_TEST(explained > 0.0);
  BOOST_TEST(explained <= 1.0);
  BOOST_TEST(std::abs(explained - kept / trace) < 1e-9);

  // Another seed gives another mixture (hence another pipeline fingerprint).
  bb::FisherOptions other = o;
  other.seed = 2;
  const bb::FisherParameters q = bb::train_fisher(fx.descriptors.data(), fx.positions.data(), fx.n, other);
  BOOST_TEST(!bitwise(q.means, p.means));
}

BOOST_AUTO_TEST_CASE(train_fisher_refuses_fewer_descriptors_than_components) {
  const Fixture& fx = fixture();
  bb::FisherOptions o = fx.options.fisher;
  o.components = 37;
  require_invalid_argument([&] { bb::train_fisher(fx.descriptors.data(), fx.positions.data(), 23, o); }, {"37", "23"});
  // Exactly as many is accepted.
  o.components = 3;
  o.max_iterations = 5;
  const bb::FisherParameters p = bb::train_fisher(fx.descriptors.data(), fx.positions.data(), 3, o);
  BOOST_TEST(p.components() == 3);
}

// ---------- relevance ----------

namespace {

double sum_abs(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return s;
}
double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// The ε rule with explicit ψ: R_l = Σ_d R_d ψ_d(l) / (z_d + ε sign z_d) (sign(0) = +1) over the
// (cell, component) pairs with posterior mass, the relevance of the others spread evenly over the
// N_c features of their cell (unassigned when N_c = 0); absorbed_d = R_d ε / (|z_d| + ε).
// `scale` receives, per feature, Σ_d |R_d ψ_d(l) / (z_d ± ε)| + the spread magnitude: the size of
// the terms whose sum R_l is, the natural scale of its rounding error.
struct NaiveRelevance {
  std::vector<double> R, scale, per_word, per_cell;
  double absorbed = 0, absorbed_scale = 0, unassigned = 0;
};

NaiveRelevance naive_relevance(const NaivePsi& n, const std::vector<double>& z, const std::vector<double>& R_d, double eps) {
  NaiveRelevance out;
  out.R.assign(n.L, 0.0);
  out.scale.assign(n.L, 0.0);
  out.per_word.assign(n.K, 0.0);
  out.per_cell.assign(n.cells, 0.0);
  for (std::size_t d = 0; d < n.V; ++d) {
    const std::size_t c = n.cell(d), k = n.component(d);
    out.per_word[k] += R_d[d];
    out.per_cell[c] += R_d[d];
    if (!n.used[c * n.K + k]) {
      if (n.counts[c] == 0) {
        out.unassigned += R_d[d];
        continue;
      }
      for (std::size_t l = 0; l < n.L; ++l)
        for (std::size_t j = 0; j < n.levels; ++j)
          if (static_cast<std::size_t>(n.cell_of[l * n.levels + j]) == c) {
            out.R[l] += R_d[d] / n.counts[c];
            out.scale[l] += std::abs(R_d[d]) / n.counts[c];
          }
      continue;
    }
    const double den = z[d] + (z[d] >= 0 ? eps : -eps);
    for (std::size_t l = 0; l < n.L; ++l) {
      const double term = R_d[d] * n.at(d, l) / den;
      out.R[l] += term;
      out.scale[l] += std::abs(term);
    }
    out.absorbed += R_d[d] * eps / (std::abs(z[d]) + eps);
    out.absorbed_scale += std::abs(R_d[d] * eps / (std::abs(z[d]) + eps));
  }
  return out;
}

// A linear head of random weights of both signs and a bias per class.
bs::LinearSvm random_linear_head(std::size_t V, std::size_t classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<bs::LinearClass> cls(classes);
  for (std::size_t c = 0; c < classes; ++c) {
    cls[c].name = "class" + std::to_string(c);
    cls[c].bias = 0.5 * u(rng);
    cls[c].weights.resize(V);
    for (double& w : cls[c].weights) w = u(rng);
  }
  return bs::LinearSvm(V, std::move(cls));
}

// Traces that exercise every branch of the split: a plain image; the same with component 3 dropped
// from every feature of the 2x1 level's right cell and every posterior of a few features removed
// (re-pooled: (cell, component) pairs without mass, features without posteriors); and the
// features of the left half only (an empty cell).
std::vector<std::pair<std::string, bb::FisherTrace>> relevance_traces(const bb::FisherPipeline& pipeline) {
  std::vector<std::pair<std::string, bb::FisherTrace>> out;
  const bb::FisherTrace plain = pipeline.encode(synthetic_image(64, 48, 301));
  out.emplace_back("plain", plain);

  bb::FisherTrace edited = plain;
  bb::Posteriors kept;
  kept.offsets.push_back(0);
  for (std::size_t l = 0; l < edited.features.size(); ++l) {
    const bool right = edited.feature_cells[l * 2 + 1] == 2;
    for (std::uint32_t e = plain.posteriors.offsets[l]; e < plain.posteriors.offsets[l + 1]; ++e) {
      if ((right && plain.posteriors.components[e] == 3) || l % 17 == 5) continue;
      kept.components.push_back(plain.posteriors.components[e]);
      kept.values.push_back(plain.posteriors.values[e]);
    }
    kept.offsets.push_back(static_cast<std::uint32_t>(kept.values.size()));
  }
  edited.posteriors = kept;
  pipeline.pool(edited);
  out.emplace_back("edited posteriors", edited);

  const bb::FeatureTrace all = plain.features;
  bb::FeatureTrace left = all;
  left.frames.clear();
  left.descriptors.clear();
  for (std::size_t l = 0; l < all.size(); ++l)
    if ((all.frames[l].x + 0.5) * 2 < all.width) {
      left.frames.push_back(all.frames[l]);
      left.descriptors.insert(left.descriptors.end(), all.descriptor(l), all.descriptor(l) + kSift);
    }
  out.emplace_back("left half (empty cell)", pipeline.encode_features(left));
  return out;
}

}  // namespace

// relevance_fisher_features against the ε rule with every ψ_d(l) explicit, random signed R_d,
// ε from 1e-12 to 1e-3: R_l, per word, per cell, absorbed, unassigned, and conservation.
BOOST_AUTO_TEST_CASE(fisher_relevance_matches_explicit_psi_and_conserves_for_every_epsilon) {
  const Fixture& fx = fixture();
  const bb::FisherPipeline& pipeline = *fx.pipeline;
  std::mt19937_64 rng(17);
  std::normal_distribution<double> g(0, 1);
  double worst_R = 0, worst_R_plain = 0, worst_conservation = 0, worst_absorbed = 0;
  for (const auto& [name, t] : relevance_traces(pipeline)) {
    const NaivePsi n = naive_psi(pipeline, t);
    BOOST_TEST_REQUIRE(t.feature_cells == n.cell_of);
    std::size_t unused = 0, empty = 0;
    for (std::size_t c = 0; c < n.cells; ++c)
      for (std::size_t k = 0; k < n.K; ++k) unused += !n.used[c * n.K + k] && n.counts[c] > 0;
    for (int N : n.counts) empty += N == 0;
    BOOST_TEST_MESSAGE(name << ": " << n.L << " features, " << unused << " (cell, component) pairs without mass, "
                            << empty << " empty cells");
    if (name == "edited posteriors") BOOST_TEST_REQUIRE(unused > 0u);
    if (name == "left half (empty cell)") BOOST_TEST_REQUIRE(empty == 1u);
    std::vector<double> R_d(n.V);
    for (double& r : R_d) r = g(rng);
    double previous_absorbed = -1;
    for (double eps : {1e-12, 1e-9, 1e-6, 1e-4, 1e-3}) {
      BOOST_TEST_CONTEXT(name << ", ε = " << eps) {
        bd::FisherRule rule;
        rule.epsilon = eps;
        const bd::FeatureRelevance r = bd::relevance_fisher_features(pipeline, t, R_d, rule);
        const NaiveRelevance ref = naive_relevance(n, t.unnormalised, R_d, eps);
        BOOST_TEST_REQUIRE(r.R.size() == n.L);
        for (std::size_t l = 0; l < n.L; ++l) {
          const double err = std::abs(r.R[l] - ref.R[l]);
          BOOST_TEST_REQUIRE(err <= 1e-10 * ref.scale[l], "feature " << l << ": " << r.R[l] << " vs " << ref.R[l]);
          worst_R = std::max(worst_R, err / ref.scale[l]);
          if (ref.R[l] != 0) worst_R_plain = std::max(worst_R_plain, err / std::abs(ref.R[l]));
        }
        BOOST_TEST(max_abs_diff(r.per_word, ref.per_word) <= 1e-12 * sum_abs(R_d));
        BOOST_TEST(max_abs_diff(r.per_cell, ref.per_cell) <= 1e-12 * sum_abs(R_d));
        BOOST_TEST(std::abs(r.absorbed - ref.absorbed) <= 1e-12 * ref.absorbed_scale);
        BOOST_TEST(std::abs(r.unassigned - ref.unassigned) <= 1e-12 * sum_abs(R_d));
        if (empty == 0) BOOST_TEST(r.unassigned == 0.0);
        if (empty > 0) BOOST_TEST(r.unassigned != 0.0);
        if (ref.absorbed_scale > 0) worst_absorbed = std::max(worst_absorbed, std::abs(r.absorbed - ref.absorbed) / ref.absorbed_scale);
        const double residual = std::abs(r.total() + r.absorbed + r.unassigned - sum(R_d));
        BOOST_TEST(residual <= 1e-12 * sum_abs(R_d), "Σ R_l + absorbed + unassigned - Σ R_d = " << residual);
        worst_conservation = std::max(worst_conservation, residual / sum_abs(R_d));
        // With non-negative R_d every absorbed_d = R_d ε / (|z_d| + ε) grows with ε, hence their sum.
        std::vector<double> positive(R_d.size());
        for (std::size_t d = 0; d < R_d.size(); ++d) positive[d] = std::abs(R_d[d]);
        const double absorbed = bd::relevance_fisher_features(pipeline, t, positive, rule).absorbed;
        BOOST_TEST(absorbed > previous_absorbed, "absorbed " << absorbed << " after " << previous_absorbed);
        previous_absorbed = absorbed;
      }
    }
    BOOST_TEST_MESSAGE("  absorbed share of Σ|R_d| at ε = 1e-3: " << previous_absorbed / sum_abs(R_d));
  }
  BOOST_TEST_MESSAGE("worst |ΔR_l| / Σ_d |R_d ψ_d(l) / (z_d ± ε)| = " << worst_R << " (/|R_l|: " << worst_R_plain
                     << "); worst conservation residual / Σ|R_d| = " << worst_conservation
                     << "; worst |Δabsorbed| / Σ|absorbed_d| = " << worst_absorbed);
}

// sign(0) = +1: a dimension whose z_d is exactly 0 is stabilised by +ε, so each feature takes
// R_d ψ_d(l) / ε (not -R_d ψ_d(l) / ε) and the whole R_d ε / (0 + ε) = R_d is reported absorbed.
// (z_d is zeroed by hand; its ψ_d(l) are those of the image.)
BOOST_AUTO_TEST_CASE(fisher_relevance_stabilises_a_zero_sum_by_plus_epsilon) {
  const Fixture& fx = fixture();
  const bb::FisherPipeline& pipeline = *fx.pipeline;
  bb::FisherTrace t = pipeline.encode(synthetic_image(64, 48, 302));
  std::size_t d0 = 0;
  while (t.unnormalised[d0] == 0) ++d0;  // a dimension of a (cell, component) with posterior mass
  t.unnormalised[d0] = 0.0;
  std::vector<double> R_d(pipeline.dimension(), 0.0);
  R_d[d0] = 1.0;
  bd::FisherRule rule;
  rule.epsilon = 1e-3;
  const bd::FeatureRelevance r = bd::relevance_fisher_features(pipeline, t, R_d, rule);
  const NaivePsi n = naive_psi(pipeline, t);
  BOOST_TEST(r.absorbed == 1.0);
  std::size_t nonzero = 0;
  for (std::size_t l = 0; l < n.L; ++l) {
    const double want = n.at(d0, l) / rule.epsilon;
    nonzero += want != 0;
    BOOST_TEST_REQUIRE(std::abs(r.R[l] - want) <= 1e-12 * std::abs(want), "feature " << l << ": " << r.R[l] << " vs " << want);
  }
  BOOST_TEST(nonzero > 0u);
}

// No features at all: Φ = 0 and all of Σ R_d is unassigned, nothing absorbed.
BOOST_AUTO_TEST_CASE(fisher_trace_without_features_is_zero_and_leaves_everything_unassigned) {
  const Fixture& fx = fixture();
  bb::FeatureTrace none = fx.pipeline->sift().extract(synthetic_image(64, 48, 305));
  none.frames.clear();
  none.descriptors.clear();
  const bb::FisherTrace t = fx.pipeline->encode_features(none);
  BOOST_TEST_REQUIRE(t.fisher.size() == fx.pipeline->dimension());
  for (double v : t.fisher) BOOST_TEST_REQUIRE(v == 0.0);
  for (double v : t.cell_norms) BOOST_TEST_REQUIRE(v == 1.0);
  std::vector<double> R_d(fx.pipeline->dimension());
  std::mt19937_64 rng(6);
  std::normal_distribution<double> g(0, 1);
  for (double& r : R_d) r = g(rng);
  const bd::FeatureRelevance r = bd::relevance_fisher_features(*fx.pipeline, t, R_d);
  BOOST_TEST(r.R.empty());
  BOOST_TEST(r.absorbed == 0.0);
  BOOST_TEST(std::abs(r.unassigned - sum(R_d)) <= 1e-12 * sum_abs(R_d));
}

// Through the Explainer with a linear head: every layer conserves under each bias policy, the pixel
// layer keeps Σ R_l, and dropping the ε-absorbed part breaks the feature layer's check.
BOOST_AUTO_TEST_CASE(fisher_explanations_with_a_linear_head_conserve_under_every_bias_policy) {
  const Fixture& fx = fixture();
  const std::size_t V = fx.pipeline->dimension();
  const auto head = std::make_shared<const bs::LinearSvm>(random_linear_head(V, 2, 23));
  const bb::FisherTrace t = fx.pipeline->encode(synthetic_image(80, 64, 303));
  double worst_pixels = 0;
  for (bd::BiasPolicy policy : {bd::BiasPolicy::uniform, bd::BiasPolicy::proportional, bd::BiasPolicy::absorbed})
    for (double eps : {1e-9, 1e-3})
      for (std::size_t cls : {0u, 1u}) {
        BOOST_TEST_CONTEXT(bd::to_string(policy) << ", ε = " << eps << ", class " << cls) {
          bd::Composite composite;
          composite.svm.bias = policy;
          composite.fisher.epsilon = eps;
          const bd::Explainer explainer(bd::Head(head), fx.pipeline, composite);
          const bd::Explanation e = explainer.explain(t, cls);
          BOOST_TEST(e.dimensions.f == head->decision(cls, t.fisher.data()));
          const bd::ConservationReport rep = bd::check_conservation(e, 1e-9);
          BOOST_TEST(rep.ok(), rep.summary());
          if (policy == bd::BiasPolicy::absorbed) BOOST_TEST(e.dimensions.absorbed == head->classes()[cls].bias);
          // The feature layer is relevance_fisher_features of the head's R_d.
          const bd::FeatureRelevance direct = bd::relevance_fisher_features(*fx.pipeline, t, e.dimensions.R, composite.fisher);
          BOOST_TEST(direct.R == e.features.R);
          BOOST_TEST(direct.absorbed == e.features.absorbed);
          BOOST_TEST(e.pixels.unassigned == 0.0);
          const double dp = std::abs(e.pixels.total() - e.features.total());
          BOOST_TEST(dp <= 1e-12 * std::max(1.0, sum_abs(e.features.R)));
          worst_pixels = std::max(worst_pixels, dp / std::max(1.0, sum_abs(e.features.R)));
          if (eps == 1e-3) {
            BOOST_TEST_REQUIRE(std::abs(e.features.absorbed) > 1e-6);
            bd::Explanation dropped = e;
            dropped.features.absorbed = 0;
            BOOST_TEST(!bd::check_conservation(dropped, 1e-9).features_conserved);
          }
        }
      }
  BOOST_TEST_MESSAGE("worst |Σ R_q - Σ R_l| / max(1, Σ|R_l|) = " << worst_pixels);
}

// A trace of another pipeline (another mixture of the same sizes) or an R_d of the wrong size is refused.
BOOST_AUTO_TEST_CASE(fisher_relevance_refuses_traces_of_another_pipeline) {
  const Fixture& fx = fixture();
  bb::FisherOptions other = fx.options.fisher;
  other.seed = 2;
  const auto p2 = std::make_shared<const bb::FisherPipeline>(
      fx.options, bb::train_fisher(fx.descriptors.data(), fx.positions.data(), fx.n, other));
  BOOST_TEST_REQUIRE(p2->dimension() == fx.pipeline->dimension());
  BOOST_TEST_REQUIRE((p2->fingerprint() != fx.pipeline->fingerprint()));
  const bb::FisherTrace t = fx.pipeline->encode(synthetic_image(64, 48, 304));
  const std::vector<double> R_d(fx.pipeline->dimension(), 1.0);
  BOOST_TEST(bd::relevance_fisher_features(*fx.pipeline, t, R_d).R.size() == t.features.size());
  require_invalid_argument([&] { bd::relevance_fisher_features(*p2, t, R_d); }, {"another pipeline"});
  require_invalid_argument([&] { bd::relevance_fisher_features(*fx.pipeline, t, std::vector<double>(R_d.size() - 1, 1.0)); },
                           {std::to_string(R_d.size() - 1), std::to_string(R_d.size())});
  const auto head = std::make_shared<const bs::LinearSvm>(random_linear_head(fx.pipeline->dimension(), 2, 24));
  const bd::Explainer explainer(bd::Head(head), p2);
  require_invalid_argument([&] { explainer.explain(t, 0); }, {"another pipeline"});
  bd::FisherRule bad;
  bad.epsilon = 0;
  BOOST_CHECK_THROW(bd::relevance_fisher_features(*fx.pipeline, t, R_d, bad), std::invalid_argument);
}

// ---------- pixel flipping ----------

// The incremental flipper (re-extracting only the reached features, replace_features) against the
// full re-run score = f(pipeline.encode(x)), with one and three regions per step.
BOOST_AUTO_TEST_CASE(incremental_fisher_flipping_matches_the_full_rerun) {
  const Fixture& fx = fixture();
  const auto& pipeline = fx.pipeline;
  const auto head = std::make_shared<const bs::LinearSvm>(random_linear_head(pipeline->dimension(), 2, 25));
  const std::size_t cls = 1;
  const bowlrp::evaluation::IncrementalFlipper flipper(bowlrp::model::Encoding(pipeline), bd::Head(head), cls);
  const bb::GrayImage image = synthetic_image(64, 48, 401);
  const bb::FisherTrace trace = pipeline->encode(image);
  const bowlrp::evaluation::ImageScore score = [&](const bb::GrayImage& x) {
    return head->decision(cls, pipeline->encode(x).fisher.data());
  };
  // The relevance order of the explanation, and a random one.
  const bd::Explainer explainer(bd::Head(head), pipeline);
  const bd::Explanation e = explainer.explain(trace, cls);
  bowlrp::evaluation::PixelFlipOptions po;
  po.region_size = 9;
  po.seed = 3;
  const bowlrp::evaluation::RegionGrid grid(image.width, image.height, po.region_size);
  const std::vector<int> lrp = bowlrp::evaluation::relevance_order(grid.aggregate(e.pixels.R.data(), e.pixels.width, e.pixels.height));
  const std::vector<int> random = bowlrp::evaluation::random_order(grid.size(), 9);
  double worst = 0;
  for (int per_step : {1, 3})
    for (const auto* order : {&lrp, &random}) {
      BOOST_TEST_CONTEXT(per_step << " regions per step, " << (order == &lrp ? "relevance" : "random") << " order") {
        po.regions_per_step = per_step;
        po.steps = per_step == 1 ? 14 : 18;  // 3 x 18 > 48 regions: the last steps repeat
        const std::vector<double> fast = flipper.flip_curve(image, trace, *order, po);
        const std::vector<double> full = bowlrp::evaluation::flip_curve(image, *order, po, score);
        BOOST_TEST_REQUIRE(fast.size() == static_cast<std::size_t>(po.steps) + 1);
        BOOST_TEST(fast[0] == head->decision(cls, trace.fisher.data()));
        const double d = max_abs_diff(fast, full);
        BOOST_TEST(d < 1e-6);
        worst = std::max(worst, d);
        double moved = 0;
        for (double f : full) moved = std::max(moved, std::abs(f - full[0]));
        BOOST_TEST(moved > 1e-3);  // the curve is not flat: the comparison means something
      }
    }
  BOOST_TEST_MESSAGE("incremental vs full Fisher flip curves: worst |Δf| = " << worst);
}

// Replacing every feature by those of another image of the same size gives that image's encoding
// (up to the SGEMM rounding); a bad index or count is refused.
BOOST_AUTO_TEST_CASE(replace_features_of_every_feature_reproduces_encode) {
  const Fixture& fx = fixture();
  const bb::FisherPipeline& pipeline = *fx.pipeline;
  bb::FisherTrace t = pipeline.encode(synthetic_image(64, 48, 402));
  const bb::GrayImage other = synthetic_image(64, 48, 403);
  const bb::FisherTrace want = pipeline.encode(other);
  const bb::FeatureTrace fresh = pipeline.sift().extract(other);
  BOOST_TEST_REQUIRE(fresh.size() == t.features.size());
  std::vector<std::size_t> all(fresh.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  BOOST_TEST_REQUIRE(max_abs_diff(t.fisher, want.fisher) > 1e-3);
  pipeline.replace_features(t, fresh, all);
  BOOST_TEST(t.features.descriptors == want.features.descriptors);
  double dx = 0;
  for (std::size_t i = 0; i < t.local.size(); ++i) dx = std::max(dx, static_cast<double>(std::abs(t.local[i] - want.local[i])));
  const double dphi = max_abs_diff(t.fisher, want.fisher), dz = max_abs_diff(t.unnormalised, want.unnormalised);
  BOOST_TEST_MESSAGE("replace_features(all) vs encode: |Δx| = " << dx << ", |ΔΦ| = " << dphi << ", |Δz| = " << dz);
  BOOST_TEST(dx < 1e-6);
  BOOST_TEST(dphi < 1e-6);
  BOOST_TEST_REQUIRE(t.posteriors.offsets == want.posteriors.offsets);
  BOOST_TEST_REQUIRE(t.posteriors.components == want.posteriors.components);
  BOOST_TEST(max_abs_diff(t.posteriors.values, want.posteriors.values) < 1e-6);
  // In reverse order too (the indices map replacement i to feature indices[i]).
  bb::FisherTrace u = pipeline.encode(synthetic_image(64, 48, 402));
  std::vector<std::size_t> reversed(all.rbegin(), all.rend());
  bb::FeatureTrace flipped = fresh;
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    flipped.frames[i] = fresh.frames[reversed[i]];
    std::copy(fresh.descriptor(reversed[i]), fresh.descriptor(reversed[i]) + kSift, flipped.descriptors.begin() + i * kSift);
  }
  pipeline.replace_features(u, flipped, reversed);
  BOOST_TEST(max_abs_diff(u.fisher, want.fisher) < 1e-6);
  require_invalid_argument([&] { pipeline.replace_features(u, fresh, std::vector<std::size_t>(3, 0)); },
                           {std::to_string(fresh.size()), "3"});
  bb::FeatureTrace one = fresh;
  one.frames.resize(1);
  one.descriptors.resize(kSift);
  require_invalid_argument([&] { pipeline.replace_features(u, one, {fresh.size()}); }, {std::to_string(fresh.size())});
}

// ---------- options ----------

BOOST_AUTO_TEST_CASE(fisher_options_name_each_bad_field) {
  bb::FisherOptions good;
  good.validate();
  const std::vector<std::pair<std::string, std::function<void(bb::FisherOptions&)>>> bad = {
      {"pca_dimension", [](bb::FisherOptions& o) { o.pca_dimension = 0; }},
      {"pca_dimension", [](bb::FisherOptions& o) { o.pca_dimension = 129; }},
      {"components", [](bb::FisherOptions& o) { o.components = 0; }},
      {"components", [](bb::FisherOptions& o) { o.components = 4097; }},
      {"posterior_threshold", [](bb::FisherOptions& o) { o.posterior_threshold = 1; }},
      {"posterior_threshold", [](bb::FisherOptions& o) { o.posterior_threshold = -1e-9; }},
      {"posterior_threshold", [](bb::FisherOptions& o) { o.posterior_threshold = std::nan(""); }},
      {"pyramid", [](bb::FisherOptions& o) { o.pyramid.clear(); }},
      {"pyramid[1]", [](bb::FisherOptions& o) { o.pyramid = {{1, 1}, {0, 1}}; }},
      {"max_iterations", [](bb::FisherOptions& o) { o.max_iterations = 0; }},
      {"samples", [](bb::FisherOptions& o) { o.samples = 0; }},
  };
  const Fixture& fx = fixture();
  for (const auto& [field, spoil] : bad) {
    bb::FisherOptions o = good;
    spoil(o);
    BOOST_TEST_CONTEXT(field) {
      require_invalid_argument([&] { o.validate(); }, {"FisherOptions::" + field + " ="});
      bb::FisherPipelineOptions po = fx.options;
      po.fisher = o;
      require_invalid_argument([&] { po.validate(); }, {"FisherOptions::" + field + " ="});
      require_invalid_argument([&] { bb::FisherPipeline(po, fx.parameters); }, {"FisherOptions::" + field + " ="});
      require_invalid_argument([&] { bb::train_fisher(fx.descriptors.data(), fx.positions.data(), fx.n, o); },
                               {"FisherOptions::" + field + " ="});
    }
  }
  // The limits themselves are valid.
  for (int d : {1, 128}) {
    bb::FisherOptions o = good;
    o.pca_dimension = d;
    o.validate();
  }
  bb::FisherOptions o = good;
  o.posterior_threshold = 0;
  o.components = 4096;
  o.validate();
  // Parameters that do not fit the options are refused by the pipeline.
  bb::FisherPipelineOptions po = fx.options;
  po.fisher.components = fx.options.fisher.components + 1;
  require_invalid_argument([&] { bb::FisherPipeline(po, fx.parameters); }, {"FisherParameters::"});
}

BOOST_AUTO_TEST_SUITE_END()
