// Relevance of the histogram dimensions for one class of a kernel SVM (Bach et al. 2015, Eq 12-16) or
// of an explicit-weight linear head.
//
// f(h) = b + sum_i coef_i k(s_i, h).
// Sum-decomposable kernels, k(s, h) = sum_d w(d) k_d(s_d, h_d), decompose exactly:
//   R_d = beta_d + sum_i coef_i w(d) k_d(s_id, h_d)      (beta_d from the BiasPolicy, see rules.h)
// so sum_d R_d + absorbed = f(h) up to rounding. The cost equals one direct prediction (S x V
// terms); dimensions are processed in independent blocks, so the numbers do not depend on threads.
// For the intersection kernel, an svm::IntersectionIndex of the class (Maji et al. 2008) gives
// w(d) sum_i coef_i min(s_id, h_d) by one binary search per dimension: O(V log S), the cost of a
// fast prediction; f(h) is then the index's own decision. Building an index costs far more than
// one direct explanation, so it pays only when it is shared with prediction or reused.
// Differentiable kernels (rbf, expchi2) start from a root x0, f(x0) = 0, searched on the segment
// from h to the nearest (in kernel distance) support vectors of the other side (coef of sign
// opposite to f(h)), scanned for the first sign change and refined by bisection. x0 is a convex
// combination of non-negative vectors, so x0 >= 0. If no sign change is found, root_found is false
// and x0 is the point of smallest |f| met on the way (h itself gives R = 0): the residual then says
// how much is missing - never silently. From x0 (rules.h):
//   integrated gradients  R_d = (h - x0)_d int_0^1 df/dx_d(x0 + t (h - x0)) dt,
//     sum_d R_d = f(h) - f(x0) by the gradient theorem; the integrand is smooth on the segment
//     (x >= 0 there), so Gauss-Legendre converges fast; expchi2 has poles at x_d = -s_d near the
//     ends of the path when h_d or x0_d is 0 and s_d is small, where the adaptive halving
//     concentrates its segments. Cost: nodes x (2 x segments - 1) gradients, each S x V (24 for a
//     smooth rbf path with the defaults).
//   taylor                R_d = (h - x0)_d df/dx_d(x0)     (Eq 16; one gradient)
// The residual f(h) - sum_d R_d is reported in both cases: f(x0) + quadrature error for integrated
// gradients, the Taylor remainder for taylor.
// The explicit-weight linear head (svm::LinearSvm), f(h) = b + sum_d w_d h_d, decomposes exactly by
// its own terms:
//   R_d = beta_d + w_d h_d                               (beta_d from the BiasPolicy, see rules.h)
// so sum_d R_d + absorbed = f(h) up to rounding, for V products; the R_d equal those of the
// linear-kernel KernelSvm the head was collapsed from (svm::LinearSvm::from_kernel_svm) up to
// rounding. f(h) is the head's own decision, computed independently of R, so the residual
// f - sum R - absorbed is rounding only.
#pragma once

#include <bowlrp/decompose/rules.h>
#include <bowlrp/svm/fast_intersection.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::decompose {

/// Totals of one dense layer of a network head, backwards (network_relevance.h).
struct LayerTotals {
  std::string rule;       ///< to_string of the layer's rule
  std::size_t inputs = 0; ///< n_{l-1}
  std::size_t outputs = 0;///< n_l
  double upper = 0.0;     ///< Σ_j R_j, what came in from above (f for the output layer)
  double lower = 0.0;     ///< Σ_i R_i, what went down to the layer's inputs
  double absorbed = 0.0;  ///< what the rule kept (its own formula, rules.h): upper = lower + absorbed to rounding
};

/// Relevance of each histogram dimension, with the bookkeeping that makes conservation checkable.
struct DimensionRelevance {
  std::vector<double> R;      ///< R_d, size V
  double f = 0.0;             ///< f(h), computed by the model independently of R
  double bias = 0.0;          ///< b of the class
  double absorbed = 0.0;      ///< bias kept apart (BiasPolicy::absorbed), else 0
  double residual = 0.0;      ///< f - sum R - absorbed: rounding (exact), Taylor remainder or f(x0) + quadrature
  SvmMethod method = SvmMethod::exact;  ///< how R was computed
  bool root_found = true;     ///< differentiable: whether a root x0 was found (always true for exact)
  std::vector<double> root;   ///< differentiable: x0 (size V); empty for exact
  double f_root = 0.0;        ///< differentiable: f(x0)
  double quadrature_error = 0.0;      ///< integrated gradients: sum R - (f(h) - f(x0)), else 0
  int quadrature_segments = 0;        ///< integrated gradients: segments of the final estimate
  bool quadrature_converged = false;  ///< integrated gradients: every segment met its tolerance
  /// network heads: every dense layer, input layer first (absorbed = Σ of their absorbed parts); else empty
  std::vector<LayerTotals> layers;
  /// sum_d R_d.
  double total() const;
};

/// Relevance of every dimension of h (size model.dim()) for class cls; throws std::out_of_range
/// for a bad class and std::invalid_argument for a model without dimensions or with gamma <= 0.
/// `index`, if given, must be the IntersectionIndex of this class of this (hik) model (checked by
/// dimension and bias); it replaces the direct S x V loop.
DimensionRelevance relevance_dimensions(const svm::KernelSvm& model, std::size_t cls, const double* h,
                                        const Composite& composite, const svm::IntersectionIndex* index = nullptr);

/// Relevance of every dimension of h (size model.dim()) for class cls of a linear head:
/// R_d = w_d h_d + beta_d (SvmMethod::exact); throws std::out_of_range for a bad class and
/// std::invalid_argument for an invalid rule.
DimensionRelevance relevance_dimensions(const svm::LinearSvm& model, std::size_t cls, const double* h,
                                        const SvmRule& rule);

/// The Explainer's head layer for a kernel-SVM head: relevance_dimensions with the composite and
/// `index`, this class's IntersectionIndex or null.
DimensionRelevance relevance_head(const svm::KernelSvm& model, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex* index);
/// The same for a linear head (the composite's SVM rule; `index` must be null).
DimensionRelevance relevance_head(const svm::LinearSvm& model, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex* index);
/// Checks the rules and the intersection indices (one per class, or null) against a kernel-SVM head
/// before any image: gamma > 0 for rbf / exp-χ², indices only for hik and of this model; throws
/// std::invalid_argument.
void check_head(const svm::KernelSvm& model, const Composite& composite,
                const std::vector<svm::IntersectionIndex>* indices);
/// The same for a linear head (indices must be null).
void check_head(const svm::LinearSvm& model, const Composite& composite,
                const std::vector<svm::IntersectionIndex>* indices);

/// Gradient df_cls/dh at x (size V) for rbf/expchi2 (analytic); throws std::invalid_argument for
/// other kernels. expchi2 uses the one-sided derivative 1 where x_d + s_d = 0.
std::vector<double> decision_gradient(const svm::KernelSvm& model, std::size_t cls, const double* x);

}  // namespace bowlrp::decompose
