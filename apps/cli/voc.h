// `bowlrp voc`: the PASCAL VOC evaluation of a classifier and of its explanations.
//
// Classification (devkit VOCevalcls): train on one image set (or load a model), score every image
// of another for every class, AP per class under both definitions (VOC2007 11-point, the headline
// number, and the VOC2010+ area), mAP = their mean; "difficult" images are ignored.
// Explanations, on up to N positive test images per class (a seeded choice):
//   pixel flipping (Samek et al. 2017): MoRF curves f(x^0..x^L) of the explained class, regions
//     flipped in the order of (a) LRP relevance, (b) random orders, (c) occlusion sensitivity, and
//     AOPC = 1/(L+1) sum_k f(x^0) - f(x^k) of each (larger = the order found the evidence);
//   occlusion: relevance of a coarse patch P = f(x) - f(x with P replaced by the flipping noise),
//     spread uniformly over P's pixels (a model-agnostic baseline that costs one re-run per patch);
//   localisation: share of positive relevance inside the class's boxes (and class mask, where the
//     image has one) against the region's area share, and the pointing game.
// Everything runs on the incremental flipping path (only descriptors meeting a flipped region are
// recomputed), and histograms are cached on disk (feature_cache.h) so an interrupted run resumes.
#pragma once

#include "cli/args.h"
#include "cli/quality.h"
#include "cli/training.h"

#include <bowlrp/decompose/pixel_flipping.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::apps {

/// `bowlrp voc` arguments.
struct VocArgs {
  std::string root;                    ///< --root .../VOCdevkit/VOC2007
  std::string train_set = "train";     ///< --train-set (ignored with --model)
  std::string test_set = "val";        ///< --test-set
  std::string classes;                 ///< --classes a,b,... (empty: all 20, or the model's)
  std::size_t max_images = 0;          ///< --max-images N per split (0 = all), seeded stratified choice
  int explain = 10;                    ///< --explain N positive test images per class (0 = no explanation metrics)
  std::string model;                   ///< --model MODEL: evaluate it instead of training
  std::string out;                     ///< --out DIR
  std::string cache;                   ///< --cache DIR (empty: DIR/cache)
  bool no_cache = false;               ///< --no-cache
  std::string person_boxes_missing;    ///< --person-boxes-missing FILE (empty: <root>/../../person_boxes_missing.txt if present)
  int flip_steps = 100;                ///< --flip-steps L
  int flip_region = 9;                 ///< --flip-region px (working px)
  int random_orders = 3;               ///< --random-orders averaged into "random"
  int occlusion_patch = 32;            ///< --occlusion-patch px (working px)
  int gallery = 1;                     ///< --gallery images per group and class (0: none)
  PipelineArgs pipeline;               ///< pipeline flags (ignored with --model)
  RunOptions run;                      ///< --threads, --quiet
  /// Throws std::invalid_argument naming the flag, its value and what was expected.
  void validate() const;
};

/// What the evaluation measured (also in DIR/report.json).
struct VocSummary {
  std::vector<std::string> classes;            ///< evaluated classes, VOC order
  std::vector<double> ap;                      ///< VOC2007 11-point AP per class
  std::vector<double> ap_area;                 ///< VOC2010+ area AP per class
  double map = 0, map_area = 0;                ///< means of the above
  std::size_t train_images = 0;                ///< images trained on (0 with --model)
  std::size_t test_images = 0;                 ///< images scored
  std::size_t failed_images = 0;               ///< test images that could not be read
  std::size_t skipped_train_images = 0;        ///< training images that could not be read
  std::map<std::string, double> aopc;          ///< ordering -> AOPC (empty with --explain 0)
  std::vector<std::pair<std::string, double>> localisation;  ///< report keys -> values
  double max_conservation_error = 0;           ///< max |f - sum R_q - absorbed - unassigned| / max(1, |f|)
  std::vector<std::pair<std::string, double>> timings;       ///< stage -> wall seconds
};

/// Seeded choice of n of the images (all if n = 0 or n >= images), returned sorted. Stratified:
/// classes take turns drawing their next positive in a seeded order until each holds
/// min(its positives, max(1, n / (2 C))); the rest is the seeded order's next images.
/// labels: images x C row-major in {1, -1, 0}.
std::vector<std::size_t> choose_images(const std::vector<int>& labels, std::size_t classes, std::size_t n,
                                       std::uint64_t seed);

/// Up to n images with label 1 for class c (and usable[i] != 0), a seeded choice, sorted.
std::vector<std::size_t> choose_positives(const std::vector<int>& labels, std::size_t classes, std::size_t c,
                                          const std::vector<char>& usable, std::size_t n, std::uint64_t seed);

/// Ids listed one per line in a file (blank lines ignored); throws std::runtime_error naming the
/// file if it cannot be read.
std::vector<std::string> read_id_list(const std::string& path);


/// Runs the evaluation; writes DIR/model.bowlrp, DIR/results/, DIR/report.json, DIR/index.html.
VocSummary run_voc(const VocArgs& args);

/// `bowlrp voc` entry: runs and prints the AP table and the explanation scores; 0 on success,
/// 3 if some test images could not be read.
int run_voc_command(const VocArgs& args);

}  // namespace bowlrp::apps
