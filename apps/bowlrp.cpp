// bowlrp: train, predict, explain and evaluate Bag-of-Words + kernel SVM image classifiers. This file
// binds the command line to the library's options structs; the commands live in cli/.
#include "cli/commands.h"

#include <bowlrp/core/option_schema.h>
#include <bowlrp/core/option_text.h>
#include <bowlrp/core/parallel.h>

#include <CLI/CLI.hpp>

#include <climits>
#include <cstdio>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using bowlrp::apps::PipelineArgs;
using bowlrp::apps::RunArgs;

void add_run_flags(CLI::App* app, RunArgs& run) {
  // The library's parser and range, its message without the flag (CLI11 names it).
  const CLI::Validator thread_count(
      [](std::string& value) -> std::string {
        try {
          bowlrp::core::validate_threads(static_cast<int>(bowlrp::core::parse_integer(value, "", INT_MIN, INT_MAX)), "");
        } catch (const std::invalid_argument& e) {
          return std::string(e.what()).substr(1);
        }
        return {};
      },
      "0.." + std::to_string(bowlrp::core::kMaxThreads));
  app->add_option("--threads", run.threads,
                  "worker threads: 0 = all cores, at most " + std::to_string(bowlrp::core::kMaxThreads) +
                      "; results do not depend on it")
      ->check(thread_count);
  app->add_flag("--quiet,-q", run.quiet, "no progress display");
}

// A text option that is either given (a value, possibly empty, which is then checked) or not (the
// library's default).
CLI::Option* add_optional(CLI::App* app, const std::string& name, std::optional<std::string>& value,
                          const std::string& help) {
  return app->add_option_function<std::string>(name, [&value](const std::string& v) { value = v; }, help);
}

// The fit options' flags, made from the library's schema (cli/args.h).
void add_pipeline_flags(CLI::App* app, PipelineArgs& p) { p.flags.add_to(app); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bowlrp: Bag-of-Words + kernel SVM image classification, explained pixel by pixel with "
               "Layer-wise Relevance Propagation (Bach et al. 2015)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bowlrp 0.1.0");
  const std::string exit_codes =
      "Exit codes (every subcommand):\n"
      "  0  done\n"
      "  1  command line not understood: unknown flag, missing or malformed value (nothing was done)\n"
      "  2  error: the command stopped (message on stderr)\n"
      "  3  ran to the end, but some inputs failed and were skipped, each printed on stderr as\n"
      "     'skipped PATH: reason' (explain: also when a relevance map is not conserved)\n"
      "  4  demo only: its sanity checks failed";
  app.footer(exit_codes);

  bowlrp::apps::TrainArgs train;
  CLI::App* train_cmd = app.add_subcommand("train", "train a classifier on a folder-per-class set or a VOC layout");
  train_cmd->add_option("--data", train.data, "folder with one sub-folder of images per class");
  train_cmd->add_option("--voc", train.voc, "VOC root (.../VOC2007) instead of --data");
  train_cmd->add_option("--set", train.set, "VOC image set to train on")->capture_default_str();
  train_cmd->add_option("--classes", train.classes, "VOC classes a,b,... (default all 20)");
  train_cmd->add_option("--out", train.out, "model file to write")->required();
  train_cmd->add_option("--cache", train.cache, "codebook/histogram cache folder (default: none)");
  add_pipeline_flags(train_cmd, train.pipeline);
  add_run_flags(train_cmd, train.run);

  bowlrp::apps::PredictArgs predict;
  CLI::App* predict_cmd = app.add_subcommand("predict", "score images for every class of a model");
  predict_cmd->add_option("--model", predict.model, "model file")->required();
  predict_cmd->add_option("--json", predict.json, "also write the scores as JSON");
  predict_cmd->add_option("paths", predict.paths, "images or folders")->required();
  add_run_flags(predict_cmd, predict.run);

  bowlrp::apps::ExplainArgs explain;
  CLI::App* explain_cmd = app.add_subcommand("explain", "explain decisions pixel by pixel (heatmap, .npy, .json)");
  explain_cmd->add_option("--model", explain.model, "model file")->required();
  explain_cmd->add_option("--out", explain.out, "output folder")->required();
  auto* class_opt = add_optional(explain_cmd, "--class", explain.class_name, "class to explain");
  explain_cmd->add_flag("--top", "explain each image's top-scoring class (the default)")->excludes(class_opt);
  explain.options.add_to(explain_cmd);
  explain.heatmaps.add_to(explain_cmd);
  explain_cmd->add_option("paths", explain.paths, "images or folders")->required();
  add_run_flags(explain_cmd, explain.run);

  bowlrp::apps::DemoArgs demo;
  CLI::App* demo_cmd = app.add_subcommand("demo", "generate synthetic shapes, train, predict and explain them");
  demo_cmd->add_option("--out", demo.out, "output folder")->capture_default_str();
  demo.options.add_to(demo_cmd);
  add_run_flags(demo_cmd, demo.run);

  bowlrp::apps::VocArgs voc;
  CLI::App* voc_cmd = app.add_subcommand("voc", "PASCAL VOC evaluation: AP, explanation quality, HTML report");
  voc_cmd->add_option("--model", voc.model, "evaluate this model file instead of training");
  voc_cmd->add_option("--out", voc.out, "output folder")->required();
  voc_cmd->add_option("--cache", voc.cache, "histogram/codebook cache folder (default OUT/cache)");
  voc_cmd->add_flag("--no-cache", voc.no_cache, "do not read or write the cache");
  voc.protocol.add_to(voc_cmd);
  add_run_flags(voc_cmd, voc.run);

  bowlrp::apps::EvaluateArgs evaluate;
  CLI::App* evaluate_cmd =
      app.add_subcommand("evaluate", "evaluate a model on a folder-per-class test set: accuracy, confusion, AP, "
                                     "explanation quality, HTML report");
  evaluate_cmd->add_option("--model", evaluate.model, "model file")->required();
  evaluate_cmd->add_option("--data", evaluate.data, "folder with one sub-folder of images per class")->required();
  evaluate_cmd->add_option("--out", evaluate.out, "output folder (report.json, index.html)")->required();
  evaluate.options.add_to(evaluate_cmd);
  add_run_flags(evaluate_cmd, evaluate.run);

  bowlrp::apps::SprayArgs spray;
  CLI::App* spray_cmd = app.add_subcommand(
      "spray", "spectral relevance analysis: cluster one class's relevance maps over many images, with a causal test");
  spray_cmd->add_option("--model", spray.model, "model file")->required();
  spray_cmd->add_option("--class", spray.class_name, "class whose explanations are clustered")->required();
  spray_cmd->add_option("--out", spray.out, "output folder (report.json, index.html)")->required();
  spray_cmd->add_option("--voc", spray.voc, "VOC root: the images of --set (the class's positives unless --all-images)");
  spray_cmd->add_option("--set", spray.set, "VOC image set")->capture_default_str();
  spray_cmd->add_flag("--all-images", spray.all_images, "every image of the VOC set, not only the class's positives");
  spray.options.add_to(spray_cmd);
  spray_cmd->add_option("--members", spray.members, "typical members shown per cluster")->capture_default_str();
  spray_cmd->add_option("paths", spray.paths, "images or folders (without --voc)");
  add_run_flags(spray_cmd, spray.run);

  bowlrp::apps::FixArgs fix;
  CLI::App* fix_cmd = app.add_subcommand(
      "fix", "artefact compensation (P-ClArC): project an artefact's direction out of the model's encodings");
  fix_cmd->add_option("--model", fix.model, "model file")->required();
  fix_cmd->add_option("--artefact", fix.artefact, "the artefact as a SpRAy cluster: REPORT.json:cluster=N (bowlrp spray's report.json)");
  fix_cmd->add_option("--regions", fix.regions, "the artefact as regions: a JSON list of {image, x, y, width, height} (file pixels)");
  fix_cmd->add_option("--method", fix.method, "project (P-ClArC: the direction projected out) or augment (A-ClArC: refit on --data with the artefact pasted into the other classes)")->capture_default_str();
  fix_cmd->add_option("--data", fix.data, "augment: the training set, a folder per class");
  fix_cmd->add_option("--class", fix.class_name, "the artefact's class, for augment and --check (default: the SpRAy report's)");
  fix_cmd->add_option("--share", fix.share, "augment: share of the other classes' training images that receive the artefact")->capture_default_str();
  fix_cmd->add_option("--check", fix.check, "images or folders of other classes: print the artefact's effect before and after the fix (pasted-artefact score rise, relevance share of its region)");
  fix_cmd->add_option("--test", fix.test, "with --check: a labelled test set (a folder per class) scored before and after (accuracy, mAP: what the fix cost)");
  fix_cmd->add_option("--report", fix.report, "with --check: write the before/after comparison to this folder (report.json, index.html)");
  fix_cmd->add_flag("--erase-own", fix.erase_own, "augment: also erase the artefact from the class's training images the regions name");
  fix_cmd->add_option("--fill", fix.fill, "what the erased artefact region receives: mean, blur or noise")->capture_default_str();
  fix_cmd->add_option("--clamp", fix.clamp, "clamp the projected encoding at 0: auto (where the head needs it), none, non-negative")
      ->capture_default_str();
  fix_cmd->add_option("--seed", fix.seed, "seed of the noise fill")->capture_default_str();
  fix_cmd->add_option("--out", fix.out, "the fixed model file (written atomically)")->required();
  add_run_flags(fix_cmd, fix.run);

  bowlrp::apps::CompareArgs compare;
  CLI::App* compare_cmd = app.add_subcommand(
      "compare", "several runs side by side (report.json of voc or evaluate): mAP, AOPC, localisation, timings");
  compare_cmd->add_option("--out", compare.out, "output folder (compare.json, index.html)")->required();
  compare_cmd->add_option("--names", compare.names_csv, "names a,b,... one per report, in order (default: the folder names)");
  compare_cmd->add_option("--heatmaps", compare.heatmaps_csv,
                          "bowlrp explain output folders a,b,... one per report: the same images' heatmaps side by side");
  compare_cmd->add_option("reports", compare.reports, "report.json files or the run folders holding them")->required();

  for (CLI::App* sub : {train_cmd, predict_cmd, explain_cmd, evaluate_cmd, demo_cmd, voc_cmd, spray_cmd, fix_cmd, compare_cmd})
    sub->footer(exit_codes);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with code 0; every real parse error is a usage error.
    return app.exit(e) == 0 ? bowlrp::apps::kExitOk : bowlrp::apps::kExitUsage;
  }
  bowlrp::core::init_runtime();
  try {
    if (train_cmd->parsed()) return bowlrp::apps::run_train(train);
    if (compare_cmd->parsed()) return bowlrp::apps::run_compare(compare);
    if (predict_cmd->parsed()) return bowlrp::apps::run_predict(predict);
    if (explain_cmd->parsed()) return bowlrp::apps::run_explain(explain);
    if (demo_cmd->parsed()) return bowlrp::apps::run_demo_command(demo);
    if (voc_cmd->parsed()) return bowlrp::apps::run_voc_command(voc);
    if (evaluate_cmd->parsed()) return bowlrp::apps::run_evaluate(evaluate);
    if (spray_cmd->parsed()) return bowlrp::apps::run_spray(spray);
    if (fix_cmd->parsed()) return bowlrp::apps::run_fix(fix);
  } catch (const bowlrp::apps::UsageError& e) {
    std::fprintf(stderr, "bowlrp: error: %s\n", e.what());
    return bowlrp::apps::kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bowlrp: error: %s\n", e.what());
    return bowlrp::apps::kExitError;
  }
  return bowlrp::apps::kExitUsage;
}
