// Sanity checks of explanations (Adebayo et al. 2018, "Sanity checks for saliency maps", NeurIPS):
// an explanation that does not change when what the model learned is destroyed cannot be explaining
// the model.
//
// Cascading model-parameter randomisation: the head's parameter layers are randomised from the
// output down (model::Model::with_randomised_head: level k randomises the top k layers, each
// output's incoming weights shuffled by a seeded permutation; a kernel or linear SVM has one level,
// a network one per dense layer), and each method's map of the same image and class is compared
// with the original model's. Random-logit test: the map of another class (drawn from the seed among
// the other classes) against the map of the explained one. Low similarity passes the check.
// For a kernel head all three methods depend on the coefficients α_ci y_i: LRP splits f over the
// dimensions by them (Eq 12), sensitivity takes |∂f/∂h_d| (a coefficient-weighted sum of kernel
// slopes), occlusion re-scores the randomised model. How much each map moves is what the check
// measures: sensitivity's pixel map is shaped largely by the encoding's split of |∂f/∂h_d| over the
// features (where each word's features lie), so it can stay more alike than LRP's. A method blind
// to the head (e.g. an edge detector) would keep its map exactly and fail.
//
// Similarity of two W x H maps a, b (both on magnitudes |R|, as Adebayo et al.'s main figures):
//   Spearman  rho = Pearson correlation of the ranks of |a_q| and |b_q| (ties get their average
//             rank); 0 when either map is constant (no ranking to compare).
//   SSIM      (Wang et al. 2004) of x = |a| / max|a| and y = |b| / max|b| (a zero map stays 0), with
//             7 x 7 uniform windows, sample (co)variances (factor 49/48), C1 = 0.01^2, C2 = 0.03^2
//             (data range 1), averaged over every window that lies inside the map:
//             S = (2 mu_x mu_y + C1)(2 s_xy + C2) / ((mu_x^2 + mu_y^2 + C1)(s_x^2 + s_y^2 + C2)).
//             The same as scikit-image's structural_similarity(x, y, win_size=7, data_range=1) cropped
//             to its valid region. Maps narrower or lower than 7 px are refused.
#pragma once

#include <bowlrp/bow/image.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Spearman rank correlation of |a| and |b| over n values (0 if either is constant); throws
/// std::invalid_argument for n < 2 or a non-finite value.
double spearman_correlation(const double* a, const double* b, std::size_t n);
/// SSIM of |a| / max|a| and |b| / max|b|, W x H row-major maps (header note); throws
/// std::invalid_argument for maps smaller than 7 x 7 or non-finite values.
double map_ssim(const double* a, const double* b, int width, int height);

/// How like the original map one method's map stayed.
struct MapSimilarity {
  double spearman = 0.0;  ///< rank correlation of |R|
  double ssim = 0.0;      ///< SSIM of the normalised |R|
};

/// One step of the checks: which model or class, and each method's similarity to the original.
struct RandomisationLevel {
  std::string name;                                ///< "head 1/2" (top layer randomised), ..., "random logit"
  std::size_t layers = 0;                          ///< head layers randomised (0 for the random logit)
  std::size_t compared_class = 0;                  ///< class whose map was compared
  std::map<std::string, MapSimilarity> methods;    ///< "lrp", "sensitivity", "occlusion"
};

/// The maps of the quality methods among options.methods ("lrp", "sensitivity", "occlusion"; original
/// size, row-major) of class cls on an image, as evaluate_explanation measures them.
std::map<std::string, std::vector<double>> method_maps(const model::Model& model, const bow::GrayImage& image,
                                                       std::size_t cls, const QualityOptions& options);

/// Cascading randomisation (every level of the head, output first) and, with two or more classes,
/// the random-logit test, for class cls on one image; seeded, deterministic.
std::vector<RandomisationLevel> randomisation_check(const model::Model& model, const bow::GrayImage& image,
                                                    std::size_t cls, const QualityOptions& options,
                                                    std::uint64_t seed);
/// Same, given the original model's method_maps (not recomputed).
std::vector<RandomisationLevel> randomisation_check(const model::Model& model, const bow::GrayImage& image,
                                                    std::size_t cls, const QualityOptions& options, std::uint64_t seed,
                                                    const std::map<std::string, std::vector<double>>& original);

}  // namespace bowlrp::evaluation
