#include "report/svg_plot.h"

#include "report/html.h"
#include "report/report.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace bowlrp::apps {

namespace {

// Short number for SVG coordinates.
std::string coord(double v) { return fixed(v, 1); }

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
  return fixed(v, digits);
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

}  // namespace

std::string pr_svg(const ReportClass& c) {
  const double W = 220, H = 180, L = 34, R = 8, T = 22, B = 26;
  const double w = W - L - R, h = H - T - B;
  std::string s = "<svg class=\"pr\" viewBox=\"0 0 220 180\" width=\"220\" height=\"180\" "
                  "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\">";
  s += "<title>" + html_escape(c.name) + " precision-recall</title>";
  s += "<text x=\"110\" y=\"15\" text-anchor=\"middle\" class=\"t\">" + html_escape(c.name) +
       " — AP " + fixed(100 * c.ap, 1) + "</text>";
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    const double px = L + t * w, py = T + h - t * h;
    s += "<line x1=\"" + coord(px) + "\" y1=\"" + coord(T) + "\" x2=\"" + coord(px) + "\" y2=\"" + coord(T + h) +
         "\" class=\"g\"/>";
    s += "<line x1=\"" + coord(L) + "\" y1=\"" + coord(py) + "\" x2=\"" + coord(L + w) + "\" y2=\"" + coord(py) +
         "\" class=\"g\"/>";
    if (t == 0.0 || t == 0.5 || t == 1.0) {
      s += "<text x=\"" + coord(px) + "\" y=\"" + coord(T + h + 11) + "\" text-anchor=\"middle\">" + fixed(t, 1) +
           "</text>";
      s += "<text x=\"" + coord(L - 3) + "\" y=\"" + coord(py + 3) + "\" text-anchor=\"end\">" + fixed(t, 1) +
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
    const std::string colour = series_colour(i);
    std::vector<double> xs(curves[i].mean_f.size());
    for (std::size_t k = 0; k < xs.size(); ++k) xs[k] = static_cast<double>(k);
    s += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"1.6\"" +
         (curves[i].name == "random" ? " stroke-dasharray=\"5,3\"" : "") + " points=\"" +
         polyline_points(xs, curves[i].mean_f, L, T, w, h, 0, xhi, ylo, yhi) + "\"/>";
    const double ly = T + 12 + 18 * static_cast<double>(i);
    s += "<line x1=\"" + coord(L + w + 12) + "\" y1=\"" + coord(ly - 4) + "\" x2=\"" + coord(L + w + 34) +
         "\" y2=\"" + coord(ly - 4) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"/><text x=\"" +
         coord(L + w + 40) + "\" y=\"" + coord(ly) + "\">" + html_escape(curves[i].name) + " (" +
         fixed(curves[i].aopc, 3) + ")</text>";
  }
  s += "</svg>";
  return s;
}

}  // namespace bowlrp::apps
