#include <bowlrp/bow/mapping.h>

#include <cblas.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace bowlrp::bow {

namespace {
// Descriptors per GEMM block: large enough for SGEMM to run near its peak; the block only
// changes which words become candidates, never a result (see mapping.h).
constexpr std::size_t kBlock = 1024;
// Words per chunk of the candidate scans: a chunk is skipped after one vectorised test.
constexpr int kChunk = 16;
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
  throw std::invalid_argument("mapping kind '" + name + "': expected hard, soft or rank");
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
}

namespace {

// Exact-path squared distance: the deterministic dist2 of mapping.h. Explicit std::fma keeps the
// value independent of compiler contraction; eight lanes break the dependency chain (and
// vectorise). On x86-64 a Haswell clone is selected at load time when the CPU has FMA; the
// default clone calls the correctly rounded libm fma, so both give the same bits.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
__attribute__((target_clones("arch=haswell", "default")))
#endif
#endif
double exact_dist2(const float* x, const float* c, int dim) {
  constexpr int L = 8;
  double s[L] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + L <= dim; j += L)
    for (int l = 0; l < L; ++l) {
      const double d = static_cast<double>(x[j + l]) - static_cast<double>(c[j + l]);
      s[l] = std::fma(d, d, s[l]);
    }
  for (int l = 0; j < dim; ++j, ++l) {
    const double d = static_cast<double>(x[j]) - static_cast<double>(c[j]);
    s[l] = std::fma(d, d, s[l]);
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// scores[b][k] = -2 c_k . x_b for a block of descriptors, one SGEMM.
void block_scores(const float* x, std::size_t b, const Codebook& cb, float* scores) {
  const int k = cb.size(), dim = cb.dim();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(b), k, dim, -2.0F, x, dim,
              cb.centres().data(), dim, 0.0F, scores, k);
}

// v[j] += n[j] (the candidate score v_k of mapping.h); returns the smallest v. Eight lane
// minima, which the compiler vectorises.
float add_norms_min(float* v, const float* n, int k) {
  constexpr int L = 8;
  float lane[L];
  for (int l = 0; l < L; ++l) lane[l] = std::numeric_limits<float>::infinity();
  int j = 0;
  for (; j + L <= k; j += L)
    for (int l = 0; l < L; ++l) {
      const float s = v[j + l] + n[j + l];
      v[j + l] = s;
      lane[l] = s < lane[l] ? s : lane[l];
    }
  float m = std::numeric_limits<float>::infinity();
  for (int l = 0; l < L; ++l) m = lane[l] < m ? lane[l] : m;
  for (; j < k; ++j) {
    v[j] += n[j];
    m = v[j] < m ? v[j] : m;
  }
  return m;
}

// Whether any of kChunk values is < t (strict) or <= t (!strict); a branch-free OR reduction.
template <bool strict>
bool any_below(const float* v, float t) {
  int f = 0;
  for (int l = 0; l < kChunk; ++l) f |= strict ? v[l] < t : v[l] <= t;
  return f != 0;
}

// The r-th smallest of v[0..k) counting multiplicity (r <= k), by insertion into the sorted
// r smallest so far; chunks holding nothing below the current r-th are skipped in one test.
float kth_smallest(const float* v, int k, int r, float* best) {
  std::fill(best, best + r, std::numeric_limits<float>::infinity());
  for (int j = 0; j < k; j += kChunk) {
    const int e = std::min(k, j + kChunk);
    if (e - j == kChunk && !any_below<true>(v + j, best[r - 1])) continue;
    for (int l = j; l < e; ++l) {
      if (!(v[l] < best[r - 1])) continue;
      int p = r - 1;
      for (; p > 0 && best[p - 1] > v[l]; --p) best[p] = best[p - 1];
      best[p] = v[l];
    }
  }
  return best[r - 1];
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
template <class Emit>
void map_rows(const Codebook& cb, const float* norms, double max_norm, int r, const float* x, std::size_t n,
              Emit&& emit) {
  const int k = cb.size(), dim = cb.dim();
  r = std::min(r, k);
  const double coef = 2.0 * (dim + 2) * static_cast<double>(FLT_EPSILON);
  const double underflow = 4.0 * dim * static_cast<double>(FLT_MIN);
  std::vector<float> scores(std::min(n, kBlock) * k);
  std::vector<float> best(r);
  std::vector<Candidate> cand;
  cand.reserve(k);
  for (std::size_t b0 = 0; b0 < n; b0 += kBlock) {
    const std::size_t b = std::min(kBlock, n - b0);
    block_scores(x + b0 * dim, b, cb, scores.data());
    for (std::size_t i = 0; i < b; ++i) {
      const std::size_t row = b0 + i;
      const float* xr = x + row * dim;
      double xx = 0;
      for (int j = 0; j < dim; ++j) xx += static_cast<double>(xr[j]) * xr[j];
      if (!std::isfinite(xx))
        throw std::invalid_argument("Mapper: descriptor " + std::to_string(row) +
                                    " has a non-finite or huge value; expected finite descriptors");
      const double a = std::sqrt(xx) + max_norm;
      float* v = scores.data() + i * k;
      cand.clear();
      if (a * a < static_cast<double>(FLT_MAX) / 16) {
        float t;
        if (r == 1) {
          t = add_norms_min(v, norms, k);
        } else {
          for (int j = 0; j < k; ++j) v[j] += norms[j];
          t = kth_smallest(v, k, r, best.data());
        }
        const double bound = static_cast<double>(t) + coef * a * a + underflow;
        float tf = static_cast<float>(bound);  // rounded up, so that no candidate is lost
        if (static_cast<double>(tf) < bound) tf = std::nextafter(tf, std::numeric_limits<float>::infinity());
        for (int j = 0; j < k; j += kChunk) {
          const int e = std::min(k, j + kChunk);
          if (e - j == kChunk && !any_below<false>(v + j, tf)) continue;
          for (int l = j; l < e; ++l)
            if (v[l] <= tf) cand.push_back({exact_dist2(xr, cb.centre(l), dim), l});
        }
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

}  // namespace

std::vector<std::int32_t> Mapper::nearest(const float* descriptors, std::size_t n) const {
  std::vector<std::int32_t> out(n);
  map_rows(codebook_, centre_norms_.data(), max_centre_norm_, 1, descriptors, n,
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
  map_rows(codebook_, centre_norms_.data(), max_centre_norm_, r, descriptors, n,
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
