// Explanation quality of one (image, class) pair, shared by `bowlrp voc` and `bowlrp demo`:
// conservation, pixel flipping (MoRF by LRP, by occlusion sensitivity, and random orders; Samek et
// al. 2017) and localisation of positive relevance in named ground-truth regions.
//
// Sensitivity baseline: |df/dh_d| at the image's histogram (analytic for rbf/expchi2, a one-sided
// difference quotient of the per-dimension kernel terms otherwise), passed down to pixels through the
// same feature and pixel stages as LRP: where the decision is sensitive, not what it rests on.
// Occlusion baseline: the working image is cut into square patches; a patch's relevance is
// f(x) - f(x with the patch replaced by the flipping noise), spread uniformly over its pixels, so it
// is measured with the same noise and the same incremental re-extraction as the flipping itself.
#pragma once

#include "report/report.h"

#include <bowlrp/bow/pipeline.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/heatmap.h>
#include <bowlrp/decompose/localisation.h>
#include <bowlrp/decompose/pixel_flipping.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::apps {

/// Settings of the explanation-quality measurements.
struct QualityOptions {
  decompose::PixelFlipOptions flip;  ///< grid, steps, random orders, noise seed
  int occlusion_patch = 32;          ///< occlusion baseline patch side in working px (> 0)
  std::uint64_t seed = 0;            ///< seed of the occlusion noise
};

/// Named ground-truth regions of an image at its original size (e.g. {"boxes", ...}, {"masks", ...}).
using RegionsFn = std::function<std::vector<std::pair<std::string, decompose::RegionMask>>(int width, int height)>;

/// What one (image, class) pair gave.
struct QualityResult {
  decompose::FlipCurves curves;  ///< "lrp", "sensitivity", "occlusion", "random"
  std::map<std::string, std::vector<decompose::Localisation>> localisation;  ///< "<map>_<region>" -> 0 or 1 entry
  double conservation_error = 0;  ///< |f - sum R_q - absorbed - unassigned| / max(1, |f|)
  std::string error;              ///< non-empty when the image could not be processed
};

/// Occlusion-sensitivity map (original-size, row-major) of a flipper's class.
std::vector<double> occlusion_map(const decompose::IncrementalFlipper& flipper, const bow::GrayImage& image,
                                  const bow::EncodeTrace& trace, int patch, std::uint64_t seed);

/// Sensitivity map (original-size, row-major) of class cls for an encoded image.
std::vector<double> sensitivity_map(const svm::SvmModel& model, std::size_t cls, const bow::EncodeTrace& trace);

/// Explains `cls` on one image and measures it; never throws (errors land in QualityResult::error).
QualityResult evaluate_explanation(const bow::Pipeline& pipeline, const decompose::Explainer& explainer,
                                   const decompose::IncrementalFlipper& flipper, const std::string& path,
                                   std::size_t cls, const QualityOptions& options, const RegionsFn& regions);

/// Aggregate of many QualityResults, filled into a report.
struct QualityTotals {
  decompose::FlipSummary flips;                                               ///< curves of every pair
  std::map<std::string, std::vector<decompose::Localisation>> localisation;  ///< per key, all pairs
  double max_conservation_error = 0;                                         ///< worst pair
  std::size_t explained = 0;                                                 ///< pairs without error
  /// Adds one pair (pairs with an error are not counted).
  void add(const QualityResult& result);
  /// Fills report.flipping, report.localisation and the AOPC map (ordering -> AOPC).
  void fill(ReportData* report, std::map<std::string, double>* aopc) const;
};

/// One-line description of the flipping settings for the report.
std::string flipping_note(const QualityOptions& options, std::size_t explained);

/// A picture for the report, longer side capped at `side` px, as JPEG or PNG bytes.
ReportPicture encode_picture(const decompose::Bgr8Image& image, int side, bool jpeg);

}  // namespace bowlrp::apps
