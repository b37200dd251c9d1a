// report.json of `bowlrp voc` and the demo: the numbers of a ReportData (see report.h).
#include "report/report.h"

#include "report/json_out.h"

#include <bowlrp/core/io.h>

#include <string>

namespace bowlrp::apps {

nlohmann::json report_json(const ReportData& data) {
  nlohmann::json j;
  j["title"] = data.title;
  j["ap_definition"] = "voc07-11pt";
  j["ap_area_definition"] = "voc2010-area";
  j["ap"] = nlohmann::json::object();
  j["ap_area"] = nlohmann::json::object();
  j["positives"] = nlohmann::json::object();
  double sum = 0.0, sum_area = 0.0;
  for (const auto& c : data.classes) {
    j["ap"][c.name] = c.ap;
    j["ap_area"][c.name] = c.ap_area;
    j["positives"][c.name] = c.positives;
    sum += c.ap;
    sum_area += c.ap_area;
  }
  const double n = static_cast<double>(data.classes.size());
  j["map"] = data.classes.empty() ? nlohmann::json(nullptr) : nlohmann::json(sum / n);
  j["map_area"] = data.classes.empty() ? nlohmann::json(nullptr) : nlohmann::json(sum_area / n);
  j["aopc"] = nlohmann::json::object();
  j["flipping_curves"] = nlohmann::json::object();
  for (const auto& c : data.flipping) {
    j["aopc"][c.name] = c.aopc;
    j["flipping_curves"][c.name] = c.mean_f;
  }
  j["localisation"] = nlohmann::json::object();
  for (const auto& [k, v] : data.localisation) j["localisation"][k] = v;
  if (!data.metrics.empty()) {
    j["metrics"] = nlohmann::json::object();
    for (const auto& [metric, methods] : data.metrics)
      for (const auto& [method, m] : methods)
        j["metrics"][metric][method] = {{"mean", m.mean}, {"ci95", m.half_width}, {"sd", m.sd}, {"n", m.n}};
  }
  if (!data.metrics_per_class.empty()) {
    j["metrics_per_class"] = nlohmann::json::object();
    for (const auto& [cls, metrics] : data.metrics_per_class)
      for (const auto& [metric, methods] : metrics)
        for (const auto& [method, m] : methods)
          j["metrics_per_class"][cls][metric][method] = {
              {"mean", m.mean}, {"ci95", m.half_width}, {"sd", m.sd}, {"n", m.n}};
  }
  j["timings"] = nlohmann::json::object();
  for (const auto& t : data.timings) j["timings"][t.stage] = t.seconds;
  j["settings"] = nlohmann::json::object();
  for (const auto& [k, v] : data.settings) j["settings"][k] = v;
  return j;
}

void write_report_json(const std::string& path, const ReportData& data) {
  core::write_file_atomic(path, dump_json(report_json(data), 2) + "\n");
}

}  // namespace bowlrp::apps
