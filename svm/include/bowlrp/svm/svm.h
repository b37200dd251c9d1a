// One-vs-rest kernel SVMs trained by libsvm C-SVC on a precomputed Gram matrix.
//
// For class c:  f_c(x) = b_c + sum_i coef_{c,i} k(s_i, x),  coef = alpha_i y_i,
// with the sign fixed so that f_c(x) > 0 means "class c" whatever label order libsvm used.
// All classes share one support set S (the union of their support vectors; coef = 0 where a
// vector is not a support vector of that class), stored densely as S x V doubles, so that the
// model needs no training set to predict or explain.
#pragma once

#include <bowlrp/svm/kernel.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bowlrp::svm {

/// One binary SVM of the one-vs-rest set.
struct BinarySvm {
  std::string name;          ///< class name
  double bias = 0.0;         ///< b
  std::vector<double> coef;  ///< alpha_i y_i per shared support vector (size S)
};

/// Options of training.
struct TrainOptions {
  double C = 3.0;                  ///< soft-margin C for every class (best of a VOC07 sweep)
  std::vector<double> class_C;     ///< optional per-class C (empty, or one per class)
  bool balanced = false;           ///< weight C of each side by n / (2 n_side)
  double epsilon = 1e-3;           ///< libsvm stopping tolerance
  double cache_mb = 200;           ///< libsvm cache of Q rows, per concurrent class training (MB)
  int threads = 0;                 ///< Gram matrix and per-class training threads (0: all cores; <= core::kMaxThreads)
  /// Throws std::invalid_argument naming the bad field.
  void validate(std::size_t classes) const;
  /// The user-facing options (not threads, which model::FitOptions sets), described once.
  static const core::OptionSchema<TrainOptions>& schema();
};

/// One-vs-rest kernel SVMs over a shared support set: the kernel-machine head of a model.
class KernelSvm {
 public:
  /// An empty model.
  KernelSvm() = default;
  /// Assembles a model; throws std::invalid_argument on inconsistent sizes.
  KernelSvm(Kernel kernel, std::size_t dim, std::vector<double> support, std::vector<BinarySvm> classes);
  /// f_c(x) for every class.
  std::vector<double> decision(const double* x) const;
  /// f_c(x) for one class.
  double decision(std::size_t cls, const double* x) const;
  /// k(s_i, x) for every shared support vector i (size S); decision() combines these per class.
  std::vector<double> kernel_values(const double* x) const;
  /// f_c(x_r) of n rows (n x dim, row-major) as an n x classes row-major matrix; the same numbers as
  /// decision(), computed as one tiled kernel matrix (threads 0: all cores; throws std::invalid_argument
  /// outside 0 .. core::kMaxThreads).
  std::vector<double> decision_batch(const double* X, std::size_t n, int threads = 0) const;
  /// Histogram length V.
  std::size_t dim() const { return dim_; }
  /// Number of shared support vectors S.
  std::size_t support_size() const { return dim_ ? support_.size() / dim_ : 0; }
  /// Support vector i (V doubles).
  const double* support_vector(std::size_t i) const { return support_.data() + i * dim_; }
  /// All support vectors, S x V row-major.
  const std::vector<double>& support() const { return support_; }
  /// The kernel.
  const Kernel& kernel() const { return kernel_; }
  /// The binary SVMs, one per class.
  const std::vector<BinarySvm>& classes() const { return classes_; }
  /// Index of a class by name; throws std::invalid_argument listing the known names.
  std::size_t class_index(const std::string& name) const;

 private:
  Kernel kernel_;
  std::size_t dim_ = 0;
  std::vector<double> support_;
  std::vector<BinarySvm> classes_;
  std::vector<double> prepared_;  // engine form of support_ (sqrt values for hellinger, else empty)
};

/// Progress callback: (done, total) of the per-class trainings; called from worker threads, one
/// call at a time.
using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

/// Trains one binary SVM per class. X: n x dim histograms; labels: n x classes row-major in
/// {+1, -1, 0} (0 = leave this example out of this class, e.g. VOC "difficult"). A kernel gamma of
/// 0 is replaced by default_gamma(). Throws std::invalid_argument if a class has no positive or no
/// negative example (naming it). `support_rows`, when given, receives the row of X each shared
/// support vector is (size S, ascending: the support set keeps training order), so that a caller can
/// name the training image behind each one.
KernelSvm train_one_vs_rest(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                           const std::vector<std::string>& class_names, Kernel kernel,
                           const TrainOptions& options, const ProgressFn& progress = {},
                           std::vector<std::size_t>* support_rows = nullptr);

/// Routes libsvm's printing to a callback (empty: silent). Global, as libsvm's own setting is.
void set_libsvm_logger(std::function<void(const std::string&)> logger);

}  // namespace bowlrp::svm
