#include <bowlrp/decompose/feature_relevance.h>

#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

namespace bowlrp::decompose {

double FeatureRelevance::total() const { return std::accumulate(R.begin(), R.end(), 0.0); }

namespace {

void check_sizes(const bow::FeatureTrace& features, const bow::Assignment& assignment, const bow::PoolTrace& pool,
                 const std::vector<double>& R_d) {
  const std::size_t L = features.size();
  auto fail = [](const std::string& what) { throw std::invalid_argument("relevance_features: " + what); };
  if (pool.words <= 0 || pool.cells <= 0 || pool.levels <= 0)
    fail("pool trace has words = " + std::to_string(pool.words) + ", cells = " + std::to_string(pool.cells) +
         ", levels = " + std::to_string(pool.levels) + "; expected all > 0");
  if (R_d.size() != pool.dimension())
    fail("R_d has " + std::to_string(R_d.size()) + " values but the pooled histogram has " +
         std::to_string(pool.dimension()) + " dimensions");
  if (assignment.offsets.empty() || assignment.features() != L)
    fail("assignment covers " + std::to_string(assignment.offsets.empty() ? 0 : assignment.features()) +
         " features but the feature trace has " + std::to_string(L));
  if (assignment.offsets.back() != assignment.words.size() || assignment.words.size() != assignment.weights.size())
    fail("assignment offsets end at " + std::to_string(assignment.offsets.back()) + " with " +
         std::to_string(assignment.words.size()) + " words and " + std::to_string(assignment.weights.size()) +
         " weights; expected all equal");
  if (pool.feature_cells.size() != L * static_cast<std::size_t>(pool.levels))
    fail("pool trace has " + std::to_string(pool.feature_cells.size()) + " feature cells; expected features x levels = " +
         std::to_string(L * pool.levels));
  for (int c : pool.feature_cells)
    if (c < 0 || c >= pool.cells) fail("feature cell " + std::to_string(c) + " outside [0, " + std::to_string(pool.cells) + ")");
  for (std::int32_t k : assignment.words)
    if (k < 0 || k >= pool.words) fail("word " + std::to_string(k) + " outside [0, " + std::to_string(pool.words) + ")");
}

}  // namespace

FeatureRelevance relevance_features(const bow::FeatureTrace& features, const bow::Assignment& assignment,
                                    const bow::PoolTrace& pool, const std::vector<double>& R_d) {
  check_sizes(features, assignment, pool, R_d);
  const std::size_t L = features.size(), K = pool.words, C = pool.cells, J = pool.levels, V = pool.dimension();
  FeatureRelevance out;
  out.R.assign(L, 0.0);
  out.per_word.assign(K, 0.0);
  out.per_cell.assign(C, 0.0);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t k = 0; k < K; ++k) {
      out.per_word[k] += R_d[c * K + k];
      out.per_cell[c] += R_d[c * K + k];
    }
  if (L == 0) {
    out.unassigned = std::accumulate(R_d.begin(), R_d.end(), 0.0);
    return out;
  }

  const bool is_max = std::isinf(pool.p);
  const bool plain = !is_max && pool.p == 1.0;  // sum pooling: shares m / sum m, unscaled
  const double p = pool.p;

  // top[d] = max_l m over the features pooled into d (0 if none). Max pooling shares by it; p-means
  // with p != 1 weigh by (m / top)^p, which is 1 for the maximiser and in [0, 1] otherwise, so
  // neither m^p nor its sum can overflow or underflow to 0 for large p (the shares are unchanged:
  // the factor top^p cancels).
  // Calls f(m, d) for each positive mapping weight m of feature l and each dimension d (one per
  // pyramid level) it is pooled into, in the order pooling sums them.
  auto for_each_pooled = [&](std::size_t l, auto&& f) {
    const int* cells = pool.feature_cells.data() + l * J;
    for (std::uint32_t e = assignment.offsets[l]; e < assignment.offsets[l + 1]; ++e) {
      const double m = assignment.weights[e];
      if (!(m > 0)) continue;
      for (std::size_t j = 0; j < J; ++j) f(m, static_cast<std::size_t>(cells[j]) * K + assignment.words[e]);
    }
  };
  std::vector<double> top(plain ? 0 : V, 0.0);
  std::vector<int> ties(is_max ? V : 0, 0);  // number of maximisers (max pooling)
  if (!plain)
    for (std::size_t l = 0; l < L; ++l)
      for_each_pooled(l, [&](double m, std::size_t d) {
        if (m > top[d]) {
          top[d] = m;
          if (is_max) ties[d] = 1;
        } else if (is_max && m == top[d]) {
          ++ties[d];
        }
      });
  // Weight of mapping weight m in dimension d (m > 0): m, (m / top_d)^p, or for max pooling 1 for a
  // maximiser and 0 otherwise.
  auto weight = [&](double m, std::size_t d) -> double {
    if (plain) return m;
    if (is_max) return m == top[d] ? 1.0 : 0.0;
    return std::pow(m / top[d], p);
  };
  // denom[d] = sum of the weights pooled into d.
  std::vector<double> denom(V, 0.0);
  if (is_max) {
    for (std::size_t d = 0; d < V; ++d) denom[d] = ties[d];
  } else {
    for (std::size_t l = 0; l < L; ++l) for_each_pooled(l, [&](double m, std::size_t d) { denom[d] += weight(m, d); });
  }

  // A dimension no feature pooled into (x_d = 0) gives its R_d evenly to the features of its own
  // cell: the features that made x_d zero. Only a cell without features (M_c = 0) spreads over
  // all L features of the image.
  std::vector<long long> members(C, 0);  // M_c, counted from the trace itself
  for (int c : pool.feature_cells) ++members[c];
  std::vector<double> share(V, 0.0);  // R_d / denom_d
  std::vector<double> cell_spread(C, 0.0);
  double image_spread = 0.0;
  for (std::size_t d = 0; d < V; ++d) {
    if (denom[d] > 0) {
      share[d] = R_d[d] / denom[d];
    } else if (members[d / K] > 0) {
      cell_spread[d / K] += R_d[d];
    } else {
      image_spread += R_d[d];
    }
  }
  for (std::size_t c = 0; c < C; ++c)
    if (members[c] > 0) cell_spread[c] /= static_cast<double>(members[c]);
  const double base = image_spread / static_cast<double>(L);
  for (std::size_t l = 0; l < L; ++l) {
    const int* cells = pool.feature_cells.data() + l * J;
    double r = base;
    for (std::size_t j = 0; j < J; ++j) r += cell_spread[cells[j]];
    for_each_pooled(l, [&](double m, std::size_t d) { r += share[d] * weight(m, d); });
    out.R[l] = r;
  }
  return out;
}

FeatureRelevance relevance_encoding(const bow::Pipeline*, const bow::EncodeTrace& trace, const std::vector<double>& R_d,
                                    const Composite&) {
  return relevance_features(trace.features, trace.assignment, trace.pool, R_d);
}

}  // namespace bowlrp::decompose
