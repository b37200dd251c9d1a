// bowlrp: train, predict and explain Bag-of-Words + kernel SVM image classifiers.
#include "cli/commands.h"
#include "cli/demo.h"
#include "cli/voc.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

namespace {

using bowlrp::apps::PipelineArgs;
using bowlrp::apps::RunOptions;

void add_run_flags(CLI::App* app, RunOptions& run) {
  const CLI::Validator thread_count(
      [](std::string& value) -> std::string {
        RunOptions r;
        try {
          std::size_t pos = 0;
          r.threads = std::stoi(value, &pos);
          if (pos != value.size()) throw std::invalid_argument(value);
        } catch (const std::exception&) {
          r.threads = -1;
        }
        try {
          r.validate();
        } catch (const std::invalid_argument& e) {
          return std::string(e.what()).substr(std::string("--threads ").size());
        }
        return {};
      },
      "0..1024");
  app->add_option("--threads", run.threads,
                  "worker threads: 0 = all cores, at most " + std::to_string(RunOptions::kMaxThreads) +
                      "; results do not depend on it")
      ->check(thread_count);
  app->add_flag("--quiet,-q", run.quiet, "no progress display");
}

void add_pipeline_flags(CLI::App* app, PipelineArgs& p) {
  app->add_option("--words", p.words, "codebook size K")->capture_default_str();
  app->add_option("--step", p.step, "dense SIFT grid step in px")->capture_default_str();
  app->add_option("--bin-sizes", p.bin_sizes, "SIFT bin sizes in px, one scale each")->capture_default_str();
  app->add_option("--max-side", p.max_side, "cap on the longer image side in px (0 = off)")->capture_default_str();
  app->add_option("--pyramid", p.pyramid, "spatial pyramid levels COLSxROWS,...")->capture_default_str();
  app->add_option("--pooling", p.pooling, "sum | pmean:P | max")->capture_default_str();
  app->add_option("--mapping", p.mapping, "hard | soft | rank")->capture_default_str();
  app->add_option("--neighbours", p.neighbours, "words per feature for soft/rank mapping")->capture_default_str();
  app->add_option("--normalisation", p.normalisation, "l1 | l2 | none")->capture_default_str();
  app->add_flag("--hellinger", p.hellinger, "sqrt map before normalisation");
  app->add_option("--kernel", p.kernel, "hik | chi2 | hellinger | linear | rbf | expchi2")->capture_default_str();
  app->add_option("--gamma", p.gamma, "rbf/expchi2 width (0 = 1 / mean pairwise distance)")->capture_default_str();
  app->add_option("--C", p.C, "SVM soft-margin C")->capture_default_str();
  app->add_flag("--balanced", p.balanced, "weight C by class frequency");
  app->add_option("--kmeans-samples", p.kmeans_samples, "descriptors sampled for k-means")->capture_default_str();
  app->add_option("--kmeans-algorithm", p.kmeans_algorithm, "lloyd_gemm | vlfeat_elkan | vlfeat_ann")
      ->capture_default_str();
  app->add_option("--kmeans-tolerance", p.kmeans_tolerance, "Lloyd stops below this relative energy decrease")
      ->capture_default_str();
  app->add_option("--seed", p.seed, "seed of every random choice")->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bowlrp: Bag-of-Words + kernel SVM image classification, explained pixel by pixel with "
               "Layer-wise Relevance Propagation (Bach et al. 2015)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bowlrp 0.1.0");
  const std::string exit_codes =
      "Exit codes (every subcommand):\n"
      "  0  done\n"
      "  1  command line not understood (nothing was done)\n"
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
  auto* class_opt = explain_cmd->add_option("--class", explain.class_name, "class to explain");
  explain_cmd->add_flag("--top", "explain each image's top-scoring class (the default)")->excludes(class_opt);
  explain_cmd->add_option("--bias", explain.bias, "bias share: uniform (b/V) | proportional | absorbed")
      ->capture_default_str();
  explain_cmd->add_option("--svm-rule", explain.svm_rule,
                          "rule of rbf/expchi2 models: integrated-gradients (conserves f) | taylor (Eq 16, "
                          "first order)")->capture_default_str();
  explain_cmd->add_option("--ig-nodes", explain.ig_nodes, "integrated gradients: Gauss-Legendre nodes per segment (1..64)")
      ->capture_default_str();
  explain_cmd->add_option("--ig-tolerance", explain.ig_tolerance,
                          "integrated gradients: quadrature tolerance, relative to max(1, |f|)")->capture_default_str();
  explain_cmd->add_option("--residual-warning", explain.residual_warning,
                          "rbf/expchi2: warn (and exit 3) when |f - sum R| / max(1, |f|) exceeds this")
      ->capture_default_str();
  explain_cmd->add_option("--view", explain.view, "heatmap | edges | mask | all")->capture_default_str();
  explain_cmd->add_option("--colormap", explain.colormap, "diverging colour map (bwr, seismic, hot-cold)")
      ->capture_default_str();
  explain_cmd->add_option("--clip", explain.clip, "percentile of |R| shown at full colour (100 = max |R|)")
      ->capture_default_str();
  explain_cmd->add_option("paths", explain.paths, "images or folders")->required();
  add_run_flags(explain_cmd, explain.run);

  bowlrp::apps::DemoArgs demo;
  demo.pipeline = bowlrp::apps::demo_defaults();
  CLI::App* demo_cmd = app.add_subcommand("demo", "generate synthetic shapes, train, predict and explain them");
  demo_cmd->add_option("--out", demo.out, "output folder")->capture_default_str();
  demo_cmd->add_option("--images-per-class", demo.images_per_class, "synthetic images per class")
      ->capture_default_str();
  demo_cmd->add_option("--explain", demo.explain, "heatmaps written (and shown in the report)")->capture_default_str();
  demo_cmd->add_option("--flip", demo.flip_per_class, "test images per class measured by pixel flipping")
      ->capture_default_str();
  demo_cmd->add_option("--flip-steps", demo.flip_steps, "pixel-flipping steps")->capture_default_str();
  add_pipeline_flags(demo_cmd, demo.pipeline);
  add_run_flags(demo_cmd, demo.run);

  bowlrp::apps::VocArgs voc;
  CLI::App* voc_cmd = app.add_subcommand("voc", "PASCAL VOC evaluation: AP, explanation quality, HTML report");
  voc_cmd->add_option("--root", voc.root, "VOC2007 folder (.../VOCdevkit/VOC2007)")->required();
  voc_cmd->add_option("--train-set", voc.train_set, "image set to train on")->capture_default_str();
  voc_cmd->add_option("--test-set", voc.test_set, "image set to evaluate on")->capture_default_str();
  voc_cmd->add_option("--classes", voc.classes, "classes a,b,... (default all 20, or the model's)");
  voc_cmd->add_option("--max-images", voc.max_images, "cap on each split, seeded stratified choice (0 = all)")
      ->capture_default_str();
  voc_cmd->add_option("--explain", voc.explain, "positive test images per class explained and flipped (0 = skip)")
      ->capture_default_str();
  voc_cmd->add_option("--model", voc.model, "evaluate this model file instead of training");
  voc_cmd->add_option("--out", voc.out, "output folder")->required();
  voc_cmd->add_option("--cache", voc.cache, "histogram/codebook cache folder (default OUT/cache)");
  voc_cmd->add_flag("--no-cache", voc.no_cache, "do not read or write the cache");
  voc_cmd->add_option("--person-boxes-missing", voc.person_boxes_missing,
                      "ids of images whose people have no box (default ROOT/../../person_boxes_missing.txt)");
  voc_cmd->add_option("--flip-steps", voc.flip_steps, "pixel-flipping steps L")->capture_default_str();
  voc_cmd->add_option("--flip-region", voc.flip_region, "pixel-flipping region side, px")->capture_default_str();
  voc_cmd->add_option("--random-orders", voc.random_orders, "random orders averaged")->capture_default_str();
  voc_cmd->add_option("--occlusion-patch", voc.occlusion_patch, "occlusion baseline patch side, px")
      ->capture_default_str();
  voc_cmd->add_option("--gallery", voc.gallery, "report images per group and class")->capture_default_str();
  add_pipeline_flags(voc_cmd, voc.pipeline);
  add_run_flags(voc_cmd, voc.run);

  for (CLI::App* sub : {train_cmd, predict_cmd, explain_cmd, demo_cmd, voc_cmd}) sub->footer(exit_codes);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with code 0; every real parse error is a usage error.
    return app.exit(e) == 0 ? bowlrp::apps::kExitOk : bowlrp::apps::kExitUsage;
  }
  bowlrp::apps::init_runtime();
  try {
    if (train_cmd->parsed()) return bowlrp::apps::run_train(train);
    if (predict_cmd->parsed()) return bowlrp::apps::run_predict(predict);
    if (explain_cmd->parsed()) return bowlrp::apps::run_explain(explain);
    if (demo_cmd->parsed()) return bowlrp::apps::run_demo_command(demo);
    if (voc_cmd->parsed()) return bowlrp::apps::run_voc_command(voc);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bowlrp: error: %s\n", e.what());
    return bowlrp::apps::kExitError;
  }
  return bowlrp::apps::kExitUsage;
}
