// Suite datasets/voc_eval: VOC average precision (datasets/voc_eval.h) against the devkit's VOCevalcls.m +
// VOCap.m written literally here (Matlab's colon, the 11-point and area definitions, ties, difficult
// items, no positives), and the devkit results files.
#include <bowlrp/core/io.h>
#include <bowlrp/datasets/voc_eval.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bd = bowlrp::datasets;

namespace {

// The devkit (VOCevalcls.m + VOCap.m) written literally: difficult items stay in the ranking with
// tp = fp = 0 increments, precision 0/0 = NaN is skipped by max as Matlab does, recall 0/0 = NaN
// fails every comparison. Thresholds are Matlab's 0:0.1:1, typed in from Matlab's output; the
// eleven p/11 are added in order.
void devkit_ap(const std::vector<double>& scores, const std::vector<int>& gt, double* ap07, double* ap_area) {
  std::vector<std::size_t> si(scores.size());
  std::iota(si.begin(), si.end(), 0);
  std::stable_sort(si.begin(), si.end(), [&](std::size_t a, std::size_t b) { return -scores[a] < -scores[b]; });
  double npos = 0;
  for (int g : gt) npos += g > 0;
  std::vector<double> rec(si.size()), prec(si.size());
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < si.size(); ++i) {
    tp += gt[si[i]] > 0;
    fp += gt[si[i]] < 0;
    rec[i] = tp / npos;
    prec[i] = tp / (fp + tp);
  }
  const double thresholds[11] = {0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  *ap07 = 0;
  for (const double t : thresholds) {
    double p = -1;
    for (std::size_t i = 0; i < rec.size(); ++i)
      if (rec[i] >= t && !std::isnan(prec[i])) p = std::max(p, prec[i]);
    *ap07 += (p < 0 ? 0.0 : p) / 11;
  }
  std::vector<double> mrec{0}, mpre{0};
  mrec.insert(mrec.end(), rec.begin(), rec.end());
  mpre.insert(mpre.end(), prec.begin(), prec.end());
  mrec.push_back(1);
  mpre.push_back(0);
  for (std::size_t i = mpre.size() - 1; i-- > 0;) {
    if (std::isnan(mpre[i])) mpre[i] = mpre[i + 1];  // Matlab's max(NaN, x) = x
    else mpre[i] = std::max(mpre[i], mpre[i + 1]);
  }
  *ap_area = 0;
  for (std::size_t i = 1; i < mrec.size(); ++i)
    if (mrec[i] != mrec[i - 1]) *ap_area += (mrec[i] - mrec[i - 1]) * mpre[i];
  if (npos == 0) *ap_area = 0;  // NaN recalls: the devkit's sum is over an empty or NaN set -> 0 by convention
}

// The devkit's AP of a perfect ranking: 1/11 added eleven times in order (1.0000000000000002).
double devkit_perfect_ap() {
  double ap = 0;
  for (int k = 0; k <= 10; ++k) ap = ap + 1.0 / 11;
  return ap;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(datasets)
BOOST_AUTO_TEST_SUITE(voc_eval)

BOOST_AUTO_TEST_CASE(matlab_colon_matches_matlab) {
  // Matlab prints these (0:0.1:1 and the classic 0:0.1:0.3 against 0:0.1:0.4 of "How does COLON
  // work?": x - y(1:end-1) = [0 0 -0.2776 -0.5551] * 1e-16).
  const std::vector<double> t = bd::matlab_colon(0.0, 0.1, 1.0);
  const std::vector<double> expected{0.0, 0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};
  BOOST_CHECK_EQUAL_COLLECTIONS(t.begin(), t.end(), expected.begin(), expected.end());
  BOOST_CHECK(t[3] != 0.3 && t[3] == 3 * 0.1);
  BOOST_CHECK(t[6] == 0.6 && t[6] != 6 * 0.1);
  const std::vector<double> x = bd::matlab_colon(0.0, 0.1, 0.3), y = bd::matlab_colon(0.0, 0.1, 0.4);
  BOOST_REQUIRE_EQUAL(x.size(), 4u);
  BOOST_REQUIRE_EQUAL(y.size(), 5u);
  BOOST_CHECK_EQUAL(x[3], 0.3);
  BOOST_CHECK_EQUAL(x[2] - y[2], 0.19999999999999998 - 0.2);
  BOOST_CHECK_EQUAL(x[3] - y[3], 0.3 - 0.30000000000000004);
  BOOST_CHECK_EQUAL(bd::matlab_colon(1.0, 1.0, 0.0).size(), 0u);
  BOOST_CHECK_EQUAL(bd::matlab_colon(0.0, 0.5, 0.5).size(), 2u);
}

BOOST_AUTO_TEST_CASE(ap07_recall_of_exactly_three_tenths_misses_the_devkit_threshold) {
  // Ten positives: three on top (recall 0.1 .. 0.3 at precision 1), one negative, then the other
  // seven (recall 0.4 .. 1 at precision 4/5 .. 10/11, increasing). The devkit's 4th threshold is
  // 0.30000000000000004 > 3/10, so it gets max precision 10/11 there, not 1:
  // AP = 1/11 + 1/11 + 1/11 + 8 times (10/11)/11, summed in that order.
  std::vector<double> s;
  std::vector<int> l;
  for (int i = 0; i < 3; ++i) { s.push_back(10 - i); l.push_back(1); }
  s.push_back(6); l.push_back(-1);
  for (int i = 0; i < 7; ++i) { s.push_back(5 - i); l.push_back(1); }
  double devkit = 0;
  for (int k = 0; k <= 10; ++k) devkit = devkit + (k < 3 ? 1.0 : 10.0 / 11) / 11;
  BOOST_CHECK_EQUAL(bd::voc07_ap(s, l), devkit);
  // Letting a recall of exactly 3/10 meet t = 0.3 would give 1 in the 4th term: 0.0083 more.
  BOOST_CHECK_GT((4 + 7 * 10.0 / 11) / 11 - bd::voc07_ap(s, l), 8e-3);
}

BOOST_AUTO_TEST_CASE(ap_perfect_ranking_is_one) {
  const std::vector<double> s{0.9, 0.8, 0.3, 0.1, -2};
  const std::vector<int> l{1, 1, -1, -1, -1};
  // The devkit adds 1/11 eleven times in order, which is not exactly 1.
  BOOST_CHECK_EQUAL(bd::voc07_ap(s, l), devkit_perfect_ap());
  BOOST_CHECK_EQUAL(bd::voc_area_ap(s, l), 1.0);
  // Inverted ranking: the positives come last.
  const std::vector<int> inv{-1, -1, -1, 1, 1};
  // (r, p) = (0, 0) x3, (1/2, 1/4), (1, 2/5): the envelope is 2/5 everywhere, so both APs are 0.4
  // (the raw precision 1/4 at recall 1/2 is lifted by the later 2/5).
  BOOST_CHECK_CLOSE(bd::voc07_ap(s, inv), 0.4, 1e-12);
  BOOST_CHECK_CLOSE(bd::voc_area_ap(s, inv), 0.4, 1e-12);
}

BOOST_AUTO_TEST_CASE(ap_four_items_by_hand) {
  // Ranking +, -, +, -: (r, p) = (1/2, 1), (1/2, 1/2), (1, 2/3), (1, 1/2).
  const std::vector<double> s{0.9, 0.8, 0.7, 0.6};
  const std::vector<int> l{1, -1, 1, -1};
  // 11-point: t = 0 .. 0.5 -> 1 (six thresholds), t = 0.6 .. 1 -> 2/3 (five): (6 + 10/3) / 11 = 28/33.
  BOOST_CHECK_CLOSE(bd::voc07_ap(s, l), 28.0 / 33.0, 1e-12);
  // Area: 1/2 * 1 + 1/2 * 2/3 = 5/6.
  BOOST_CHECK_CLOSE(bd::voc_area_ap(s, l), 5.0 / 6.0, 1e-12);
  // Shuffled input order, same scores: same ranking, same AP.
  BOOST_CHECK_CLOSE(bd::voc07_ap({0.6, 0.9, 0.7, 0.8}, {-1, 1, 1, -1}), 28.0 / 33.0, 1e-12);
}

BOOST_AUTO_TEST_CASE(ap_ties_follow_input_order) {
  // Equal scores: stable descending sort, so the earlier item ranks first (the devkit's order).
  BOOST_CHECK_CLOSE(bd::voc07_ap({0.5, 0.5}, {-1, 1}), 0.5, 1e-12);
  BOOST_CHECK_CLOSE(bd::voc_area_ap({0.5, 0.5}, {-1, 1}), 0.5, 1e-12);
  BOOST_CHECK_EQUAL(bd::voc07_ap({0.5, 0.5}, {1, -1}), devkit_perfect_ap());
  BOOST_CHECK_EQUAL(bd::voc_area_ap({0.5, 0.5}, {1, -1}), 1.0);
  const bd::PrCurve c = bd::precision_recall({0.2, 0.5, 0.5, 0.5}, {1, -1, 1, -1});
  // Ranked: item 1 (-), 2 (+), 3 (-), 0 (+).
  const std::vector<double> rec{0, 0.5, 0.5, 1}, prec{0, 0.5, 1.0 / 3, 0.5}, thr{0.5, 0.5, 0.5, 0.2};
  BOOST_CHECK_EQUAL_COLLECTIONS(c.recall.begin(), c.recall.end(), rec.begin(), rec.end());
  BOOST_CHECK_EQUAL_COLLECTIONS(c.threshold.begin(), c.threshold.end(), thr.begin(), thr.end());
  for (std::size_t i = 0; i < prec.size(); ++i) BOOST_CHECK_CLOSE(c.precision[i], prec[i], 1e-12);
}

BOOST_AUTO_TEST_CASE(ap_no_positives_and_all_difficult) {
  BOOST_CHECK_EQUAL(bd::voc07_ap({0.3, 0.2}, {-1, -1}), 0.0);
  BOOST_CHECK_EQUAL(bd::voc_area_ap({0.3, 0.2}, {-1, -1}), 0.0);
  BOOST_CHECK_EQUAL(bd::voc07_ap({0.3, 0.2}, {0, 0}), 0.0);
  BOOST_CHECK_EQUAL(bd::voc_area_ap({0.3, 0.2}, {0, 0}), 0.0);
  BOOST_CHECK_EQUAL(bd::voc07_ap({}, {}), 0.0);
  const bd::PrCurve c = bd::precision_recall({0.3, 0.2, 0.1}, {0, 0, -1});
  BOOST_CHECK_EQUAL(c.difficult, 2u);
  BOOST_CHECK_EQUAL(c.recall.size(), 1u);
  // Difficult items change nothing, wherever they rank.
  BOOST_CHECK_EQUAL(bd::voc07_ap({5, 0.9, 0.8, 0.7, 0.6, -5}, {0, 1, -1, 1, -1, 0}),
                    bd::voc07_ap({0.9, 0.8, 0.7, 0.6}, {1, -1, 1, -1}));
  BOOST_CHECK_EQUAL(bd::voc_area_ap({5, 0.9, 0.8, 0.7, 0.6, -5}, {0, 1, -1, 1, -1, 0}),
                    bd::voc_area_ap({0.9, 0.8, 0.7, 0.6}, {1, -1, 1, -1}));
  BOOST_CHECK_THROW(bd::voc07_ap({0.1}, {2}), std::invalid_argument);
  BOOST_CHECK_THROW(bd::voc07_ap({0.1, 0.2}, {1}), std::invalid_argument);
  BOOST_CHECK_THROW(bd::voc07_ap({std::nan("")}, {1}), std::invalid_argument);
  BOOST_CHECK_THROW(bd::mean_ap({}), std::invalid_argument);
  BOOST_CHECK_CLOSE(bd::mean_ap({0.5, 1.0}), 0.75, 1e-12);
}

BOOST_AUTO_TEST_CASE(ap_matches_devkit_reference_on_random_lists) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 1 + static_cast<int>(rng() % 60);
    std::vector<double> s(n);
    std::vector<int> l(n);
    for (int i = 0; i < n; ++i) {
      s[i] = static_cast<double>(rng() % 12) / 4.0 - 1.0;  // few distinct values: many ties
      const unsigned r = rng() % 10;
      l[i] = r < 3 ? 1 : r < 9 ? -1 : 0;
    }
    if (trial % 17 == 0) s[0] = -std::numeric_limits<double>::infinity();
    double ref07, refa;
    devkit_ap(s, l, &ref07, &refa);
    // Bit for bit, as the devkit.
    BOOST_CHECK_EQUAL(bd::voc07_ap(s, l), ref07);
    BOOST_CHECK_EQUAL(bd::voc_area_ap(s, l), refa);
  }
}

BOOST_AUTO_TEST_CASE(results_file_round_trip) {
  bowlrp::test::TempDir tmp;
  const std::vector<std::string> ids{"000005", "000007", "000009"};
  const std::vector<double> scores{0.1 + 0.2, -1e-300, -std::numeric_limits<double>::infinity()};
  BOOST_CHECK_EQUAL(bd::voc_results_filename("val", "cat"), "comp1_cls_val_cat.txt");
  const std::string path = bd::write_voc_results(tmp.path().string(), "val", "cat", ids, scores);
  BOOST_CHECK_EQUAL(std::filesystem::path(path).filename().string(), "comp1_cls_val_cat.txt");
  BOOST_CHECK_EQUAL(bowlrp::core::read_file(path).substr(0, 7), "000005 ");
  const auto back = bd::read_voc_results(path);
  BOOST_REQUIRE_EQUAL(back.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_CHECK_EQUAL(back[i].id, ids[i]);
    BOOST_CHECK_EQUAL(back[i].score, scores[i]);  // exact round trip
  }
  BOOST_CHECK_THROW(bd::write_voc_results(tmp.path().string(), "val", "cat", {"a b"}, {1.0}), std::invalid_argument);
  BOOST_CHECK_THROW(bd::write_voc_results(tmp.path().string(), "val", "cat", {"a"}, {}), std::invalid_argument);
  bowlrp::core::write_file_atomic(tmp / "bad.txt", "000005 0.5\n000007 zz\n");
  BOOST_CHECK_THROW(bd::read_voc_results(tmp / "bad.txt"), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
