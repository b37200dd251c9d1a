// One-vs-rest linear SVMs with explicit weights: the linear head of a model.
//
// For class c of C, over vectors x of length V:
//   f_c(x) = b_c + sum_d w_cd x_d,   weights W: C x V (one vector of V per class), biases b: C,
// with the sign fixed as in KernelSvm: f_c(x) > 0 means "class c".
// A KernelSvm with the linear kernel, f_c(x) = b_c + sum_i coef_ci k(s_i, x), coef_ci = alpha_i y_i,
// k(s, x) = sum_d weight(d) s_d x_d (weight(d) = 1 without blocks, the block weight with them, 0 in
// no block), collapses into
//   w_cd = weight(d) sum_i coef_ci s_id,   i.e. w_c = sum_i alpha_i y_i s_i without blocks,
// so that a prediction costs C x V products instead of S x V, and no support vector is kept.
// Fixed summation order (the determinism contract, core::fixed_order_affine): w_c . x goes to 4 lanes
// by d mod 4, each lane summed in increasing d, combined as (lane0 + lane1) + (lane2 + lane3), and
// f_c = b_c + that sum.
// decision(), decision(cls) and decision_batch() share this one function, so f_c(x) has the same
// bits whichever of them computed it and whatever the thread count. Collapsing changes the order of
// the sums, so a collapsed model agrees with its KernelSvm to rounding (~1e-15 relative), not bits.
//
// Training (train_linear_one_vs_rest) runs libsvm C-SVC on the precomputed linear Gram matrix
// (the solver of train_one_vs_rest with the linear kernel) and accumulates w_c = sum_i coef_ci x_i
// straight from the training rows, rather than using liblinear:
// the heads' inputs are dense (Fisher vectors have V ~ 40k-170k dimensions, nearly all non-zero),
// and liblinear takes sparse feature_node rows of 16 bytes per non-zero, ~6.4 GB for 2500 x 160k;
// the Gram matrix has n^2 entries whatever V is (n^2 doubles of kernel values, held as libsvm's
// 16-byte precomputed nodes: 100 MB for n = 2500), and the same solver, options and label handling
// as every other kernel. No KernelSvm is built on the way: its shared support set would copy up to
// n x V doubles (3.4 GB for 2500 Fisher vectors of V = 167 936), so training holds the rows, the
// Gram matrix and the C x V weights only. The terms of w and their order are those of
// from_kernel_svm (rows in increasing training index), so the weights are the bits the collapse of
// train_one_vs_rest's model gives.
#pragma once

#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::svm {

/// One binary linear SVM of the one-vs-rest set.
struct LinearClass {
  std::string name;             ///< class name
  double bias = 0;              ///< b_c
  std::vector<double> weights;  ///< w_c (size V)
};

/// One-vs-rest linear SVMs with explicit weights: the linear head of a model.
class LinearSvm {
 public:
  /// An empty model (dimension 0, no classes).
  LinearSvm() = default;
  /// Assembles a model; throws std::invalid_argument for dim 0, no classes, an empty or repeated
  /// class name, weights not of size dim, or a non-finite bias or weight.
  LinearSvm(std::size_t dim, std::vector<LinearClass> classes);
  /// Collapses a linear-kernel KernelSvm (with or without blocks) into explicit weights
  /// w_cd = weight(d) sum_i coef_ci s_id; throws std::invalid_argument naming any other kernel.
  static LinearSvm from_kernel_svm(const KernelSvm& model);
  /// f_c(x) for every class (x: dim() values).
  std::vector<double> decision(const double* x) const;
  /// f_c(x) for one class; throws std::out_of_range for a bad class.
  double decision(std::size_t cls, const double* x) const;
  /// f_c(x_r) of n rows (n x dim, row-major) as an n x classes row-major matrix, the same bits as
  /// decision() row by row; rows run in parallel (threads 0: all cores; throws
  /// std::invalid_argument outside 0 .. core::kMaxThreads).
  std::vector<double> decision_batch(const double* X, std::size_t n, int threads = 0) const;
  /// Vector length V.
  std::size_t dim() const { return dim_; }
  /// The binary linear SVMs, one per class.
  const std::vector<LinearClass>& classes() const { return classes_; }
  /// Index of a class by name; throws std::invalid_argument listing the known names.
  std::size_t class_index(const std::string& name) const;

 private:
  std::size_t dim_ = 0;
  std::vector<LinearClass> classes_;
};

/// Trains one linear SVM per class: libsvm on the precomputed linear Gram matrix, as
/// train_one_vs_rest with Kernel{KernelType::linear} (see the header comment for why not
/// liblinear), with w_c accumulated from the rows X directly: the same bits as
/// LinearSvm::from_kernel_svm(train_one_vs_rest(...)) without its copy of the support vectors.
/// Arguments, label convention {+1, -1, 0}, progress and exceptions as train_one_vs_rest;
/// options.threads also bounds the accumulation of w (the result does not depend on it).
LinearSvm train_linear_one_vs_rest(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                                   const std::vector<std::string>& class_names, const TrainOptions& options,
                                   const ProgressFn& progress = {});

}  // namespace bowlrp::svm
