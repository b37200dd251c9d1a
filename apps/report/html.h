// The pieces every HTML page of the report is built from (report.cpp, spray_report.cpp,
// compare_report.cpp, svg_plot.cpp): the shared style sheet, escaping, base64 for data URIs, numbers
// as fixed-point text in the C locale and the colours of data series.
#pragma once

#include <cstddef>
#include <string>

namespace bowlrp::apps {

/// The report's style sheet (shared by every page).
std::string report_css();
/// Fixed-point text of a number in the C locale ("n/a", "inf" for non-finite values).
std::string fixed(double v, int digits);
/// The colour of series i (cycles through ten).
std::string series_colour(std::size_t i);

/// Standard base64 (RFC 4648, padded) of bytes.
std::string base64(const std::string& bytes);
/// Text with &, <, >, " and ' escaped for HTML.
std::string html_escape(const std::string& text);

}  // namespace bowlrp::apps
