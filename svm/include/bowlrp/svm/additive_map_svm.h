// One-vs-rest linear SVMs over the explicit map of an additive kernel: the "explicit-map linear SVM"
// head (Vedaldi & Zisserman 2012; additive_map.h for Psi).
//
// For class c of C, over histograms x of V values (x_d in the map's range, normalised histograms),
//   f_c(x) = b_c + w_c . Psi(x) = b_c + sum_d sum_j w_(c, d(2n+1)+j) psi_j(x_d),
// weights W: C x V(2n+1) (class c's row indexed by d (2n+1) + j), biases b: C. With the map of the
// intersection or chi2 kernel, Psi(x) . Psi(y) ~ k(x, y), so this head approximates the hik / chi2
// kernel SVM at the cost of C x V (2n+1) products per image and no support vector. Its relevance is
// exact per histogram dimension (decompose/additive_map_relevance.h):
//   R_d = sum_j w_(c, d(2n+1)+j) psi_j(x_d),   f_c(x) = b_c + sum_d R_d.
// decision() maps x once and evaluates the linear SVM over Psi(x) (LinearSvm's fixed summation order),
// so f_c has the same bits whichever entry point computed it and whatever the thread count.
#pragma once

#include <bowlrp/svm/additive_map.h>
#include <bowlrp/svm/linear_svm.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::svm {

/// One-vs-rest linear SVMs over the explicit additive-kernel map Psi; immutable, thread-safe.
class AdditiveMapSvm {
 public:
  /// Assembles a head over histograms of `dim` values; `linear` is over Psi (its dim() must be
  /// dim x map.components()). Throws std::invalid_argument for dim 0, a shape mismatch or invalid
  /// map options (LinearSvm's constructor has already refused non-finite weights and biases).
  AdditiveMapSvm(std::size_t dim, const AdditiveMapOptions& map, LinearSvm linear);
  /// f_c(x) for every class (x: dim() values).
  std::vector<double> decision(const double* x) const;
  /// f_c(x) for one class; throws std::out_of_range for a bad class.
  double decision(std::size_t cls, const double* x) const;
  /// f_c(x_r) of n rows (n x dim, row-major) as n x classes, the same bits as decision() row by row.
  std::vector<double> decision_batch(const double* X, std::size_t n, int threads = 0) const;
  /// Histogram length V.
  std::size_t dim() const { return dim_; }
  /// The map Psi.
  const AdditiveKernelMap& map() const { return map_; }
  /// The linear SVMs over Psi(x) (dimension V (2n+1)).
  const LinearSvm& linear() const { return linear_; }
  /// The per-class weights and biases (over Psi).
  const std::vector<LinearClass>& classes() const { return linear_.classes(); }
  /// Index of a class by name; throws std::invalid_argument listing the known names.
  std::size_t class_index(const std::string& name) const { return linear_.class_index(name); }
  /// Psi(x) of one histogram (dim() x components values).
  std::vector<double> mapped(const double* x) const;

 private:
  std::size_t dim_ = 0;
  AdditiveKernelMap map_;
  LinearSvm linear_;
};

/// Trains the head single-node: Psi of the rows, then svm::train_linear_one_vs_rest on them (libsvm
/// on the linear Gram matrix of Psi(x)). Arguments, labels and exceptions as train_linear_one_vs_rest.
AdditiveMapSvm train_additive_map_one_vs_rest(const double* X, std::size_t n, std::size_t dim,
                                              const std::vector<int>& labels,
                                              const std::vector<std::string>& class_names,
                                              const AdditiveMapOptions& map, const TrainOptions& options,
                                              const ProgressFn& progress = {});

}  // namespace bowlrp::svm
