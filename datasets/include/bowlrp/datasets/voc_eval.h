// PASCAL VOC classification scoring (the devkit's VOCevalcls.m), and its results files.
//
// Items are ranked by decreasing score. Ties keep the caller's order (a stable sort, as Matlab's
// sort(-out) in the devkit, whose order is that of the set's <class>_<set>.txt list): pass the
// items in image-set order to reproduce the devkit exactly. Over the ranking, with TP(i) and FP(i)
// the positives (label 1) and negatives (label -1) among the first i items and P the number of
// positives: recall(i) = TP(i) / P, precision(i) = TP(i) / (TP(i) + FP(i)). Difficult items
// (label 0) count neither as TP nor FP; the devkit keeps them in the ranking, where they only
// repeat the previous (recall, precision) pair (or 0/0 before the first scored item, which its max
// ignores), so dropping them gives the same AP to the last bit and is what is done here.
//   VOC2007 (11-point):  AP = sum_{t in 0:0.1:1} max{precision(i) : recall(i) >= t} / 11
//                        (max of an empty set = 0), evaluated as the devkit does, bit for bit:
//                        t are Matlab's colon values (the 4th is 0.30000000000000004, so a recall
//                        of exactly 3/10 does not reach it), recall(i) >= t compares doubles, and
//                        the eleven p/11 are added in order (a perfect ranking scores
//                        1.0000000000000002, as in the devkit)
//   VOC2010+ (area):     AP = sum_i (r_i - r_{i-1}) p~_i over the points where recall changes,
//                        p~_i = max_{j >= i} precision(j) (the monotone envelope), r_0 = 0
// With no positive item (P = 0) the devkit's recall is 0/0 = NaN, every comparison fails and its
// AP is 0; both functions return 0 in that case (documented, not an error), including a list that
// is entirely difficult. Scores may be -inf (the devkit's value for a missing result) but not NaN.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::datasets {

/// Precision-recall curve: one point per ranked non-difficult item.
struct PrCurve {
  std::vector<double> recall;     ///< TP(i) / P (0 when P = 0)
  std::vector<double> precision;  ///< TP(i) / (TP(i) + FP(i))
  std::vector<double> threshold;  ///< score of the i-th ranked item
  std::size_t positives = 0;      ///< P, items with label 1
  std::size_t negatives = 0;      ///< items with label -1
  std::size_t difficult = 0;      ///< items with label 0 (left out)
};

/// Ranks by decreasing score (stable: ties in input order) and returns the curve. Throws
/// std::invalid_argument for a size mismatch, a label outside {1, -1, 0}, or a NaN score.
PrCurve precision_recall(const std::vector<double>& scores, const std::vector<int>& labels);

/// Matlab's start:step:stop element for element (its colonop.m: first half start + k*step, second
/// half stop - k*step, an even count's middle (start + stop) / 2); the devkit's 0:0.1:1 thresholds.
std::vector<double> matlab_colon(double start, double step, double stop);

/// VOC2007 11-point interpolated AP of a curve.
double voc07_ap(const PrCurve& curve);
/// VOC2007 11-point interpolated AP (labels 1 / -1 / 0 = difficult, ignored); 0 with no positive.
double voc07_ap(const std::vector<double>& scores, const std::vector<int>& labels);

/// VOC2010+ AP of a curve: area under the monotone precision envelope.
double voc_area_ap(const PrCurve& curve);
/// VOC2010+ AP (labels 1 / -1 / 0 = difficult, ignored); 0 with no positive.
double voc_area_ap(const std::vector<double>& scores, const std::vector<int>& labels);

/// Mean of the values (the mAP of per-class APs); throws std::invalid_argument if empty.
double mean_ap(const std::vector<double>& aps);

/// File name of the devkit's classification results, "comp1_cls_<set>_<class>.txt" (competition
/// 1: trained on VOC data only).
std::string voc_results_filename(const std::string& set, const std::string& class_name);

/// Writes folder/comp1_cls_<set>_<class>.txt atomically: one "<id> <score>" line per image, in
/// the given order, scores printed to round-trip exactly (17 significant digits). Returns the path.
/// Throws std::invalid_argument for a size mismatch, an id with white space, or a NaN score.
std::string write_voc_results(const std::string& folder, const std::string& set, const std::string& class_name,
                              const std::vector<std::string>& ids, const std::vector<double>& scores);

/// One line of a results file.
struct VocResult {
  std::string id;      ///< image id
  double score = 0.0;  ///< confidence
};

/// Reads a results file ("<id> <score>" per line); throws std::runtime_error naming the file and
/// line for a malformed line.
std::vector<VocResult> read_voc_results(const std::string& path);

}  // namespace bowlrp::datasets
