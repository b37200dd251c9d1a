// Explanation quality of one (image, class) pair and its aggregation over many: conservation, pixel
// flipping (MoRF by LRP, by a sensitivity and an occlusion baseline, and by random orders; Samek et
// al. 2017, AOPC = 1/(L+1) Σ_k f(x^0) - f(x^k)) and localisation of positive relevance in
// ground-truth regions (share inside against the region's area share, pointing game).
//
// Sensitivity baseline: |∂f/∂h_d| at the image's histogram (analytic for rbf/expchi2, a one-sided
// difference quotient of the per-dimension kernel terms otherwise), passed down to pixels through the
// same feature and pixel stages as LRP: where the decision is sensitive, not what it rests on.
// Occlusion baseline: the working image is cut into square patches; a patch's relevance is
// f(x) - f(x with the patch replaced by the flipping noise), spread uniformly over the original
// pixels whose centres fall in it, measured with the same noise and incremental re-extraction as the
// flipping itself.
//
// QualityOptions::methods picks the methods measured (all four by default); what follows is computed
// for those only.
// Per-image metrics (QualityResult::metrics, metric -> method -> value; the maps' metrics are those
// of map_metrics.h, computed on the original-size maps):
//   "aopc"        AOPC of the method's MoRF curve (every method, "random" included);
//   "aopc_lerf"   AOPC of its LeRF curve, and "abc" the area between its LeRF and MoRF curves over
//                 the flipped fractions (lerf_morf_area, flip_fractions), with flip.lerf;
//   "sparseness", "complexity"                                  of each map (not "random");
//   "mass_accuracy_<region>", "rank_accuracy_<region>", "auc_<region>"   of each map against each
//                 region with an inside pixel (RegionsFn names, e.g. boxes, masks).
//   "faithfulness_correlation"   of each map with faithfulness_subsets > 0 (faithfulness_correlation.h;
//                 subsets seeded by flip.seed, drops shared by the methods);
//   with robustness_samples > 0 (robustness.h; noise seeded by flip.seed): "max_sensitivity",
//                 "local_lipschitz", "mirror_spearman", "mirror_difference", "shift_difference" of each
//                 map (a value that is not finite, e.g. max-sensitivity of an all-zero map, is left out);
//   with `randomisation` (randomisation.h; low = the map depends on what the model learned):
//   "randomisation_spearman", "randomisation_ssim"   each map against the same method's map under the
//                 model with every head layer randomised; "random_logit_spearman", "random_logit_ssim"
//                 against its map of another class (models with two or more classes).
// QualityTotals gathers them over images in job order and summarises each as a mean with a 95%
// Student-t interval (mean_interval.h).
#pragma once

#include <bowlrp/bow/image.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/evaluation/localisation.h>
#include <bowlrp/evaluation/mean_interval.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::evaluation {

/// The orderings whose flipping curves can be measured (QualityOptions::methods picks among them).
enum class Ordering { lrp, sensitivity, occlusion, random };
/// "lrp", "sensitivity", "occlusion", "random" (the curve and report names).
std::string to_string(Ordering ordering);
/// Parses the names above; throws std::invalid_argument listing them.
Ordering ordering_from_string(const std::string& name);

/// Settings of the explanation-quality measurements.
struct QualityOptions {
  evaluation::PixelFlipOptions flip;  ///< grid (9 px), steps (100), random orders (3), noise seed
  /// Methods measured, a subset of "lrp", "sensitivity", "occlusion", "random" in any order (curves,
  /// maps and metrics of the others are not computed; without "random" no random order is flipped).
  std::vector<std::string> methods = {"lrp", "sensitivity", "occlusion", "random"};
  int occlusion_patch = 32;          ///< occlusion baseline patch side in working px (> 0)
  bool randomisation = false;        ///< also run the sanity checks of randomisation.h (seeded by flip.seed)
  int robustness_samples = 0;        ///< N noisy images of robustness.h (0: off; also turns on mirror and shift)
  double robustness_noise = 0.02;    ///< half width of the per-pixel uniform noise (robustness.h)
  double robustness_shift = 0.1;     ///< constant added for the input-invariance check (robustness.h)
  int faithfulness_subsets = 0;      ///< N random region subsets of the faithfulness correlation (0: off, else >= 2)
  int faithfulness_regions = 16;     ///< k, flipping-grid regions per subset (faithfulness_correlation.h)
  std::uint64_t seed = 0;            ///< seed of the occlusion noise
  decompose::Composite composite;    ///< rules of the LRP explanation
  /// Whether `methods` names the ordering.
  bool measures(Ordering ordering) const;
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
  /// Pixel flipping's and occlusion's options and the rules (decompose::Composite::schema()),
  /// described once.
  static const core::OptionSchema<QualityOptions>& schema();
};

/// Named ground-truth regions of an image at its original size (e.g. {"boxes", ...}, {"masks", ...}).
using RegionsFn = std::function<std::vector<std::pair<std::string, evaluation::RegionMask>>(int width, int height)>;

/// What one (image, class) pair gave.
struct QualityResult {
  evaluation::FlipCurves curves;  ///< per ordering name: f(x^0) .. f(x^L)
  std::map<std::string, std::vector<evaluation::Localisation>> localisation;  ///< "<ordering>_<region>" -> 0 or 1 entry
  double conservation_error = 0;  ///< |f - Σ R_q - absorbed - unassigned| / max(1, |f|)
  std::map<std::string, std::map<std::string, double>> metrics;  ///< metric -> method -> value (header note)
  std::string error;              ///< non-empty when the image could not be processed
};

/// Occlusion-sensitivity map (original size, row-major) of a flipper's class.
std::vector<double> occlusion_map(const evaluation::IncrementalFlipper& flipper, const bow::GrayImage& image,
                                  const bow::Trace& trace, int patch, std::uint64_t seed);
/// Sensitivity map (original size, row-major) of class cls for an encoded image: |df/dh_d| (the
/// head's sensitivity, model/kinds: a linear head has df/dh_d = w_d) spread over the features by the
/// encoding's split, then over pixels (Eq 16) (model::Model::sensitivity_map). Fisher vectors split
/// |df/dh_d| by the ε rule, whose shares are signed; the map takes |R_l| per feature, so that it
/// ranks where the score is sensitive, as for Bag-of-Words.
std::vector<double> sensitivity_map(const model::Model& model, std::size_t cls, const bow::Trace& trace);

/// Explains `cls` on one image and measures it; never throws (errors land in QualityResult::error).
/// `flipper` must be evaluation::IncrementalFlipper(model, cls) (built once per class and shared by the images).
QualityResult evaluate_explanation(const model::Model& model, const decompose::Explainer& explainer,
                                   const evaluation::IncrementalFlipper& flipper, const bow::GrayImage& image,
                                   std::size_t cls, const QualityOptions& options, const RegionsFn& regions);
/// Same, loading the image file (a load error lands in QualityResult::error).
QualityResult evaluate_explanation(const model::Model& model, const decompose::Explainer& explainer,
                                   const evaluation::IncrementalFlipper& flipper, const std::string& path,
                                   std::size_t cls, const QualityOptions& options, const RegionsFn& regions);

/// One pair to measure: an image file, the class index in the model, its regions (may be empty).
struct QualityJob {
  std::string path;    ///< image file
  std::size_t cls = 0; ///< class index in the model
  RegionsFn regions;   ///< ground truth (empty: no localisation)
};

/// Measures many pairs in parallel (one pair per task; each pair's curves run in parallel too);
/// results in job order, independent of the thread count.
std::vector<QualityResult> evaluate_explanations(const model::Model& model, const std::vector<QualityJob>& jobs,
                                                 const QualityOptions& options, int threads = 0,
                                                 const core::ProgressFn& progress = {});

/// Aggregate of many QualityResults.
struct QualityTotals {
  evaluation::FlipSummary flips;                                               ///< curves of every pair
  std::map<std::string, std::vector<evaluation::Localisation>> localisation;  ///< per key, all pairs
  double max_conservation_error = 0;                                         ///< worst pair
  std::size_t explained = 0;                                                 ///< pairs without error
  std::map<std::string, std::map<std::string, std::vector<double>>> metrics;  ///< metric -> method -> per pair
  /// Adds one pair (pairs with an error are not counted).
  void add(const QualityResult& result);
  /// AOPC of the mean curve per ordering name.
  std::map<std::string, double> aopc() const;
  /// Localisation summary per key ("<ordering>_<region>").
  std::map<std::string, evaluation::LocalisationSummary> localisation_summaries() const;
  /// Mean and 95% interval of every metric per method (metric -> method -> summary).
  std::map<std::string, std::map<std::string, evaluation::MeanInterval>> metric_summaries() const;
};

/// One-line description of the flipping settings, for reports.
std::string flipping_note(const QualityOptions& options, std::size_t explained);

}  // namespace bowlrp::evaluation
