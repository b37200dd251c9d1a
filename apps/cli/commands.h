// The subcommands of `bowlrp`. Each takes its parsed arguments and returns the process exit code;
// errors are thrown as exceptions with a message the user can act on (main prints them).
#pragma once

#include "cli/args.h"
#include "cli/training.h"

#include <string>
#include <vector>

namespace bowlrp::apps {

/// `bowlrp train`.
struct TrainArgs {
  std::string data;                 ///< --data DIR, folder per class
  std::string voc;                  ///< --voc ROOT (VOC layout instead of --data)
  std::string set = "train";        ///< --set (VOC)
  std::string classes;              ///< --classes a,b,... (VOC; empty = all 20)
  std::string out;                  ///< --out MODEL
  PipelineArgs pipeline;            ///< pipeline flags
  RunOptions run;                   ///< --threads, --quiet
};
/// Trains and writes the model file; prints a summary.
int run_train(const TrainArgs& args);

/// `bowlrp predict`.
struct PredictArgs {
  std::string model;                ///< --model MODEL
  std::string json;                 ///< --json FILE (optional)
  std::vector<std::string> paths;   ///< images or folders
  RunOptions run;                   ///< --threads, --quiet
};
/// Scores every image for every class; prints one line per image.
int run_predict(const PredictArgs& args);

/// `bowlrp explain`.
struct ExplainArgs {
  std::string model;                ///< --model MODEL
  std::string out;                  ///< --out DIR
  std::string class_name;           ///< --class C (empty: --top)
  std::string bias = "uniform";     ///< --bias uniform|proportional|absorbed
  std::string svm_rule = "integrated-gradients";  ///< --svm-rule integrated-gradients|taylor (rbf, expchi2)
  int ig_nodes = 8;                 ///< --ig-nodes: Gauss-Legendre nodes per segment
  double ig_tolerance = 1e-12;      ///< --ig-tolerance: quadrature tolerance relative to max(1, |f|)
  /// --residual-warning: relative SVM-layer residual above which an rbf/expchi2 explanation is
  /// warned about (exact rules and the lower layers warn at the 1e-9 conservation tolerance).
  double residual_warning = 1e-2;
  std::string view = "heatmap";     ///< --view heatmap|edges|mask|all
  std::string colormap = "bwr";     ///< --colormap
  double clip = 100;                ///< --clip PERCENTILE of |R| mapped to full colour (100 = max)
  std::vector<std::string> paths;   ///< images or folders
  RunOptions run;                   ///< --threads, --quiet
};
/// Writes DIR/<stem>.heatmap.png, .relevance.npy and .json per image.
int run_explain(const ExplainArgs& args);

/// Lists image files: files as given, folders recursively (sorted); throws for a missing path.
std::vector<std::string> expand_image_paths(const std::vector<std::string>& paths);

}  // namespace bowlrp::apps
