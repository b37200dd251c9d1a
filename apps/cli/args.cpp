#include "cli/args.h"

#include <bowlrp/svm/kernel.h>

#include <cstdio>

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>

namespace bowlrp::apps {
namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& expected) {
  throw std::invalid_argument(flag + " '" + value + "': expected " + expected);
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
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

std::vector<std::string> split_csv(const std::string& text) {
  std::vector<std::string> out;
  for (const std::string& item : split(text, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int> out;
  for (const std::string& item : split(text, ',')) {
    const int v = to_int(item, flag, text, "a comma-separated list of positive integers, e.g. 4,6,8,10");
    if (v <= 0) bad(flag, text, "positive integers");
    out.push_back(v);
  }
  if (out.empty()) bad(flag, text, "at least one integer");
  return out;
}

std::vector<bow::PyramidLevel> parse_pyramid(const std::string& text) {
  const std::string expected = "levels COLSxROWS separated by commas, e.g. 1x1,2x2 or 1x1,2x2,3x1";
  std::vector<bow::PyramidLevel> out;
  for (const std::string& item : split(text, ',')) {
    const auto x = item.find('x');
    if (x == std::string::npos) bad("--pyramid", text, expected);
    bow::PyramidLevel level;
    level.cols = to_int(item.substr(0, x), "--pyramid", text, expected);
    level.rows = to_int(item.substr(x + 1), "--pyramid", text, expected);
    if (level.cols <= 0 || level.rows <= 0) bad("--pyramid", text, expected);
    out.push_back(level);
  }
  if (out.empty()) bad("--pyramid", text, expected);
  return out;
}

double parse_pooling(const std::string& text) {
  const std::string expected = "sum, max or pmean:P with P > 0 (e.g. pmean:2)";
  if (text == "sum") return 1.0;
  if (text == "max") return std::numeric_limits<double>::infinity();
  if (text.rfind("pmean:", 0) == 0) {
    std::size_t pos = 0;
    double p = 0;
    try {
      p = std::stod(text.substr(6), &pos);
    } catch (const std::exception&) {
      bad("--pooling", text, expected);
    }
    if (pos != text.size() - 6 || !(p > 0) || !std::isfinite(p)) bad("--pooling", text, expected);
    return p;
  }
  bad("--pooling", text, expected);
}

std::string format_int_list(const std::vector<int>& values) {
  std::string s;
  for (int v : values) s += (s.empty() ? "" : ",") + std::to_string(v);
  return s;
}

std::string format_pyramid(const std::vector<bow::PyramidLevel>& levels) {
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

PipelineArgs::PipelineArgs(const model::FitOptions& d)
    : fit(d),
      bin_sizes(format_int_list(d.pipeline.dsift.bin_sizes)),
      pyramid(format_pyramid(d.pipeline.pooling.pyramid)),
      pooling(format_pooling(d.pipeline.pooling.p)),
      mapping(bow::to_string(d.pipeline.mapping.kind)),
      normalisation(bow::to_string(d.pipeline.pooling.normalisation)),
      kernel(svm::to_string(d.kernel.type)),
      kmeans_algorithm(bow::to_string(d.pipeline.kmeans.algorithm)) {}

model::FitOptions PipelineArgs::fit_options() const {
  model::FitOptions o = fit;
  o.pipeline.dsift.bin_sizes = parse_int_list(bin_sizes, "--bin-sizes");
  o.pipeline.kmeans.algorithm = bow::kmeans_algorithm_from_string(kmeans_algorithm);
  o.pipeline.mapping.kind = bow::mapping_kind_from_string(mapping);
  o.pipeline.pooling.p = parse_pooling(pooling);
  o.pipeline.pooling.pyramid = parse_pyramid(pyramid);
  o.pipeline.pooling.normalisation = bow::normalisation_from_string(normalisation);
  o.kernel.type = svm::kernel_type_from_string(kernel);
  if (!(o.kernel.gamma >= 0) || !std::isfinite(o.kernel.gamma))
    bad("--gamma", std::to_string(o.kernel.gamma), "a value >= 0 (0 = 1 / mean pairwise distance)");
  if (!(o.svm.C > 0) || !std::isfinite(o.svm.C)) bad("--C", std::to_string(o.svm.C), "a positive number");
  o.pipeline.validate();
  o.validate();
  return o;
}

}  // namespace bowlrp::apps
