#include <bowlrp/core/option_schema.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace bowlrp::core {
namespace {

[[noreturn]] void bad(const std::string& what, const std::string& value, const std::string& expected) {
  throw std::invalid_argument(what + " " + quoted(value) + ": expected " + expected);
}

}  // namespace

std::string python_annotation(OptionType type, bool nullable) {
  std::string t;
  switch (type) {
    case OptionType::boolean: t = "bool"; break;
    case OptionType::integer: t = "int"; break;
    case OptionType::real: t = "float"; break;
    case OptionType::text:
    case OptionType::choice:
    case OptionType::pyramid:
    case OptionType::pooling: t = "str"; break;
    case OptionType::int_list: t = "Tuple[int, ...]"; break;
    case OptionType::real_list: t = "Tuple[float, ...]"; break;
    case OptionType::text_list: t = "List[str]"; break;
  }
  return nullable ? "Optional[" + t + "]" : t;
}

std::string record_value_text(const OptionInfo& option, const std::string& text) {
  auto digits = [](double v) {  // %.17g, as the digests have always been written
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return std::string(buf);
  };
  const std::string& what = option.key;
  switch (option.type) {
    case OptionType::boolean: return parse_bool(text, what) ? "1" : "0";
    case OptionType::real: return digits(parse_real(text, what));
    case OptionType::pooling: return digits(parse_pooling(text, what));
    case OptionType::real_list: {
      std::string t;
      for (double v : parse_real_list(text, what)) t += digits(v) + ",";
      return t;
    }
    case OptionType::int_list:
    case OptionType::pyramid:
    case OptionType::text_list: {
      std::string t;
      if (text != "none" || option.type != OptionType::int_list)
        for (const std::string& item : split_csv(text)) t += item + ",";
      return t;
    }
    case OptionType::integer:
    case OptionType::text:
    case OptionType::choice: return text;
  }
  return text;
}

std::string OptionRange::describe() const {
  if (min && max && !min_exclusive && !max_exclusive) return format_real(*min) + " .. " + format_real(*max);
  if (min && max)
    return std::string(min_exclusive ? "(" : "[") + format_real(*min) + ", " + format_real(*max) + (max_exclusive ? ")" : "]");
  if (min) return (min_exclusive ? "> " : ">= ") + format_real(*min);
  if (max) return (max_exclusive ? "< " : "<= ") + format_real(*max);
  return "";
}

bool OptionRange::contains(double v) const {
  if (std::isnan(v)) return false;
  if (min && (min_exclusive ? !(v > *min) : !(v >= *min))) return false;
  if (max && (max_exclusive ? !(v < *max) : !(v <= *max))) return false;
  return true;
}

std::string format_bool(bool v) { return v ? "true" : "false"; }

bool parse_bool(const std::string& text, const std::string& what) {
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  bad(what, text, "true or false");
}

std::string format_real(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // The shortest of %.15g, %.16g, %.17g that reads back as v (0.005, not 0.0050000000000000001).
  char buf[40];
  for (int digits = 15; digits < 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (std::strtod(buf, nullptr) == v) return buf;
  }
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

long long parse_integer(const std::string& text, const std::string& what, long long lo, long long hi) {
  const std::string expected = "a whole number";
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) bad(what, text, expected);
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) bad(what, text, expected);
  if (errno == ERANGE || v < lo || v > hi)
    bad(what, text, "a whole number in " + std::to_string(lo) + " .. " + std::to_string(hi));
  return v;
}

unsigned long long parse_unsigned(const std::string& text, const std::string& what) {
  const std::string expected = "a whole number >= 0";
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) bad(what, text, expected);
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text.c_str(), &end, 10);
  if (end != text.c_str() + text.size()) bad(what, text, expected);
  if (errno == ERANGE) bad(what, text, "a whole number in 0 .. 18446744073709551615");
  return v;
}

double parse_real(const std::string& text, const std::string& what) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) bad(what, text, "a number");
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size()) bad(what, text, "a number");
  return v;
}

std::vector<std::string> split_items(const std::string& text, const std::string& what) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = text.find(',', begin);
    out.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (out.back().empty()) bad(what, text, "items separated by commas, none of them empty");
    if (end == std::string::npos) return out;
    begin = end + 1;
  }
}

std::vector<double> parse_real_list(const std::string& text, const std::string& what) {
  std::vector<double> out;
  if (text == "none") return out;
  for (const std::string& item : split_items(text, what)) {
    try {
      out.push_back(parse_real(item, what));
    } catch (const std::invalid_argument&) {
      bad(what, text, "numbers separated by commas, or none");
    }
  }
  return out;
}

std::string format_real_list(const std::vector<double>& values) {
  if (values.empty()) return "none";
  std::string s;
  for (double v : values) s += (s.empty() ? "" : ",") + format_real(v);
  return s;
}

void check_range(double v, const OptionRange& range, const std::string& what, const std::string& text) {
  if (range.contains(v)) return;
  const std::string r = range.describe();
  bad(what, text, r.empty() ? "a number" : "a value " + r);
}

namespace detail {

void refuse_unset(const std::string& what) {
  throw std::invalid_argument(what + ": expected a value (this option cannot be left unset)");
}

void refuse_list(const std::string& what, const std::string& text, const OptionRange& range, bool allow_empty) {
  const std::string r = range.describe();
  bad(what, text, "whole numbers" + (r.empty() ? std::string() : " " + r) + " separated by commas" +
                      (allow_empty ? ", or none" : "") + ", e.g. 4,6,8");
}

}  // namespace detail
}  // namespace bowlrp::core
