// Suite decompose/fisher: the ε rule of the Fisher-vector layer (decompose/fisher_relevance.h) against
// the rule with every ψ_d(l) explicit (fisher_fixtures.h), for every ε; the zero-sum stabiliser, a trace
// without features, conservation through the Explainer with a linear head under every bias policy, and
// the refusal of another pipeline's traces.
#include <bowlrp/bow/fisher.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/fisher_relevance.h>
#include <bowlrp/svm/linear_svm.h>

#include "fisher_fixtures.h"
#include "svm_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bb = bowlrp::bow;
namespace bd = bowlrp::decompose;
namespace bs = bowlrp::svm;
using namespace bowlrp::test::fisher;
using bowlrp::test::random_linear_head;

namespace {

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

BOOST_AUTO_TEST_SUITE(decompose)
BOOST_AUTO_TEST_SUITE(fisher)

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

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
