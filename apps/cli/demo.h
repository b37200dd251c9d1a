// `bowlrp demo`: the whole pipeline on the built-in synthetic shapes set, with no download:
// generate -> split -> train -> predict -> explain -> measure where the relevance lands.
#pragma once

#include "cli/args.h"
#include "cli/training.h"

#include <map>
#include <string>

namespace bowlrp::apps {

/// `bowlrp demo` arguments.
struct DemoArgs {
  std::string out = "bowlrp-demo";  ///< --out DIR
  int images_per_class = 200;       ///< --images-per-class
  int explain = 16;                 ///< --explain N heatmaps written and gallery images (test images)
  int flip_per_class = 5;           ///< --flip N test images per class measured by pixel flipping (0: none)
  int flip_steps = 100;             ///< --flip-steps L
  PipelineArgs pipeline;            ///< pipeline flags (demo defaults set in demo_defaults())
  RunOptions run;                   ///< --threads, --quiet
};

/// Pipeline defaults suited to 160 px synthetic images (a smaller codebook than for VOC).
PipelineArgs demo_defaults();

/// What the demo measured (also printed and written to DIR/demo.json).
struct DemoResult {
  std::size_t train_images = 0, test_images = 0;  ///< split sizes
  double test_accuracy = 0;                       ///< top-1 on the held-out half
  double positive_in_mask = 0;                    ///< mean share of positive pixel relevance on the object
  double mask_area = 0;                           ///< mean share of the image the object covers
  double max_conservation_error = 0;              ///< max |f - sum R_q - absorbed| / max(1,|f|)
  double map = 0;                                 ///< mean one-vs-rest AP (VOC07 11-point) on the test half
  std::map<std::string, double> aopc;             ///< pixel-flipping AOPC per ordering (lrp, occlusion, random)
};

/// Runs the demo; writes DIR/shapes, DIR/model.bowlrp, DIR/heatmaps, DIR/demo.json, DIR/report.json and
/// DIR/index.html (the same report as `bowlrp voc`).
DemoResult run_demo(const DemoArgs& args);

/// `bowlrp demo` entry: runs and prints the summary; exit code 0 when every check holds.
int run_demo_command(const DemoArgs& args);

}  // namespace bowlrp::apps
