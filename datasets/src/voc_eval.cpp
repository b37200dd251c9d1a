#include <bowlrp/datasets/voc_eval.h>

#include <bowlrp/core/io.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bowlrp::datasets {

PrCurve precision_recall(const std::vector<double>& scores, const std::vector<int>& labels) {
  if (scores.size() != labels.size()) {
    throw std::invalid_argument("precision_recall: " + std::to_string(scores.size()) + " scores but " +
                                std::to_string(labels.size()) + " labels; expected one label per score");
  }
  PrCurve curve;
  std::vector<std::size_t> order;
  order.reserve(scores.size());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (std::isnan(scores[i])) {
      throw std::invalid_argument("precision_recall: score " + std::to_string(i) + " is NaN; expected a number");
    }
    switch (labels[i]) {
      case 1: ++curve.positives; order.push_back(i); break;
      case -1: ++curve.negatives; order.push_back(i); break;
      case 0: ++curve.difficult; break;
      default:
        throw std::invalid_argument("precision_recall: label " + std::to_string(i) + " is " +
                                    std::to_string(labels[i]) + "; expected 1, -1 or 0 (difficult)");
    }
  }
  // Descending, ties in input order: the devkit's stable sort of -score.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  const std::size_t n = order.size();
  curve.recall.resize(n);
  curve.precision.resize(n);
  curve.threshold.resize(n);
  const double P = static_cast<double>(curve.positives);
  std::size_t tp = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[order[i]] == 1) ++tp;
    curve.recall[i] = curve.positives ? static_cast<double>(tp) / P : 0.0;
    curve.precision[i] = static_cast<double>(tp) / static_cast<double>(i + 1);
    curve.threshold[i] = scores[order[i]];
  }
  return curve;
}

std::vector<double> matlab_colon(double start, double step, double stop) {
  // Matlab's colon operator (its published colonop.m): the count is rounded, the last element
  // snaps to stop within 2 eps, the first half is start + k*step, the second half last - k*step,
  // and an even count puts the middle at (start + last) / 2. For 0:0.1:1 this gives
  // 0.30000000000000004 as the 4th value (3 * 0.1) but 0.7 exactly as the 8th (1 - 3 * 0.1).
  long long n = std::llround((stop - start) / step);
  const double tol = 2.0 * std::numeric_limits<double>::epsilon() * std::max(std::abs(start), std::abs(stop));
  const double sig = step < 0 ? -1.0 : 1.0;
  if (sig * (start + static_cast<double>(n) * step - stop) > tol) --n;
  if (n < 0) return {};
  double last = start + static_cast<double>(n) * step;
  if (sig * (last - stop) > -tol) last = stop;
  std::vector<double> out(static_cast<std::size_t>(n + 1));
  for (long long k = 0; k <= n / 2; ++k) {
    out[static_cast<std::size_t>(k)] = start + static_cast<double>(k) * step;
    out[static_cast<std::size_t>(n - k)] = last - static_cast<double>(k) * step;
  }
  if (n % 2 == 0) out[static_cast<std::size_t>(n / 2)] = (start + last) / 2.0;
  return out;
}

double voc07_ap(const PrCurve& curve) {
  if (curve.positives == 0) return 0.0;
  // VOCevalcls.m literally: for t = 0:0.1:1, p = max(prec(rec >= t)) (0 when empty), ap = ap + p/11.
  // The comparison is in doubles against Matlab's thresholds, so a recall of exactly 3/10 does not
  // meet t = 0.30000000000000004; and the 11 divisions are summed in order, so a perfect ranking
  // scores 1.0000000000000002, as the devkit does.
  static const std::vector<double> thresholds = matlab_colon(0.0, 0.1, 1.0);
  const std::size_t n = curve.recall.size();
  double ap = 0.0;
  for (const double t : thresholds) {
    double p = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (curve.recall[i] >= t) p = std::max(p, curve.precision[i]);
    }
    ap = ap + p / 11.0;
  }
  return ap;
}

double voc07_ap(const std::vector<double>& scores, const std::vector<int>& labels) {
  return voc07_ap(precision_recall(scores, labels));
}

double voc_area_ap(const PrCurve& curve) {
  if (curve.positives == 0) return 0.0;
  // The devkit's VOCap.m: mrec = [0; rec; 1], mpre = [0; prec; 0], envelope from the right, sum of
  // recall steps times envelope where recall changes, in that order.
  const std::size_t n = curve.recall.size();
  std::vector<double> mrec(n + 2), mpre(n + 2);
  mrec[0] = 0.0;
  mpre[0] = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    mrec[i + 1] = curve.recall[i];
    mpre[i + 1] = curve.precision[i];
  }
  mrec[n + 1] = 1.0;
  mpre[n + 1] = 0.0;
  for (std::size_t i = n + 1; i-- > 0;) mpre[i] = std::max(mpre[i], mpre[i + 1]);
  double ap = 0.0;
  for (std::size_t i = 1; i < n + 2; ++i) {
    if (mrec[i] != mrec[i - 1]) ap += (mrec[i] - mrec[i - 1]) * mpre[i];
  }
  return ap;
}

double voc_area_ap(const std::vector<double>& scores, const std::vector<int>& labels) {
  return voc_area_ap(precision_recall(scores, labels));
}

double mean_ap(const std::vector<double>& aps) {
  if (aps.empty()) throw std::invalid_argument("mean_ap: no AP given; expected one per class");
  double s = 0.0;
  for (double a : aps) s += a;
  return s / static_cast<double>(aps.size());
}

std::string voc_results_filename(const std::string& set, const std::string& class_name) {
  return "comp1_cls_" + set + "_" + class_name + ".txt";
}

std::string write_voc_results(const std::string& folder, const std::string& set, const std::string& class_name,
                              const std::vector<std::string>& ids, const std::vector<double>& scores) {
  const std::string path =
      (std::filesystem::u8path(folder) / voc_results_filename(set, class_name)).u8string();
  if (ids.size() != scores.size()) {
    throw std::invalid_argument("write_voc_results(" + path + "): " + std::to_string(ids.size()) + " ids but " +
                                std::to_string(scores.size()) + " scores; expected one score per id");
  }
  std::string out;
  out.reserve(ids.size() * 32);
  char buf[64];
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string& id = ids[i];
    if (id.empty() || id.find_first_of(" \t\r\n") != std::string::npos) {
      throw std::invalid_argument("write_voc_results(" + path + "): id '" + id +
                                  "' is empty or has white space; expected a VOC image id");
    }
    if (std::isnan(scores[i])) {
      throw std::invalid_argument("write_voc_results(" + path + "): score of '" + id + "' is NaN");
    }
    // Shortest text that reads back to the same double.
    const auto r = std::to_chars(buf, buf + sizeof buf, scores[i]);
    out += id;
    out += ' ';
    out.append(buf, r.ptr);
    out += '\n';
  }
  core::write_file_atomic(path, out);
  return path;
}

std::vector<VocResult> read_voc_results(const std::string& path) {
  const std::string text = core::read_file(path);
  std::vector<VocResult> results;
  std::size_t pos = 0, line = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line;
    std::string_view s(text.data() + pos, end - pos);
    pos = end + 1;
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    if (s.empty()) continue;
    const std::size_t sep = s.find_first_of(" \t");
    auto fail = [&]() {
      throw std::runtime_error("read_voc_results: " + path + " line " + std::to_string(line) + " is '" +
                               std::string(s) + "'; expected '<id> <score>'");
    };
    if (sep == std::string_view::npos) fail();
    std::string_view num = s.substr(sep);
    while (!num.empty() && (num.front() == ' ' || num.front() == '\t')) num.remove_prefix(1);
    VocResult r;
    r.id = std::string(s.substr(0, sep));
    const auto res = std::from_chars(num.data(), num.data() + num.size(), r.score);
    if (res.ec != std::errc() || res.ptr != num.data() + num.size() || std::isnan(r.score)) fail();
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace bowlrp::datasets
