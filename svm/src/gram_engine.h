// Private engine behind every kernel evaluation of the module: Kernel::operator(), gram_matrix,
// default_gamma, the training Gram matrix and KernelSvm::decision all call compute_tile, so one
// pair of vectors always gives the same bits whichever of them asked.
//
// Fixed summation order (the determinism contract): inside a block [begin, end) the per-dimension
// terms go to 4 lanes by (d - begin) mod 4, each lane summed in increasing d; the block sum is
// (lane0 + lane1) + (lane2 + lane3); blocks are added in their order, each as w_u * s_u (or
// w_u * exp(-gamma s_u)). Tiling, chunking over d and threads only decide who computes an entry,
// never how, and every term is symmetric in its arguments, so k(a, b) and k(b, a) are bit-identical.
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/svm/kernel.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace bowlrp::svm::detail {

/// Per-dimension term of the engine.
enum class Op { product, min, chi2, hellinger, sqdiff, chi2dist };

/// Rows per tile side; tiles are the unit of parallel work.
constexpr std::size_t kTile = 32;

/// A kernel compiled for the engine.
struct Plan {
  Op op = Op::min;                        ///< per-dimension term
  const KernelBlock* blocks = nullptr;    ///< blocks (never empty: `whole` when the kernel has none)
  std::size_t nblocks = 0;                ///< number of blocks
  KernelBlock whole;                      ///< the single block of an unblocked kernel
  bool exponential = false;               ///< block value w * exp(-gamma s) instead of w * s
  double gamma = 0.0;                     ///< rbf / expchi2 width
};

/// Plan of a kernel on vectors of length dim; `prepared` = rows went through prepare_rows (hellinger
/// rows hold sqrt values, so the engine multiplies them).
Plan make_plan(const Kernel& kernel, std::size_t dim, bool prepared);

/// Plan of a bare distance (sqdiff or chi2dist) over the whole vector, no exponential.
Plan distance_plan(KernelType type, std::size_t dim);

/// Whether the kernel's rows must be transformed by prepare_rows before a prepared plan is used.
inline bool needs_preparation(const Kernel& kernel) { return kernel.type == KernelType::hellinger; }

/// Element-wise sqrt copy of n x dim rows (for hellinger); identity otherwise is never needed.
std::vector<double> prepare_rows(const double* X, std::size_t n, std::size_t dim);

/// out[i * nj + j] = k(xrows[i], yrows[j]) for ni, nj <= kTile; lanes: scratch of ni * nj * 4.
void compute_tile(const Plan& plan, const double* const* xrows, std::size_t ni, const double* const* yrows,
                  std::size_t nj, double* out, double* lanes);

/// Runs compute_tile over all tiles of the n x m matrix k(X_i, Y_j) in parallel and hands every
/// entry to store(i, j, value). With symmetric (X == Y, n == m) only tiles on or above the diagonal
/// are computed and off-diagonal tiles are also stored transposed. threads 0: all cores (validated:
/// 0 .. core::kMaxThreads).
template <class Store>
void run_gram(const Plan& plan, const double* X, std::size_t n, const double* Y, std::size_t m, std::size_t dim,
              bool symmetric, int threads, Store&& store) {
  core::validate_threads(threads);
  if (n == 0 || m == 0) return;
  const std::size_t ti = (n + kTile - 1) / kTile, tj = (m + kTile - 1) / kTile;
  std::vector<std::pair<std::size_t, std::size_t>> tiles;
  tiles.reserve(symmetric ? ti * (ti + 1) / 2 : ti * tj);
  for (std::size_t a = 0; a < ti; ++a)
    for (std::size_t b = symmetric ? a : 0; b < tj; ++b) tiles.emplace_back(a, b);
  auto work = [&](const tbb::blocked_range<std::size_t>& range) {
    std::vector<double> out(kTile * kTile), lanes(kTile * kTile * 4);
    const double* xr[kTile];
    const double* yr[kTile];
    for (std::size_t t = range.begin(); t != range.end(); ++t) {
      const std::size_t i0 = tiles[t].first * kTile, j0 = tiles[t].second * kTile;
      const std::size_t ni = std::min(kTile, n - i0), nj = std::min(kTile, m - j0);
      for (std::size_t i = 0; i < ni; ++i) xr[i] = X + (i0 + i) * dim;
      for (std::size_t j = 0; j < nj; ++j) yr[j] = Y + (j0 + j) * dim;
      compute_tile(plan, xr, ni, yr, nj, out.data(), lanes.data());
      const bool mirror = symmetric && i0 != j0;
      for (std::size_t i = 0; i < ni; ++i)
        for (std::size_t j = 0; j < nj; ++j) {
          store(i0 + i, j0 + j, out[i * nj + j]);
          if (mirror) store(j0 + j, i0 + i, out[i * nj + j]);
        }
    }
  };
  const std::size_t total = tiles.size();
  if (threads == 1 || total == 1) {
    work(tbb::blocked_range<std::size_t>(0, total));
    return;
  }
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] { tbb::parallel_for(tbb::blocked_range<std::size_t>(0, total, 1), work); });
}

}  // namespace bowlrp::svm::detail
