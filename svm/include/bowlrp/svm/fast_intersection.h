// Exact fast evaluation of an intersection-kernel SVM (Maji, Berg & Malik, CVPR 2008).
//
// f(x) = b + sum_d w(d) g_d(x_d),   g_d(x) = sum_i coef_i min(s_id, x).
// For dimension d let v_0 < ... < v_{m-1} be the distinct support values and c_k the summed
// coefficients of the vectors holding v_k. With P_k = sum_{j<k} c_j v_j and Q_k = sum_{j>=k} c_j,
//   g_d(x) = P_k + x Q_k,   k = #{j : v_j <= x},
// so one binary search replaces S kernel terms. P and Q are accumulated in extended precision, so
// each term equals the naive sum to a few ulps of sum_i |coef_i| min(s_id, x). The per-dimension term
// w(d) g_d(x_d) is exactly the relevance R_d of dimension d before the bias is shared out.
#pragma once

#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace bowlrp::svm {

/// Sorted per-dimension support values and prefix sums of one class of an intersection-kernel model.
class IntersectionIndex {
 public:
  /// An empty index (dim 0).
  IntersectionIndex() = default;
  /// Builds the index of class cls; throws std::invalid_argument unless the kernel is "hik".
  /// (build_intersection_indices shares the sorting between the classes; prefer it for several.)
  IntersectionIndex(const KernelSvm& model, std::size_t cls);
  /// w(d) * sum_i coef_i min(s_id, x_d): the contribution of dimension d to f(x).
  double term(std::size_t d, double x_d) const;
  /// f(x) = bias + sum_d term(d, x_d) for a vector of dim() values.
  double decision(const double* x) const;
  /// The bias b.
  double bias() const { return bias_; }
  /// Histogram length V.
  std::size_t dim() const { return dim_; }
  /// Distinct (dimension, value) entries of the sorted support set; each class stores 16 bytes
  /// (P, Q) per entry and per dimension, the sorted values (8 bytes each) are shared.
  std::size_t entries() const;

  /// Sorted distinct values per dimension of a whole support set, shared by its classes' indices.
  struct Layout;

 private:
  friend std::vector<IntersectionIndex> build_intersection_indices(const KernelSvm& model, int threads);
  IntersectionIndex(std::shared_ptr<const Layout> layout, const std::vector<std::uint32_t>& entry,
                    const KernelSvm& model, std::size_t cls);

  std::size_t dim_ = 0;
  double bias_ = 0.0;
  std::shared_ptr<const Layout> layout_;
  std::vector<double> pq_;  // (P_k, Q_k) pairs; dimension d starts at pair layout offset(d) + d
};

/// One index per class of an intersection-kernel model; the support values are sorted once for
/// all classes, in parallel (threads 0: all cores; throws std::invalid_argument outside 0 .. core::kMaxThreads).
std::vector<IntersectionIndex> build_intersection_indices(const KernelSvm& model, int threads = 0);

}  // namespace bowlrp::svm
