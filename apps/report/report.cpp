#include "report/report.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "report/json_out.h"

#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::apps {

namespace {

// Fixed-point number in the C locale (snprintf ignores std::locale).
std::string fmt(double v, int digits) {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Short number for SVG coordinates.
std::string coord(double v) { return fmt(v, 1); }

const char* const kColours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e",
                                "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

// Roughly five round tick values covering [lo, hi].
std::vector<double> ticks(double lo, double hi) {
  const double range = hi - lo;
  if (!(range > 0)) return {lo};
  const double raw = range / 5.0;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return out;
}

std::string tick_label(double v, double step) {
  const int digits = step >= 1 ? 0 : std::min(6, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  return fmt(v, digits);
}

// Polyline points of (x, y) data mapped into a plot box; points closer than 0.1 px to the last
// kept one are dropped, which keeps long PR curves small without changing the picture.
std::string polyline_points(const std::vector<double>& xs, const std::vector<double>& ys, double x0, double y0,
                            double w, double h, double xlo, double xhi, double ylo, double yhi) {
  std::string pts;
  double lx = std::numeric_limits<double>::quiet_NaN(), ly = lx;
  for (std::size_t i = 0; i < xs.size() && i < ys.size(); ++i) {
    if (!std::isfinite(xs[i]) || !std::isfinite(ys[i])) continue;
    const double px = x0 + (xs[i] - xlo) / (xhi - xlo) * w;
    const double py = y0 + h - (ys[i] - ylo) / (yhi - ylo) * h;
    if (i + 1 < xs.size() && std::abs(px - lx) < 0.1 && std::abs(py - ly) < 0.1) continue;
    pts += coord(px) + "," + coord(py) + " ";
    lx = px;
    ly = py;
  }
  return pts;
}

std::string pr_svg(const ReportClass& c) {
  const double W = 220, H = 180, L = 34, R = 8, T = 22, B = 26;
  const double w = W - L - R, h = H - T - B;
  std::string s = "<svg class=\"pr\" viewBox=\"0 0 220 180\" width=\"220\" height=\"180\" "
                  "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
  s += "<title>" + html_escape(c.name) + " precision-recall</title>";
  s += "<text x=\"110\" y=\"15\" text-anchor=\"middle\" class=\"t\">" + html_escape(c.name) +
       " — AP " + fmt(100 * c.ap, 1) + "</text>";
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    const double px = L + t * w, py = T + h - t * h;
    s += "<line x1=\"" + coord(px) + "\" y1=\"" + coord(T) + "\" x2=\"" + coord(px) + "\" y2=\"" + coord(T + h) +
         "\" class=\"g\"/>";
    s += "<line x1=\"" + coord(L) + "\" y1=\"" + coord(py) + "\" x2=\"" + coord(L + w) + "\" y2=\"" + coord(py) +
         "\" class=\"g\"/>";
    if (t == 0.0 || t == 0.5 || t == 1.0) {
      s += "<text x=\"" + coord(px) + "\" y=\"" + coord(T + h + 11) + "\" text-anchor=\"middle\">" + fmt(t, 1) +
           "</text>";
      s += "<text x=\"" + coord(L - 3) + "\" y=\"" + coord(py + 3) + "\" text-anchor=\"end\">" + fmt(t, 1) +
           "</text>";
    }
  }
  s += "<rect x=\"" + coord(L) + "\" y=\"" + coord(T) + "\" width=\"" + coord(w) + "\" height=\"" + coord(h) +
       "\" class=\"frame\"/>";
  s += "<text x=\"" + coord(L + w / 2) + "\" y=\"" + coord(H - 3) + "\" text-anchor=\"middle\">recall</text>";
  if (!c.recall.empty()) {
    s += "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.3\" points=\"" +
         polyline_points(c.recall, c.precision, L, T, w, h, 0, 1, 0, 1) + "\"/>";
  }
  s += "</svg>";
  return s;
}

std::string flip_svg(const std::vector<ReportCurve>& curves) {
  const double W = 680, H = 340, L = 60, R = 150, T = 16, B = 40;
  const double w = W - L - R, h = H - T - B;
  double ylo = std::numeric_limits<double>::infinity(), yhi = -ylo;
  std::size_t steps = 0;
  for (const auto& c : curves) {
    for (double v : c.mean_f) {
      if (!std::isfinite(v)) continue;
      ylo = std::min(ylo, v);
      yhi = std::max(yhi, v);
    }
    steps = std::max(steps, c.mean_f.size());
  }
  if (steps < 2 || !(yhi >= ylo)) return "";
  if (yhi == ylo) {
    ylo -= 0.5;
    yhi += 0.5;
  }
  const double pad = 0.05 * (yhi - ylo);
  ylo -= pad;
  yhi += pad;
  const double xhi = static_cast<double>(steps - 1);
  std::string s = "<svg class=\"flip\" viewBox=\"0 0 680 340\" width=\"680\" height=\"340\" "
                  "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><title>pixel flipping</title>";
  const auto yt = ticks(ylo, yhi);
  const double ystep = yt.size() > 1 ? yt[1] - yt[0] : 1.0;
  for (double t : yt) {
    const double py = T + h - (t - ylo) / (yhi - ylo) * h;
    s += "<line x1=\"" + coord(L) + "\" y1=\"" + coord(py) + "\" x2=\"" + coord(L + w) + "\" y2=\"" + coord(py) +
         "\" class=\"g\"/><text x=\"" + coord(L - 4) + "\" y=\"" + coord(py + 3) + "\" text-anchor=\"end\">" +
         tick_label(t, ystep) + "</text>";
  }
  const auto xt = ticks(0, xhi);
  const double xstep = xt.size() > 1 ? xt[1] - xt[0] : 1.0;
  for (double t : xt) {
    const double px = L + t / xhi * w;
    s += "<line x1=\"" + coord(px) + "\" y1=\"" + coord(T) + "\" x2=\"" + coord(px) + "\" y2=\"" + coord(T + h) +
         "\" class=\"g\"/><text x=\"" + coord(px) + "\" y=\"" + coord(T + h + 13) + "\" text-anchor=\"middle\">" +
         tick_label(t, xstep) + "</text>";
  }
  s += "<rect x=\"" + coord(L) + "\" y=\"" + coord(T) + "\" width=\"" + coord(w) + "\" height=\"" + coord(h) +
       "\" class=\"frame\"/>";
  s += "<text x=\"" + coord(L + w / 2) + "\" y=\"" + coord(H - 6) +
       "\" text-anchor=\"middle\">perturbation step k</text>";
  s += "<text transform=\"translate(14," + coord(T + h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">mean f(x^k)</text>";
  for (std::size_t i = 0; i < curves.size(); ++i) {
    const char* colour = kColours[i % (sizeof kColours / sizeof *kColours)];
    std::vector<double> xs(curves[i].mean_f.size());
    for (std::size_t k = 0; k < xs.size(); ++k) xs[k] = static_cast<double>(k);
    s += "<polyline fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"1.6\"" +
         (curves[i].name == "random" ? " stroke-dasharray=\"5,3\"" : "") + " points=\"" +
         polyline_points(xs, curves[i].mean_f, L, T, w, h, 0, xhi, ylo, yhi) + "\"/>";
    const double ly = T + 12 + 18 * static_cast<double>(i);
    s += "<line x1=\"" + coord(L + w + 12) + "\" y1=\"" + coord(ly - 4) + "\" x2=\"" + coord(L + w + 34) +
         "\" y2=\"" + coord(ly - 4) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"/><text x=\"" +
         coord(L + w + 40) + "\" y=\"" + coord(ly) + "\">" + html_escape(curves[i].name) + " (" +
         fmt(curves[i].aopc, 3) + ")</text>";
  }
  s += "</svg>";
  return s;
}

const char* kCss = R"(body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1180px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.mean td{font-weight:bold;background:#fafafa}
.grid{display:flex;flex-wrap:wrap;gap:6px}svg text{font-size:10px;fill:#333}svg text.t{font-size:11px;font-weight:bold}
svg .g{stroke:#eee;stroke-width:1}svg .frame{fill:none;stroke:#888;stroke-width:1}
.gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:1px solid #ddd;padding:6px;background:#fafafa}
figure img{max-width:260px;max-height:220px;display:inline-block;vertical-align:top;margin-right:4px}
figcaption{font-size:.85em;margin-top:4px}.pos{color:#2a7a2a}.neg{color:#b22}.note{color:#666;font-size:.9em})";

std::string picture(const ReportPicture& p, const std::string& alt) {
  if (p.bytes.empty()) return "";
  return "<img alt=\"" + html_escape(alt) + "\" src=\"data:" + html_escape(p.mime) + ";base64," + base64(p.bytes) +
         "\">";
}

std::string label_text(int label) { return label == 1 ? "positive" : label == -1 ? "negative" : "difficult"; }

}  // namespace

std::string base64(const std::string& bytes) {
  static const char* const kTable = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (const std::size_t rest = bytes.size() - i; rest) {
    const unsigned v = (b[i] << 16) | (rest == 2 ? b[i + 1] << 8 : 0);
    out += kTable[v >> 18];
    out += kTable[(v >> 12) & 63];
    out += rest == 2 ? kTable[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

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
  j["timings"] = nlohmann::json::object();
  for (const auto& t : data.timings) j["timings"][t.stage] = t.seconds;
  j["settings"] = nlohmann::json::object();
  for (const auto& [k, v] : data.settings) j["settings"][k] = v;
  return j;
}

std::string report_html(const ReportData& data) {
  std::string s;
  s.reserve(1 << 16);
  s += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(data.title) +
       "</title><style>" + kCss + "</style></head><body>\n<h1>" + html_escape(data.title) + "</h1>\n";

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
      s += "<tr><td class=\"l\">" + html_escape(c.name) + "</td><td>" + fmt(100 * c.ap, 2) + "</td><td>" +
           fmt(100 * c.ap_area, 2) + "</td><td>" + std::to_string(c.positives) + "</td><td>" +
           std::to_string(c.negatives) + "</td><td>" + std::to_string(c.difficult) + "</td></tr>";
      sum += c.ap;
      sum_area += c.ap_area;
    }
    const double n = static_cast<double>(data.classes.size());
    s += "<tr class=\"mean\"><td class=\"l\">mAP</td><td>" + fmt(100 * sum / n, 2) + "</td><td>" +
         fmt(100 * sum_area / n, 2) + "</td><td></td><td></td><td></td></tr></table>\n";
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
      s += "<tr><td class=\"l\">" + html_escape(c.name) + "</td><td>" + fmt(c.aopc, 4) + "</td><td>" +
           std::to_string(c.images) + "</td><td>" + (c.mean_f.empty() ? "" : fmt(c.mean_f.front(), 4)) +
           "</td><td>" + (c.mean_f.empty() ? "" : fmt(c.mean_f.back(), 4)) + "</td></tr>";
    }
    s += "</table>\n";
  }

  if (!data.localisation.empty()) {
    s += "<h2>Localisation</h2><table><tr><th class=\"l\">measure</th><th>value</th></tr>";
    for (const auto& [k, v] : data.localisation) {
      s += "<tr><td class=\"l\">" + html_escape(k) + "</td><td>" + fmt(v, 4) + "</td></tr>";
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
           html_escape(g.id) + "</b> " + html_escape(g.class_name) + " f = " + fmt(g.score, 4) + " <span class=\"" +
           (g.label == 1 ? "pos" : "neg") + "\">" + label_text(g.label) + "</span>" +
           (g.note.empty() ? "" : "<br>" + html_escape(g.note)) + "</figcaption></figure>";
    }
    if (open) s += "</div>\n";
  }

  if (!data.timings.empty()) {
    s += "<h2>Timings</h2><table><tr><th class=\"l\">stage</th><th>seconds</th><th>items</th><th>ms / item</th></tr>";
    for (const auto& t : data.timings) {
      s += "<tr><td class=\"l\">" + html_escape(t.stage) + "</td><td>" + fmt(t.seconds, 2) + "</td><td>" +
           (t.items ? std::to_string(t.items) : "") + "</td><td>" +
           (t.items ? fmt(1000.0 * t.seconds / static_cast<double>(t.items), 2) : "") + "</td></tr>";
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

void write_report_json(const std::string& path, const ReportData& data) {
  core::write_file_atomic(path, dump_json(report_json(data), 2) + "\n");
}

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

void fill_quality(ReportData* report, const evaluation::QualityTotals& totals) {
  if (!totals.explained) return;
  report->flipping = report_curves(totals.flips);
  for (const auto& [key, summary] : totals.localisation_summaries()) {
    const auto entries = report_localisation(key, summary);
    report->localisation.insert(report->localisation.end(), entries.begin(), entries.end());
  }
}

std::string report_css() { return kCss; }
std::string fixed(double v, int digits) { return fmt(v, digits); }
std::string series_colour(std::size_t i) { return kColours[i % (sizeof kColours / sizeof kColours[0])]; }

}  // namespace bowlrp::apps
