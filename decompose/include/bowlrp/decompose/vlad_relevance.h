// Relevance of local features from the relevance of VLAD dimensions (the ε rule of Bach et al. 2015,
// Eq 20, applied to the VLAD layer as Lapuschkin et al., CVPR 2016, apply it to Fisher vectors).
//
// Every unnormalised VLAD dimension is a sum over the local features of its cell c (bow/vlad.h):
// z_d = Σ_{l in c} ψ_d(l), for word k and SIFT dimension j
//   ψ_{c,k,j}(l) = s_lj - c_kj   if k(l) = k (l assigned to word k),   0 otherwise
// (a zeroed descriptor is assigned to no word: all its ψ are 0). The signed square root, the
// intra-normalisation and the per-cell L2 norm act, for the given image, as one monotone map per
// dimension, so R_d passes unchanged from Φ_d to z_d. The residuals are signed and can cancel, so
// the ratio is stabilised:
//   R_l = Σ_d R_d ψ_d(l) / (z_d + ε sign(z_d))                         (sign(0) = +1)
// and each dimension of a non-empty block keeps   absorbed_d = R_d ε / (|z_d| + ε)   (reported,
// summed, per image), so that  Σ_l R_l + absorbed + unassigned = Σ_d R_d  to rounding.
// A block (c, k) to which no feature of cell c is assigned (all its z and ψ are 0) spreads the
// relevance of its 128 dimensions evenly over the N_c features of the cell (zeroed ones included),
// as Fisher handles an unused component and the Bag-of-Words split an unused word; a cell without
// features leaves it `unassigned`.
// ψ is never stored: with a_d = R_d / (z_d + ε sign z_d), R_l = Σ_{levels} Σ_j a_{c,k(l),j} (s_lj - c_{k(l)j})
// (+ the even shares), the residuals evaluated in double exactly as the forward sums.
// The rule is FisherRule: the same ε stabiliser of a layer of signed local sums, with ε on the
// scale of z (for VLAD a residual sum, O(1) for RootSIFT; the default 1e-9 absorbs a negligible
// share); a separate type would duplicate it, and ExplainRules already carries it for that layer.
#pragma once

#include <bowlrp/bow/vlad.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/rules.h>

#include <vector>

namespace bowlrp::decompose {

/// Splits R_d (size pipeline.dimension()) over the features of a trace of this pipeline; per_word
/// holds the relevance of each word's dimensions (summed over cells), per_cell that of each pyramid
/// cell. Throws std::invalid_argument naming the mismatching sizes or the other pipeline.
FeatureRelevance relevance_vlad_features(const bow::VladPipeline& pipeline, const bow::VladTrace& trace,
                                         const std::vector<double>& R_d, const FisherRule& rule = {});

/// The Explainer's encoding layer for a VLAD trace: relevance_vlad_features with the composite's
/// ε rule of local sums (Composite::fisher); throws std::invalid_argument for a null pipeline.
FeatureRelevance relevance_encoding(const bow::VladPipeline* pipeline, const bow::VladTrace& trace,
                                    const std::vector<double>& R_d, const Composite& composite);

}  // namespace bowlrp::decompose
