// Evaluation of a model on a folder-per-class test set (what `bowlrp evaluate` and `bowlrp demo` run):
// the folder user's counterpart of the VOC protocol.
//
// Layout: DATA/<class>/<image> (datasets::FolderDataset; class folders the model does not know are
// an error). Optional object masks mirror it: MASKS/<class>/<stem>.png, a grey or palette PNG of the
// image's size whose non-zero pixels are the object; by default MASKS is the folder `masks` beside
// DATA when DATA is named `images` (the layout `bowlrp demo` writes: ROOT/images, ROOT/masks). An
// image without a mask file is simply not localised.
// One pass per image encodes, scores and explains it for its true class (LRP costs ~1% of the
// encoding), checks conservation and, where a mask exists, localises the positive relevance in it.
// Measures: top-1 accuracy, the confusion matrix (rows = true class, columns = predicted), per-class
// one-vs-rest AP (VOC2007 11-point and area) and mAP, the mean localisation and worst conservation
// error over every image, and on N images per class (the first N of each class folder, in folder
// order) the explanation quality of quality.h: pixel-flipping AOPC of LRP, sensitivity, occlusion and
// random orders, and their localisation in the mask.
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Options of a folder evaluation.
struct FolderEvaluationOptions {
  std::string masks;        ///< mask folder (empty: DATA/../masks when DATA is named "images" and it exists)
  bool no_masks = false;    ///< ignore masks even where found
  int explain = 5;          ///< images per class measured by pixel flipping (0: none)
  int gallery = 2;          ///< images per class whose heatmaps are kept (FolderEvaluation::gallery)
  QualityOptions quality;   ///< flipping, occlusion, rules
  int threads = 0;          ///< worker threads (0: all cores, else 1 .. core::kMaxThreads)
  std::string cache_dir;    ///< histogram cache (empty: none)
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
  /// Every option (QualityOptions::schema() nested), described once.
  static const core::OptionSchema<FolderEvaluationOptions>& schema();
};

/// What a folder evaluation measured.
struct FolderEvaluation {
  std::vector<std::string> classes;         ///< the model's classes (score order)
  std::vector<std::string> paths;           ///< test images
  std::vector<std::size_t> truth;           ///< true class per image (index into classes)
  std::vector<double> scores;               ///< images x C row-major
  std::vector<std::size_t> predicted;       ///< top class per image
  std::vector<char> ok;                     ///< 1 where the image was read
  std::vector<model::Skipped> failures;     ///< unreadable images and folder entries
  double accuracy = 0;                      ///< top-1 over readable images
  std::vector<std::size_t> confusion;       ///< C x C row-major counts: [true][predicted]
  std::vector<double> ap, ap_area;          ///< one-vs-rest per class
  double map = 0, map_area = 0;             ///< means over classes with a positive test image
  std::string masks;                        ///< mask folder used (empty: none)
  std::size_t masked_images = 0;            ///< images that had a mask
  std::vector<double> relevance_in_mask;    ///< per image: share of positive LRP relevance on the object (NaN: no mask)
  std::vector<double> mask_area;            ///< per image: share of the image the object covers (NaN: no mask)
  double mean_relevance_in_mask = 0;        ///< mean over masked images
  double mean_mask_area = 0;                ///< mean over masked images
  double max_conservation_error = 0;        ///< worst |f - Σ R_q - absorbed - unassigned| / max(1, |f|) over all images
  std::vector<std::size_t> explained_images;  ///< indices into paths of the measured images
  std::vector<QualityResult> quality_results;  ///< per measured image, same order
  QualityTotals quality;                    ///< their aggregate
  std::map<std::string, QualityTotals> quality_per_class;  ///< the same per class of the explained images
  std::vector<std::pair<std::string, double>> timings;  ///< stage -> wall seconds
  /// A kept heatmap: the first `gallery` images of each class.
  struct GalleryItem {
    std::size_t index = 0;               ///< into paths
    decompose::PixelRelevance relevance;  ///< R_q for the true class
    render::Bgr8Image image;           ///< the image
  };
  std::vector<GalleryItem> gallery;      ///< in image order
  /// Class c one against the rest over the readable images: their scores f_c and labels (1 for the
  /// images of class c, -1 for the others), in image order.
  void one_vs_rest(std::size_t c, std::vector<double>* scores, std::vector<int>* labels) const;
};

/// Evaluates a model on DATA/<class>/... (scanned with datasets::FolderDataset::scan).
FolderEvaluation evaluate_folder(const model::Model& model, const std::string& data,
                                 const FolderEvaluationOptions& options = {}, const core::ProgressFn& progress = {});
/// Same on a scanned (or split) set; `data` names its folder (for the default mask folder).
FolderEvaluation evaluate_folder(const model::Model& model, const datasets::FolderDataset& set, const std::string& data,
                                 const FolderEvaluationOptions& options = {}, const core::ProgressFn& progress = {});

/// The object mask of an image from a mask folder (MASKS/<class>/<stem>.png); an empty mask
/// (width 0) when there is none; throws std::runtime_error naming the file when it exists but
/// cannot be decoded or its size differs from width x height.
evaluation::RegionMask load_object_mask(const std::string& masks, const std::string& class_name,
                                       const std::string& image_path, int width, int height);

}  // namespace bowlrp::evaluation
