#include "report/report.h"

#include <bowlrp/core/option_text.h>
#include <bowlrp/datasets/voc_eval.h>

#include <filesystem>

namespace bowlrp::apps {
namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

ReportData voc_report(const evaluation::VocEvaluation& ev, const evaluation::VocProtocolOptions& o,
                      const std::string& model_path, double load_seconds) {
  const model::Model& model = *ev.model;
  const bool given = !model_path.empty();
  const std::size_t C = ev.classes.size(), N = ev.test_ids.size();
  ReportData report;
  report.title = "bowlrp on PASCAL VOC2007: " + o.train_set + " -> " + o.test_set;
  for (std::size_t c = 0; c < C; ++c) report.classes.push_back(report_class(ev.classes[c], ev.scores[c], ev.labels[c]));
  fill_quality(&report, ev.quality, ev.quality_per_class);
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
  const bow::DsiftOptions& dsift = model.sift().options();
  const int max_side = model.loader().options().max_side;
  report.settings = {
      {"root", o.root},
      {"train set", model_path.empty() ? o.train_set : "(model " + model_path + ")"},
      {"test set", o.test_set},
      {"classes", join(ev.classes, ", ")},
      {"images", std::to_string(ev.train_images) + " train, " + std::to_string(N) + " test" +
                     (o.max_images ? " (--max-images " + std::to_string(o.max_images) + ")" : "")},
      {"encoding", model.encoding_summary()},
      {"dense SIFT", "step " + std::to_string(dsift.step) + ", bins " + core::format_int_list(dsift.bin_sizes) +
                         ", max side " + std::to_string(max_side)},
      {"head", model.head_summary()},
      {"explained", std::to_string(explained) + " (class, image) pairs"}};
  if (ev.person_boxes_missing)
    report.notes.push_back("Box-based localisation of person skips the " + std::to_string(ev.person_boxes_missing) +
                           " images listed in " + ev.person_boxes_missing_path + " (people without boxes).");
  report.notes.push_back("Localisation: share of positive relevance inside the class's boxes / class mask vs the "
                         "region's area share; pointing game with 15 px tolerance (Zhang et al. 2016).");
  if (explained)
    report.notes.push_back("Worst relative conservation error of the explained maps: " +
                           std::to_string(ev.quality.max_conservation_error));
  return report;
}

nlohmann::json voc_json(const ReportData& report, const evaluation::VocEvaluation& ev,
                        const evaluation::VocProtocolOptions& o) {
  const std::size_t N = ev.test_ids.size();
  const std::size_t explained = ev.quality.explained;
  const evaluation::QualityOptions& qopts = o.quality;
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
  return j;

}

}  // namespace bowlrp::apps
