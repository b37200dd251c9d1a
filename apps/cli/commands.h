// The subcommands of `bowlrp`. Each parses nothing itself (bowlrp.cpp binds the flags), drives the
// library and prints; it returns the process exit code, and errors are thrown as exceptions with a
// message the user can act on (main prints them).
//
// Batches do not stop at a bad input: every path that cannot be listed, read or decoded is printed
// as "skipped PATH: reason" on stderr, the others are processed, and the exit code says so.
#pragma once

#include "cli/args.h"

#include <bowlrp/evaluation/folder_evaluation.h>
#include <bowlrp/evaluation/shapes_experiment.h>
#include <bowlrp/evaluation/shapes_experiment.h>
#include <bowlrp/evaluation/spray.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/render/heatmap.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::apps {

/// Exit codes, the same for every subcommand (listed by `bowlrp --help` and in the README).
constexpr int kExitOk = 0;           ///< everything asked for was done
constexpr int kExitUsage = 1;        ///< the command line could not be parsed (nothing was done)
constexpr int kExitError = 2;        ///< an error stopped the command (message on stderr)
constexpr int kExitSomeFailed = 3;   ///< ran to the end, but some inputs failed and were skipped
constexpr int kExitCheckFailed = 4;  ///< demo only: its built-in sanity checks failed

/// A value of the command line that the checks refused (exit kExitUsage, before any work).
struct UsageError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
/// Runs `checks` (turning a command's flags into the library's options and validating them, before
/// any work); the std::invalid_argument or std::out_of_range they throw becomes a UsageError, so that
/// a malformed value exits 1 while a failure of the work itself (unreadable model, unusable data)
/// exits 2.
template <class F>
auto check_values(F&& checks) -> decltype(checks()) {
  try {
    return checks();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  } catch (const std::out_of_range& e) {
    throw UsageError(e.what());
  }
}

/// `bowlrp train`.
struct TrainArgs {
  std::string data;                 ///< --data DIR, folder per class
  std::string voc;                  ///< --voc ROOT (VOC layout instead of --data)
  std::string set = "train";        ///< --set (VOC)
  std::string classes;              ///< --classes a,b,... (VOC; empty = all 20)
  std::string out;                  ///< --out MODEL
  std::string cache;                ///< --cache DIR (empty: none)
  PipelineArgs pipeline;            ///< pipeline flags
  RunArgs run;                      ///< --threads, --quiet
};
/// Fits and writes the model file; prints a summary. kExitSomeFailed when images were skipped.
int run_train(const TrainArgs& args);

/// `bowlrp predict`.
struct PredictArgs {
  std::string model;                ///< --model MODEL
  std::string json;                 ///< --json FILE (optional)
  std::vector<std::string> paths;   ///< images or folders
  RunArgs run;                      ///< --threads, --quiet
};
/// Scores every image for every class; prints one line per image. kExitSomeFailed when an input
/// failed (it is in the JSON with an "error" instead of scores).
int run_predict(const PredictArgs& args);

/// `bowlrp explain`.
struct ExplainArgs {
  std::string model;                ///< --model MODEL
  std::string out;                  ///< --out DIR
  std::optional<std::string> class_name;  ///< --class C (none: --top)
  /// the rules' and the explanation's flags (--bias, --svm-rule, --ig-*, --root-*, --fisher-epsilon,
  /// --rule, --residual-warning, --tolerance) from model::ExplainOptions::schema(); --bias is refused
  /// for network heads
  SchemaFlags<model::ExplainOptions> options;
  /// --view, --colormap, --scaling, --percentile, --mask-*, --edge-* (render::HeatmapFileOptions::schema())
  SchemaFlags<render::HeatmapFileOptions> heatmaps;
  std::vector<std::string> paths;   ///< images or folders
  RunArgs run;                      ///< --threads, --quiet
};
/// Writes DIR/<name>.<view>.png, .relevance.npy and .json per image (names from
/// datasets::unique_output_stems). kExitSomeFailed when an input failed or was not conserved.
int run_explain(const ExplainArgs& args);

/// `bowlrp evaluate`.
struct EvaluateArgs {
  std::string model;                               ///< --model MODEL
  std::string data;                                ///< --data DIR (folder per class)
  std::string out;                                 ///< --out DIR (report.json, index.html)
  /// --masks, --no-masks, --explain, --gallery, pixel flipping, occlusion and the rules
  /// (FolderEvaluationOptions::schema(); --bias refused for network heads)
  SchemaFlags<evaluation::FolderEvaluationOptions> options;
  RunArgs run;                                     ///< --threads, --quiet
};
/// Evaluates a model on a folder-per-class test set; prints accuracy, AP and explanation quality.
int run_evaluate(const EvaluateArgs& args);

/// `bowlrp voc`.
struct VocArgs {
  /// --root, --train-set, --test-set, --classes, --max-images, --explain, the fit flags, the quality
  /// flags (VocProtocolOptions::schema(); --bias refused for a given network head)
  SchemaFlags<evaluation::VocProtocolOptions> protocol;
  std::string model;                        ///< --model MODEL: evaluate it instead of training
  std::string out;                          ///< --out DIR
  std::string cache;                        ///< --cache DIR (empty: DIR/cache)
  bool no_cache = false;                    ///< --no-cache
  RunArgs run;                              ///< --threads, --quiet
};
/// Runs the protocol; writes DIR/model.bowlrp, DIR/results/, DIR/report.json, DIR/index.html and
/// prints the AP table; 0 on success, 3 if some images could not be read.
int run_voc_command(const VocArgs& args);

/// `bowlrp spray`.
struct SprayArgs {
  std::string model;                          ///< --model MODEL
  std::string class_name;                     ///< --class C
  std::string out;                            ///< --out DIR (report.json, index.html)
  std::string voc;                            ///< --voc ROOT: images of a VOC set instead of paths
  std::string set = "val";                    ///< --set (with --voc)
  bool all_images = false;                    ///< --all-images: every image of the set, not only the class's positives
  int members = 4;                            ///< --members: typical members shown per cluster
  /// --grid-width, --neighbours, --clusters, --causal-images, --fill, the rules, ... (SprayImagesOptions::schema())
  SchemaFlags<evaluation::SprayImagesOptions> options;
  std::vector<std::string> paths;             ///< images or folders (without --voc)
  RunArgs run;                                ///< --threads, --quiet
};
/// Clusters the relevance maps of one class over many images (SpRAy) and writes the report.
int run_spray(const SprayArgs& args);

/// `bowlrp fix`: artefact compensation (P-ClArC, evaluation/artefact.h).
struct FixArgs {
  std::string model;      ///< --model MODEL
  std::string artefact;   ///< --artefact REPORT.json:cluster=N, a SpRAy cluster of bowlrp spray's report.json
  std::string regions;    ///< --regions regions.json, a user's regions (instead of --artefact)
  std::string method = "project";  ///< --method project (P-ClArC) | augment (A-ClArC: refit on --data)
  std::string data;                ///< --data DIR, the training set (folder per class) for augment
  std::string class_name;          ///< --class C, the class the artefact goes with (augment; default: the SpRAy report's)
  double share = 1.0;              ///< --share, share of the other classes' training images that receive the artefact
  bool erase_own = false;          ///< --erase-own: also erase it from the class's training images the regions name
  std::vector<std::string> check;  ///< --check IMAGES/FOLDERS of other classes: the artefact's effect before and after
  std::string test;                ///< --test DIR, a labelled test set (folder per class): accuracy and mAP before and after
  std::string report;              ///< --report DIR: report.json and index.html of the before/after comparison (needs --check)
  std::string fill = "mean";       ///< --fill mean|blur|noise, what the erased region receives
  std::string clamp = "auto";      ///< --clamp auto|none|non-negative
  std::string out;        ///< --out FIXED.bowlrp
  std::uint64_t seed = 0; ///< --seed (noise fill; which images receive the artefact)
  RunArgs run;            ///< --threads, --quiet
};
/// The SpRAy report path and cluster of "--artefact PATH:cluster=N"; throws std::invalid_argument naming the form.
std::pair<std::string, int> parse_artefact_spec(const std::string& spec);
/// Fits the artefact's direction, writes the fixed model atomically and prints what was done.
/// kExitSomeFailed when some artefact images could not be read.
int run_fix(const FixArgs& args);

/// bowlrp compare: several runs' report.json side by side.
struct CompareArgs {
  std::vector<std::string> reports;  ///< report.json files or the folders holding them
  std::string names_csv;             ///< --names a,b,... one per report (default: the folder names)
  std::string out;                   ///< output folder (compare.json, index.html)
  std::string heatmaps_csv;          ///< --heatmaps DIR,... bowlrp explain folders, one per report (optional)
};
/// Runs `bowlrp compare`; returns the exit code.
int run_compare(const CompareArgs& args);

/// `bowlrp demo`.
struct DemoArgs {
  std::string out = "bowlrp-demo";  ///< --out DIR
  /// --images-per-class, --test-fraction, the fit flags, --explain, --gallery and the quality flags
  /// (evaluation::ShapesExperimentOptions::schema(), over its defaults())
  SchemaFlags<evaluation::ShapesExperimentOptions> options{evaluation::ShapesExperimentOptions::defaults()};
  RunArgs run;                      ///< --threads, --quiet
};
/// What the demo measured (also printed and written to DIR/demo.json).
using DemoResult = evaluation::ShapesSummary;
/// Runs the demo; writes DIR/shapes, DIR/model.bowlrp, DIR/heatmaps, DIR/demo.json, DIR/report.json
/// and DIR/index.html.
DemoResult run_demo(const DemoArgs& args);
/// `bowlrp demo` entry: runs and prints the summary; exit code 0 when every check holds.
int run_demo_command(const DemoArgs& args);

}  // namespace bowlrp::apps
