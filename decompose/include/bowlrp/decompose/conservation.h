// Conservation checker: the contract f(h) = sum_d R_d + absorbed = sum_l R_l + ... = sum_q R_q + ...
//
// Three equalities are checked, each as |a - b| <= rel_tol * max(1, |f|):
//   svm layer      f            = sum_d R_d + absorbed
//   projection     sum_k R'_k   = sum_d R_d + absorbed by the projection (only with an artefact projection,
//                                 projection_relevance.h; the svm layer's sum is then over R'_k of Φ')
//   pooling layer  sum_d R_d    = sum_l R_l + unassigned features + absorbed by the ε rule (Fisher)
//   pixel layer    sum_l R_l    = sum_q R_q + unassigned pixels
// The layers below the SVM are exact for every Bag-of-Words rule; the Fisher-vector layer is exact
// once its ε-absorbed part is counted. The SVM layer is exact for sum-decomposable
// kernels, conservative to f(x0) + quadrature (~1e-10) for integrated gradients, and off by the
// remainder for Taylor (rbf/expchi2): the report gives its status and relative residual
//   |f - sum_d R_d - absorbed| / max(1, |f|),
// on the scale of the tolerance (svm_conserved <=> relative residual <= rel_tol). max(1, |f|)
// rather than |f| because explained images often lie near the decision boundary, f ~ 0, where a
// residual relative to |f| alone says nothing. "Conserved" (ok()) means every layer. Any non-finite
// f, sum or residual makes every layer not conserved: an infinite f would otherwise make the
// tolerance infinite and every comparison pass.
// A network head (method layer-wise, DimensionRelevance::layers not empty) is also checked layer by
// layer, with the same tolerance:
//   each dense layer     upper = lower + absorbed              (Σ_j R_j = Σ_i R_i + the rule's absorbed part)
//   linked from above    upper = f (output layer), else = the layer above's lower (what entered it)
//   input layer          lower = sum_d R_d
//   the head's absorbed  = Σ_l absorbed_l
// The per-layer absorbed parts come from the rules' own formulas (rules.h), so these are checks of
// the arithmetic, not identities. SVM heads have no network layers (network_conserved is true).
#pragma once

#include <bowlrp/decompose/explain.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::decompose {

/// One dense layer of a network head, as checked.
struct NetworkLayerCheck {
  std::string rule;                ///< the layer's rule (to_string of a LayerRule)
  std::size_t inputs = 0;          ///< n_{l-1}
  std::size_t outputs = 0;         ///< n_l
  double upper = 0.0;              ///< Σ_j R_j the layer reports having split
  double lower = 0.0;              ///< Σ_i R_i it passed down
  double absorbed = 0.0;           ///< what its rule kept
  double entered = 0.0;            ///< what came from above: f for the output layer, else the layer above's lower
  double relative_residual = 0.0;  ///< |upper - lower - absorbed| / max(1, |f|) (NaN if not finite)
  bool linked = false;             ///< upper = entered (and, for the input layer, lower = sum_d R_d) within tolerance
  bool conserved = false;          ///< balanced (upper = lower + absorbed) and linked, within tolerance
};

/// Totals of each layer and whether they agree.
struct ConservationReport {
  double f = 0.0;                   ///< f(h)
  double sum_dimensions = 0.0;      ///< sum_d R_d
  double sum_features = 0.0;        ///< sum_l R_l
  double sum_pixels = 0.0;          ///< sum_q R_q
  double absorbed = 0.0;            ///< bias kept apart
  double residual = 0.0;            ///< f - sum_d R_d - absorbed
  double unassigned_features = 0.0; ///< relevance no feature took (L = 0, empty cells)
  double absorbed_features = 0.0;   ///< relevance the Fisher layer's ε stabiliser kept (0 for Bag-of-Words)
  bool projection = false;          ///< the model has an artefact projection (the fields below are then set)
  double sum_projected = 0.0;       ///< with a projection: Σ_d R_d on Φ (sum_dimensions is then Σ_k R'_k on Φ')
  double absorbed_projection = 0.0; ///< what the projection absorbed (its bias share, clamped and zero entries)
  double projection_relative_residual = 0.0;  ///< |Σ R'_k - Σ R_d - absorbed_projection| / max(1, |f|)
  bool projection_conserved = true; ///< Σ_k R'_k = Σ_d R_d + absorbed_projection (true without a projection)
  double unassigned_pixels = 0.0;   ///< relevance of features with empty supports
  double relative_residual = 0.0;   ///< |residual| / max(1, |f|) (NaN if not finite)
  SvmMethod method = SvmMethod::exact;  ///< rule of the SVM layer
  bool root_found = true;           ///< differentiable rules: whether f(x0) = 0 was reached
  double f_root = 0.0;              ///< differentiable rules: f(x0), part of the residual
  double quadrature_error = 0.0;    ///< integrated gradients: sum R_d - (f - f(x0)), part of the residual
  bool finite = false;              ///< f and every total are finite
  double tolerance = 0.0;           ///< rel_tol * max(1, |f|), the absolute tolerance used
  bool svm_conserved = false;       ///< f = sum R_d + absorbed within tolerance
  bool features_conserved = false;  ///< sum R_d = sum R_l + unassigned features + absorbed features
  bool pixels_conserved = false;    ///< sum R_l = sum R_q + unassigned pixels
  /// network heads: every dense layer, input layer first; empty for SVM heads
  std::vector<NetworkLayerCheck> network_layers;
  /// every network layer conserved and their absorbed parts sum to `absorbed` (true without network layers)
  bool network_conserved = true;
  /// Whether every layer conserves.
  bool ok() const {
    return svm_conserved && projection_conserved && features_conserved && pixels_conserved && network_conserved;
  }
  /// Whether the layers below the SVM conserve (the right question for Taylor explanations).
  bool lower_layers_ok() const { return projection_conserved && features_conserved && pixels_conserved; }
  /// End to end: |f - Σ_q R_q - absorbed - absorbed projection - absorbed features - unassigned| / max(1, |f|).
  double end_to_end_error() const;
  /// Multi-line readable summary.
  std::string summary() const;
};

/// Checks an explanation; throws std::invalid_argument for rel_tol < 0 or not finite.
ConservationReport check_conservation(const Explanation& explanation, double rel_tol = 1e-9);

}  // namespace bowlrp::decompose
