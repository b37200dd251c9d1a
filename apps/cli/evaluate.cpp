// `bowlrp evaluate` and `bowlrp demo`: a model on a folder-per-class test set
// (evaluation::evaluate_folder), reported as report.json and index.html.
#include "cli/commands.h"
#include "cli/json_out.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/bow/io.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/decompose/heatmap.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The report of a folder evaluation: AP table, flipping curves, localisation, gallery, confusion.
ReportData folder_report(const evaluation::FolderEvaluation& ev, const evaluation::FolderEvaluationOptions& options,
                         const std::string& title) {
  ReportData report;
  report.title = title;
  const std::size_t C = ev.classes.size(), n = ev.paths.size();
  for (std::size_t c = 0; c < C; ++c) {
    std::vector<double> s;
    std::vector<int> y;
    for (std::size_t i = 0; i < n; ++i) {
      if (!ev.ok[i]) continue;
      s.push_back(ev.scores[i * C + c]);
      y.push_back(ev.truth[i] == c ? 1 : -1);
    }
    report.classes.push_back(report_class(ev.classes[c], s, y));
  }
  fill_quality(&report, ev.quality);
  report.flipping_note = evaluation::flipping_note(options.quality, ev.quality.explained);
  decompose::HeatmapOptions hopts;
  for (const auto& g : ev.gallery) {
    ReportGalleryItem item;
    const std::size_t i = g.index;
    item.group = ev.predicted[i] == ev.truth[i] ? "correctly classified" : "misclassified";
    item.id = fs::u8path(ev.paths[i]).filename().u8string();
    item.class_name = ev.classes[ev.truth[i]];
    item.score = ev.scores[i * C + ev.truth[i]];
    item.label = 1;
    item.image = encode_picture(g.image, 240, false);
    item.heatmap = encode_picture(decompose::render_heatmap(g.relevance, hopts, &g.image), 240, false);
    item.note = "predicted " + ev.classes[ev.predicted[i]];
    report.gallery.push_back(std::move(item));
  }
  std::stable_sort(report.gallery.begin(), report.gallery.end(),
                   [](const ReportGalleryItem& a, const ReportGalleryItem& b) { return a.group < b.group; });
  for (const auto& [stage, s] : ev.timings) report.timings.push_back({stage, s, 0});
  std::string confusion;
  for (std::size_t t = 0; t < C; ++t) {
    confusion += ev.classes[t] + ":";
    for (std::size_t p = 0; p < C; ++p) confusion += " " + std::to_string(ev.confusion[t * C + p]);
    confusion += t + 1 < C ? "; " : "";
  }
  report.settings = {{"test images", std::to_string(n) + " (" + std::to_string(C) + " classes)"},
                     {"accuracy", std::to_string(ev.accuracy)},
                     {"confusion (rows: true class, columns: predicted, model order)", confusion},
                     {"masks", ev.masks.empty() ? std::string("none") : ev.masks + " (" +
                                                      std::to_string(ev.masked_images) + " images)"}};
  if (ev.masked_images)
    report.settings.emplace_back("positive relevance on the objects",
                                 std::to_string(ev.mean_relevance_in_mask) + " (objects cover " +
                                     std::to_string(ev.mean_mask_area) + " of the image)");
  report.notes.push_back("Every test image is explained for its true class; worst relative conservation error " +
                         std::to_string(ev.max_conservation_error) + ".");
  return report;
}

// report.json of a folder evaluation.
nlohmann::json folder_json(const ReportData& report, const evaluation::FolderEvaluation& ev) {
  nlohmann::json j = report_json(report);
  const std::size_t C = ev.classes.size();
  j["classes"] = ev.classes;
  j["test_images"] = ev.paths.size();
  j["failed_images"] = ev.failures.size();
  j["test_accuracy"] = ev.accuracy;
  nlohmann::json confusion = nlohmann::json::array();
  for (std::size_t t = 0; t < C; ++t) {
    nlohmann::json row = nlohmann::json::array();
    for (std::size_t p = 0; p < C; ++p) row.push_back(ev.confusion[t * C + p]);
    confusion.push_back(row);
  }
  j["confusion"] = confusion;
  j["masks"] = ev.masks;
  j["masked_images"] = ev.masked_images;
  j["positive_relevance_in_mask"] = ev.mean_relevance_in_mask;
  j["mask_area_fraction"] = ev.mean_mask_area;
  j["conservation_max_error"] = ev.max_conservation_error;
  j["explained_images"] = ev.quality.explained;
  return j;
}

}  // namespace

int run_evaluate(const EvaluateArgs& args) {
  if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
  if (args.data.empty()) throw std::invalid_argument("--data DIR is required");
  if (args.out.empty()) throw std::invalid_argument("--out DIR is required");
  evaluation::FolderEvaluationOptions o = args.options;
  o.threads = args.run.threads;
  o.validate();
  const model::Model model = model::Model::load(args.model);
  const evaluation::FolderEvaluation ev =
      evaluation::evaluate_folder(model, args.data, o, progress_display(args.run.quiet));
  for (const auto& f : ev.failures) print_skipped(f.path, f.reason);
  const ReportData report = folder_report(ev, o, "bowlrp evaluation: " + args.data);
  const fs::path out = fs::u8path(args.out);
  fs::create_directories(out);
  bow::write_file_atomic((out / "report.json").u8string(), dump_json(folder_json(report, ev), 1) + "\n");
  write_report_html((out / "index.html").u8string(), report);
  const std::size_t C = ev.classes.size();
  std::printf("accuracy %.4f (%zu images, %zu classes)\n", ev.accuracy, ev.paths.size(), C);
  std::printf("%-14s %8s %8s\n", "class", "AP07", "AParea");
  for (std::size_t c = 0; c < C; ++c) std::printf("%-14s %8.4f %8.4f\n", ev.classes[c].c_str(), ev.ap[c], ev.ap_area[c]);
  std::printf("%-14s %8.4f %8.4f\n", "mAP", ev.map, ev.map_area);
  std::printf("confusion (rows: true, columns: predicted)\n");
  for (std::size_t t = 0; t < C; ++t) {
    std::printf("  %-12s", ev.classes[t].c_str());
    for (std::size_t p = 0; p < C; ++p) std::printf(" %5zu", ev.confusion[t * C + p]);
    std::printf("\n");
  }
  for (const auto& [name, v] : ev.quality.aopc()) std::printf("AOPC %-10s %.4f\n", name.c_str(), v);
  for (const auto& [key, v] : report.localisation) std::printf("%-32s %.4f\n", key.c_str(), v);
  if (ev.masked_images)
    std::printf("positive relevance on the objects %.4f (objects cover %.4f; %zu images with masks)\n",
                ev.mean_relevance_in_mask, ev.mean_mask_area, ev.masked_images);
  std::printf("worst conservation error %.2e (relative)\n", ev.max_conservation_error);
  std::printf("report: %s/index.html, %s/report.json\n", args.out.c_str(), args.out.c_str());
  return ev.failures.empty() ? kExitOk : kExitSomeFailed;
}

model::FitOptions demo_defaults() {
  model::FitOptions o;
  // Measured on the default set (seed 0): 200 images per class, K = 512, no pyramid (the objects
  // sit anywhere) reaches 0.81-0.83 test accuracy; K = 256 with a 1x1+2x2 pyramid only 0.53.
  o.pipeline.kmeans.words = 512;
  o.pipeline.pooling.pyramid = {bow::PyramidLevel{1, 1}};
  o.pipeline.kmeans.samples = 50000;
  o.pipeline.image.max_side = 0;
  return o;
}

DemoResult run_demo(const DemoArgs& args) {
  const auto t_start = Clock::now();
  model::FitOptions fopts = args.pipeline.fit_options();
  fopts.threads = args.run.threads;
  fopts.training_accuracy = false;
  fopts.validate();
  const std::uint64_t seed = fopts.pipeline.kmeans.seed;
  const fs::path out = fs::u8path(args.out);
  const std::string shapes_root = (out / "shapes").u8string();
  datasets::ShapesOptions sopts;
  sopts.images_per_class = args.images_per_class;
  sopts.seed = seed;
  // A fresh set: files of an earlier, larger run must not join this one.
  std::error_code ec;
  fs::remove_all(fs::u8path(shapes_root), ec);
  auto t0 = Clock::now();
  const int written = datasets::write_shapes(sopts, shapes_root);
  const double generate_seconds = seconds_since(t0);
  if (!args.run.quiet) std::fprintf(stderr, "wrote %d synthetic images to %s\n", written, shapes_root.c_str());
  const std::string images = (fs::u8path(shapes_root) / "images").u8string();
  const datasets::FolderDataset all = datasets::FolderDataset::scan(images);
  datasets::FolderDataset train, test;
  all.split(0.5, seed, &train, &test);
  const bow::ProgressFn progress = progress_display(args.run.quiet);
  model::FitReport fr;
  const model::Model model = model::fit(model::LabelledImages::from_folder(train), fopts, progress, &fr);
  model.save((out / "model.bowlrp").u8string());

  evaluation::FolderEvaluationOptions eo;
  eo.threads = args.run.threads;
  eo.explain = args.flip_per_class;
  const int C = static_cast<int>(all.classes.size());
  eo.gallery = (args.explain + C - 1) / C;
  eo.quality.flip.steps = args.flip_steps;
  eo.quality.flip.seed = seed;
  eo.quality.seed = seed;
  eo.quality.occlusion_patch = 16;  // 160 px images: a 10 x 10 occlusion grid
  const evaluation::FolderEvaluation ev = evaluation::evaluate_folder(model, test, images, eo, progress);
  for (const auto& f : ev.failures) print_skipped(f.path, f.reason);
  for (std::size_t k = 0; k < ev.quality_results.size(); ++k)
    if (!ev.quality_results[k].error.empty())
      std::fprintf(stderr, "explanation quality of %s failed: %s\n", ev.paths[ev.explained_images[k]].c_str(),
                   ev.quality_results[k].error.c_str());

  // Heatmaps of the gallery images.
  const fs::path heat_dir = out / "heatmaps";
  fs::create_directories(heat_dir);
  for (const auto& g : ev.gallery) {
    const std::string stem = (heat_dir / fs::u8path(ev.paths[g.index]).stem()).u8string();
    decompose::HeatmapOptions o;
    decompose::write_png(stem + ".heatmap.png", g.relevance, o, &g.image);
    o.view = decompose::HeatmapView::edges;
    decompose::write_png(stem + ".edges.png", g.relevance, o, &g.image);
    decompose::write_npy(stem + ".relevance.npy", g.relevance);
  }
  DemoResult r;
  r.train_images = train.images.size();
  r.test_images = test.images.size();
  r.test_accuracy = ev.accuracy;
  r.positive_in_mask = ev.mean_relevance_in_mask;
  r.mask_area = ev.mean_mask_area;
  r.max_conservation_error = ev.max_conservation_error;
  r.map = ev.map;
  r.aopc = ev.quality.aopc();

  ReportData report = folder_report(ev, eo, "bowlrp demo: synthetic shapes");
  report.timings.insert(report.timings.begin(), {{"generate shapes", generate_seconds, static_cast<std::size_t>(written)},
                                                 {"codebook sample", fr.times.codebook_extract, 0},
                                                 {"k-means", fr.times.kmeans, 0},
                                                 {"encode train", fr.times.encode, train.images.size()},
                                                 {"train SVMs", fr.times.svm, all.classes.size()}});
  report.timings.push_back({"demo total", seconds_since(t_start), 0});
  const bow::PipelineOptions& po = model.bag_of_words().options();
  report.settings.insert(
      report.settings.begin(),
      {{"data", std::to_string(written) + " synthetic images (" + std::to_string(C) +
                    " classes), half for training, half for testing, seed " + std::to_string(seed)},
       {"codebook", std::to_string(po.kmeans.words) + " words"},
       {"kernel", svm::to_string(model.kernel_svm().kernel().type) + ", " +
                      std::to_string(model.kernel_svm().support_size()) + " support vectors"}});
  bow::write_file_atomic((out / "report.json").u8string(), dump_json(folder_json(report, ev), 1) + "\n");
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
