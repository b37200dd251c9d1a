#include <bowlrp/svm/kernel.h>
#include <bowlrp/core/option_text.h>

#include "gram_engine.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace bowlrp::svm {

namespace {

bool is_exponential(KernelType type) { return type == KernelType::rbf || type == KernelType::expchi2; }

std::string block_text(std::size_t u, const KernelBlock& b) {
  return "kernel block " + std::to_string(u) + " [" + std::to_string(b.begin) + ", " + std::to_string(b.end) +
         ") weight " + std::to_string(b.weight);
}

}  // namespace

std::string to_string(KernelType type) {
  switch (type) {
    case KernelType::linear: return "linear";
    case KernelType::intersection: return "hik";
    case KernelType::chi2: return "chi2";
    case KernelType::hellinger: return "hellinger";
    case KernelType::rbf: return "rbf";
    case KernelType::expchi2: return "expchi2";
  }
  throw std::invalid_argument("unknown KernelType value " + std::to_string(static_cast<int>(type)));
}

KernelType kernel_type_from_string(const std::string& name) {
  if (name == "linear") return KernelType::linear;
  if (name == "hik" || name == "intersection") return KernelType::intersection;
  if (name == "chi2") return KernelType::chi2;
  if (name == "hellinger") return KernelType::hellinger;
  if (name == "rbf") return KernelType::rbf;
  if (name == "expchi2") return KernelType::expchi2;
  throw std::invalid_argument("unknown kernel " + core::quoted(name) +
                              ": expected linear, hik (intersection), chi2, hellinger, rbf or expchi2");
}

bool Kernel::sum_decomposable() const { return !is_exponential(type); }

bool needs_non_negative_inputs(KernelType type) {
  return type == KernelType::chi2 || type == KernelType::hellinger || type == KernelType::expchi2;
}

void Kernel::validate(std::size_t dim) const {
  to_string(type);  // rejects out-of-range enum values
  if (dim == 0) throw std::invalid_argument("kernel: vector length is 0, expected at least one dimension");
  if (!std::isfinite(gamma) || gamma < 0)
    throw std::invalid_argument("kernel gamma = " + std::to_string(gamma) + ": expected a finite value >= 0");
  if (is_exponential(type) && gamma <= 0)
    throw std::invalid_argument("kernel " + to_string(type) +
                                " needs gamma > 0 (got 0 = unset; use default_gamma() or set it)");
  std::vector<std::size_t> order(blocks.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  for (std::size_t u = 0; u < blocks.size(); ++u) {
    const KernelBlock& b = blocks[u];
    if (b.begin >= b.end || b.end > dim)
      throw std::invalid_argument(block_text(u, b) + ": expected begin < end <= vector length " +
                                  std::to_string(dim));
    if (!std::isfinite(b.weight) || b.weight < 0)
      throw std::invalid_argument(block_text(u, b) + ": expected a finite weight >= 0");
  }
  std::sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return blocks[x].begin < blocks[y].begin; });
  for (std::size_t k = 1; k < order.size(); ++k)
    if (blocks[order[k]].begin < blocks[order[k - 1]].end)
      throw std::invalid_argument(block_text(order[k], blocks[order[k]]) + " overlaps " +
                                  block_text(order[k - 1], blocks[order[k - 1]]) + ": blocks must be disjoint");
}

double Kernel::operator()(const double* a, const double* b, std::size_t dim) const {
  const detail::Plan plan = detail::make_plan(*this, dim, false);
  double out = 0, lanes[4];
  detail::compute_tile(plan, &a, 1, &b, 1, &out, lanes);
  return out;
}

double Kernel::term(double a, double b) const {
  switch (type) {
    case KernelType::linear: return a * b;
    case KernelType::intersection: return b < a ? b : a;
    case KernelType::chi2: {  // same operations as the engine's term
      const double s = a + b, tiny = std::numeric_limits<double>::min();
      return 2.0 * (a * b) / (s > tiny ? s : tiny);
    }
    case KernelType::hellinger: return std::sqrt(a) * std::sqrt(b);
    default:
      throw std::logic_error("kernel " + to_string(type) + " has no per-dimension term (not sum-decomposable)");
  }
}

double Kernel::weight(std::size_t d) const {
  if (blocks.empty()) return 1.0;
  for (const KernelBlock& b : blocks)
    if (d >= b.begin && d < b.end) return b.weight;
  return 0.0;
}

double kernel_distance(KernelType type, const double* a, const double* b, std::size_t dim) {
  const detail::Plan plan = detail::distance_plan(type, dim);
  double out = 0, lanes[4];
  detail::compute_tile(plan, &a, 1, &b, 1, &out, lanes);
  return out;
}

double default_gamma(KernelType type, const double* X, std::size_t n, std::size_t dim) {
  const detail::Plan plan = detail::distance_plan(type, dim);  // rejects non-exponential kernels
  if (n < 2) throw std::invalid_argument("default_gamma needs at least 2 rows, got " + std::to_string(n));
  constexpr std::size_t kMaxRows = 1000;
  constexpr std::uint64_t kSeed = 0x62'6f'77'6c'72'70ULL;  // fixed: the same data gives the same gamma
  std::vector<std::size_t> rows(n);
  std::iota(rows.begin(), rows.end(), std::size_t{0});
  if (n > kMaxRows) {
    // Partial Fisher-Yates with the raw engine output (std distributions differ between libraries).
    std::mt19937_64 rng(kSeed);
    for (std::size_t i = 0; i < kMaxRows; ++i) std::swap(rows[i], rows[i + rng() % (n - i)]);
    rows.resize(kMaxRows);
    std::sort(rows.begin(), rows.end());
  }
  const std::size_t k = rows.size();
  std::vector<double> sample(k * dim);
  for (std::size_t i = 0; i < k; ++i) std::copy_n(X + rows[i] * dim, dim, sample.data() + i * dim);
  std::vector<double> D(k * k);
  detail::run_gram(plan, sample.data(), k, sample.data(), k, dim, true, 0,
                   [&](std::size_t i, std::size_t j, double v) { D[i * k + j] = v; });
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i)
    for (std::size_t j = i + 1; j < k; ++j) sum += D[i * k + j];
  const double mean = sum / (static_cast<double>(k) * (k - 1) / 2);
  if (!(mean > 0) || !std::isfinite(mean))
    throw std::invalid_argument("default_gamma: mean pairwise " + to_string(type) + " distance is " +
                                std::to_string(mean) + " (rows identical or not finite); set gamma explicitly");
  return 1.0 / mean;
}

void gram_matrix(const Kernel& kernel, const double* X, std::size_t n, const double* Y, std::size_t m,
                 std::size_t dim, double* G, int threads) {
  kernel.validate(dim);
  const bool same = X == Y && n == m;
  std::vector<double> px, py;
  if (detail::needs_preparation(kernel)) {
    px = detail::prepare_rows(X, n, dim);
    X = px.data();
    if (same) {
      Y = X;
    } else {
      py = detail::prepare_rows(Y, m, dim);
      Y = py.data();
    }
  }
  const detail::Plan plan = detail::make_plan(kernel, dim, true);
  detail::run_gram(plan, X, n, Y, m, dim, same, threads,
                   [&](std::size_t i, std::size_t j, double v) { G[i * m + j] = v; });
}

// ----------------------------------------------------------------------------------------------
// Engine

namespace detail {

Plan make_plan(const Kernel& kernel, std::size_t dim, bool prepared) {
  Plan p;
  switch (kernel.type) {
    case KernelType::linear: p.op = Op::product; break;
    case KernelType::intersection: p.op = Op::min; break;
    case KernelType::chi2: p.op = Op::chi2; break;
    case KernelType::hellinger: p.op = prepared ? Op::product : Op::hellinger; break;
    case KernelType::rbf: p.op = Op::sqdiff; break;
    case KernelType::expchi2: p.op = Op::chi2dist; break;
  }
  p.exponential = is_exponential(kernel.type);
  p.gamma = kernel.gamma;
  p.whole = KernelBlock{0, dim, 1.0};
  if (kernel.blocks.empty()) {
    p.blocks = nullptr;
    p.nblocks = 1;
  } else {
    p.blocks = kernel.blocks.data();
    p.nblocks = kernel.blocks.size();
  }
  return p;
}

Plan distance_plan(KernelType type, std::size_t dim) {
  Plan p;
  if (type == KernelType::rbf) {
    p.op = Op::sqdiff;
  } else if (type == KernelType::expchi2) {
    p.op = Op::chi2dist;
  } else {
    throw std::invalid_argument("kernel " + to_string(type) + " has no distance: expected rbf or expchi2");
  }
  p.whole = KernelBlock{0, dim, 1.0};
  p.nblocks = 1;
  return p;
}

std::vector<double> prepare_rows(const double* X, std::size_t n, std::size_t dim) {
  std::vector<double> out(n * dim);
  for (std::size_t i = 0; i < n * dim; ++i) out[i] = std::sqrt(X[i]);
  return out;
}

namespace {

#define BOWLRP_INLINE inline __attribute__((always_inline))

// Dimensions per pass over a tile: 32 rows x 128 doubles = 32 KiB stay in L1 while a row pair runs.
constexpr std::size_t kChunk = 128;

// Four lanes as one value: GCC lowers it to one AVX register or two SSE2 registers, and each lane
// keeps its own running sum, which is the fixed order of the header note.
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4i __attribute__((vector_size(32)));

BOWLRP_INLINE v4d load4(const double* p) {
  v4d v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
// Denominator of chi2 terms: max(s, DBL_MIN). On non-negative inputs s < DBL_MIN means the
// numerator underflowed to 0, so this is exactly x / s with 0/0 = 0, branch-free (maxpd).
constexpr double kTiny = std::numeric_limits<double>::min();
BOWLRP_INLINE double guard(double s) { return s > kTiny ? s : kTiny; }
BOWLRP_INLINE v4d guard(v4d s) {
  const v4d tiny = {kTiny, kTiny, kTiny, kTiny};
  return s > tiny ? s : tiny;
}

template <Op O>
struct Term;
template <>
struct Term<Op::product> {
  template <class T>
  static BOWLRP_INLINE T f(T a, T b) { return a * b; }
};
template <>
struct Term<Op::min> {
  template <class T>
  static BOWLRP_INLINE T f(T a, T b) { return b < a ? b : a; }
};
template <>
struct Term<Op::chi2> {  // 2ab / (a + b), 0/0 = 0
  template <class T>
  static BOWLRP_INLINE T f(T a, T b) {
    const T s = a + b;
    return 2.0 * (a * b) / guard(s);
  }
};
template <>
struct Term<Op::hellinger> {
  static BOWLRP_INLINE double f(double a, double b) { return std::sqrt(a) * std::sqrt(b); }
  static BOWLRP_INLINE v4d f(v4d a, v4d b) {
    v4d r;
    for (int w = 0; w < 4; ++w) r[w] = std::sqrt(a[w]) * std::sqrt(b[w]);
    return r;
  }
};
template <>
struct Term<Op::sqdiff> {
  template <class T>
  static BOWLRP_INLINE T f(T a, T b) {
    const T t = a - b;
    return t * t;
  }
};
template <>
struct Term<Op::chi2dist> {
  template <class T>
  static BOWLRP_INLINE T f(T a, T b) {
    const T t = a - b, s = a + b;
    return t * t / guard(s);
  }
};

// RI x RJ entries over dimensions [d0, d0 + len); lanes hold 4 running sums per entry.
template <Op O, int RI, int RJ>
BOWLRP_INLINE void micro(const double* const* xr, const double* const* yr, std::size_t nj, std::size_t i0,
                         std::size_t j0, std::size_t d0, std::size_t len, double* lanes) {
  v4d s[RI][RJ];
  const double* a[RI];
  const double* b[RJ];
  for (int i = 0; i < RI; ++i) a[i] = xr[i0 + i] + d0;
  for (int j = 0; j < RJ; ++j) b[j] = yr[j0 + j] + d0;
  for (int i = 0; i < RI; ++i)
    for (int j = 0; j < RJ; ++j) s[i][j] = load4(lanes + ((i0 + i) * nj + j0 + j) * 4);
  std::size_t d = 0;
  for (; d + 4 <= len; d += 4) {
    v4d va[RI], vb[RJ];
    for (int i = 0; i < RI; ++i) va[i] = load4(a[i] + d);
    for (int j = 0; j < RJ; ++j) vb[j] = load4(b[j] + d);
    for (int i = 0; i < RI; ++i)
      for (int j = 0; j < RJ; ++j) s[i][j] += Term<O>::f(va[i], vb[j]);
  }
  for (std::size_t w = 0; d + w < len; ++w)
    for (int i = 0; i < RI; ++i)
      for (int j = 0; j < RJ; ++j) s[i][j][w] += Term<O>::f(a[i][d + w], b[j][d + w]);
  for (int i = 0; i < RI; ++i)
    for (int j = 0; j < RJ; ++j) __builtin_memcpy(lanes + ((i0 + i) * nj + j0 + j) * 4, &s[i][j], sizeof(v4d));
}

template <Op O>
BOWLRP_INLINE void tile_impl(const Plan& p, const double* const* xr, std::size_t ni, const double* const* yr,
                             std::size_t nj, double* out, double* lanes) {
  const std::size_t entries = ni * nj;
  std::fill(out, out + entries, 0.0);
  for (std::size_t u = 0; u < p.nblocks; ++u) {
    const KernelBlock& blk = p.blocks ? p.blocks[u] : p.whole;
    std::fill(lanes, lanes + entries * 4, 0.0);
    for (std::size_t c0 = blk.begin; c0 < blk.end; c0 += kChunk) {
      const std::size_t len = std::min(kChunk, blk.end - c0);
      std::size_t i = 0;
      for (; i + 2 <= ni; i += 2) {
        std::size_t j = 0;
        for (; j + 2 <= nj; j += 2) micro<O, 2, 2>(xr, yr, nj, i, j, c0, len, lanes);
        if (j < nj) micro<O, 2, 1>(xr, yr, nj, i, j, c0, len, lanes);
      }
      if (i < ni) {
        std::size_t j = 0;
        for (; j + 2 <= nj; j += 2) micro<O, 1, 2>(xr, yr, nj, i, j, c0, len, lanes);
        if (j < nj) micro<O, 1, 1>(xr, yr, nj, i, j, c0, len, lanes);
      }
    }
    for (std::size_t e = 0; e < entries; ++e) {
      const double* l = lanes + e * 4;
      const double s = (l[0] + l[1]) + (l[2] + l[3]);
      out[e] += blk.weight * (p.exponential ? std::exp(-p.gamma * s) : s);
    }
  }
}

// One instantiation per term, compiled for AVX2 and for the baseline; the loader picks one. Both
// perform the same operations in the same order (no FMA contraction, see CMakeLists), so the
// numbers do not depend on the machine's instruction set either.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define BOWLRP_CLONES __attribute__((target_clones("avx2", "default"), flatten))
#else
#define BOWLRP_CLONES
#endif

#define BOWLRP_TILE(NAME, OP)                                                                              \
  BOWLRP_CLONES void NAME(const Plan& p, const double* const* xr, std::size_t ni, const double* const* yr, \
                          std::size_t nj, double* out, double* lanes) {                                   \
    tile_impl<OP>(p, xr, ni, yr, nj, out, lanes);                                                         \
  }
BOWLRP_TILE(tile_product, Op::product)
BOWLRP_TILE(tile_min, Op::min)
BOWLRP_TILE(tile_chi2, Op::chi2)
BOWLRP_TILE(tile_hellinger, Op::hellinger)
BOWLRP_TILE(tile_sqdiff, Op::sqdiff)
BOWLRP_TILE(tile_chi2dist, Op::chi2dist)
#undef BOWLRP_TILE

}  // namespace

void compute_tile(const Plan& plan, const double* const* xrows, std::size_t ni, const double* const* yrows,
                  std::size_t nj, double* out, double* lanes) {
  switch (plan.op) {
    case Op::product: return tile_product(plan, xrows, ni, yrows, nj, out, lanes);
    case Op::min: return tile_min(plan, xrows, ni, yrows, nj, out, lanes);
    case Op::chi2: return tile_chi2(plan, xrows, ni, yrows, nj, out, lanes);
    case Op::hellinger: return tile_hellinger(plan, xrows, ni, yrows, nj, out, lanes);
    case Op::sqdiff: return tile_sqdiff(plan, xrows, ni, yrows, nj, out, lanes);
    case Op::chi2dist: return tile_chi2dist(plan, xrows, ni, yrows, nj, out, lanes);
  }
}

}  // namespace detail

const core::OptionSchema<Kernel>& Kernel::schema() {
  using O = Kernel;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::record_as(
        core::choice_option<O>("kernel", "--kernel", "kernel-SVM heads: hik | chi2 | hellinger | linear | rbf | expchi2",
                               {"hik", "chi2", "hellinger", "linear", "rbf", "expchi2"},
                               [](O& o) -> KernelType& { return o.type; }, [](KernelType t) { return to_string(t); },
                               &kernel_type_from_string),
        "type", core::Recorded::file));
    s.push_back(core::record_as(core::real_option<O>("gamma", "--gamma", "rbf / expchi2 width (0: 1 / mean pairwise distance)",
                                                     [](O& o) -> double& { return o.gamma; }, core::OptionRange::at_least(0)),
                                "gamma", core::Recorded::file));
    return s;
  }();
  return schema;
}

}  // namespace bowlrp::svm
