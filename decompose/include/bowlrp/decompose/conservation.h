// Conservation checker: the contract f(h) = sum_d R_d + absorbed = sum_l R_l + ... = sum_q R_q + ...
//
// Three equalities are checked, each as |a - b| <= rel_tol * max(1, |f|):
//   svm layer      f            = sum_d R_d + absorbed            (fails by the Taylor residual)
//   pooling layer  sum_d R_d    = sum_l R_l + unassigned features
//   pixel layer    sum_l R_l    = sum_q R_q + unassigned pixels
// The layers below the SVM are exact for every rule; the SVM layer is exact for sum-decomposable
// kernels and approximate (first-order Taylor) for rbf/expchi2, which the report says.
#pragma once

#include <bowlrp/decompose/explain.h>

#include <string>

namespace bowlrp::decompose {

/// Totals of each layer and whether they agree.
struct ConservationReport {
  double f = 0.0;                   ///< f(h)
  double sum_dimensions = 0.0;      ///< sum_d R_d
  double sum_features = 0.0;        ///< sum_l R_l
  double sum_pixels = 0.0;          ///< sum_q R_q
  double absorbed = 0.0;            ///< bias kept apart
  double residual = 0.0;            ///< f - sum_d R_d - absorbed
  double unassigned_features = 0.0; ///< relevance no feature took (L = 0)
  double unassigned_pixels = 0.0;   ///< relevance of features with empty supports
  std::string method;               ///< "exact" or "taylor"
  double tolerance = 0.0;           ///< rel_tol * max(1, |f|), the absolute tolerance used
  bool svm_conserved = false;       ///< f = sum R_d + absorbed within tolerance
  bool features_conserved = false;  ///< sum R_d = sum R_l + unassigned features
  bool pixels_conserved = false;    ///< sum R_l = sum R_q + unassigned pixels
  /// Whether every layer conserves.
  bool ok() const { return svm_conserved && features_conserved && pixels_conserved; }
  /// Whether the layers below the SVM conserve (the right question for Taylor explanations).
  bool lower_layers_ok() const { return features_conserved && pixels_conserved; }
  /// Multi-line readable summary.
  std::string summary() const;
};

/// Checks an explanation; throws std::invalid_argument for rel_tol < 0 or not finite.
ConservationReport check_conservation(const Explanation& explanation, double rel_tol = 1e-9);

}  // namespace bowlrp::decompose
