#include "report/report.h"

#include "report/json_out.h"

#include <bowlrp/core/io.h>
#include <bowlrp/render/heatmap.h>

#include <algorithm>
#include <filesystem>

namespace bowlrp::apps {
namespace fs = std::filesystem;

// The report of a folder evaluation: AP table, flipping curves, localisation, gallery, confusion.
ReportData folder_report(const evaluation::FolderEvaluation& ev, const evaluation::FolderEvaluationOptions& options,
                         const std::string& title) {
  ReportData report;
  report.title = title;
  const std::size_t C = ev.classes.size(), n = ev.paths.size();
  for (std::size_t c = 0; c < C; ++c) {
    std::vector<double> s;
    std::vector<int> y;
    ev.one_vs_rest(c, &s, &y);
    report.classes.push_back(report_class(ev.classes[c], s, y));
  }
  fill_quality(&report, ev.quality, ev.quality_per_class);
  report.flipping_note = evaluation::flipping_note(options.quality, ev.quality.explained);
  render::HeatmapOptions hopts;
  for (const auto& g : ev.gallery) {
    ReportGalleryItem item;
    const std::size_t i = g.index;
    item.group = ev.predicted[i] == ev.truth[i] ? "correctly classified" : "misclassified";
    item.id = fs::u8path(ev.paths[i]).filename().u8string();
    item.class_name = ev.classes[ev.truth[i]];
    item.score = ev.scores[i * C + ev.truth[i]];
    item.label = 1;
    item.image = encode_picture(g.image, 240, false);
    item.heatmap = encode_picture(render::render_heatmap(g.relevance, hopts, &g.image), 240, false);
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

void write_folder_report(const std::string& dir, const ReportData& report, const evaluation::FolderEvaluation& ev) {
  const fs::path out = fs::u8path(dir);
  fs::create_directories(out);
  core::write_file_atomic((out / "report.json").u8string(), dump_json(folder_json(report, ev), 1) + "\n");
  write_report_html((out / "index.html").u8string(), report);
}

ReportData shapes_report(const evaluation::ShapesExperiment& ex, const evaluation::ShapesExperimentOptions& options,
                         double total_seconds) {
  ReportData report = folder_report(ex.evaluation, options.evaluation, "bowlrp demo: synthetic shapes");
  const model::StageTimes& st = ex.fit.times;
  const std::size_t C = options.shapes.classes.size();
  report.timings.insert(report.timings.begin(),
                        {{"generate shapes", ex.generate_seconds, static_cast<std::size_t>(ex.images_written)},
                         {"codebook sample", st.codebook_extract, 0},
                         {"k-means", st.kmeans, 0},
                         {"encode train", st.encode, ex.train.images.size()},
                         {"train SVMs", st.svm, C}});
  report.timings.push_back({"demo total", total_seconds, 0});
  report.settings.insert(
      report.settings.begin(),
      {{"data", std::to_string(ex.images_written) + " synthetic images (" + std::to_string(C) +
                    " classes), half for training, half for testing, seed " +
                    std::to_string(options.fit.pipeline.kmeans.seed)},
       {"encoding", ex.model->encoding_summary()},
       {"head", ex.model->head_summary()}});
  return report;
}

}  // namespace bowlrp::apps
