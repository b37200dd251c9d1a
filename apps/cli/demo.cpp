#include "cli/demo.h"

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/json_out.h"
#include "cli/quality.h"
#include "report/report.h"

#include <bowlrp/bow/io.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/heatmap.h>
#include <bowlrp/svm/classifier.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace bowlrp::apps {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// The object mask written beside a shapes image, as a region mask (1 on the object).
decompose::RegionMask object_mask(const std::string& image_path) {
  const std::string path = datasets::shape_mask_path(image_path);
  const std::string bytes = bow::read_file(path);
  const cv::Mat m = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())),
                                 cv::IMREAD_GRAYSCALE);
  if (m.empty()) throw std::runtime_error("cannot decode the object mask '" + path + "'");
  decompose::RegionMask r;
  r.width = m.cols;
  r.height = m.rows;
  r.values.resize(static_cast<std::size_t>(m.cols) * m.rows);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) r.values[static_cast<std::size_t>(y) * m.cols + x] = m.at<unsigned char>(y, x) > 0;
  return r;
}

}  // namespace

PipelineArgs demo_defaults() {
  PipelineArgs p;
  // Measured on the default set (seed 0): 200 images per class, K = 512, no pyramid (the objects
  // sit anywhere) reaches 0.81-0.83 test accuracy; K = 256 with a 1x1+2x2 pyramid only 0.53.
  p.words = 512;
  p.pyramid = "1x1";
  p.kmeans_samples = 50000;
  p.max_side = 0;
  return p;
}

DemoResult run_demo(const DemoArgs& args) {
  args.run.validate();
  const auto t_start = Clock::now();
  std::vector<ReportTiming> timings;
  const fs::path out = fs::u8path(args.out);
  const std::string shapes_root = (out / "shapes").u8string();
  datasets::ShapesOptions sopts;
  sopts.images_per_class = args.images_per_class;
  sopts.seed = args.pipeline.seed;
  // A fresh set: files of an earlier, larger run must not join this one.
  std::error_code ec;
  fs::remove_all(fs::u8path(shapes_root), ec);
  auto t0 = Clock::now();
  const int written = datasets::write_shapes(sopts, shapes_root);
  timings.push_back({"generate shapes", seconds_since(t0), static_cast<std::size_t>(written)});
  if (!args.run.quiet) std::fprintf(stderr, "wrote %d synthetic images to %s\n", written, shapes_root.c_str());

  const datasets::FolderDataset all = datasets::FolderDataset::scan((fs::u8path(shapes_root) / "images").u8string());
  datasets::FolderDataset train, test;
  all.split(0.5, args.pipeline.seed, &train, &test);
  const std::size_t C = all.classes.size();
  TrainingData data;
  data.class_names = all.classes;
  for (const auto& im : train.images) {
    data.paths.push_back(im.path);
    for (std::size_t c = 0; c < C; ++c) data.labels.push_back(int(c) == im.label ? 1 : -1);
  }
  std::vector<std::pair<std::string, std::string>> skipped;
  StageTimes st;
  const svm::Classifier classifier = train_classifier(data, args.pipeline.pipeline_options(),
                                                      args.pipeline.kernel_spec(), args.pipeline.train_options(),
                                                      args.run, &skipped, &st);
  timings.push_back({"codebook sample", st.codebook_extract, 0});
  timings.push_back({"k-means", st.kmeans, 0});
  timings.push_back({"encode train", st.encode, data.paths.size()});
  timings.push_back({"train SVMs", st.svm, C});
  svm::save_classifier((out / "model.bowlrp").u8string(), classifier);

  // Predict and explain every test image (its true class); keep heatmaps of the first few per class.
  const bow::Pipeline pipeline(classifier.options, classifier.codebook);
  const decompose::Explainer explainer(classifier.svm);
  const std::size_t n = test.images.size();
  std::vector<std::vector<double>> scores(n);
  std::vector<double> in_mask(n, 0), area(n, 0), error(n, 0);
  std::vector<char> draw(n, 0);
  std::vector<ReportGalleryItem> gallery(n);
  {
    std::vector<int> seen(C, 0);
    const int per_class = (args.explain + static_cast<int>(C) - 1) / static_cast<int>(C);
    for (std::size_t i = 0; i < n; ++i) draw[i] = seen[test.images[i].label]++ < per_class;
  }
  const fs::path heat_dir = out / "heatmaps";
  fs::create_directories(heat_dir);
  t0 = Clock::now();
  for_each_item(n, args.run, "explain test", [&](std::size_t i) {
    const auto& im = test.images[i];
    const std::string bytes = bow::read_file(im.path);  // one read for the pipeline and the gallery
    const bow::EncodeTrace trace = pipeline.encode_bytes(bytes, im.path);
    scores[i] = classifier.svm.decision(trace.histogram().data());
    const decompose::Explanation e = explainer.explain(trace, static_cast<std::size_t>(im.label));
    const decompose::ConservationReport rep = decompose::check_conservation(e);
    error[i] = std::fabs(rep.f - rep.sum_pixels - rep.absorbed - rep.unassigned_pixels - rep.unassigned_features) /
               std::max(1.0, std::fabs(rep.f));
    const decompose::RegionMask mask = object_mask(im.path);
    const decompose::Localisation loc = decompose::localise(e.pixels, mask);
    in_mask[i] = loc.relevance_share;
    area[i] = loc.area_share;
    if (draw[i]) {
      const decompose::Bgr8Image image = decompose::decode_bgr8(bytes, im.path);
      const std::string stem = (heat_dir / fs::u8path(im.path).stem()).u8string();
      decompose::HeatmapOptions o;
      const decompose::Bgr8Image heat = decompose::render_heatmap(e.pixels, o, &image);
      decompose::write_png(stem + ".heatmap.png", heat);
      o.view = decompose::HeatmapView::edges;
      decompose::write_png(stem + ".edges.png", e.pixels, o, &image);
      decompose::write_npy(stem + ".relevance.npy", e.pixels);
      ReportGalleryItem& g = gallery[i];
      const std::size_t top = std::max_element(scores[i].begin(), scores[i].end()) - scores[i].begin();
      g.group = top == static_cast<std::size_t>(im.label) ? "correctly classified" : "misclassified";
      g.id = fs::u8path(im.path).filename().u8string();
      g.class_name = all.classes[im.label];
      g.score = e.dimensions.f;
      g.label = 1;
      g.image = encode_picture(image, 240, false);
      g.heatmap = encode_picture(heat, 240, false);
      g.note = "predicted " + all.classes[top];
    }
  });
  timings.push_back({"predict + explain test", seconds_since(t0), n});

  DemoResult r;
  r.train_images = train.images.size();
  r.test_images = n;
  ReportData report;
  report.title = "bowlrp demo: synthetic shapes";
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t top = std::max_element(scores[i].begin(), scores[i].end()) - scores[i].begin();
    r.test_accuracy += top == static_cast<std::size_t>(test.images[i].label);
    r.positive_in_mask += in_mask[i];
    r.mask_area += area[i];
    r.max_conservation_error = std::max(r.max_conservation_error, error[i]);
  }
  if (n) {
    r.test_accuracy /= n;
    r.positive_in_mask /= n;
    r.mask_area /= n;
  }
  // One-vs-rest AP of every class on the test half.
  std::vector<double> aps;
  for (std::size_t c = 0; c < C; ++c) {
    std::vector<double> s(n);
    std::vector<int> y(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = scores[i][c];
      y[i] = test.images[i].label == static_cast<int>(c) ? 1 : -1;
    }
    report.classes.push_back(report_class(all.classes[c], s, y));
    aps.push_back(report.classes.back().ap);
  }
  r.map = datasets::mean_ap(aps);

  // Explanation quality: pixel flipping (lrp, occlusion, random) and localisation on the objects.
  QualityOptions qopts;
  qopts.flip.steps = args.flip_steps;
  qopts.flip.seed = args.pipeline.seed;
  qopts.flip.validate();
  qopts.seed = args.pipeline.seed;
  qopts.occlusion_patch = 16;  // 160 px images: a 10 x 10 occlusion grid
  std::vector<std::size_t> chosen;
  {
    std::vector<int> seen(C, 0);
    for (std::size_t i = 0; i < n; ++i)
      if (seen[test.images[i].label]++ < args.flip_per_class) chosen.push_back(i);
  }
  std::vector<decompose::IncrementalFlipper> flippers;
  for (std::size_t c = 0; c < C; ++c) flippers.emplace_back(pipeline, classifier.svm, c);
  std::vector<QualityResult> quality(chosen.size());
  t0 = Clock::now();
  if (!chosen.empty()) {
    for_each_item(chosen.size(), args.run, "pixel flipping", [&](std::size_t k) {
      const auto& im = test.images[chosen[k]];
      const std::size_t c = static_cast<std::size_t>(im.label);
      quality[k] = evaluate_explanation(pipeline, explainer, flippers[c], im.path, c, qopts, [&](int, int) {
        return std::vector<std::pair<std::string, decompose::RegionMask>>{{"masks", object_mask(im.path)}};
      });
    });
    timings.push_back({"pixel flipping + occlusion", seconds_since(t0), chosen.size()});
  }
  QualityTotals totals;
  for (std::size_t k = 0; k < quality.size(); ++k) {
    if (!quality[k].error.empty())
      std::fprintf(stderr, "explanation quality of %s failed: %s\n", test.images[chosen[k]].path.c_str(),
                   quality[k].error.c_str());
    totals.add(quality[k]);
  }
  totals.fill(&report, &r.aopc);
  report.flipping_note = flipping_note(qopts, totals.explained);
  for (std::size_t i = 0; i < n; ++i)
    if (draw[i]) report.gallery.push_back(std::move(gallery[i]));
  std::stable_sort(report.gallery.begin(), report.gallery.end(),
                   [](const ReportGalleryItem& a, const ReportGalleryItem& b) { return a.group < b.group; });
  timings.push_back({"total", seconds_since(t_start), 0});
  report.timings = timings;
  const bow::PipelineOptions& po = classifier.options;
  report.settings = {
      {"data", std::to_string(written) + " synthetic images (" + std::to_string(C) +
                   " classes), half for training, half for testing, seed " + std::to_string(args.pipeline.seed)},
      {"codebook", std::to_string(po.kmeans.words) + " words"},
      {"kernel", svm::to_string(classifier.svm.kernel().type) + ", " + std::to_string(classifier.svm.support_size()) +
                     " support vectors"},
      {"test accuracy", std::to_string(r.test_accuracy)},
      {"positive relevance on the objects",
       std::to_string(r.positive_in_mask) + " (objects cover " + std::to_string(r.mask_area) + " of the image)"}};
  report.notes.push_back("Every test image is explained for its true class; worst relative conservation error " +
                         std::to_string(r.max_conservation_error) + ".");
  nlohmann::json rj = report_json(report);
  rj["test_accuracy"] = r.test_accuracy;
  rj["positive_relevance_in_mask"] = r.positive_in_mask;
  rj["mask_area_fraction"] = r.mask_area;
  rj["conservation_max_error"] = r.max_conservation_error;
  bow::write_file_atomic((out / "report.json").u8string(), dump_json(rj, 1) + "\n");
  write_report_html((out / "index.html").u8string(), report);

  nlohmann::json j = {{"train_images", r.train_images},
                      {"test_images", r.test_images},
                      {"test_accuracy", r.test_accuracy},
                      {"map", r.map},
                      {"aopc", r.aopc},
                      {"positive_relevance_in_mask", r.positive_in_mask},
                      {"mask_area_fraction", r.mask_area},
                      {"max_conservation_error", r.max_conservation_error},
                      {"classes", all.classes}};
  bow::write_file_atomic((out / "demo.json").u8string(), dump_json(j, 1) + "\n");
  return r;
}

int run_demo_command(const DemoArgs& args) {
  const auto t0 = Clock::now();
  const DemoResult r = run_demo(args);
  const double t = seconds_since(t0);
  std::printf("demo: %zu training and %zu test images of synthetic shapes, in %.1f s\n", r.train_images,
              r.test_images, t);
  std::printf("  test accuracy                      %.3f (mAP %.3f)\n", r.test_accuracy, r.map);
  std::printf("  positive relevance on the object   %.3f (the object covers %.3f of the image)\n",
              r.positive_in_mask, r.mask_area);
  for (const auto& [name, v] : r.aopc) std::printf("  AOPC %-29s %.4f\n", name.c_str(), v);
  std::printf("  worst conservation error           %.2e (relative)\n", r.max_conservation_error);
  std::printf("  report in %s/index.html, heatmaps in %s/heatmaps, model in %s/model.bowlrp\n", args.out.c_str(),
              args.out.c_str(), args.out.c_str());
  const bool ok = r.max_conservation_error < 1e-6 && r.positive_in_mask > r.mask_area;
  return ok ? kExitOk : kExitCheckFailed;
}

}  // namespace bowlrp::apps
