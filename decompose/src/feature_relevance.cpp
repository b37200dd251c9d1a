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
  const double p = pool.p;
  // Contribution of one mapping weight to its dimension: m^p (p-means) or m itself (max, where
  // only the maximisers count).
  auto power = [&](float w) -> double {
    const double m = w;
    if (is_max || p == 1.0) return m;
    if (p == 2.0) return m * m;
    return std::pow(m, p);
  };

  // denom[d] = sum_l m^p (p-means) or max_l m (max); ties[d] = number of maximisers.
  std::vector<double> denom(V, 0.0);
  std::vector<int> ties(is_max ? V : 0, 0);
  for (std::size_t l = 0; l < L; ++l) {
    const int* cells = pool.feature_cells.data() + l * J;
    for (std::uint32_t e = assignment.offsets[l]; e < assignment.offsets[l + 1]; ++e) {
      const double v = power(assignment.weights[e]);
      if (!(v > 0)) continue;
      for (std::size_t j = 0; j < J; ++j) {
        const std::size_t d = static_cast<std::size_t>(cells[j]) * K + assignment.words[e];
        if (!is_max) {
          denom[d] += v;
        } else if (v > denom[d]) {
          denom[d] = v;
          ties[d] = 1;
        } else if (v == denom[d]) {
          ++ties[d];
        }
      }
    }
  }
  // share[d] = R_d / denom (p-means) or R_d / #maximisers (max).
  std::vector<double> share(V, 0.0);
  double spread = 0.0;  // relevance of the dimensions no feature pooled into, R_d / L each
  for (std::size_t d = 0; d < V; ++d) {
    if (denom[d] > 0) {
      share[d] = is_max ? R_d[d] / ties[d] : R_d[d] / denom[d];
    } else {
      spread += R_d[d];
    }
  }
  const double base = spread / static_cast<double>(L);
  for (std::size_t l = 0; l < L; ++l) {
    const int* cells = pool.feature_cells.data() + l * J;
    double r = base;
    for (std::uint32_t e = assignment.offsets[l]; e < assignment.offsets[l + 1]; ++e) {
      const double v = power(assignment.weights[e]);
      if (!(v > 0)) continue;
      for (std::size_t j = 0; j < J; ++j) {
        const std::size_t d = static_cast<std::size_t>(cells[j]) * K + assignment.words[e];
        if (is_max) {
          if (v == denom[d]) r += share[d];
        } else {
          r += share[d] * v;
        }
      }
    }
    out.R[l] = r;
  }
  return out;
}

}  // namespace bowlrp::decompose
