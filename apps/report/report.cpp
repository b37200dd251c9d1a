// The HTML page of `bowlrp voc` and the demo, and the ReportData pieces filled from results.
#include "report/report.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "report/svg_plot.h"

#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::apps {

std::string picture(const ReportPicture& p, const std::string& alt) {
  if (p.bytes.empty()) return "";
  return "<img alt=\"" + html_escape(alt) + "\" src=\"data:" + html_escape(p.mime) + ";base64," + base64(p.bytes) +
         "\">";
}

namespace {

using MethodIntervals = std::map<std::string, evaluation::MeanInterval>;  // method -> summary

// A table of rows (a metric or a class) x methods, "lrp" first and "random" last: mean ± the 95%
// half width (one image: the mean alone).
std::string mean_table(const std::string& row_header, const std::vector<std::pair<std::string, const MethodIntervals*>>& rows) {
  std::vector<std::string> methods;
  for (const auto& row : rows)
    for (const auto& kv : *row.second)
      if (std::find(methods.begin(), methods.end(), kv.first) == methods.end()) methods.push_back(kv.first);
  auto rank = [](const std::string& n) { return n == "lrp" ? 0 : n == "random" ? 2 : 1; };
  std::sort(methods.begin(), methods.end(),
            [&](const std::string& a, const std::string& b) { return rank(a) != rank(b) ? rank(a) < rank(b) : a < b; });
  std::string s = "<table><tr><th class=\"l\">" + html_escape(row_header) + "</th>";
  for (const std::string& m : methods) s += "<th>" + html_escape(m) + "</th>";
  s += "</tr>";
  for (const auto& [name, per_method] : rows) {
    s += "<tr><td class=\"l\">" + html_escape(name) + "</td>";
    for (const std::string& m : methods) {
      const auto it = per_method->find(m);
      s += "<td>";
      if (it != per_method->end()) {
        s += fixed(it->second.mean, 4);
        if (std::isfinite(it->second.half_width)) s += " ± " + fixed(it->second.half_width, 4);
      }
      s += "</td>";
    }
    s += "</tr>";
  }
  return s + "</table>\n";
}

// Table metric x method over every explained pair, then (folded) one table class x method per metric.
std::string metrics_table(const std::map<std::string, MethodIntervals>& metrics,
                          const std::map<std::string, std::map<std::string, MethodIntervals>>& per_class) {
  std::string s = "<h2>Explanation metrics</h2><p class=\"note\">Mean over the explained (image, class) pairs ± the "
                  "half width of its 95% Student-t interval. aopc: most relevant first (higher = faithful); "
                  "aopc_lerf: least relevant first (lower = faithful); abc: area between the LeRF and MoRF curves "
                  "(higher = faithful); sparseness: Gini of |R| (higher = sparser); complexity: entropy of "
                  "|R| / sum |R| in nats (lower = simpler); mass_accuracy, rank_accuracy, auc: against the named "
                  "regions (higher = on the object).</p>";
  std::vector<std::pair<std::string, const MethodIntervals*>> rows;
  for (const auto& [metric, per_method] : metrics) rows.emplace_back(metric, &per_method);
  s += mean_table("metric", rows);
  if (per_class.empty()) return s;
  s += "<details><summary>Per class (" + std::to_string(per_class.size()) + " classes)</summary>\n";
  for (const auto& [metric, unused] : metrics) {
    (void)unused;
    std::vector<std::pair<std::string, const MethodIntervals*>> by_class;
    for (const auto& [cls, m] : per_class) {
      const auto it = m.find(metric);
      if (it != m.end()) by_class.emplace_back(cls, &it->second);
    }
    if (by_class.empty()) continue;
    s += "<h3>" + html_escape(metric) + "</h3>" + mean_table("class", by_class);
  }
  return s + "</details>\n";
}

std::string label_text(int label) { return label == 1 ? "positive" : label == -1 ? "negative" : "difficult"; }

}  // namespace

ReportClass report_class(const std::string& name, const std::vector<double>& scores, const std::vector<int>& labels) {
  const datasets::PrCurve curve = datasets::precision_recall(scores, labels);
  ReportClass c;
  c.name = name;
  c.ap = datasets::voc07_ap(curve);
  c.ap_area = datasets::voc_area_ap(curve);
  c.positives = curve.positives;
  c.negatives = curve.negatives;
  c.difficult = curve.difficult;
  c.recall = curve.recall;
  c.precision = curve.precision;
  return c;
}

std::vector<ReportCurve> report_curves(const evaluation::FlipSummary& summary) {
  std::vector<std::string> names = summary.names();
  auto rank = [](const std::string& n) { return n == "lrp" ? 0 : n == "random" ? 2 : 1; };
  std::stable_sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  std::vector<ReportCurve> out;
  for (const std::string& n : names) {
    ReportCurve c;
    c.name = n;
    c.mean_f = summary.mean_curve(n);
    c.aopc = evaluation::aopc(c.mean_f);
    c.images = summary.count(n);
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<std::pair<std::string, double>> report_localisation(const std::string& prefix,
                                                                const evaluation::LocalisationSummary& s) {
  return {{prefix + "_relevance_share", s.mean_relevance_share},
          {prefix + "_area_share", s.mean_area_share},
          {prefix + "_pointing", s.pointing_accuracy},
          {prefix + "_images", static_cast<double>(s.images)}};
}

std::string report_html(const ReportData& data) {
  std::string s;
  s.reserve(1 << 16);
  s += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(data.title) +
       "</title><style>" + report_css() + "</style></head><body>\n<h1>" + html_escape(data.title) + "</h1>\n";

  if (!data.settings.empty()) {
    s += "<h2>Settings</h2><table>";
    for (const auto& [k, v] : data.settings) {
      s += "<tr><th class=\"l\">" + html_escape(k) + "</th><td class=\"l\">" + html_escape(v) + "</td></tr>";
    }
    s += "</table>\n";
  }

  if (!data.classes.empty()) {
    s += "<h2>Classification</h2><p class=\"note\">AP in percent. VOC2007: 11-point interpolated AP; VOC2010+: "
         "area under the monotone precision envelope. Difficult images are ignored.</p>";
    s += "<table><tr><th class=\"l\">class</th><th>AP (VOC2007)</th><th>AP (VOC2010+)</th><th>positives</th>"
         "<th>negatives</th><th>difficult</th></tr>";
    double sum = 0.0, sum_area = 0.0;
    for (const auto& c : data.classes) {
      s += "<tr><td class=\"l\">" + html_escape(c.name) + "</td><td>" + fixed(100 * c.ap, 2) + "</td><td>" +
           fixed(100 * c.ap_area, 2) + "</td><td>" + std::to_string(c.positives) + "</td><td>" +
           std::to_string(c.negatives) + "</td><td>" + std::to_string(c.difficult) + "</td></tr>";
      sum += c.ap;
      sum_area += c.ap_area;
    }
    const double n = static_cast<double>(data.classes.size());
    s += "<tr class=\"mean\"><td class=\"l\">mAP</td><td>" + fixed(100 * sum / n, 2) + "</td><td>" +
         fixed(100 * sum_area / n, 2) + "</td><td></td><td></td><td></td></tr></table>\n";
    s += "<h3>Precision-recall</h3><div class=\"grid\">";
    for (const auto& c : data.classes) s += pr_svg(c);
    s += "</div>\n";
  }

  if (!data.flipping.empty()) {
    s += "<h2>Pixel flipping</h2>";
    if (!data.flipping_note.empty()) s += "<p class=\"note\">" + html_escape(data.flipping_note) + "</p>";
    s += "<p class=\"note\">Mean classifier score after k regions were replaced by noise, most relevant first; "
         "AOPC in parentheses (higher = the ordering finds the evidence faster).</p>";
    s += flip_svg(data.flipping);
    s += "<table><tr><th class=\"l\">ordering</th><th>AOPC</th><th>images</th><th>f(x^0)</th><th>f(x^L)</th></tr>";
    for (const auto& c : data.flipping) {
      s += "<tr><td class=\"l\">" + html_escape(c.name) + "</td><td>" + fixed(c.aopc, 4) + "</td><td>" +
           std::to_string(c.images) + "</td><td>" + (c.mean_f.empty() ? "" : fixed(c.mean_f.front(), 4)) +
           "</td><td>" + (c.mean_f.empty() ? "" : fixed(c.mean_f.back(), 4)) + "</td></tr>";
    }
    s += "</table>\n";
  }

  if (!data.metrics.empty()) s += metrics_table(data.metrics, data.metrics_per_class);

  if (!data.localisation.empty()) {
    s += "<h2>Localisation</h2><table><tr><th class=\"l\">measure</th><th>value</th></tr>";
    for (const auto& [k, v] : data.localisation) {
      s += "<tr><td class=\"l\">" + html_escape(k) + "</td><td>" + fixed(v, 4) + "</td></tr>";
    }
    s += "</table>\n";
  }

  if (!data.gallery.empty()) {
    s += "<h2>Gallery</h2>";
    std::string group;
    bool open = false;
    for (const auto& g : data.gallery) {
      if (!open || g.group != group) {
        if (open) s += "</div>";
        group = g.group;
        s += "<h3>" + html_escape(group) + "</h3><div class=\"gallery\">";
        open = true;
      }
      s += "<figure>" + picture(g.image, g.id) + picture(g.heatmap, g.id + " relevance") + "<figcaption><b>" +
           html_escape(g.id) + "</b> " + html_escape(g.class_name) + " f = " + fixed(g.score, 4) + " <span class=\"" +
           (g.label == 1 ? "pos" : "neg") + "\">" + label_text(g.label) + "</span>" +
           (g.note.empty() ? "" : "<br>" + html_escape(g.note)) + "</figcaption></figure>";
    }
    if (open) s += "</div>\n";
  }

  if (!data.timings.empty()) {
    s += "<h2>Timings</h2><table><tr><th class=\"l\">stage</th><th>seconds</th><th>items</th><th>ms / item</th></tr>";
    for (const auto& t : data.timings) {
      s += "<tr><td class=\"l\">" + html_escape(t.stage) + "</td><td>" + fixed(t.seconds, 2) + "</td><td>" +
           (t.items ? std::to_string(t.items) : "") + "</td><td>" +
           (t.items ? fixed(1000.0 * t.seconds / static_cast<double>(t.items), 2) : "") + "</td></tr>";
    }
    s += "</table>\n";
  }

  if (!data.notes.empty()) {
    s += "<h2>Notes</h2><ul>";
    for (const auto& n : data.notes) s += "<li>" + html_escape(n) + "</li>";
    s += "</ul>\n";
  }
  s += "</body></html>\n";
  return s;
}

void write_report_html(const std::string& path, const ReportData& data) { core::write_file_atomic(path, report_html(data)); }

ReportPicture encode_picture(const render::Bgr8Image& image, int side, bool jpeg) {
  cv::Mat m(image.height, image.width, CV_8UC3, const_cast<unsigned char*>(image.data.data()));
  cv::Mat small = m;
  const int longer = std::max(image.width, image.height);
  if (longer > side) {
    const double s = double(side) / longer;
    cv::resize(m, small, cv::Size(std::max(1, int(std::lround(image.width * s))),
                                  std::max(1, int(std::lround(image.height * s)))),
               0, 0, cv::INTER_AREA);
  }
  std::vector<unsigned char> buf;
  ReportPicture p;
  if (jpeg) {
    bow::imencode(".jpg", small, buf, {cv::IMWRITE_JPEG_QUALITY, 85});
    p.mime = "image/jpeg";
  } else {
    bow::imencode(".png", small, buf);
    p.mime = "image/png";
  }
  p.bytes.assign(buf.begin(), buf.end());
  return p;
}

void fill_quality(ReportData* report, const evaluation::QualityTotals& totals,
                  const std::map<std::string, evaluation::QualityTotals>& per_class) {
  if (!totals.explained) return;
  report->flipping = report_curves(totals.flips);
  report->metrics = totals.metric_summaries();
  for (const auto& [name, t] : per_class)
    if (t.explained) report->metrics_per_class[name] = t.metric_summaries();
  for (const auto& [key, summary] : totals.localisation_summaries()) {
    const auto entries = report_localisation(key, summary);
    report->localisation.insert(report->localisation.end(), entries.begin(), entries.end());
  }
}


}  // namespace bowlrp::apps
