#include <bowlrp/core/option_text.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace bowlrp::core {
namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& expected) {
  throw std::invalid_argument(flag + " " + quoted(value) + ": expected " + expected);
}

// Every item between separators, empty ones included ("4," is {"4", ""}; "" is {""}).
std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = text.find(sep, begin);
    out.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return out;
    begin = end + 1;
  }
}

int to_int(const std::string& s, const std::string& flag, const std::string& whole, const std::string& expected) {
  std::size_t pos = 0;
  int v = 0;
  try {
    v = std::stoi(s, &pos);
  } catch (const std::exception&) {
    bad(flag, whole, expected);
  }
  if (pos != s.size()) bad(flag, whole, expected);
  return v;
}

}  // namespace

std::string quoted(const std::string& value) {
  // Count code points (bytes that do not continue a UTF-8 sequence) and cut before the first one
  // past kQuotedLength, so that a multi-byte character is never split.
  std::size_t count = 0, cut = value.size();
  for (std::size_t i = 0; i < value.size(); ++i)
    if ((static_cast<unsigned char>(value[i]) & 0xC0) != 0x80) {
      if (count == kQuotedLength) cut = i;
      ++count;
    }
  if (count <= kQuotedLength) return "'" + value + "'";
  return "'" + value.substr(0, cut) + "\u2026' (" + std::to_string(count) + " characters)";
}

std::vector<std::string> split_csv(const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& item : split(text, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<PyramidLevel> parse_pyramid(const std::string& text, const std::string& what) {
  const std::string expected = "levels COLSxROWS separated by commas, e.g. 1x1,2x2 or 1x1,2x2,3x1";
  std::vector<PyramidLevel> out;
  if (text.empty()) bad(what, text, expected);
  for (const std::string& item : split(text, ',')) {
    const auto x = item.find('x');
    if (x == std::string::npos) bad(what, text, expected);
    PyramidLevel level;
    level.cols = to_int(item.substr(0, x), what, text, expected);
    level.rows = to_int(item.substr(x + 1), what, text, expected);
    if (level.cols <= 0 || level.rows <= 0) bad(what, text, expected);
    out.push_back(level);
  }
  if (out.empty()) bad(what, text, expected);
  return out;
}

double parse_pooling(const std::string& text, const std::string& what) {
  const std::string expected = "sum, max or pmean:P with P > 0 (e.g. pmean:2)";
  if (text == "sum") return 1.0;
  if (text == "max") return std::numeric_limits<double>::infinity();
  if (text.rfind("pmean:", 0) == 0) {
    std::size_t pos = 0;
    double p = 0;
    try {
      p = std::stod(text.substr(6), &pos);
    } catch (const std::exception&) {
      bad(what, text, expected);
    }
    if (pos != text.size() - 6 || !(p > 0) || !std::isfinite(p)) bad(what, text, expected);
    return p;
  }
  bad(what, text, expected);
}

std::string format_int_list(const std::vector<int>& values) {
  std::string s;
  for (int v : values) s += (s.empty() ? "" : ",") + std::to_string(v);
  return s;
}

std::string format_pyramid(const std::vector<PyramidLevel>& levels) {
  std::string s;
  for (const auto& l : levels) s += (s.empty() ? "" : ",") + std::to_string(l.cols) + "x" + std::to_string(l.rows);
  return s;
}

std::string format_pooling(double p) {
  if (p == 1.0) return "sum";
  if (std::isinf(p)) return "max";
  char buf[40];
  std::snprintf(buf, sizeof buf, "pmean:%.17g", p);
  return buf;
}

}  // namespace bowlrp::core
