#include <bowlrp/decompose/fisher_relevance.h>

#include "local_sum_share.h"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>

namespace bowlrp::decompose {

FeatureRelevance relevance_fisher_features(const bow::FisherPipeline& pipeline, const bow::FisherTrace& t,
                                           const std::vector<double>& R_d, const FisherRule& rule) {
  rule.validate();
  auto fail = [](const std::string& what) { throw std::invalid_argument("relevance_fisher_features: " + what); };
  if (t.pipeline != pipeline.fingerprint())
    fail("the trace was made by another pipeline (fingerprint " + t.pipeline.hex() + ", this one's is " +
         pipeline.fingerprint().hex() + ")");
  const bow::FisherParameters& p = pipeline.parameters();
  const std::size_t K = static_cast<std::size_t>(p.components()), G = static_cast<std::size_t>(t.dimension);
  const std::size_t L = t.features.size(), cells = static_cast<std::size_t>(t.cells);
  const std::size_t levels = static_cast<std::size_t>(t.levels), cell_dim = 2 * K * G, V = cells * cell_dim;
  if (R_d.size() != pipeline.dimension() || t.unnormalised.size() != V || V != pipeline.dimension())
    fail("R_d has " + std::to_string(R_d.size()) + " values, the trace " + std::to_string(t.unnormalised.size()) +
         " dimensions, the pipeline " + std::to_string(pipeline.dimension()) + "; expected all equal");
  if (t.local.size() != L * G || t.posteriors.features() != L || t.feature_cells.size() != L * levels ||
      t.cell_counts.size() != cells)
    fail("the trace's local descriptors, posteriors and cells disagree with its " + std::to_string(L) + " features");

  // Mass of each (cell, component): whether any feature of the cell kept a posterior of k.
  std::vector<char> used(cells * K, 0);
  for (std::size_t l = 0; l < L; ++l)
    for (std::uint32_t e = t.posteriors.offsets[l]; e < t.posteriors.offsets[l + 1]; ++e)
      for (std::size_t lv = 0; lv < levels; ++lv)
        used[static_cast<std::size_t>(t.feature_cells[l * levels + lv]) * K + t.posteriors.components[e]] = 1;

  // Coefficients a_d and the bookkeeping of every block (local_sum_share.h).
  detail::LocalSumShare share(L, K, cells);
  std::vector<double> a(V, 0.0);
  for (std::size_t c = 0; c < cells; ++c) {
    const double N = static_cast<double>(t.cell_counts[c]);
    for (std::size_t k = 0; k < K; ++k) {
      const std::size_t base_u = c * cell_dim + k * G, base_v = c * cell_dim + K * G + k * G;
      double rk = 0;
      for (std::size_t j = 0; j < G; ++j) rk += R_d[base_u + j] + R_d[base_v + j];
      if (!share.block(c, k, rk, used[c * K + k], static_cast<std::size_t>(t.cell_counts[c]))) continue;
      const double su = 1.0 / (N * std::sqrt(p.priors[k])), sv = 1.0 / (N * std::sqrt(2.0 * p.priors[k]));
      for (std::size_t j = 0; j < G; ++j) {
        a[base_u + j] = share.coefficient(R_d[base_u + j], t.unnormalised[base_u + j], su, rule.epsilon);
        a[base_v + j] = share.coefficient(R_d[base_v + j], t.unnormalised[base_v + j], sv, rule.epsilon);
      }
    }
  }
  FeatureRelevance& out = share.result();
  std::vector<double> inv_sigma(K * G), dev(G);
  for (std::size_t i = 0; i < K * G; ++i) inv_sigma[i] = 1.0 / std::sqrt(p.variances[i]);  // as the forward pass
  for (std::size_t l = 0; l < L; ++l) {
    const float* x = t.local.data() + l * G;
    double r = 0;
    for (std::uint32_t e = t.posteriors.offsets[l]; e < t.posteriors.offsets[l + 1]; ++e) {
      const std::size_t k = t.posteriors.components[e];
      const double g = t.posteriors.values[e];
      const double* mu = p.means.data() + k * G;
      for (std::size_t j = 0; j < G; ++j)
        dev[j] = (static_cast<double>(x[j]) - mu[j]) * inv_sigma[k * G + j];
      for (std::size_t lv = 0; lv < levels; ++lv) {
        const std::size_t c = static_cast<std::size_t>(t.feature_cells[l * levels + lv]);
        const double* au = a.data() + c * cell_dim + k * G;
        const double* av = au + K * G;
        double s = 0;
        for (std::size_t j = 0; j < G; ++j) s += au[j] * dev[j] + av[j] * (dev[j] * dev[j] - 1.0);
        r += g * s;
      }
    }
    out.R[l] = share.plus_spread(r, t.feature_cells.data() + l * levels, levels, t.cell_counts);
  }
  return std::move(out);
}

FeatureRelevance relevance_encoding(const bow::FisherPipeline* pipeline, const bow::FisherTrace& trace,
                                    const std::vector<double>& R_d, const Composite& composite) {
  if (!pipeline) throw std::invalid_argument("Explainer: no Fisher-vector pipeline given (null pointer)");
  return relevance_fisher_features(*pipeline, trace, R_d, composite.fisher);
}

}  // namespace bowlrp::decompose
