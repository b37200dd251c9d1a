// Rules of the relevance decomposition, kept apart from the model (zennit-like composites).
//
// The SVM layer f(h) = b + sum_i coef_i k(s_i, h) is decomposed into per-dimension relevances R_d.
// Sum-decomposable kernels give the exact split (the paper's Eq 12-13)
//   R_d = beta_d + sum_i coef_i w(d) k_d(s_id, h_d),   sum_d R_d = f(h) - absorbed,
// where the bias b becomes beta_d by a BiasPolicy:
//   uniform       beta_d = b / V                           (the paper's choice)
//   proportional  beta_d = b |R'_d| / sum_d' |R'_d'|      (R' = relevance before the bias; uniform
//                                                          when every R'_d is 0)
//   absorbed      beta_d = 0 and b is reported apart, so that sum_d R_d = f(h) - b.
// Differentiable kernels (rbf, expchi2) use the first-order Taylor rule (Eq 16) at a root x0,
// f(x0) = 0: R_d = (h - x0)_d df/dh_d(x0); TaylorRule sets the root search. The bias policy does
// not apply there: b is part of f, whose value at the root is 0.
#pragma once

#include <string>

namespace bowlrp::decompose {

/// Where the SVM bias goes.
enum class BiasPolicy { uniform, proportional, absorbed };
/// "uniform", "proportional" or "absorbed".
std::string to_string(BiasPolicy policy);
/// Parses "uniform", "proportional" or "absorbed"; throws std::invalid_argument listing them.
BiasPolicy bias_policy_from_string(const std::string& name);

/// Rule of the SVM layer for sum-decomposable kernels.
struct SvmRule {
  BiasPolicy bias = BiasPolicy::uniform;  ///< how the bias b is shared over dimensions
  /// Throws std::invalid_argument for an unknown enumerator value.
  void validate() const;
};

/// Rule of the SVM layer for differentiable kernels: first-order Taylor expansion at a root.
struct TaylorRule {
  int max_bisections = 100;      ///< bisection steps refining the root on the segment (>= 1)
  double root_tolerance = 1e-10; ///< stop when |f(x0)| <= root_tolerance * max(1, |f(h)|) (> 0)
  int max_candidates = 32;       ///< support vectors of the other side tried, nearest first (>= 1)
  int scan_steps = 16;           ///< samples per segment looking for the first sign change (>= 1)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// Maps every stage of the pipeline to its rule.
struct Composite {
  SvmRule svm;       ///< sum-decomposable kernels
  TaylorRule taylor; ///< differentiable kernels
  /// Validates every rule (throws std::invalid_argument).
  void validate() const;
};

}  // namespace bowlrp::decompose
