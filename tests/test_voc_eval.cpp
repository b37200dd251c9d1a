// Evaluation: VOC average precision and results files, pixel flipping / AOPC (full and incremental
// paths), localisation scores, and (when the CLI library is built) the HTML / JSON report.
#include "test_util.h"

#include <bowlrp/core/io.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/evaluation/localisation.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/svm/svm.h>

#ifdef BOWLRP_CLI
#include "report/report.h"
#endif

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace bd = bowlrp::datasets;
namespace dc = bowlrp::decompose;
namespace bb = bowlrp::bow;

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

// ---------------------------------------------------------------------------------------------
// Pixel flipping

BOOST_AUTO_TEST_CASE(region_grid_and_aggregation) {
  const bowlrp::evaluation::RegionGrid g(20, 13, 9);  // 3 x 2 regions, the last ones clipped
  BOOST_CHECK_EQUAL(g.cols(), 3);
  BOOST_CHECK_EQUAL(g.rows(), 2);
  long long area = 0;
  for (int r = 0; r < g.size(); ++r) area += g.box(r).area();
  BOOST_CHECK_EQUAL(area, 20 * 13);
  BOOST_CHECK_EQUAL(g.box(5).x0, 18);
  BOOST_CHECK_EQUAL(g.box(5).x1, 20);
  BOOST_CHECK_EQUAL(g.box(5).y1, 13);
  // A map at twice the working resolution (original px): naive sum over map pixels.
  const int W = 40, H = 26;
  std::vector<double> R(W * H);
  std::mt19937 rng(3);
  for (double& v : R) v = static_cast<double>(rng() % 1000) / 100.0 - 5.0;
  const auto sums = g.aggregate(R.data(), W, H);
  std::vector<double> ref(g.size(), 0.0);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) ref[(y / 2) / 9 * 3 + (x / 2) / 9] += R[y * W + x];
  for (int r = 0; r < g.size(); ++r) BOOST_CHECK_CLOSE(sums[r] + 100, ref[r] + 100, 1e-10);
  BOOST_CHECK_THROW(bowlrp::evaluation::RegionGrid(0, 5, 9), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(orders_and_noise) {
  const auto o = bowlrp::evaluation::relevance_order({1.0, 3.0, 3.0, -1.0, 2.0});
  const std::vector<int> expect{1, 2, 4, 0, 3};
  BOOST_CHECK_EQUAL_COLLECTIONS(o.begin(), o.end(), expect.begin(), expect.end());
  const auto a = bowlrp::evaluation::random_order(100, 5), b = bowlrp::evaluation::random_order(100, 5), c = bowlrp::evaluation::random_order(100, 6);
  BOOST_CHECK(a == b);
  BOOST_CHECK(a != c);
  BOOST_CHECK_EQUAL(std::set<int>(a.begin(), a.end()).size(), 100u);
  BOOST_CHECK_EQUAL(*std::min_element(a.begin(), a.end()), 0);
  BOOST_CHECK_EQUAL(*std::max_element(a.begin(), a.end()), 99);
  const auto n1 = bowlrp::evaluation::flip_noise(50, 40, 1), n2 = bowlrp::evaluation::flip_noise(50, 40, 1);
  BOOST_CHECK(n1 == n2);
  double mean = 0;
  for (float v : n1) {
    BOOST_CHECK(v >= 0.0f && v < 1.0f);
    mean += v;
  }
  mean /= n1.size();
  BOOST_CHECK_CLOSE(mean, 0.5, 4.0);  // 2000 uniform values: sd of the mean ~ 0.0065
  BOOST_CHECK(bowlrp::evaluation::flip_noise(50, 40, 2) != n1);
  bowlrp::evaluation::PixelFlipOptions bad;
  bad.region_size = 0;
  BOOST_CHECK_THROW(bad.validate(), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(aopc_toy_classifier_closed_form) {
  // Image of ones; f = fraction of pixels of A still exactly 1 (noise is < 1). A = m whole regions,
  // relevance 1 on A and 0 elsewhere, so MoRF flips A first: f(x^k) = 1 - min(k, m)/m and
  //   AOPC = 1/(L+1) sum_k min(k, m)/m = ((m+1)/2 + L - m) / (L+1).
  const int W = 27, H = 18, S = 3;
  bb::GrayImage img;
  img.width = img.original_width = W;
  img.height = img.original_height = H;
  img.pixels.assign(W * H, 1.0f);
  const bowlrp::evaluation::RegionGrid grid(W, H, S);
  const std::vector<int> A{4, 10, 11, 40};
  std::vector<unsigned char> in_a(W * H, 0);
  for (int r : A) {
    const auto b = grid.box(r);
    for (int y = b.y0; y < b.y1; ++y)
      for (int x = b.x0; x < b.x1; ++x) in_a[y * W + x] = 1;
  }
  const double area = static_cast<double>(std::count(in_a.begin(), in_a.end(), 1));
  const bowlrp::evaluation::ImageScore f = [&](const bb::GrayImage& x) {
    double n = 0;
    for (int i = 0; i < W * H; ++i) n += in_a[i] && x.pixels[i] == 1.0f;
    return n / area;
  };
  // Relevance given at twice the resolution, as an original-size map would be.
  std::vector<double> R(4 * W * H, 0.0);
  for (int y = 0; y < 2 * H; ++y)
    for (int x = 0; x < 2 * W; ++x) R[y * 2 * W + x] = in_a[(y / 2) * W + x / 2];
  bowlrp::evaluation::PixelFlipOptions o;
  o.region_size = S;
  o.steps = 10;
  o.random_orders = 4;
  const auto curves = bowlrp::evaluation::pixel_flip(f, img, {{"lrp", 2 * W, 2 * H, R.data()}}, o);
  const auto& lrp = curves.at("lrp");
  BOOST_REQUIRE_EQUAL(lrp.size(), 11u);
  const double m = A.size(), L = o.steps;
  for (int k = 0; k <= 10; ++k) BOOST_CHECK_CLOSE(lrp[k] + 1, 2 - std::min<double>(k, m) / m, 1e-12);
  BOOST_CHECK_CLOSE(bowlrp::evaluation::aopc(lrp), ((m + 1) / 2 + L - m) / (L + 1), 1e-12);
  // Random orders rarely hit A (4 of 54 regions): far smaller AOPC.
  BOOST_CHECK_LT(bowlrp::evaluation::aopc(curves.at("random")), 0.5 * bowlrp::evaluation::aopc(lrp));
  // More steps than regions: the curve stays at its last value.
  o.steps = 70;
  const auto all = bowlrp::evaluation::flip_curve(img, bowlrp::evaluation::relevance_order(grid.aggregate(R.data(), 2 * W, 2 * H)), o, f);
  BOOST_CHECK_EQUAL(all.size(), 71u);
  BOOST_CHECK_EQUAL(all[54], 0.0);
  BOOST_CHECK_EQUAL(all[70], 0.0);
  BOOST_CHECK_THROW(bowlrp::evaluation::flip_curve(img, {54}, o, f), std::invalid_argument);
  BOOST_CHECK_THROW(bowlrp::evaluation::pixel_flip(f, img, {{"random", W, H, R.data()}}, o), std::invalid_argument);
  BOOST_CHECK_THROW(bowlrp::evaluation::aopc({}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(flip_summary_means) {
  bowlrp::evaluation::FlipSummary s;
  s.add({{"lrp", {1.0, 0.0, -1.0}}, {"random", {1.0, 1.0, 0.0}}});
  s.add({{"lrp", {3.0, 2.0, 2.0}}, {"random", {3.0, 3.0, 3.0}}});
  const auto m = s.mean_curve("lrp");
  BOOST_CHECK_EQUAL(m[0], 2.0);
  BOOST_CHECK_EQUAL(m[2], 0.5);
  BOOST_CHECK_EQUAL(s.count("lrp"), 2u);
  // AOPC of the mean curve = mean of per-image AOPCs.
  BOOST_CHECK_CLOSE(s.aopc("lrp"), 0.5 * (bowlrp::evaluation::aopc({1.0, 0.0, -1.0}) + bowlrp::evaluation::aopc({3.0, 2.0, 2.0})), 1e-12);
  BOOST_CHECK_THROW(s.add({{"lrp", {1.0}}}), std::invalid_argument);
  BOOST_CHECK_THROW(s.mean_curve("sensitivity"), std::invalid_argument);
}

namespace {

// A small pipeline (K random words drawn from the image's own descriptors) and a one-class SVM
// built directly, enough to make the score depend on every histogram entry.
struct SmallModel {
  bb::GrayImage image;
  std::shared_ptr<const bb::Pipeline> pipeline;
  bowlrp::svm::KernelSvm model;
  std::shared_ptr<const bowlrp::svm::KernelSvm> shared() const { return std::make_shared<const bowlrp::svm::KernelSvm>(model); }
  bb::EncodeTrace trace;
};

SmallModel small_model(const bb::GrayImage& image, bb::PipelineOptions options, int K, std::uint64_t seed) {
  SmallModel m;
  m.image = image;
  const bb::DenseSift sift(options.dsift);
  const bb::FeatureTrace ft = sift.extract(image);
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::vector<float> centres;
  for (int k = 0; k < K; ++k) {
    const std::size_t l = rng() % ft.size();
    centres.insert(centres.end(), ft.descriptor(l), ft.descriptor(l) + 128);
  }
  m.pipeline = std::make_shared<const bb::Pipeline>(options, bb::Codebook(128, centres));
  const std::size_t V = m.pipeline->dimension();
  std::vector<double> support(4 * V);
  std::uniform_real_distribution<double> u(0.0, 2.0 / V);
  for (double& v : support) v = u(rng);
  bowlrp::svm::BinarySvm cls{"thing", 0.1, {1.0, -0.7, 0.4, -0.2}};
  bowlrp::svm::Kernel kernel;
  kernel.type = bowlrp::svm::KernelType::intersection;
  m.model = bowlrp::svm::KernelSvm(kernel, V, support, {cls});
  m.trace = m.pipeline->encode(image);
  return m;
}

void check_incremental_equals_full(const SmallModel& m, const bowlrp::evaluation::PixelFlipOptions& o) {
  const bowlrp::evaluation::IncrementalFlipper flipper(m.pipeline, m.shared(), 0);
  const bowlrp::evaluation::ImageScore full = [&](const bb::GrayImage& x) {
    const auto t = m.pipeline->encode(x);
    return m.model.decision(0, t.histogram().data());
  };
  const bowlrp::evaluation::RegionGrid grid(m.image.width, m.image.height, o.region_size);
  // Relevance: a blob in the middle of the original image, so that MoRF flips neighbouring regions.
  const int W = m.image.original_width, H = m.image.original_height;
  std::vector<double> R(static_cast<std::size_t>(W) * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) R[y * W + x] = -std::hypot(x - 0.5 * W, y - 0.4 * H);
  const auto inc = bowlrp::evaluation::pixel_flip(flipper, m.image, m.trace, {{"lrp", W, H, R.data()}}, o);
  const auto ref = bowlrp::evaluation::pixel_flip(full, m.image, {{"lrp", W, H, R.data()}}, o);
  for (const char* name : {"lrp", "random"}) {
    const auto& a = inc.at(name);
    const auto& b = ref.at(name);
    BOOST_REQUIRE_EQUAL(a.size(), b.size());
    std::size_t changed = 0;
    for (std::size_t k = 0; k < a.size(); ++k) {
      BOOST_CHECK_EQUAL(a[k], b[k]);  // bit-identical
      changed += a[k] != a[0];
    }
    BOOST_CHECK_GT(changed, a.size() / 2);  // the perturbation does move the score
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(incremental_equals_full_reextraction_voc) {
  if (!bowlrp::test::have_voc()) return;
  bb::PipelineOptions opt;
  opt.image.max_side = 160;  // resized: exercises the working <-> original mapping
  opt.mapping.kind = bb::MappingKind::soft;
  opt.pooling.pyramid = {{1, 1}, {2, 2}};
  const bb::ImageLoader loader(opt.image);
  const bb::GrayImage img = loader.load(bowlrp::test::voc_root() + "/JPEGImages/000005.jpg");
  BOOST_REQUIRE(img.width != img.original_width);
  const SmallModel m = small_model(img, opt, 24, 11);
  bowlrp::evaluation::PixelFlipOptions o;
  o.steps = 25;
  o.random_orders = 2;
  o.seed = 9;
  check_incremental_equals_full(m, o);
  // Hard mapping, several regions per step, odd region size.
  opt.mapping.kind = bb::MappingKind::hard;
  opt.pooling.p = 2.0;
  const SmallModel h = small_model(img, opt, 16, 12);
  o.regions_per_step = 3;
  o.region_size = 7;
  o.steps = 12;
  check_incremental_equals_full(h, o);
}

BOOST_AUTO_TEST_CASE(incremental_rejects_foreign_trace) {
  std::vector<float> px(64 * 48);
  std::mt19937 rng(1);
  for (float& v : px) v = static_cast<float>(rng() % 256) / 255.0f;
  bb::PipelineOptions opt;
  const bb::ImageLoader loader(opt.image);
  const bb::GrayImage img = loader.from_gray(px.data(), 64, 48);
  const SmallModel m = small_model(img, opt, 8, 3);
  const bowlrp::evaluation::IncrementalFlipper flipper(m.pipeline, m.shared(), 0);
  const bb::GrayImage other = loader.from_gray(px.data(), 48, 64);
  BOOST_CHECK_THROW(flipper.flip_curve(other, m.trace, {0}, {}), std::invalid_argument);
  BOOST_CHECK_THROW(bowlrp::evaluation::IncrementalFlipper(m.pipeline, m.shared(), 1), std::invalid_argument);
  // In-memory image without resizing: incremental = full as well.
  bowlrp::evaluation::PixelFlipOptions o;
  o.steps = 15;
  o.random_orders = 1;
  check_incremental_equals_full(m, o);
}

// ---------------------------------------------------------------------------------------------
// Localisation

BOOST_AUTO_TEST_CASE(localisation_shares_by_hand) {
  const int W = 10, H = 10;
  std::vector<double> R(W * H, -1.0);
  const bb::Box box = bowlrp::evaluation::voc_box_to_pixels(3, 3, 5, 5);  // 1-based inclusive -> [2, 5)
  BOOST_CHECK_EQUAL(box.x0, 2);
  BOOST_CHECK_EQUAL(box.x1, 5);
  BOOST_CHECK_EQUAL(box.area(), 9);
  for (int y = 2; y < 5; ++y)
    for (int x = 2; x < 5; ++x) R[y * W + x] = 1.0;
  R[9 * W + 9] = 1.0;  // one positive pixel outside
  bowlrp::evaluation::RegionMask mask = bowlrp::evaluation::mask_from_boxes(W, H, {box, bb::Box{8, 8, 20, 20}});  // second box clipped
  BOOST_CHECK_EQUAL(std::count(mask.values.begin(), mask.values.end(), 1), 9 + 4);
  mask = bowlrp::evaluation::mask_from_boxes(W, H, {box});
  bowlrp::evaluation::LocalisationOptions o;
  o.sigma = 0;
  bowlrp::evaluation::Localisation l = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK_CLOSE(l.relevance_share, 0.9, 1e-12);
  BOOST_CHECK_CLOSE(l.area_share, 0.09, 1e-12);
  BOOST_CHECK_EQUAL(l.positive_total, 10.0);
  BOOST_CHECK(l.pointing_hit);  // the first maximum (row-major) is (2, 2)
  BOOST_CHECK_EQUAL(l.point_x, 2);
  BOOST_CHECK_EQUAL(l.point_y, 2);
  // Void pixels leave every sum: voiding the outside positive pixel gives share 1, area 9/99.
  mask.values[9 * W + 9] = 255;
  l = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK_EQUAL(l.relevance_share, 1.0);
  BOOST_CHECK_CLOSE(l.area_share, 9.0 / 99.0, 1e-12);
  // No positive relevance: share undefined.
  std::vector<double> neg(W * H, -1.0);
  neg[0] = -0.5;
  l = bowlrp::evaluation::localise(neg.data(), W, H, mask, o);
  BOOST_CHECK(!l.share_defined());
  BOOST_CHECK(l.pointing_defined);
  BOOST_CHECK_THROW(bowlrp::evaluation::localise(R.data(), W, H - 1, mask, o), std::invalid_argument);
  // Class masks from VOC palette labels.
  std::vector<unsigned char> labels{0, 8, 8, 255, 12, 8};
  const auto cm = bowlrp::evaluation::mask_from_labels(3, 2, labels.data(), 8);
  const std::vector<unsigned char> expect{0, 1, 1, 255, 0, 1};
  BOOST_CHECK(cm.values == expect);
}

BOOST_AUTO_TEST_CASE(pointing_game_tolerance_and_smoothing) {
  const int W = 80, H = 60;
  const bowlrp::evaluation::RegionMask mask = bowlrp::evaluation::mask_from_boxes(W, H, {bb::Box{50, 10, 60, 20}});
  bowlrp::evaluation::LocalisationOptions o;
  o.sigma = 0;
  o.tolerance = 15;
  std::vector<double> R(W * H, 0.0);
  R[15 * W + 35] = 1.0;  // nearest box pixel (50, 15): distance 15 -> hit
  BOOST_CHECK(bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  R.assign(W * H, 0.0);
  R[15 * W + 34] = 1.0;  // distance 16 -> miss
  BOOST_CHECK(!bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  o.tolerance = 16;
  BOOST_CHECK(bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  // Smoothing: a lone spike far away loses to a broad blob on the object.
  o.tolerance = 0;
  R.assign(W * H, 0.0);
  R[50 * W + 5] = 3.0;
  for (int y = 10; y < 20; ++y)
    for (int x = 50; x < 60; ++x) R[y * W + x] = 1.0;
  BOOST_CHECK(!bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  o.sigma = 3;
  const auto l = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK(l.pointing_hit);
  BOOST_CHECK(l.point_x >= 50 && l.point_x < 60 && l.point_y >= 10 && l.point_y < 20);
  // Constant map: undefined, a miss.
  R.assign(W * H, 0.25);
  const auto c = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK(!c.pointing_defined);
  BOOST_CHECK(!c.pointing_hit);
  o.tolerance = -1;
  BOOST_CHECK_THROW(o.validate(), std::invalid_argument);
  // Summary.
  bowlrp::evaluation::Localisation a, b;
  a.relevance_share = 0.8;
  a.area_share = 0.2;
  a.positive_total = 1;
  a.pointing_hit = true;
  b.positive_total = 0;
  const auto s = bowlrp::evaluation::summarise({a, b});
  BOOST_CHECK_EQUAL(s.images, 2u);
  BOOST_CHECK_EQUAL(s.share_images, 1u);
  BOOST_CHECK_CLOSE(s.mean_relevance_share, 0.8, 1e-12);
  BOOST_CHECK_CLOSE(s.pointing_accuracy, 0.5, 1e-12);
}

BOOST_AUTO_TEST_CASE(localisation_on_voc_class_mask) {
  if (!bowlrp::test::have_voc()) return;
  const std::string root = bowlrp::test::voc_root();
  const auto ids = bd::voc_segmentation_ids(root, "val");
  BOOST_REQUIRE(!ids.empty());
  const bd::ClassMask cm = bd::load_voc_class_mask(root, ids[0]);
  const bd::VocAnnotation ann = bd::load_voc_annotation(root, ids[0]);
  BOOST_REQUIRE(!ann.objects.empty());
  const std::string& cls = ann.objects[0].name;
  const auto& names = bd::voc_classes();
  const auto label = static_cast<unsigned char>(std::find(names.begin(), names.end(), cls) - names.begin() + 1);
  const bowlrp::evaluation::RegionMask mask = bowlrp::evaluation::mask_from_labels(cm.width, cm.height, cm.labels.data(), label);
  BOOST_REQUIRE_GT(std::count(mask.values.begin(), mask.values.end(), 1), 0);
  // A map equal to the class mask puts all positive relevance on the object.
  std::vector<double> R(mask.values.size());
  for (std::size_t i = 0; i < R.size(); ++i) R[i] = mask.values[i] == 1 ? 1.0 : 0.0;
  const bowlrp::evaluation::Localisation l = bowlrp::evaluation::localise(R.data(), cm.width, cm.height, mask);
  BOOST_CHECK_CLOSE(l.relevance_share, 1.0, 1e-12);
  BOOST_CHECK(l.pointing_hit);
  // Boxes of that class cover the mask's object pixels (mask inside the union of boxes, up to
  // the box rebuild's 1 px rounding).
  std::vector<bb::Box> boxes;
  for (const auto& o : ann.objects)
    if (o.name == cls) boxes.push_back(bowlrp::evaluation::voc_box_to_pixels(o.xmin, o.ymin, o.xmax, o.ymax));
  const bowlrp::evaluation::RegionMask bm = bowlrp::evaluation::mask_from_boxes(cm.width, cm.height, boxes);
  const bowlrp::evaluation::Localisation lb = bowlrp::evaluation::localise(R.data(), cm.width, cm.height, bm);
  BOOST_CHECK_GT(lb.relevance_share, 0.97);
  BOOST_CHECK_GE(lb.area_share, l.area_share);
}

// ---------------------------------------------------------------------------------------------
// Report (needs the CLI's internal library)
#ifdef BOWLRP_CLI

BOOST_AUTO_TEST_CASE(report_json_and_html) {
  namespace ap = bowlrp::apps;
  BOOST_CHECK_EQUAL(ap::base64(""), "");
  BOOST_CHECK_EQUAL(ap::base64("f"), "Zg==");
  BOOST_CHECK_EQUAL(ap::base64("fo"), "Zm8=");
  BOOST_CHECK_EQUAL(ap::base64("foo"), "Zm9v");
  BOOST_CHECK_EQUAL(ap::base64("foobar"), "Zm9vYmFy");
  BOOST_CHECK_EQUAL(ap::base64(std::string("\xff\x00\x10", 3)), "/wAQ");
  BOOST_CHECK_EQUAL(ap::html_escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");

  ap::ReportData d;
  d.title = "test <report>";
  d.settings = {{"codebook", "1024 words"}};
  d.classes.push_back(ap::report_class("cat", {0.9, 0.8, 0.7, 0.6}, {1, -1, 1, -1}));
  d.classes.push_back(ap::report_class("dog", {0.9, 0.1}, {1, -1}));
  BOOST_CHECK_CLOSE(d.classes[0].ap, 28.0 / 33.0, 1e-12);
  BOOST_CHECK_CLOSE(d.classes[0].ap_area, 5.0 / 6.0, 1e-12);
  BOOST_CHECK_EQUAL(d.classes[0].recall.size(), 4u);
  bowlrp::evaluation::FlipSummary fs;
  fs.add({{"random", {1.0, 0.9, 0.8}}, {"lrp", {1.0, 0.5, 0.0}}, {"occlusion", {1.0, 0.7, 0.4}}});
  d.flipping = ap::report_curves(fs);
  BOOST_REQUIRE_EQUAL(d.flipping.size(), 3u);
  BOOST_CHECK_EQUAL(d.flipping.front().name, "lrp");
  BOOST_CHECK_EQUAL(d.flipping.back().name, "random");
  BOOST_CHECK_CLOSE(d.flipping.front().aopc, 0.5, 1e-12);
  bowlrp::evaluation::LocalisationSummary ls;
  ls.images = 4;
  ls.mean_relevance_share = 0.6;
  ls.pointing_accuracy = 0.75;
  d.localisation = ap::report_localisation("box", ls);
  ap::ReportGalleryItem g;
  g.group = "top-scoring";
  g.id = "000005";
  g.class_name = "cat";
  g.score = 1.5;
  g.label = 1;
  g.heatmap.bytes = "foo";
  d.gallery.push_back(g);
  d.timings.push_back({"encode", 2.5, 10});

  const nlohmann::json j = ap::report_json(d);
  BOOST_CHECK_EQUAL(j.at("ap_definition").get<std::string>(), "voc07-11pt");
  BOOST_CHECK_CLOSE(j.at("ap").at("cat").get<double>(), 28.0 / 33.0, 1e-12);
  BOOST_CHECK_CLOSE(j.at("ap_area").at("cat").get<double>(), 5.0 / 6.0, 1e-12);
  BOOST_CHECK_CLOSE(j.at("map").get<double>(), (28.0 / 33.0 + 1.0) / 2, 1e-12);
  BOOST_CHECK_CLOSE(j.at("aopc").at("lrp").get<double>(), 0.5, 1e-12);
  BOOST_CHECK(j.at("aopc").contains("random"));
  BOOST_CHECK_CLOSE(j.at("localisation").at("box_pointing").get<double>(), 0.75, 1e-12);
  BOOST_CHECK_EQUAL(j.at("timings").at("encode").get<double>(), 2.5);
  BOOST_CHECK(ap::report_json(ap::ReportData{}).at("map").is_null());

  const std::string html = ap::report_html(d);
  BOOST_CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  BOOST_CHECK(html.find("<script") == std::string::npos);
  BOOST_CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // no other link
  BOOST_CHECK(html.find("test &lt;report&gt;") != std::string::npos);
  BOOST_CHECK(html.find("data:image/png;base64,Zm9v") != std::string::npos);
  BOOST_CHECK(html.find("<polyline") != std::string::npos);
  BOOST_CHECK(html.find("84.85") != std::string::npos);  // AP 28/33 in percent
  bowlrp::test::TempDir tmp;
  ap::write_report_html(tmp / "r/report.html", d);
  ap::write_report_json(tmp / "r/report.json", d);
  BOOST_CHECK_EQUAL(bowlrp::core::read_file(tmp / "r/report.html"), html);
  BOOST_CHECK(nlohmann::json::parse(bowlrp::core::read_file(tmp / "r/report.json")) == j);
}

#endif

BOOST_AUTO_TEST_SUITE_END()
