#include <bowlrp/bow/mapping.h>
#include <bowlrp/core/option_text.h>

#include <cblas.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "exact_distance.h"

namespace bowlrp::bow {

namespace {
// Descriptors per GEMM block: large enough for SGEMM to run near its peak; the block only
// changes which words become candidates, never a result (see mapping.h).
constexpr std::size_t kBlock = 1024;
}  // namespace

std::string to_string(MappingKind kind) {
  switch (kind) {
    case MappingKind::hard: return "hard";
    case MappingKind::soft: return "soft";
    case MappingKind::rank: return "rank";
  }
  return "unknown";
}

MappingKind mapping_kind_from_string(const std::string& name) {
  if (name == "hard") return MappingKind::hard;
  if (name == "soft") return MappingKind::soft;
  if (name == "rank") return MappingKind::rank;
  throw std::invalid_argument("mapping kind " + core::quoted(name) + ": expected hard, soft or rank");
}

const core::OptionSchema<MappingOptions>& MappingOptions::schema() {
  using O = MappingOptions;
  using core::OptionRange;
  using core::Recorded;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::record_as(
        core::choice_option<O>("mapping", "--mapping", "feature-to-word mapping: hard | soft | rank", {"hard", "soft", "rank"},
                               [](O& o) -> MappingKind& { return o.kind; }, [](MappingKind k) { return to_string(k); },
                               &mapping_kind_from_string),
        "kind", Recorded::encoding));
    s.push_back(core::record_as(core::integer_option<O>("neighbours", "--neighbours", "soft / rank mapping: words kept per feature",
                                                        [](O& o) -> int& { return o.neighbours; }, OptionRange::at_least(1)),
                                "neighbours", Recorded::encoding));
    s.push_back(core::record_as(core::real_option<O>("beta", "--beta", "soft mapping: kernel sharpness",
                                                     [](O& o) -> double& { return o.beta; }, OptionRange::above(0)),
                                "beta", Recorded::encoding));
    s.push_back(core::record_as(core::real_option<O>("rank_decay", "--rank-decay", "rank mapping: weight ratio between ranks",
                                                     [](O& o) -> double& { return o.rank_decay; }, OptionRange::left_open(0, 1)),
                                "rank_decay", Recorded::encoding));
    return s;
  }();
  return schema;
}

void MappingOptions::validate() const {
  if (kind != MappingKind::hard && kind != MappingKind::soft && kind != MappingKind::rank)
    throw std::invalid_argument("MappingOptions::kind is not hard, soft or rank");
  if (neighbours < 1)
    throw std::invalid_argument("MappingOptions::neighbours = " + std::to_string(neighbours) + ": expected >= 1");
  if (!(beta > 0) || !std::isfinite(beta))
    throw std::invalid_argument("MappingOptions::beta = " + std::to_string(beta) + ": expected a finite value > 0");
  if (!(rank_decay > 0 && rank_decay <= 1))
    throw std::invalid_argument("MappingOptions::rank_decay = " + std::to_string(rank_decay) +
                                ": expected a value in (0, 1]");
}

namespace {

using detail::exact_dist2;

// scores[b][k] = -2 c_k . x_b for a block of descriptors, one SGEMM.
void block_scores(const float* x, std::size_t b, const Codebook& cb, float* scores) {
  const int k = cb.size(), dim = cb.dim();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(b), k, dim, -2.0F, x, dim,
              cb.centres().data(), dim, 0.0F, scores, k);
}

// v[j] += n[j] (the candidate score v_k of mapping.h) and lane[g] = min of v[j] over j = g mod G:
// one vectorised pass. Every lane is non-empty when k >= G.
constexpr int kLanes = 32;
BOWLRP_CLONES("avx2")
void add_norms_lane_min(float* v, const float* n, int k, float* lane) {
  for (int g = 0; g < kLanes; ++g) lane[g] = std::numeric_limits<float>::infinity();
  int j = 0;
  for (; j + kLanes <= k; j += kLanes)
    for (int g = 0; g < kLanes; ++g) {
      const float s = v[j + g] + n[j + g];
      v[j + g] = s;
      lane[g] = s < lane[g] ? s : lane[g];
    }
  for (int g = 0; j < k; ++j, ++g) {
    v[j] += n[j];
    lane[g] = v[j] < lane[g] ? v[j] : lane[g];
  }
}

// Appends to pool the j with v[j] <= u, visiting only the lanes (j = g mod G) whose minimum is
// <= u: typically one or a few of the G.
void gather_at_most(const float* v, int k, const float* lane, float u, std::vector<std::int32_t>& pool) {
  for (int g = 0; g < kLanes; ++g)
    if (lane[g] <= u)
      for (int j = g; j < k; j += kLanes)
        if (v[j] <= u) pool.push_back(j);
}

// |x|^2 in double (float products are exact), eight lanes combined in a fixed order.
double norm2(const float* x, int dim) {
  constexpr int L = 8;
  double s[L] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + L <= dim; j += L)
    for (int l = 0; l < L; ++l) s[l] += static_cast<double>(x[j + l]) * x[j + l];
  for (int l = 0; j < dim; ++j, ++l) s[l] += static_cast<double>(x[j]) * x[j];
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// The float just above b (b rounded up), so that a comparison in float loses no candidate.
float round_up(double b) {
  float f = static_cast<float>(b);
  if (static_cast<double>(f) < b) f = std::nextafter(f, std::numeric_limits<float>::infinity());
  return f;
}

// A word with its exact distance.
struct Candidate {
  double d;
  std::int32_t k;
};

// Orders by exact distance, ties by word index.
bool closer(const Candidate& a, const Candidate& b) { return a.d < b.d || (a.d == b.d && a.k < b.k); }

// For each of n descriptors, calls emit(row, candidates, r') with its r' = min(r, K) nearest
// words in closer() order, decided by exact distances among the SGEMM candidates (mapping.h).
// zero holds the r' nearest words of a zero descriptor.
template <class Emit>
void map_rows(const Codebook& cb, const float* norms, double max_norm, const std::vector<Candidate>& zero, int r,
              const float* x, std::size_t n, Emit&& emit) {
  const int k = cb.size(), dim = cb.dim();
  r = std::max(1, std::min(r, k));
  // The candidate margin of mapping.h, eps = eps_x |x| + eps_0.
  const double eps_x = 4.0 * (dim + 2) * static_cast<double>(FLT_EPSILON) * max_norm;
  const double eps_0 = 4.0 * static_cast<double>(FLT_EPSILON) * max_norm * max_norm + 4.0 * dim * double{FLT_MIN};
  std::vector<float> scores(std::min(n, kBlock) * k);
  float lane[kLanes], lane_sel[kLanes];  // lane minima, and the r smallest of them
  std::vector<std::int32_t> pool;  // words whose score is <= u0 + eps
  std::vector<float> pool_v;       // their scores
  std::vector<Candidate> cand;
  pool.reserve(k);
  pool_v.reserve(k);
  cand.reserve(k);
  for (std::size_t b0 = 0; b0 < n; b0 += kBlock) {
    const std::size_t b = std::min(kBlock, n - b0);
    block_scores(x + b0 * dim, b, cb, scores.data());
    for (std::size_t i = 0; i < b; ++i) {
      const std::size_t row = b0 + i;
      const float* xr = x + row * dim;
      const double xx = norm2(xr, dim);
      if (!std::isfinite(xx))
        throw std::invalid_argument("Mapper: descriptor " + std::to_string(row) +
                                    " has a non-finite or huge value; expected finite descriptors");
      if (xx == 0) {  // all coordinates zero
        emit(row, zero.data(), r);
        continue;
      }
      const double a = std::sqrt(xx) + max_norm;
      float* v = scores.data() + i * k;
      cand.clear();
      if (a * a < static_cast<double>(FLT_MAX) / 16) {
        // u0 >= t, the r-th smallest score: r lanes have their minimum <= the r-th smallest
        // lane minimum. Gather the scores <= u0 + eps (all candidates are among them), find t
        // exactly among them, keep those <= t + eps.
        add_norms_lane_min(v, norms, k, lane);
        float u0;
        if (r == 1) {
          u0 = *std::min_element(lane, lane + kLanes);
        } else if (k >= kLanes && r <= kLanes) {  // the r smallest lane minima, by insertion
          std::fill(lane_sel, lane_sel + r, std::numeric_limits<float>::infinity());
          for (int g = 0; g < kLanes; ++g) {
            if (!(lane[g] < lane_sel[r - 1])) continue;
            int p = r - 1;
            for (; p > 0 && lane_sel[p - 1] > lane[g]; --p) lane_sel[p] = lane_sel[p - 1];
            lane_sel[p] = lane[g];
          }
          u0 = lane_sel[r - 1];
        } else {
          pool_v.assign(v, v + k);
          std::nth_element(pool_v.begin(), pool_v.begin() + (r - 1), pool_v.end());
          u0 = pool_v[r - 1];
        }
        const double eps = eps_x * std::sqrt(xx) + eps_0;
        const float u = round_up(static_cast<double>(u0) + eps);
        pool.clear();
        gather_at_most(v, k, lane, u, pool);
        float t = u0;  // for r = 1, u0 is the minimum itself
        if (r > 1) {
          pool_v.resize(pool.size());
          for (std::size_t c = 0; c < pool.size(); ++c) pool_v[c] = v[pool[c]];
          std::nth_element(pool_v.begin(), pool_v.begin() + (r - 1), pool_v.end());
          t = pool_v[r - 1];
        }
        const float tf = round_up(static_cast<double>(t) + eps);
        for (const std::int32_t l : pool)
          if (v[l] <= tf) cand.push_back({exact_dist2(xr, cb.centre(l), dim), l});
      } else {  // the float scores could overflow: decide over all words
        for (int l = 0; l < k; ++l) cand.push_back({exact_dist2(xr, cb.centre(l), dim), l});
      }
      if (r == 1) {
        std::size_t m = 0;
        for (std::size_t c = 1; c < cand.size(); ++c)
          if (closer(cand[c], cand[m])) m = c;
        std::swap(cand[0], cand[m]);
      } else {
        std::partial_sort(cand.begin(), cand.begin() + r, cand.end(), closer);
      }
      emit(row, cand.data(), r);
    }
  }
}

std::vector<Candidate> zero_candidates(const std::vector<std::int32_t>& words, const std::vector<double>& d2) {
  std::vector<Candidate> c(words.size());
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = {d2[i], words[i]};
  return c;
}

}  // namespace

Mapper::Mapper(Codebook codebook, MappingOptions options)
    : codebook_(std::move(codebook)), options_(std::move(options)) {
  options_.validate();
  if (codebook_.size() == 0) throw std::invalid_argument("Mapper: the codebook is empty (0 words)");
  const int k = codebook_.size(), dim = codebook_.dim();
  centre_norms_.resize(k);
  double max2 = 0;
  for (int i = 0; i < k; ++i) {
    double acc = 0;
    const float* c = codebook_.centre(i);
    for (int j = 0; j < dim; ++j) acc += static_cast<double>(c[j]) * c[j];
    centre_norms_[i] = static_cast<float>(acc);
    max2 = std::max(max2, acc);
  }
  max_centre_norm_ = std::sqrt(max2);
  // Words of a zero descriptor, ordered by the same exact distance and tie rule as any other.
  const std::vector<float> zero(dim, 0.0F);
  std::vector<Candidate> all(k);
  for (int i = 0; i < k; ++i) all[i] = {exact_dist2(zero.data(), codebook_.centre(i), dim), i};
  const int r = std::min(options_.neighbours, k);
  std::partial_sort(all.begin(), all.begin() + r, all.end(), closer);
  for (int i = 0; i < r; ++i) {
    zero_words_.push_back(all[i].k);
    zero_dist2_.push_back(all[i].d);
  }
}

std::vector<std::int32_t> Mapper::nearest(const float* descriptors, std::size_t n) const {
  std::vector<std::int32_t> out(n);
  map_rows(codebook_, centre_norms_.data(), max_centre_norm_, zero_candidates(zero_words_, zero_dist2_), 1,
           descriptors, n,
           [&](std::size_t row, const Candidate* c, int) { out[row] = c[0].k; });
  return out;
}

Assignment Mapper::assign(const float* descriptors, std::size_t n) const {
  Assignment a;
  a.offsets.assign(n + 1, 0);
  if (options_.kind == MappingKind::hard) {
    a.words = nearest(descriptors, n);
    a.weights.assign(n, 1.0F);
    for (std::size_t i = 0; i <= n; ++i) a.offsets[i] = static_cast<std::uint32_t>(i);
    return a;
  }
  const int r = std::min(options_.neighbours, codebook_.size());
  a.words.reserve(n * r);
  a.weights.reserve(n * r);
  std::vector<double> w(r);
  map_rows(codebook_, centre_norms_.data(), max_centre_norm_, zero_candidates(zero_words_, zero_dist2_), r,
           descriptors, n,
           [&](std::size_t row, const Candidate* c, int rr) {
             if (options_.kind == MappingKind::soft) {
               double sum_d2 = 0;
               for (int j = 0; j < rr; ++j) sum_d2 += c[j].d;
               const double mean = sum_d2 / rr;
               for (int j = 0; j < rr; ++j) w[j] = mean > 0 ? std::exp(-options_.beta * c[j].d / mean) : 1.0;
             } else {
               double p = 1.0;
               for (int j = 0; j < rr; ++j, p *= options_.rank_decay) w[j] = p;
             }
             double z = 0;
             for (int j = 0; j < rr; ++j) z += w[j];
             for (int j = 0; j < rr; ++j) {
               const float v = static_cast<float>(w[j] / z);
               if (v > 0) {
                 a.words.push_back(c[j].k);
                 a.weights.push_back(v);
               }
             }
             a.offsets[row + 1] = static_cast<std::uint32_t>(a.words.size());
           });
  return a;
}

}  // namespace bowlrp::bow
