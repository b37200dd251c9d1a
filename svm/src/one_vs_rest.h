// Private core of the one-vs-rest training shared by train_one_vs_rest (which assembles a KernelSvm
// with a shared support set) and train_linear_one_vs_rest (which accumulates w_c from the training
// rows directly, without copying support vectors).
#pragma once

#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::svm::detail {

/// One class's libsvm solution, sign fixed so that f_c(x) > 0 means "class c".
struct BinaryResult {
  std::vector<std::size_t> index;  ///< training rows of the support vectors, in libsvm's order
  std::vector<double> coef;        ///< alpha_i y_i of each (same order)
  double bias = 0;                 ///< b_c
};

/// Every class's solution and the kernel used (gamma filled in when it was 0).
struct OneVsRest {
  Kernel kernel;
  std::vector<BinaryResult> classes;
};

/// Validates the arguments and runs libsvm per class on the precomputed Gram matrix, exactly as
/// train_one_vs_rest documents (same checks, exceptions and progress calls).
OneVsRest train_binary_svms(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                            const std::vector<std::string>& class_names, Kernel kernel, const TrainOptions& options,
                            const ProgressFn& progress);

}  // namespace bowlrp::svm::detail
