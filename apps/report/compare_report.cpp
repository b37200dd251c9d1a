// Side by side: several runs' report.json (bowlrp voc or evaluate) in one page, e.g. the
// Fisher-vector model against the Bag-of-Words model on the same images.
#include "report/report.h"

#include <bowlrp/core/io.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::apps {
namespace {

std::string cell(const nlohmann::json& j, const std::string& key, const std::string& sub, int digits) {
  if (!j.contains(key) || !j[key].is_object() || !j[key].contains(sub) || !j[key][sub].is_number()) return "–";
  return fixed(j[key][sub].get<double>(), digits);
}

// Keys of j[key] over every run, in first-seen order.
std::vector<std::string> keys(const std::vector<nlohmann::json>& runs, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& r : runs)
    if (r.contains(key) && r[key].is_object())
      for (const auto& [k, v] : r[key].items())
        if (std::find(out.begin(), out.end(), k) == out.end()) out.push_back(k);
  return out;
}

std::string table(const std::vector<std::string>& names, const std::vector<nlohmann::json>& runs,
                  const std::string& key, const std::vector<std::string>& rows, int digits, bool best_high) {
  std::string h = "<table><tr><th></th>";
  for (const auto& n : names) h += "<th>" + html_escape(n) + "</th>";
  h += "</tr>";
  for (const auto& row : rows) {
    h += "<tr><td>" + html_escape(row) + "</td>";
    double best = best_high ? -1e300 : 1e300;
    for (const auto& r : runs)
      if (r.contains(key) && r[key].contains(row) && r[key][row].is_number())
        best = best_high ? std::max(best, r[key][row].get<double>()) : std::min(best, r[key][row].get<double>());
    for (const auto& r : runs) {
      const bool is_best = r.contains(key) && r[key].contains(row) && r[key][row].is_number() &&
                           r[key][row].get<double>() == best && runs.size() > 1;
      const std::string v = cell(r, key, row, digits);
      h += std::string("<td>") + (is_best ? "<b>" + v + "</b>" : v) + "</td>";
    }
    h += "</tr>";
  }
  return h + "</table>";
}

}  // namespace

nlohmann::json compare_json(const std::vector<std::string>& names, const std::vector<nlohmann::json>& runs) {
  if (names.size() != runs.size() || runs.empty())
    throw std::invalid_argument("compare: " + std::to_string(runs.size()) + " reports for " +
                                std::to_string(names.size()) + " names; expected at least one report, one name each");
  nlohmann::json out = {{"runs", nlohmann::json::array()}};
  for (std::size_t i = 0; i < runs.size(); ++i) {
    nlohmann::json r = {{"name", names[i]}};
    for (const char* k : {"map", "map_area", "ap", "aopc", "localisation", "conservation_max_error", "explained_images",
                          "settings", "timings"})
      if (runs[i].contains(k)) r[k] = runs[i][k];
    out["runs"].push_back(std::move(r));
  }
  return out;
}

std::string heatmap_grid_html(const std::vector<std::string>& names, const std::vector<std::string>& heatmap_dirs,
                              std::size_t max_rows) {
  namespace fs = std::filesystem;
  if (heatmap_dirs.size() != names.size())
    throw std::invalid_argument("compare: " + std::to_string(heatmap_dirs.size()) + " heatmap folders for " +
                                std::to_string(names.size()) + " runs; give one per run");
  const std::string suffix = ".heatmap.png";
  std::vector<std::set<std::string>> stems(heatmap_dirs.size());
  for (std::size_t r = 0; r < heatmap_dirs.size(); ++r) {
    const fs::path dir = fs::u8path(heatmap_dirs[r]);
    if (!fs::is_directory(dir))
      throw std::runtime_error("compare: heatmap folder '" + heatmap_dirs[r] + "' does not exist (expected the --out of bowlrp explain)");
    for (const auto& e : fs::directory_iterator(dir)) {
      const std::string f = e.path().filename().u8string();
      if (f.size() > suffix.size() && f.compare(f.size() - suffix.size(), suffix.size(), suffix) == 0)
        stems[r].insert(f.substr(0, f.size() - suffix.size()));
    }
    if (stems[r].empty())
      throw std::runtime_error("compare: heatmap folder '" + heatmap_dirs[r] + "' holds no *" + suffix + " (expected the --out of bowlrp explain)");
  }
  std::vector<std::string> common;
  for (const std::string& s : stems[0])
    if (std::all_of(stems.begin(), stems.end(), [&](const std::set<std::string>& o) { return o.count(s) > 0; }))
      common.push_back(s);
  if (common.size() > max_rows) common.resize(max_rows);
  std::string h = "<h2>Heatmaps side by side</h2><p>The same images explained by each run (bowlrp explain: red = "
                  "positive relevance, blue = negative); under each map the explained class, f and the end-to-end "
                  "conservation status of that explanation.</p><table><tr><th>image</th>";
  for (const auto& n : names) h += "<th>" + html_escape(n) + "</th>";
  h += "</tr>";
  for (const std::string& stem : common) {
    h += "<tr><td>" + html_escape(stem) + "</td>";
    for (const std::string& dir : heatmap_dirs) {
      const fs::path base = fs::u8path(dir) / fs::u8path(stem);
      std::string caption;
      const fs::path js = fs::path(base.u8string() + ".json");
      if (fs::exists(js)) {
        try {
          const nlohmann::json j = nlohmann::json::parse(core::read_file(js.u8string()));
          caption = j.value("class", std::string()) + ", f = " + fixed(j.value("score", 0.0), 3) +
                    (j.value("conserved", false) ? ", conserved" : ", NOT conserved");
          if (j.contains("network")) caption += ", " + j["network"].value("composite", std::string());
        } catch (const std::exception&) {
          caption = "(unreadable " + js.filename().u8string() + ")";
        }
      }
      h += "<td><figure><img style=\"max-width:260px\" src=\"data:image/png;base64," +
           base64(core::read_file(base.u8string() + suffix)) + "\"><figcaption>" + html_escape(caption) +
           "</figcaption></figure></td>";
    }
    h += "</tr>";
  }
  return h + "</table>";
}

std::string compare_html(const std::vector<std::string>& names, const std::vector<nlohmann::json>& runs,
                         const std::vector<std::string>& heatmap_dirs) {
  (void)compare_json(names, runs);  // validates
  std::string h = "<!doctype html><html><head><meta charset=\"utf-8\"><title>bowlrp: runs side by side</title><style>" +
                  report_css() + "</style></head><body><h1>Runs side by side</h1>";
  h += "<h2>Settings</h2><table><tr><th></th>";
  for (const auto& n : names) h += "<th>" + html_escape(n) + "</th>";
  h += "</tr>";
  for (const auto& k : keys(runs, "settings")) {
    h += "<tr><td>" + html_escape(k) + "</td>";
    for (const auto& r : runs)
      h += "<td>" + html_escape(r.contains("settings") && r["settings"].contains(k) && r["settings"][k].is_string()
                                    ? r["settings"][k].get<std::string>()
                                    : std::string("–")) + "</td>";
    h += "</tr>";
  }
  h += "</table>";
  nlohmann::json summary = nlohmann::json::object();
  std::vector<nlohmann::json> tops;
  for (const auto& r : runs) {
    nlohmann::json t = nlohmann::json::object();
    for (const char* k : {"map", "map_area", "conservation_max_error", "explained_images"})
      if (r.contains(k) && r[k].is_number()) t[k] = r[k];
    tops.push_back({{"summary", t}});
  }
  h += "<h2>Accuracy</h2>" + table(names, tops, "summary", {"map", "map_area"}, 4, true);
  h += "<h3>AP per class (VOC07 11-point)</h3>" + table(names, runs, "ap", keys(runs, "ap"), 4, true);
  h += "<h2>Explanation quality</h2><p>Pixel flipping, most relevant first: AOPC per ordering (higher: the "
       "ordering found the evidence; random is the reference).</p>" +
       table(names, runs, "aopc", keys(runs, "aopc"), 4, true);
  h += "<h3>Localisation</h3><p>Share of positive relevance inside the class's boxes and masks, against the "
       "region's area share, and the pointing game.</p>" +
       table(names, runs, "localisation", keys(runs, "localisation"), 4, true);
  h += "<h3>Conservation</h3>" + table(names, tops, "summary", {"conservation_max_error", "explained_images"}, 6, false);
  h += "<h2>Timings (s)</h2>" + table(names, runs, "timings", keys(runs, "timings"), 1, false);
  if (!heatmap_dirs.empty()) h += heatmap_grid_html(names, heatmap_dirs);
  return h + "</body></html>\n";
}

CompareRuns read_compare_runs(const std::vector<std::string>& reports, const std::vector<std::string>& names) {
  namespace fs = std::filesystem;
  CompareRuns c;
  for (std::size_t i = 0; i < reports.size(); ++i) {
    fs::path p = fs::u8path(reports[i]);
    if (fs::is_directory(p)) p /= "report.json";
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(core::read_file(p.u8string()));
    } catch (const nlohmann::json::exception& e) {
      throw std::runtime_error("compare: '" + p.u8string() + "' is not a report.json (" + e.what() + ")");
    }
    if (!j.is_object() || !j.contains("ap"))
      throw std::runtime_error("compare: '" + p.u8string() + "' has no \"ap\": expected the report.json of bowlrp voc or evaluate");
    c.runs.push_back(std::move(j));
    c.names.push_back(names.empty() ? p.parent_path().filename().u8string() : names.at(i));
  }
  return c;
}

void write_compare(const std::string& dir, const CompareRuns& c, const std::vector<std::string>& heatmap_dirs) {
  const std::filesystem::path out = std::filesystem::u8path(dir);
  std::filesystem::create_directories(out);
  core::write_file_atomic((out / "compare.json").u8string(), compare_json(c.names, c.runs).dump(1) + "\n");
  core::write_file_atomic((out / "index.html").u8string(), compare_html(c.names, c.runs, heatmap_dirs));
}

}  // namespace bowlrp::apps
