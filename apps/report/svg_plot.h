// The report's plots as inline SVG (no script, nothing fetched): a precision-recall panel per class
// and the mean pixel-flipping curves f(x^k) against the perturbation step k, one line per ordering.
// Data are mapped linearly into the plot box, px = x0 + (x - xlo) / (xhi - xlo) w and
// py = y0 + h - (y - ylo) / (yhi - ylo) h; coordinates are written with one decimal.
#pragma once

#include <string>
#include <vector>

namespace bowlrp::apps {

struct ReportClass;
struct ReportCurve;

/// The precision-recall panel of one class, titled with its AP (220 x 180 px).
std::string pr_svg(const ReportClass& c);
/// The mean pixel-flipping curves with their AOPC in the legend (680 x 340 px); empty when no curve has two points.
std::string flip_svg(const std::vector<ReportCurve>& curves);

}  // namespace bowlrp::apps
