// Kernels on histograms, and the Gram matrix.
//
// Sum-decomposable kernels, k(a, b) = sum_d k_d(a_d, b_d):
//   linear        k_d = a b
//   intersection  k_d = min(a, b)
//   chi2          k_d = 2ab / (a + b), 0/0 = 0          (additive chi-squared)
//   hellinger     k_d = sqrt(a b), computed as sqrt(a) sqrt(b) (rows are square-rooted once)
// Differentiable kernels (no per-dimension term):
//   rbf           k = exp(-gamma ||a - b||^2)
//   expchi2       k = exp(-gamma chi2dist(a, b)),  chi2dist = sum_d (a-b)^2 / (a+b), 0/0 = 0
// A weighted sum over blocks of dimensions (feature channels or pyramid levels; the paper's Eq 11)
// k(a, b) = sum_u w_u k(a_u, b_u), where a_u is the slice [begin_u, end_u). With no blocks the
// whole vector is one block of weight 1. For sum-decomposable kernels the block weight multiplies
// k_d of every d in the block. Inputs are histograms: intersection, chi2 and hellinger assume
// values >= 0.
// Every evaluation (operator(), gram_matrix, KernelSvm) runs one engine with a fixed summation order
// per entry: 4 interleaved partial sums per block, then the blocks in order. So k(a, b) has the same
// bits whichever function, tile or thread count computed it, and k(a, b) == k(b, a) exactly.
#pragma once

#include <bowlrp/core/option_schema.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::svm {

/// Kernel family.
enum class KernelType { linear, intersection, chi2, hellinger, rbf, expchi2 };
/// "linear", "hik", "chi2", "hellinger", "rbf", "expchi2".
std::string to_string(KernelType type);
/// Parses the names of to_string ("intersection" is accepted for "hik"); throws std::invalid_argument.
KernelType kernel_type_from_string(const std::string& name);

/// Whether the kernel is defined only for inputs >= 0: chi2 (2ab / (a + b)), hellinger (sqrt(a b)) and
/// expchi2 (chi2dist). Such a kernel cannot read signed vectors (Fisher vectors): its Gram matrix has
/// non-finite or meaningless entries there.
bool needs_non_negative_inputs(KernelType type);

/// A slice of dimensions with its weight.
struct KernelBlock {
  std::size_t begin = 0;  ///< first dimension
  std::size_t end = 0;    ///< one past the last dimension
  double weight = 1.0;    ///< w_u >= 0
};

/// A kernel with its parameters; a small value type.
struct Kernel {
  KernelType type = KernelType::intersection;  ///< family
  double gamma = 0.0;                          ///< rbf / expchi2 width (> 0 when used; 0 = unset)
  std::vector<KernelBlock> blocks;             ///< empty = one block of weight 1
  /// Whether k(a, b) = sum_d w(d) k_d(a_d, b_d) (exact relevance decomposition exists).
  bool sum_decomposable() const;
  /// Throws std::invalid_argument if the parameters do not fit a vector of length dim.
  void validate(std::size_t dim) const;
  /// k(a, b) over vectors of length dim.
  double operator()(const double* a, const double* b, std::size_t dim) const;
  /// Per-dimension term k_d(a, b) without block weight; throws std::logic_error for rbf/expchi2.
  double term(double a, double b) const;
  /// Block weight of dimension d (1 when there are no blocks, 0 outside every block).
  double weight(std::size_t d) const;
  /// The user-facing options (family and gamma, recorded in the model file as "type" and "gamma";
  /// blocks are set by code), described once.
  static const core::OptionSchema<Kernel>& schema();
};

/// Squared distance used by a differentiable kernel: ||a-b||^2 (rbf) or chi2dist (expchi2).
double kernel_distance(KernelType type, const double* a, const double* b, std::size_t dim);

/// Default gamma: 1 / mean pairwise distance (kernel_distance over the whole vector) over n rows of
/// X (n x dim, row-major); uses a fixed-seed subsample of at most 1000 rows. Throws
/// std::invalid_argument for a kernel without a distance, n < 2 or identical rows.
double default_gamma(KernelType type, const double* X, std::size_t n, std::size_t dim);

/// Gram matrix G[i][j] = k(X_i, Y_j), X n x dim, Y m x dim, row-major; G is n x m row-major.
/// Multi-threaded (threads 0: all cores, at most core::kMaxThreads); the numbers do not depend on the thread count. With
/// X == Y (same pointer, n == m) only the upper triangle is computed and mirrored.
void gram_matrix(const Kernel& kernel, const double* X, std::size_t n, const double* Y, std::size_t m,
                 std::size_t dim, double* G, int threads = 0);

}  // namespace bowlrp::svm
