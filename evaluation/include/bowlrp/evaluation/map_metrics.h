// Metrics of one relevance map: how concentrated it is (complexity), how well it falls on a
// ground-truth region (localisation), and the area between a LeRF and a MoRF flipping curve
// (faithfulness). Pure functions: no smoothing, resizing or clipping of the map.
//
// Notation: R_q is the relevance of pixel q of a W x H row-major map (n = W * H pixels),
// a_q = |R_q|, A = sum_q a_q, R+_q = max(R_q, 0). A region mask M (RegionMask of localisation.h)
// holds 1 inside, 0 outside and 255 void per pixel; void pixels are left out of every sum, count and
// ranking of the localisation metrics (only the pointing game's maximum is taken over all pixels).
//
// Complexity (on |R|, so the sign of the evidence does not matter):
//   sparseness  G = sum_{i=1..n} (2i - n - 1) a_(i) / (n A)      with a_(1) <= .. <= a_(n) sorted
//                 = sum_{p,q} |a_p - a_q| / (2 n A)               (Gini index; Chalasani et al. 2020,
//     "Concise explanations of neural networks using adversarial training", ICML; Quantus Sparseness).
//     In [0, (n-1)/n]: 0 for a constant |R| (relevance spread evenly), (n-1)/n when one pixel holds all.
//     Higher = sparser (better by this criterion).
//   complexity  H = - sum_{q: a_q > 0} p_q ln p_q,  p_q = a_q / A  (Shannon entropy in nats; Bhatt et
//     al. 2020, "Evaluating and aggregating feature-based model explanations", IJCAI; Quantus
//     Complexity). In [0, ln n]: 0 when one pixel holds all, ln n for a constant |R|. Lower = simpler.
//   The all-zero map (A = 0) is treated as the constant map it is: G = 0 and H = ln n (Quantus's
//   Sparseness, which adds 1e-7 to every |R|, gives the same 0; its Complexity gives NaN there).
//   One pixel: G = 0, H = 0.
//   Both are invariant to scaling R by any c != 0 and to permuting the pixels.
//
// Localisation against M (Arras, Osman & Samek 2022, "CLEVR-XAI: a benchmark dataset for the ground
// truth evaluation of neural network explanations", Information Fusion 81; sums over non-void q):
//   relevance mass accuracy  RMA = sum_{q in M} R+_q / sum_q R+_q; 0 when no pixel has R_q > 0 (nothing
//     points at the object). Equals Localisation::relevance_share of localise().
//   relevance rank accuracy  RRA = |T ∩ M| / K, K = |M|, T = the K pixels of highest R. Ties at the
//     K-th highest value v are split evenly (the mean over random tie-breaking): with g pixels above v
//     (g_M of them inside) and e pixels equal to v (e_M inside), RRA = (g_M + (K - g) e_M / e) / K; so
//     a constant map scores K / n, the area share, whatever the pixel order.
//   AUC  = sum_{p in M} sum_{q not in M} (1[R_p > R_q] + 1/2 1[R_p = R_q]) / (|M| |not M|): the ROC AUC
//     of R as a score for "q is inside", ties counted half; computed from the sorted map in
//     O(n log n). 1: every inside pixel above every outside one; 0.5: chance (and any constant map);
//     0: reversed. Invariant to any strictly increasing transform of R (e.g. scaling by c > 0).
//   pointing game (Zhang et al. 2016, "Top-down neural attention by excitation backprop", ECCV; IJCV
//     2018), as TorchRay's benchmark scores it (torchray.benchmark.pointing_game.PointingGame): the
//     point p is the first maximum of R in row-major order (smallest y, then smallest x; what
//     torch.argmax over the flattened map returns), over all pixels; it is a hit when some inside
//     pixel q has (x_q - x_p)^2 + (y_q - y_p)^2 < tolerance^2 (strict, as TorchRay; tolerance 15 px).
//     Unlike localise(), the map is not smoothed here (smooth it first if wanted). A constant map
//     points at (0, 0), as TorchRay's argmax would; PointingResult::constant_map flags it.
//   A mask with no inside pixel is refused (std::invalid_argument): there is no object to find. A
//   mask with every non-void pixel inside is defined: RMA = 1 (0 without positive relevance),
//   RRA = 1, AUC = 0.5 (no pixel outside: no ordering can do better or worse than chance), hit.
//
// Faithfulness: the area between the LeRF and MoRF curves (Samek et al. 2017, "Evaluating the
// visualization of what a deep neural network has learned", IEEE TNNLS: flipping the Least / Most
// Relevant regions First). Given removal fractions x_0 <= .. <= x_L (x_L > x_0) and the scores
// l_k (LeRF) and m_k (MoRF) at x_k, with d_k = l_k - m_k (trapezoid rule):
//   ABC = 1/(x_L - x_0) sum_{k=1..L} (x_k - x_{k-1}) (d_{k-1} + d_k) / 2,
// i.e. the mean gap over the removal range, in the units of the scores (for fractions spanning
// [0, 1] it is the plain area). It is not divided by the unperturbed score f(x^0); divide by it for a
// relative figure. Positive when destroying the most relevant regions first hurts the score more
// than destroying the least relevant first (a faithful map).
//
// Every function throws std::invalid_argument for an empty map, a mask of another size, a mask value
// other than 0, 1 or 255, a non-finite relevance or curve value, and the cases named above.
#pragma once

#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/evaluation/localisation.h>

#include <vector>

namespace bowlrp::evaluation {

/// Gini index of |R| over the W x H row-major map (0 for the all-zero map).
double sparseness(const double* relevance, int width, int height);
/// Same for a PixelRelevance.
double sparseness(const decompose::PixelRelevance& relevance);

/// Shannon entropy (nats) of |R| / sum |R| over the W x H row-major map (ln n for the all-zero map).
double complexity(const double* relevance, int width, int height);
/// Same for a PixelRelevance.
double complexity(const decompose::PixelRelevance& relevance);

/// Positive relevance inside the mask / positive relevance overall, void left out (0 if none is positive).
double relevance_mass_accuracy(const double* relevance, int width, int height, const RegionMask& mask);
/// Same for a PixelRelevance.
double relevance_mass_accuracy(const decompose::PixelRelevance& relevance, const RegionMask& mask);

/// Share of the top-K pixels by relevance (K = inside pixels, ties split evenly) that lie inside the mask.
double relevance_rank_accuracy(const double* relevance, int width, int height, const RegionMask& mask);
/// Same for a PixelRelevance.
double relevance_rank_accuracy(const decompose::PixelRelevance& relevance, const RegionMask& mask);

/// ROC AUC of the relevance as a score for the mask's inside pixels (ties half; 0.5 if none is outside).
double mask_auc(const double* relevance, int width, int height, const RegionMask& mask);
/// Same for a PixelRelevance.
double mask_auc(const decompose::PixelRelevance& relevance, const RegionMask& mask);

/// Options of the TorchRay pointing game.
struct PointingGameOptions {
  double tolerance = 15.0;  ///< hit when an inside pixel is strictly closer than this, px (TorchRay: 15)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// Outcome of the pointing game on one map.
struct PointingResult {
  bool hit = false;           ///< an inside pixel lies within the tolerance of the point
  int x = -1, y = -1;         ///< the point: the first maximum of the map in row-major order
  bool constant_map = false;  ///< every pixel has the same relevance (the point is then (0, 0))
};

/// TorchRay's pointing game of the W x H row-major map against the mask (no smoothing).
PointingResult pointing_game(const double* relevance, int width, int height, const RegionMask& mask,
                             const PointingGameOptions& options = {});
/// Same for a PixelRelevance.
PointingResult pointing_game(const decompose::PixelRelevance& relevance, const RegionMask& mask,
                             const PointingGameOptions& options = {});

/// Area between the LeRF and MoRF curves over the removal fractions, divided by the fraction range.
double lerf_morf_area(const std::vector<double>& fractions, const std::vector<double>& lerf,
                      const std::vector<double>& morf);

}  // namespace bowlrp::evaluation
