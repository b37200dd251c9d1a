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

#include <optional>
#include <string>

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
  /// occlusion patches (a 10 x 10 grid).
  static ShapesExperimentOptions defaults();
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
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
};

/// Runs the experiment.
ShapesExperiment run_shapes_experiment(const ShapesExperimentOptions& options, const core::ProgressFn& progress = {});

}  // namespace bowlrp::evaluation
