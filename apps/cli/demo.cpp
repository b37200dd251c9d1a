#include "cli/demo.h"

#include "cli/progress.h"

#include <bowlrp/bow/io.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/heatmap.h>
#include <bowlrp/svm/classifier.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace bowlrp::apps {
namespace fs = std::filesystem;

PipelineArgs demo_defaults() {
  PipelineArgs p;
  // Measured on the default set (seed 0): 200 images per class, K = 512, no pyramid (the objects
  // sit anywhere) reaches 0.82 test accuracy; K = 256 with a 1x1+2x2 pyramid only 0.53.
  p.words = 512;
  p.pyramid = "1x1";
  p.kmeans_samples = 50000;
  p.max_side = 0;
  return p;
}

DemoResult run_demo(const DemoArgs& args) {
  const fs::path out = fs::u8path(args.out);
  const std::string shapes_root = (out / "shapes").u8string();
  datasets::ShapesOptions sopts;
  sopts.images_per_class = args.images_per_class;
  sopts.seed = args.pipeline.seed;
  // A fresh set: files of an earlier, larger run must not join this one.
  std::error_code ec;
  fs::remove_all(fs::u8path(shapes_root), ec);
  const int written = datasets::write_shapes(sopts, shapes_root);
  if (!args.run.quiet) std::fprintf(stderr, "wrote %d synthetic images to %s\n", written, shapes_root.c_str());

  const datasets::FolderDataset all = datasets::FolderDataset::scan((fs::u8path(shapes_root) / "images").u8string());
  datasets::FolderDataset train, test;
  all.split(0.5, args.pipeline.seed, &train, &test);
  TrainingData data;
  data.class_names = all.classes;
  for (const auto& im : train.images) {
    data.paths.push_back(im.path);
    for (std::size_t c = 0; c < all.classes.size(); ++c) data.labels.push_back(int(c) == im.label ? 1 : -1);
  }
  std::vector<std::pair<std::string, std::string>> skipped;
  const svm::Classifier classifier = train_classifier(data, args.pipeline.pipeline_options(),
                                                      args.pipeline.kernel_spec(), args.pipeline.train_options(),
                                                      args.run, &skipped);
  svm::save_classifier((out / "model.bowlrp").u8string(), classifier);

  // Predict and explain every test image (true class); keep heatmaps of the first few.
  const bow::Pipeline pipeline(classifier.options, classifier.codebook);
  const decompose::Explainer explainer(classifier.svm);
  const std::size_t n = test.images.size();
  std::vector<char> right(n, 0);
  std::vector<double> in_mask(n, 0), area(n, 0), error(n, 0);
  const fs::path heat_dir = out / "heatmaps";
  fs::create_directories(heat_dir);
  Progress progress("explain test", n, args.run.quiet);
  tbb::task_arena arena(resolve_threads(args.run.threads));
  arena.execute([&] {
    tbb::parallel_for(std::size_t(0), n, [&](std::size_t i) {
      const auto& im = test.images[i];
      const bow::EncodeTrace trace = pipeline.encode_file(im.path);
      const std::vector<double> f = classifier.svm.decision(trace.histogram().data());
      right[i] = static_cast<std::size_t>(std::max_element(f.begin(), f.end()) - f.begin()) ==
                 static_cast<std::size_t>(im.label);
      const decompose::Explanation e = explainer.explain(trace, static_cast<std::size_t>(im.label));
      const decompose::ConservationReport rep = decompose::check_conservation(e);
      error[i] = std::fabs(rep.f - rep.sum_pixels - rep.absorbed - rep.unassigned_pixels -
                           rep.unassigned_features) / std::max(1.0, std::fabs(rep.f));
      const cv::Mat mask = cv::imread(datasets::shape_mask_path(im.path), cv::IMREAD_GRAYSCALE);
      double pos = 0, pos_in = 0;
      long long on = 0;
      for (int y = 0; y < e.pixels.height; ++y)
        for (int x = 0; x < e.pixels.width; ++x) {
          const bool inside = mask.at<unsigned char>(y, x) > 0;
          on += inside;
          const double r = e.pixels.at(x, y);
          if (r > 0) {
            pos += r;
            if (inside) pos_in += r;
          }
        }
      in_mask[i] = pos > 0 ? pos_in / pos : 0.0;
      area[i] = double(on) / (double(e.pixels.width) * e.pixels.height);
      if (i < static_cast<std::size_t>(args.explain)) {
        const decompose::Bgr8Image image = decompose::load_bgr8(im.path);
        const std::string stem = (heat_dir / fs::u8path(im.path).stem()).u8string();
        decompose::HeatmapOptions o;
        decompose::write_png(stem + ".heatmap.png", e.pixels, o, &image);
        o.view = decompose::HeatmapView::edges;
        decompose::write_png(stem + ".edges.png", e.pixels, o, &image);
        decompose::write_npy(stem + ".relevance.npy", e.pixels);
      }
      progress.tick();
    });
  });
  progress.finish();

  DemoResult r;
  r.train_images = train.images.size();
  r.test_images = n;
  for (std::size_t i = 0; i < n; ++i) {
    r.test_accuracy += right[i];
    r.positive_in_mask += in_mask[i];
    r.mask_area += area[i];
    r.max_conservation_error = std::max(r.max_conservation_error, error[i]);
  }
  if (n) {
    r.test_accuracy /= n;
    r.positive_in_mask /= n;
    r.mask_area /= n;
  }
  nlohmann::json j = {{"train_images", r.train_images},
                      {"test_images", r.test_images},
                      {"test_accuracy", r.test_accuracy},
                      {"positive_relevance_in_mask", r.positive_in_mask},
                      {"mask_area_fraction", r.mask_area},
                      {"max_conservation_error", r.max_conservation_error},
                      {"classes", all.classes}};
  bow::write_file_atomic((out / "demo.json").u8string(), j.dump(1) + "\n");
  return r;
}

int run_demo_command(const DemoArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  const DemoResult r = run_demo(args);
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("demo: %zu training and %zu test images of synthetic shapes, in %.1f s\n", r.train_images,
              r.test_images, t);
  std::printf("  test accuracy                      %.3f\n", r.test_accuracy);
  std::printf("  positive relevance on the object   %.3f (the object covers %.3f of the image)\n",
              r.positive_in_mask, r.mask_area);
  std::printf("  worst conservation error           %.2e (relative)\n", r.max_conservation_error);
  std::printf("  heatmaps in %s/heatmaps, model in %s/model.bowlrp\n", args.out.c_str(), args.out.c_str());
  const bool ok = r.max_conservation_error < 1e-6 && r.positive_in_mask > r.mask_area;
  return ok ? 0 : 4;
}

}  // namespace bowlrp::apps
