// Suite bow/fisher: the Fisher-vector encoding (bow/fisher.h) against naive references written here in
// double: the forward sums and the improved normalisation, the posteriors, the projection (RootSIFT,
// PCA, xy), training (deterministic, an orthonormal PCA by decreasing eigenvalue), replace_features
// and the options' refusals, on small synthetic images and a tiny mixture (fisher_fixtures.h).
#include <bowlrp/bow/fisher.h>

#include "fisher_fixtures.h"
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
using namespace bowlrp::test::fisher;

namespace {

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

}  // namespace

BOOST_AUTO_TEST_SUITE(bow)
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

// ---------- pixel flipping's replacement ----------

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
BOOST_AUTO_TEST_SUITE_END()
