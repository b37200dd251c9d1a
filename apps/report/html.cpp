#include "report/html.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace bowlrp::apps {

namespace {

const char* const kColours[] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e",
                                "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"};

const char* kCss = R"(body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1180px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}tr.mean td{font-weight:bold;background:#fafafa}
.grid{display:flex;flex-wrap:wrap;gap:6px}svg text{font-size:10px;fill:#333}svg text.t{font-size:11px;font-weight:bold}
svg .g{stroke:#eee;stroke-width:1}svg .frame{fill:none;stroke:#888;stroke-width:1}
.gallery{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;border:1px solid #ddd;padding:6px;background:#fafafa}
figure img{max-width:260px;max-height:220px;display:inline-block;vertical-align:top;margin-right:4px}
figcaption{font-size:.85em;margin-top:4px}.pos{color:#2a7a2a}.neg{color:#b22}.note{color:#666;font-size:.9em})";

}  // namespace

std::string report_css() { return kCss; }

// Fixed-point number in the C locale (snprintf ignores std::locale).
std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return std::isnan(v) ? "n/a" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string series_colour(std::size_t i) { return kColours[i % (sizeof kColours / sizeof kColours[0])]; }

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

}  // namespace bowlrp::apps
