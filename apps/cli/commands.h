// The subcommands of `bowlrp`. Each takes its parsed arguments and returns the process exit code;
// errors are thrown as exceptions with a message the user can act on (main prints them).
//
// Batches do not stop at a bad input: every path that cannot be listed, read or decoded is printed
// as "skipped PATH: reason" on stderr, the others are processed, and the exit code says so.
#pragma once

#include "cli/args.h"
#include "cli/training.h"

#include <string>
#include <vector>

namespace bowlrp::apps {

/// Exit codes, the same for every subcommand (listed by `bowlrp --help` and in the README).
constexpr int kExitOk = 0;           ///< everything asked for was done
constexpr int kExitUsage = 1;        ///< the command line could not be parsed (nothing was done)
constexpr int kExitError = 2;        ///< an error stopped the command (message on stderr)
constexpr int kExitSomeFailed = 3;   ///< ran to the end, but some inputs failed and were skipped
constexpr int kExitCheckFailed = 4;  ///< demo only: its built-in sanity checks failed

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
/// Trains and writes the model file; prints a summary. kExitSomeFailed when images were skipped.
int run_train(const TrainArgs& args);

/// `bowlrp predict`.
struct PredictArgs {
  std::string model;                ///< --model MODEL
  std::string json;                 ///< --json FILE (optional)
  std::vector<std::string> paths;   ///< images or folders
  RunOptions run;                   ///< --threads, --quiet
};
/// Scores every image for every class; prints one line per image. kExitSomeFailed when an input
/// failed (it is in the JSON with an "error" instead of scores).
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
/// Writes DIR/<name>.heatmap.png, .relevance.npy and .json per image (names from output_names).
/// kExitSomeFailed when an input failed.
int run_explain(const ExplainArgs& args);

/// Output names of `explain`, one per image: the file's stem, made unique when two images share it
/// (a/x.jpg and b/x.jpg, or x.jpg and x.png) by a suffix -2, -3, ... that is not itself a stem of
/// another image. Stems compare ignoring ASCII case, so outputs stay distinct on case-insensitive
/// file systems too. Deterministic: depends only on the list and its order.
std::vector<std::string> output_names(const std::vector<std::string>& paths);

}  // namespace bowlrp::apps
