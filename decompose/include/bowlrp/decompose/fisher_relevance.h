// Relevance of local features from the relevance of Fisher-vector dimensions (Lapuschkin et al.,
// CVPR 2016; the ε rule of Bach et al. 2015, Eq 20).
//
// Every unnormalised Fisher dimension is a sum over the local features of its cell c
// (bow/fisher.h): z_d = Σ_{l in c} ψ_d(l) with, for component k and descriptor dimension j,
//   ψ_{c,u,k,j}(l) = γ_lk (x_lj - μ_kj) / σ_kj                / (N_c sqrt(π_k))
//   ψ_{c,v,k,j}(l) = γ_lk [((x_lj - μ_kj) / σ_kj)² - 1]        / (N_c sqrt(2 π_k)).
// The signed square root and the L2 norm act, for the given image, as one monotone map per
// dimension, so R_d passes unchanged from Φ_d to z_d. The terms are signed and can cancel, so the
// ratio is stabilised:
//   R_l = Σ_d R_d ψ_d(l) / (z_d + ε sign(z_d))                         (sign(0) = +1)
// and each dimension keeps   absorbed_d = R_d ε / (|z_d| + ε)   (reported, summed, per image), so that
//   Σ_l R_l + absorbed + unassigned = Σ_d R_d   to rounding.
// A component with no kept posterior in cell c (every ψ of its 2G dimensions is 0) spreads the
// relevance of those dimensions evenly over the N_c features of the cell, as an unused visual word
// does in the Bag-of-Words split; a cell without features leaves it `unassigned`.
// ψ is never stored (L x V would be gigabytes): with a_d = R_d / ((z_d + ε sign z_d) N_c sqrt(π_k))
// (and sqrt(2 π_k) for v), R_l = Σ_{levels} Σ_{kept k} γ_lk Σ_j [a_u t_lkj + a_v (t_lkj² - 1)],
// t = (x - μ) / σ: the same sparse loop, in the same order, as the forward Fisher sums.
#pragma once

#include <bowlrp/bow/fisher.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/rules.h>

#include <vector>

namespace bowlrp::decompose {

/// Splits R_d (size pipeline.dimension()) over the features of a trace of this pipeline; per_word
/// holds the relevance of each Gaussian component (summed over cells), per_cell that of each
/// pyramid cell. Throws std::invalid_argument naming the mismatching sizes or the other pipeline.
FeatureRelevance relevance_fisher_features(const bow::FisherPipeline& pipeline, const bow::FisherTrace& trace,
                                           const std::vector<double>& R_d, const FisherRule& rule = {});

/// The Explainer's encoding layer for a Fisher-vector trace: relevance_fisher_features with the
/// composite's Fisher rule; throws std::invalid_argument for a null pipeline.
FeatureRelevance relevance_encoding(const bow::FisherPipeline* pipeline, const bow::FisherTrace& trace,
                                    const std::vector<double>& R_d, const Composite& composite);

}  // namespace bowlrp::decompose
