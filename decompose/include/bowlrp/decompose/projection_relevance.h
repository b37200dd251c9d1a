// Relevance through the artefact projection (bow/artefact_projection.h): from the head input Φ' back
// to the encoding Φ.
//
// The stage is the affine map Φ'_k = Σ_d P_kd Φ_d + c_k, P = I - v vᵀ, c = v (vᵀz) (then, with the
// clamp, Φ''_k = max(Φ'_k, 0)). Its relevance rule is LRP's z-rule for an affine layer (LRP-0, the
// bias kept apart): with R'_k the head's relevance of input k and ρ_k = R'_k / Φ'_k,
//   R_d = Σ_k P_kd Φ_d ρ_k = Φ_d (ρ_d - v_d vᵀρ)       (P is symmetric; O(V): two dot products)
//   absorbed_bias = Σ_k c_k ρ_k = (vᵀz)(vᵀρ)           (the bias c's share)
// so that Σ_d R_d + absorbed_bias = Σ_k ρ_k Φ'_k = Σ_k R'_k exactly, up to rounding. Two kinds of
// input k have no contributions to split R'_k by, and their R'_k is absorbed whole (ρ_k = 0):
//   absorbed_clamp   entries the clamp set to 0 (Φ'_k < 0); the sum-decomposable kernels give them
//                    R'_k = 0 (k_d(s_d, 0) = 0) except for a bias share spread over every input;
//   absorbed_zero    entries with Φ'_k = 0 exactly (an empty histogram bin off the direction, where
//                    Φ_k = 0 and v_k = 0: again R'_k = 0 but for a bias share).
// The contract, checked by decompose::check_conservation: Σ_k R'_k = Σ_d R_d + absorbed().
#pragma once

#include <bowlrp/bow/artefact_projection.h>

#include <vector>

namespace bowlrp::decompose {

/// Relevance of the encoding Φ from that of the projected head input Φ'.
struct ProjectionRelevance {
  bool applied = false;         ///< whether the model has a projection (else every other field is empty or 0)
  std::vector<double> R;        ///< R_d on Φ (V values): what the encoding's rule splits
  double upper = 0.0;           ///< Σ_k R'_k, what came from the head
  double absorbed_bias = 0.0;   ///< (vᵀz)(vᵀρ), the share of the bias c = v vᵀz
  double absorbed_clamp = 0.0;  ///< Σ R'_k over the clamped entries
  double absorbed_zero = 0.0;   ///< Σ R'_k over the entries with Φ'_k = 0
  /// Everything the stage kept: bias, clamp and zero parts.
  double absorbed() const { return absorbed_bias + absorbed_clamp + absorbed_zero; }
  /// Σ_d R_d.
  double total() const;
};

/// Relevance of Φ from R'_k (`upper`, V values) through the projection's trace; throws
/// std::invalid_argument for sizes that disagree.
ProjectionRelevance relevance_projection(const bow::ArtefactProjection& projection, const bow::ProjectionTrace& trace,
                                         const std::vector<double>& upper);

}  // namespace bowlrp::decompose
