// Relevance of local features from the relevance of histogram dimensions (the paper's Eq 14-15).
//
// Dimension d = c * K + k is word k pooled over pyramid cell c; feature l belongs to its cell at
// every pyramid level. With M_c the features in cell c and m_k(l) the mapping weights:
//   p finite: x_d = ((1/M_c) sum_{l in c} m_k(l)^p)^(1/p),   R_l += R_d m_k(l)^p / sum_{l' in c} m_k(l')^p
//   max     : x_d = max_{l in c} m_k(l),                     R_l += R_d / #argmax   (ties split evenly)
// For p != 1 the share is evaluated as (m_k(l)/u)^p / sum_{l' in c} (m_k(l')/u)^p with
// u = max_{l in c} m_k(l) (the same ratio): the maximiser's term is 1, so no power overflows or
// underflows to 0/0 for large p, and the shares tend to the max-pooling split as p -> inf.
// A dimension with x_d = 0 (no feature of cell c uses word k) gives R_d / M_c to each of the M_c
// features of its cell c: they are the features whose absence of word k the zero encodes, so its
// relevance stays where the cell is (R_d / L to all L features of the image only when M_c = 0).
// The Hellinger map sqrt(x_d) and the L1/L2 normalisation h_d = g(x_d) / N act, for the given image,
// as one monotone map per dimension; a one-input one-output map cannot redistribute relevance,
// so R_d passes to x_d unchanged and every split above sums to exactly R_d: conservation stays
// exact (up to rounding) whatever the normalisation. With L = 0 nothing can be assigned: all of
// sum R_d is reported as `unassigned`.
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/bow/pooling.h>
#include <bowlrp/decompose/rules.h>

#include <vector>

namespace bowlrp::decompose {

/// Relevance of every local feature, with word and cell summaries.
struct FeatureRelevance {
  std::vector<double> R;         ///< R_l, one per feature
  std::vector<double> per_word;  ///< sum over cells of R_{c*K+k}, size K
  std::vector<double> per_cell;  ///< sum over words of R_{c*K+k}, size cells
  double unassigned = 0.0;       ///< relevance that no feature could take (L = 0, or an empty cell)
  double absorbed = 0.0;         ///< relevance the ε stabiliser kept (Fisher vectors; 0 for Bag-of-Words)
  /// sum_l R_l.
  double total() const;
};

/// Splits R_d (size pool.dimension()) over the features; throws std::invalid_argument naming the
/// mismatching sizes when trace, assignment and pooling disagree.
FeatureRelevance relevance_features(const bow::FeatureTrace& features, const bow::Assignment& assignment,
                                    const bow::PoolTrace& pool, const std::vector<double>& R_d);

/// The Explainer's encoding layer for a Bag-of-Words trace: relevance_features of its features,
/// assignment and pooling (the pipeline is not needed and may be null; no rule applies).
FeatureRelevance relevance_encoding(const bow::Pipeline* pipeline, const bow::EncodeTrace& trace,
                                    const std::vector<double>& R_d, const Composite& composite);

}  // namespace bowlrp::decompose
