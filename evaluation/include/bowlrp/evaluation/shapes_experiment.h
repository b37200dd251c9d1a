// The built-in experiment, with no download: synthetic shapes (datasets::write_shapes: circle, cross,
// square, triangle on textured backgrounds, with object masks) -> seeded train/test split -> fit ->
// folder evaluation of the test half (accuracy, AP, explanation quality, localisation on the objects).
// What `bowlrp demo` runs and prints.
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/evaluation/folder_evaluation.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Options of the shapes experiment.
struct ShapesExperimentOptions {
  std::string folder;                   ///< where the set is written (FOLDER/images, FOLDER/masks); replaced if present
  datasets::ShapesOptions shapes;       ///< generator (its seed is set from fit.pipeline.kmeans.seed)
  double test_fraction = 0.5;           ///< share of each class held out
  model::FitOptions fit;                ///< fitting (threads serve the whole experiment)
  FolderEvaluationOptions evaluation;   ///< evaluation of the test half (masks: FOLDER/masks)
  /// The defaults measured for 160 px shapes: K = 512, no pyramid (the objects sit anywhere; K = 256
  /// with a 1x1 + 2x2 pyramid reached only 0.53), 50 000 k-means samples, no size cap, 16 px
  /// occlusion patches (a 10 x 10 grid), 4 gallery images per class.
  static ShapesExperimentOptions defaults();
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
  /// The options of `bowlrp demo`, described once (core/option_schema.h): images_per_class,
  /// test_fraction, the fit options (FitOptions::schema()) and the evaluation's (explain, gallery,
  /// quality; FolderEvaluationOptions::schema() but its masks, made here); folder, threads and caches
  /// are the caller's.
  static const core::OptionSchema<ShapesExperimentOptions>& schema();
};

/// The headline numbers of an experiment (what `bowlrp demo` prints and writes as demo.json).
struct ShapesSummary {
  std::size_t train_images = 0, test_images = 0;  ///< split sizes
  double test_accuracy = 0;                       ///< top-1 on the held-out half
  double positive_in_mask = 0;                    ///< mean share of positive pixel relevance on the object
  double mask_area = 0;                           ///< mean share of the image the object covers
  double max_conservation_error = 0;              ///< max |f - sum R_q - absorbed| / max(1,|f|)
  double map = 0;                                 ///< mean one-vs-rest AP (VOC07 11-point) on the test half
  std::map<std::string, double> aopc;             ///< pixel-flipping AOPC per ordering
  std::vector<std::string> classes;               ///< the model's classes
  /// The built-in sanity checks: conserved (error < 1e-6) and more relevance on the objects than their area.
  bool checks_hold() const { return max_conservation_error < 1e-6 && positive_in_mask > mask_area; }
  /// demo.json: the numbers above as one JSON object (one-space indent, a final newline).
  std::string json() const;
};

/// What the experiment produced.
struct ShapesExperiment {
  int images_written = 0;             ///< images generated
  double generate_seconds = 0;        ///< wall time of the generator
  datasets::FolderDataset train;      ///< training half
  datasets::FolderDataset test;       ///< test half
  std::optional<model::Model> model;  ///< the fitted model
  model::FitReport fit;               ///< what fitting saw
  FolderEvaluation evaluation;        ///< of the test half
  /// Its headline numbers.
  ShapesSummary summary() const;
};

/// Runs the experiment.
ShapesExperiment run_shapes_experiment(const ShapesExperimentOptions& options, const core::ProgressFn& progress = {});

/// Writes DIR/model.bowlrp, DIR/heatmaps/<stem>.heatmap.png, .edges.png and .relevance.npy of each
/// gallery image, and DIR/demo.json (ShapesSummary::json), each atomically; creates DIR.
void write_shapes_results(const ShapesExperiment& experiment, const std::string& dir);

}  // namespace bowlrp::evaluation
