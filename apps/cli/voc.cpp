// `bowlrp voc`: runs evaluation::run_voc_protocol and writes what it measured: the devkit's results
// files, the model, report.json and index.html.
#include "cli/commands.h"
#include "cli/json_out.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/bow/io.h>
#include <bowlrp/datasets/voc_eval.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

int run_voc_command(const VocArgs& args) {
  if (args.out.empty()) throw std::invalid_argument("--out '': expected an output folder");
  evaluation::VocProtocolOptions o = args.protocol;
  o.classes = split_csv(args.classes);
  o.fit = args.pipeline.fit_options();
  o.fit.threads = args.run.threads;
  const fs::path out = fs::u8path(args.out);
  if (!args.no_cache) o.fit.cache_dir = args.cache.empty() ? (out / "cache").u8string() : args.cache;
  o.validate();
  fs::create_directories(out);
  std::optional<model::Model> given;
  double load_seconds = 0;
  if (!args.model.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    given = model::Model::load(args.model);
    load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  const evaluation::VocEvaluation ev = evaluation::run_voc_protocol(o, given, progress_display(args.run.quiet));
  const model::Model& model = *ev.model;
  model.save((out / "model.bowlrp").u8string());
  for (const auto& s : ev.skipped_train) print_skipped(s.path, s.reason);
  for (const auto& s : ev.failed_test) std::fprintf(stderr, "unreadable test image %s: %s\n", s.path.c_str(), s.reason.c_str());
  for (const auto& [what, why] : ev.quality_failures)
    std::fprintf(stderr, "explanation of %s failed: %s\n", what.c_str(), why.c_str());

  const std::size_t C = ev.classes.size(), N = ev.test_ids.size();
  ReportData report;
  report.title = "bowlrp on PASCAL VOC2007: " + o.train_set + " -> " + o.test_set;
  const fs::path results = out / "results";
  for (std::size_t c = 0; c < C; ++c) {
    report.classes.push_back(report_class(ev.classes[c], ev.scores[c], ev.labels[c]));
    datasets::write_voc_results(results.u8string(), o.test_set, ev.classes[c], ev.test_ids, ev.scores[c]);
  }
  fill_quality(&report, ev.quality);
  const std::size_t explained = ev.quality.explained;
  evaluation::QualityOptions qopts = o.quality;
  report.flipping_note = evaluation::flipping_note(qopts, explained);
  for (const evaluation::GalleryItem& g : ev.gallery) {
    ReportGalleryItem item;
    item.group = g.group;
    item.id = g.id;
    item.class_name = g.class_name;
    item.score = g.score;
    item.label = g.label;
    item.note = g.note;
    if (g.note.empty()) {
      item.image = encode_picture(g.image, 240, true);
      item.heatmap = encode_picture(g.heatmap, 240, false);
    }
    report.gallery.push_back(std::move(item));
  }
  if (given) report.timings.push_back({"load model", load_seconds, 0});
  for (std::size_t k = 0; k < ev.timings.size(); ++k)
    report.timings.push_back({ev.timings[k].first, ev.timings[k].second, ev.timing_items[k].second});
  const bow::PipelineOptions& po = model.bag_of_words().options();
  std::string pyr;
  for (const auto& l : po.pooling.pyramid)
    pyr += (pyr.empty() ? "" : ",") + std::to_string(l.cols) + "x" + std::to_string(l.rows);
  report.settings = {
      {"root", o.root},
      {"train set", args.model.empty() ? o.train_set : "(model " + args.model + ")"},
      {"test set", o.test_set},
      {"classes", join(ev.classes, ", ")},
      {"images", std::to_string(ev.train_images) + " train, " + std::to_string(N) + " test" +
                     (o.max_images ? " (--max-images " + std::to_string(o.max_images) + ")" : "")},
      {"codebook", std::to_string(po.kmeans.words) + " words, seed " + std::to_string(po.kmeans.seed)},
      {"dense SIFT", "step " + std::to_string(po.dsift.step) + ", bins " + format_int_list(po.dsift.bin_sizes) +
                         ", max side " + std::to_string(po.image.max_side)},
      {"mapping / pooling", bow::to_string(po.mapping.kind) +
                                ", p = " + (po.pooling.is_max() ? std::string("inf") : std::to_string(po.pooling.p)) +
                                ", pyramid " + pyr + ", " + bow::to_string(po.pooling.normalisation)},
      {"kernel", svm::to_string(model.kernel_svm().kernel().type) + ", " +
                     std::to_string(model.kernel_svm().support_size()) + " support vectors"},
      {"explained", std::to_string(explained) + " (class, image) pairs"}};
  if (ev.person_boxes_missing)
    report.notes.push_back("Box-based localisation of person skips the " + std::to_string(ev.person_boxes_missing) +
                           " images listed in " + ev.person_boxes_missing_path + " (people without boxes).");
  report.notes.push_back("Localisation: share of positive relevance inside the class's boxes / class mask vs the "
                         "region's area share; pointing game with 15 px tolerance (Zhang et al. 2016).");
  if (explained)
    report.notes.push_back("Worst relative conservation error of the explained maps: " +
                           std::to_string(ev.quality.max_conservation_error));
  nlohmann::json j = report_json(report);
  j["classes"] = ev.classes;
  j["train_images"] = ev.train_images;
  j["test_images"] = N;
  j["failed_images"] = ev.failed_test.size();
  j["skipped_train_images"] = ev.skipped_train.size();
  j["explained_images"] = explained;
  j["conservation_max_error"] = ev.quality.max_conservation_error;
  j["flipping"] = {{"region_size", qopts.flip.region_size}, {"steps", qopts.flip.steps},
                   {"random_orders", qopts.flip.random_orders}, {"occlusion_patch", qopts.occlusion_patch}};
  j["results_files"] = nlohmann::json::array();
  for (const std::string& c : ev.classes)
    j["results_files"].push_back((fs::path("results") / datasets::voc_results_filename(o.test_set, c)).string());
  bow::write_file_atomic((out / "report.json").u8string(), dump_json(j, 1) + "\n");
  write_report_html((out / "index.html").u8string(), report);

  std::printf("%-14s %8s %8s\n", "class", "AP07", "AParea");
  for (std::size_t c = 0; c < C; ++c)
    std::printf("%-14s %8.4f %8.4f\n", ev.classes[c].c_str(), ev.ap[c], ev.ap_area[c]);
  std::printf("%-14s %8.4f %8.4f   (%zu test images)\n", "mAP", ev.map, ev.map_area, N);
  for (const auto& [name, v] : ev.quality.aopc()) std::printf("AOPC %-10s %.4f\n", name.c_str(), v);
  for (const auto& [key, v] : report.localisation) std::printf("%-32s %.4f\n", key.c_str(), v);
  for (const auto& t : report.timings) std::printf("time %-26s %.1f s\n", t.stage.c_str(), t.seconds);
  std::printf("report: %s/index.html, %s/report.json\n", args.out.c_str(), args.out.c_str());
  return ev.failed_test.size() || ev.skipped_train.size() ? kExitSomeFailed : kExitOk;
}

}  // namespace bowlrp::apps
