// The plain-text summaries `bowlrp evaluate` and `bowlrp voc` print: the same report as
// index.html, as lines of text.
#include "report/report.h"

#include "report/json_out.h"

#include <bowlrp/core/io.h>
#include <bowlrp/datasets/voc_eval.h>

#include <cstdarg>
#include <cstdio>
#include <filesystem>

namespace bowlrp::apps {
namespace {

// printf into a string.
void add(std::string* out, const char* format, ...) {
  va_list args, copy;
  va_start(args, format);
  va_copy(copy, args);
  const int n = std::vsnprintf(nullptr, 0, format, copy);
  va_end(copy);
  std::string line(static_cast<std::size_t>(n) + 1, '\0');
  std::vsnprintf(line.data(), line.size(), format, args);
  va_end(args);
  line.resize(static_cast<std::size_t>(n));
  *out += line;
}

// The AP table: a row per class and the mean (`mean_note` after the mean's row).
void add_ap_table(std::string* out, const std::vector<std::string>& classes, const std::vector<double>& ap,
                  const std::vector<double>& ap_area, double map, double map_area, const std::string& mean_note) {
  add(out, "%-14s %8s %8s\n", "class", "AP07", "AParea");
  for (std::size_t c = 0; c < classes.size(); ++c) add(out, "%-14s %8.4f %8.4f\n", classes[c].c_str(), ap[c], ap_area[c]);
  add(out, "%-14s %8.4f %8.4f%s\n", "mAP", map, map_area, mean_note.c_str());
}

void add_quality(std::string* out, const ReportData& report, const evaluation::QualityTotals& quality) {
  for (const auto& [name, v] : quality.aopc()) add(out, "AOPC %-10s %.4f\n", name.c_str(), v);
  const auto abc = report.metrics.find("abc");
  if (abc != report.metrics.end())
    for (const auto& [name, m] : abc->second)
      add(out, "area LeRF-MoRF %-12s %.4f +- %.4f (95%%)\n", name.c_str(), m.mean, m.half_width);
  for (const auto& [key, v] : report.localisation) add(out, "%-32s %.4f\n", key.c_str(), v);
}

}  // namespace

std::string folder_summary_text(const ReportData& report, const evaluation::FolderEvaluation& ev,
                                const std::string& dir) {
  std::string out;
  const std::size_t C = ev.classes.size();
  add(&out, "accuracy %.4f (%zu images, %zu classes)\n", ev.accuracy, ev.paths.size(), C);
  add_ap_table(&out, ev.classes, ev.ap, ev.ap_area, ev.map, ev.map_area, "");
  add(&out, "confusion (rows: true, columns: predicted)\n");
  for (std::size_t t = 0; t < C; ++t) {
    add(&out, "  %-12s", ev.classes[t].c_str());
    for (std::size_t p = 0; p < C; ++p) add(&out, " %5zu", ev.confusion[t * C + p]);
    add(&out, "\n");
  }
  add_quality(&out, report, ev.quality);
  if (ev.masked_images)
    add(&out, "positive relevance on the objects %.4f (objects cover %.4f; %zu images with masks)\n",
        ev.mean_relevance_in_mask, ev.mean_mask_area, ev.masked_images);
  add(&out, "worst conservation error %.2e (relative)\n", ev.max_conservation_error);
  add(&out, "report: %s/index.html, %s/report.json\n", dir.c_str(), dir.c_str());
  return out;
}

std::string voc_summary_text(const ReportData& report, const evaluation::VocEvaluation& ev, const std::string& dir) {
  std::string out;
  char note[64];
  std::snprintf(note, sizeof note, "   (%zu test images)", ev.test_ids.size());
  add_ap_table(&out, ev.classes, ev.ap, ev.ap_area, ev.map, ev.map_area, note);
  add_quality(&out, report, ev.quality);
  for (const auto& t : report.timings) add(&out, "time %-26s %.1f s\n", t.stage.c_str(), t.seconds);
  add(&out, "report: %s/index.html, %s/report.json\n", dir.c_str(), dir.c_str());
  return out;
}

void write_voc_report(const std::string& dir, const ReportData& report, const evaluation::VocEvaluation& ev,
                      const evaluation::VocProtocolOptions& options) {
  const std::filesystem::path out = std::filesystem::u8path(dir);
  std::filesystem::create_directories(out);
  for (std::size_t c = 0; c < ev.classes.size(); ++c)
    datasets::write_voc_results((out / "results").u8string(), options.test_set, ev.classes[c], ev.test_ids, ev.scores[c]);
  core::write_file_atomic((out / "report.json").u8string(), dump_json(voc_json(report, ev, options), 1) + "\n");
  write_report_html((out / "index.html").u8string(), report);
}

}  // namespace bowlrp::apps
