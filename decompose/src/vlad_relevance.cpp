#include <bowlrp/decompose/vlad_relevance.h>

#include "local_sum_share.h"

#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

namespace bowlrp::decompose {

FeatureRelevance relevance_vlad_features(const bow::VladPipeline& pipeline, const bow::VladTrace& t,
                                         const std::vector<double>& R_d, const FisherRule& rule) {
  rule.validate();
  auto fail = [](const std::string& what) { throw std::invalid_argument("relevance_vlad_features: " + what); };
  if (t.pipeline != pipeline.fingerprint())
    fail("the trace was made by another pipeline (fingerprint " + t.pipeline.hex() + ", this one's is " +
         pipeline.fingerprint().hex() + ")");
  constexpr std::size_t D = bow::FeatureTrace::kDim;
  const bow::Codebook& codebook = pipeline.codebook();
  const std::size_t K = static_cast<std::size_t>(codebook.size());
  const std::size_t L = t.features.size(), cells = static_cast<std::size_t>(t.cells);
  const std::size_t levels = static_cast<std::size_t>(t.levels), cell_dim = K * D, V = cells * cell_dim;
  if (R_d.size() != pipeline.dimension() || t.unnormalised.size() != V || V != pipeline.dimension())
    fail("R_d has " + std::to_string(R_d.size()) + " values, the trace " + std::to_string(t.unnormalised.size()) +
         " dimensions, the pipeline " + std::to_string(pipeline.dimension()) + "; expected all equal");
  if (t.local.size() != L * D || t.assignment.size() != L || t.feature_cells.size() != L * levels ||
      t.cell_counts.size() != cells || t.word_counts.size() != cells * K)
    fail("the trace's local descriptors, assignment and cells disagree with its " + std::to_string(L) + " features");
  for (std::size_t l = 0; l < L; ++l)
    if (t.assignment[l] < -1 || t.assignment[l] >= static_cast<int>(K))
      fail("feature " + std::to_string(l) + " is assigned to word " + std::to_string(t.assignment[l]) + " of " +
           std::to_string(K));
  for (std::size_t i = 0; i < t.feature_cells.size(); ++i)
    if (t.feature_cells[i] < 0 || t.feature_cells[i] >= static_cast<int>(cells))
      fail("feature " + std::to_string(i / levels) + " lies in cell " + std::to_string(t.feature_cells[i]) + " of " +
           std::to_string(cells));

  // Coefficients a_d and the bookkeeping of every block (local_sum_share.h).
  detail::LocalSumShare share(L, K, cells);
  std::vector<double> a(V, 0.0);
  for (std::size_t c = 0; c < cells; ++c) {
    for (std::size_t k = 0; k < K; ++k) {
      const std::size_t base = c * cell_dim + k * D;
      double rk = 0;
      for (std::size_t j = 0; j < D; ++j) rk += R_d[base + j];
      if (!share.block(c, k, rk, t.word_counts[c * K + k] != 0, static_cast<std::size_t>(t.cell_counts[c]))) continue;
      for (std::size_t j = 0; j < D; ++j) a[base + j] = share.coefficient(R_d[base + j], t.unnormalised[base + j], 1.0, rule.epsilon);
    }
  }
  FeatureRelevance& out = share.result();
  for (std::size_t l = 0; l < L; ++l) {
    double r = 0;
    if (t.assignment[l] >= 0) {
      const std::size_t k = static_cast<std::size_t>(t.assignment[l]);
      const float* s = t.local.data() + l * D;
      const float* ck = codebook.centre(static_cast<int>(k));
      for (std::size_t lv = 0; lv < levels; ++lv) {
        const std::size_t c = static_cast<std::size_t>(t.feature_cells[l * levels + lv]);
        const double* ad = a.data() + c * cell_dim + k * D;
        for (std::size_t j = 0; j < D; ++j) r += ad[j] * (static_cast<double>(s[j]) - static_cast<double>(ck[j]));
      }
    }
    out.R[l] = share.plus_spread(r, t.feature_cells.data() + l * levels, levels, t.cell_counts);
  }
  return std::move(out);
}

FeatureRelevance relevance_encoding(const bow::VladPipeline* pipeline, const bow::VladTrace& trace,
                                    const std::vector<double>& R_d, const Composite& composite) {
  if (!pipeline) throw std::invalid_argument("Explainer: no VLAD pipeline given (null pointer)");
  return relevance_vlad_features(*pipeline, trace, R_d, composite.fisher);
}

}  // namespace bowlrp::decompose
