// The PASCAL VOC evaluation of a classifier and of its explanations (what `bowlrp voc` runs).
//
// Classification (devkit VOCevalcls): fit on one image set (or take a given model), score every image
// of another for every class, AP per class under both definitions (VOC2007 11-point, the headline
// number, and the VOC2010+ area), mAP = their mean; "difficult" images are ignored; an unreadable
// test image keeps its row at score -inf, the devkit's value for a missing result.
// Explanations, on up to N positive test images per class (a seeded choice): pixel flipping of LRP,
// sensitivity, occlusion and random orders (quality.h), and localisation in the class's boxes (unless
// its people lack boxes there) and class masks. A gallery of heatmaps per class: top-scoring true
// positives, highest-scoring false positives, lowest-scoring positives.
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::evaluation {

/// Options of the protocol.
struct VocProtocolOptions {
  std::string root;                    ///< .../VOCdevkit/VOC2007
  std::string train_set = "train";     ///< image set to fit on (unused with a given model)
  std::string test_set = "val";        ///< image set to evaluate on
  std::vector<std::string> classes;    ///< classes (empty: all 20, or the given model's)
  std::size_t max_images = 0;          ///< per split (0 = all), seeded stratified choice (choose_images)
  int explain = 10;                    ///< positive test images per class explained and flipped (0: none)
  int gallery = 1;                     ///< gallery images per group and class (0: none)
  std::string person_boxes_missing;    ///< ids whose people have no box (empty: ROOT/../../person_boxes_missing.txt if present)
  QualityOptions quality;              ///< flipping, occlusion (seeds are set from fit.pipeline.kmeans.seed)
  model::FitOptions fit;               ///< fitting (its cache_dir and threads serve the whole protocol)
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
  /// The protocol's own options, then model::FitOptions::schema() and QualityOptions::schema()
  /// (without the quality seeds, which the protocol sets from the fit seed), described once.
  static const core::OptionSchema<VocProtocolOptions>& schema();
};

/// One gallery picture: an image and its heatmap, full size.
struct GalleryItem {
  std::string group;          ///< "top-scoring true positives", ...
  std::string id;             ///< image id
  std::string class_name;     ///< explained class
  double score = 0;           ///< f_c(x)
  int label = 0;              ///< 1, -1, 0
  render::Bgr8Image image;    ///< the image (empty when it failed)
  render::Bgr8Image heatmap;  ///< its relevance heatmap over the image
  std::string note;           ///< e.g. why there is no heatmap
};

/// What the protocol measured.
struct VocEvaluation {
  std::vector<std::string> classes;             ///< evaluated classes, VOC order
  std::vector<std::string> test_ids;            ///< test images, list order
  std::vector<std::vector<double>> scores;      ///< [class][test image], -inf where unreadable
  std::vector<std::vector<int>> labels;         ///< [class][test image] in {1, -1, 0}
  std::vector<double> ap, ap_area;              ///< per class: VOC2007 11-point, VOC2010+ area
  double map = 0, map_area = 0;                 ///< means
  std::size_t train_images = 0;                 ///< images fitted on (0 with a given model)
  std::vector<model::Skipped> failed_test;      ///< unreadable test images
  std::vector<model::Skipped> skipped_train;    ///< unreadable training images
  QualityTotals quality;                        ///< explanation quality
  std::map<std::string, QualityTotals> quality_per_class;  ///< the same per explained class
  std::vector<std::pair<std::string, std::string>> quality_failures;  ///< (id + class, reason) of failed explanations
  std::vector<GalleryItem> gallery;             ///< in group, class, rank order
  std::vector<std::pair<std::string, double>> timings;  ///< stage -> wall seconds
  std::vector<std::pair<std::string, std::size_t>> timing_items;  ///< stage -> items processed
  std::size_t person_boxes_missing = 0;         ///< ids read from the person list
  std::string person_boxes_missing_path;        ///< where they came from (empty: none)
  std::optional<model::Model> model;            ///< the evaluated model
};

/// Runs the protocol: fits on train_set unless `given` is set.
VocEvaluation run_voc_protocol(const VocProtocolOptions& options, const std::optional<model::Model>& given = {},
                               const core::ProgressFn& progress = {});

/// Seeded choice of n of the images (all if n = 0 or n >= images), returned sorted. Stratified:
/// classes take turns drawing their next positive in a seeded order until each holds
/// min(its positives, max(1, n / (2 C))); the rest is the seeded order's next images.
/// labels: images x C row-major in {1, -1, 0}.
std::vector<std::size_t> choose_images(const std::vector<int>& labels, std::size_t classes, std::size_t n,
                                       std::uint64_t seed);
/// Up to n images with label 1 for class c (and usable[i] != 0), a seeded choice, sorted.
std::vector<std::size_t> choose_positives(const std::vector<int>& labels, std::size_t classes, std::size_t c,
                                          const std::vector<char>& usable, std::size_t n, std::uint64_t seed);
/// Ids listed one per line (blank lines ignored); throws std::runtime_error naming the file.
std::vector<std::string> read_id_list(const std::string& path);

}  // namespace bowlrp::evaluation
