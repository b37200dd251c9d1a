// The distributed linear head: one-vs-rest L2-regularised squared-hinge linear SVMs trained in the
// primal by trust-region Newton, each rank holding only its own rows.
//
// For class c, labels y_i in {+1, -1} (rows labelled 0 are left out of this class), rows x_i of V
// values and the appended constant feature B (options.bias; none when B = 0), u_i = (x_i, B) and
// w in R^(V+1) (R^V without bias):
//   f(w) = 1/2 w.w + C sum_i max(0, 1 - y_i w.u_i)^2                     (liblinear's L2R_L2LOSS_SVC)
//   grad f(w) = w + 2C sum_{i in I} (y_i w.u_i - 1) y_i u_i,              I = {i : y_i w.u_i < 1}
//   H v = v + 2C sum_{i in I} u_i (u_i.v)                                 (the generalised Hessian)
// The bias is liblinear's: the weight of the constant feature, regularised like the others, b_c =
// B w_(V+1). The classifier is f_c(x) = b_c + w_c.x (svm::LinearSvm, f_c > 0 means class c).
//
// Solver: trust-region Newton (Lin, Weng & Keerthi 2008, "Trust region Newton method for large-scale
// logistic regression", JMLR 9; liblinear's primal solver): from w = 0, each iteration solves
// H s = -grad f by conjugate gradient inside the trust region |s| <= delta (stopping when the residual
// is below 0.1 |grad f|), accepts w + s when the actual reduction is above eta0 = 1e-4 of the
// predicted one, and updates delta with eta1 = 0.25, eta2 = 0.75, sigma1 = 0.25, sigma2 = 0.5,
// sigma3 = 4. It stops when |grad f(w)| <= eps' |grad f(0)|, eps' = epsilon max(min(n+, n-), 1) / n
// (liblinear's scaling of the primal tolerance by the class balance), or after max_iterations Newton
// iterations (then ClassTraining::converged is false). The active set I always belongs to the current
// iterate w (a rejected trial point's set is discarded).
//
// Distribution: rows are dealt as in ordered_sum.h (BlockLayout(total_rows, block_rows, R)); every
// sum over rows above (the loss, the gradient's and H v's data terms) is a vector of per-block partials
// reduced by ordered_sum, and every rank runs the same Newton and CG steps on the same replicated w,
// so the weights and biases have the same bits for every rank count R (they depend on block_rows).
// Messages per class: one ordered sum of 1 value per function value (one per trust-region attempt,
// plus the start), one of V + 1 values per gradient (one per accepted iteration, plus the start) and
// one of V + 1 values per CG step; rank r receives (B - B_r) * 8 bytes per value of each (ordered_sum.h),
// so ~ (iterations + CG steps) * (B - B_r) * (V + 1) * 8 bytes per class. LinearHeadResult::traffic
// counts them (measured: 20 000 rows, V = 1024, 10 classes, blocks of 256, R = 2: 442 sums, 112 MB
// received per rank).
// Within a rank, the blocks' partials are computed on `threads` threads (each block by one thread,
// into its own slot), and only the calling thread calls MPI (MPI_THREAD_FUNNELED).
#pragma once

#include <bowlrp/distributed/communicator.h>
#include <bowlrp/distributed/ordered_sum.h>
#include <bowlrp/svm/linear_svm.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::distributed {

/// Options of the distributed linear head.
struct LinearHeadOptions {
  double C = 1.0;                               ///< weight of the squared-hinge loss (liblinear's default)
  double epsilon = 0.01;                        ///< relative gradient-norm tolerance (liblinear's primal default)
  int max_iterations = 1000;                    ///< Newton iterations per class
  double bias = 1.0;                            ///< value B of the appended constant feature; 0: no bias term
  std::size_t block_rows = kDefaultBlockRows;   ///< rows per block of the ordered sums (the model depends on it, not on R)
  int threads = 0;                              ///< threads per rank for the block partials (0: all cores; the model does not depend on it)
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
};

/// How one class's training went (the same on every rank).
struct ClassTraining {
  std::string name;            ///< class name
  std::size_t positives = 0;   ///< rows labelled +1
  std::size_t negatives = 0;   ///< rows labelled -1
  int iterations = 0;          ///< accepted Newton iterations
  int cg_iterations = 0;       ///< conjugate-gradient steps (Hessian-vector products)
  double objective = 0;        ///< f(w) at the returned w
  double gradient_norm = 0;    ///< |grad f(w)| at the returned w
  double initial_gradient_norm = 0;  ///< |grad f(0)|
  bool converged = false;      ///< the gradient-norm test was met within max_iterations
};

/// The trained head and how its training went.
struct LinearHeadResult {
  svm::LinearSvm model;                 ///< weights C x V and biases, identical on every rank
  std::vector<ClassTraining> classes;   ///< per class, in class order
  Traffic traffic;                      ///< this rank's ordered-sum traffic
};

/// Trains the head on `comm`: this rank holds rows [layout.first_row(rank), layout.end_row(rank)) of
/// `total_rows`, layout = BlockLayout(total_rows, options.block_rows, comm.size()), as `X_local`
/// (rows_of(rank) x dim, row-major) and `labels_local` (rows_of(rank) x classes, row-major, in
/// {+1, -1, 0} as svm::train_one_vs_rest). Collective: every rank passes the same total_rows, dim,
/// class names and options, which is checked (std::invalid_argument on every rank, naming what
/// differs). Throws std::invalid_argument for bad options, sizes or labels, or a class without a
/// positive or a negative row over all ranks; MpiError if MPI fails.
LinearHeadResult train_linear_head(const Communicator& comm, std::size_t total_rows, const double* X_local,
                                   std::size_t dim, const std::vector<int>& labels_local,
                                   const std::vector<std::string>& class_names, const LinearHeadOptions& options);

/// The same from float rows (each value widened to double; the same model as the double rows of
/// the same values).
LinearHeadResult train_linear_head(const Communicator& comm, std::size_t total_rows, const float* X_local,
                                   std::size_t dim, const std::vector<int>& labels_local,
                                   const std::vector<std::string>& class_names, const LinearHeadOptions& options);

}  // namespace bowlrp::distributed
