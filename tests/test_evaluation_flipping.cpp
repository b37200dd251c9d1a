// Suite evaluation/flipping: pixel flipping / AOPC (evaluation/pixel_flipping.h): the region grid, orders
// and noise, a toy classifier in closed form (most and least relevant first), the summaries, the incremental flipper against full
// re-extraction (bit-identical, on VOC2007 and in memory), and the occlusion baseline against naive full
// re-runs.
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/evaluation/faithfulness_correlation.h>
#include <bowlrp/evaluation/map_metrics.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/svm/svm.h>

#include "bow_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace bb = bowlrp::bow;
using bowlrp::test::random_codebook;

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
  if (o.lerf) {
    // Faithfulness subsets: the incremental drops are the full re-runs' (bit for bit).
    bowlrp::evaluation::FaithfulnessOptions fo;
    fo.subsets = 4;
    fo.regions = 5;
    const auto di = bowlrp::evaluation::subset_drops(flipper, m.image, bb::Trace(m.trace), o, fo);
    const auto dr = bowlrp::evaluation::subset_drops(full, m.image, o, fo);
    BOOST_CHECK(di.subsets == dr.subsets);
    BOOST_CHECK(di.drops == dr.drops);
    // LeRF: regions by increasing summed relevance, ties by index, written out here; full re-runs.
    const std::vector<double> sums = grid.aggregate(R.data(), W, H);
    std::vector<int> order(sums.size());
    for (std::size_t r = 0; r < order.size(); ++r) order[r] = static_cast<int>(r);
    for (std::size_t i = 1; i < order.size(); ++i)  // insertion sort: stable
      for (std::size_t j = i; j > 0 && sums[order[j]] < sums[order[j - 1]]; --j) std::swap(order[j], order[j - 1]);
    const std::vector<double> naive = bowlrp::evaluation::flip_curve(m.image, order, o, full);
    const std::vector<double>& a = inc.at("lrp_lerf");
    BOOST_CHECK_EQUAL_COLLECTIONS(a.begin(), a.end(), naive.begin(), naive.end());
    BOOST_CHECK(ref.at("lrp_lerf") == naive);
  } else {
    BOOST_CHECK(!inc.count("lrp_lerf"));
  }
}

// The toy marker model on a 27 x 18 image of ones with 3 px regions (54 regions): f = share of the
// pixels of region set A still exactly 1 (the noise is < 1); `indicator` is 1 on A, 0 elsewhere.
struct MarkerToy {
  static constexpr int W = 27, H = 18, S = 3;
  bb::GrayImage img;
  bowlrp::evaluation::RegionGrid grid{W, H, S};
  std::vector<int> A;
  std::vector<unsigned char> in_a;
  bowlrp::evaluation::ImageScore f;
  explicit MarkerToy(std::vector<int> regions) : A(std::move(regions)), in_a(W * H, 0) {
    img.width = img.original_width = W;
    img.height = img.original_height = H;
    img.pixels.assign(W * H, 1.0f);
    for (int r : A) {
      const auto b = grid.box(r);
      for (int y = b.y0; y < b.y1; ++y)
        for (int x = b.x0; x < b.x1; ++x) in_a[y * W + x] = 1;
    }
    const double area = static_cast<double>(std::count(in_a.begin(), in_a.end(), 1));
    f = [in = in_a, area](const bb::GrayImage& x) {
      double n = 0;
      for (int i = 0; i < W * H; ++i) n += in[i] && x.pixels[i] == 1.0f;
      return n / area;
    };
  }
  std::vector<double> indicator() const { return std::vector<double>(in_a.begin(), in_a.end()); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(flipping)

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
  const MarkerToy toy({4, 10, 11, 40});
  const int W = toy.W, H = toy.H, S = toy.S;
  const auto& img = toy.img;
  const auto& grid = toy.grid;
  const auto& A = toy.A;
  const auto& in_a = toy.in_a;
  const auto& f = toy.f;
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

BOOST_AUTO_TEST_CASE(lerf_keeps_a_marker_model_flat_and_the_area_between_is_closed_form) {
  // The toy above: f = share of region set A (m = 4 of 54 regions, relevance 1; the rest 0) still
  // intact. LeRF flips the 50 zero regions first (by index), so for L = 10 < 50 it never touches A:
  // f = 1 throughout. MoRF gives 1 - min(k, m)/m. The fractions are k/54, evenly spaced, so the area
  // between the curves is (1/L) sum_{k=1..L} (d_{k-1} + d_k)/2 with d_k = min(k, m)/m.
  const MarkerToy toy({4, 10, 11, 40});
  const int W = toy.W, H = toy.H, S = toy.S;
  const auto& img = toy.img;
  const auto& grid = toy.grid;
  const auto& A = toy.A;
  const auto& in_a = toy.in_a;
  const auto& f = toy.f;
  std::vector<double> R(in_a.begin(), in_a.end());
  bowlrp::evaluation::PixelFlipOptions o;
  o.region_size = S;
  o.steps = 10;
  o.random_orders = 0;
  o.lerf = true;
  const auto curves = bowlrp::evaluation::pixel_flip(f, img, {{"lrp", W, H, R.data()}}, o);
  BOOST_REQUIRE_EQUAL(curves.size(), 2u);  // lrp, lrp_lerf; no random orders
  const auto& lerf = curves.at("lrp_lerf");
  const auto& morf = curves.at("lrp");
  for (double v : lerf) BOOST_CHECK_EQUAL(v, 1.0);
  BOOST_CHECK_EQUAL(bowlrp::evaluation::aopc(lerf), 0.0);
  const double m = A.size();
  double expect = 0;
  for (int k = 1; k <= o.steps; ++k) expect += (std::min<double>(k - 1, m) / m + std::min<double>(k, m) / m) / 2;
  expect /= o.steps;
  const std::vector<double> x = bowlrp::evaluation::flip_fractions(grid.size(), o);
  BOOST_REQUIRE_EQUAL(x.size(), 11u);
  BOOST_CHECK_EQUAL(x[0], 0.0);
  BOOST_CHECK_CLOSE(x[10], 10.0 / 54, 1e-12);
  BOOST_CHECK_CLOSE(bowlrp::evaluation::lerf_morf_area(x, lerf, morf), expect, 1e-12);
  // Fractions stop at 1 once every region is flipped.
  o.regions_per_step = 7;
  const std::vector<double> capped = bowlrp::evaluation::flip_fractions(grid.size(), o);
  BOOST_CHECK_CLOSE(capped[7], 49.0 / 54, 1e-12);
  BOOST_CHECK_EQUAL(capped[8], 1.0);
  BOOST_CHECK_EQUAL(capped[10], 1.0);
  BOOST_CHECK_THROW(bowlrp::evaluation::flip_fractions(0, o), std::invalid_argument);
  // Least relevant first: increasing sums, ties by index.
  const auto lo = bowlrp::evaluation::least_relevant_order({1.0, 3.0, 3.0, -1.0, 2.0, 1.0});
  const std::vector<int> lo_expect{3, 0, 5, 4, 1, 2};
  BOOST_CHECK_EQUAL_COLLECTIONS(lo.begin(), lo.end(), lo_expect.begin(), lo_expect.end());
  // "<name>_lerf" is the LeRF curve's name: refused as a method name.
  BOOST_CHECK_THROW(bowlrp::evaluation::pixel_flip(f, img, {{"lrp_lerf", W, H, R.data()}}, o), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(faithfulness_correlation_of_a_marker_model) {
  // The toy marker model: f = share of A intact. Removing subset S drops f by |S ∩ A| / m, and the
  // indicator map of A sums to |S ∩ A| * 9 px there (at the working resolution): a perfect affine
  // relation, correlation 1; the negated map gives -1; a constant map 0.
  const MarkerToy toy({4, 10, 11, 40, 41, 42, 50});
  const int W = toy.W, H = toy.H, S = toy.S;
  const auto& img = toy.img;
  const auto& grid = toy.grid;
  const auto& A = toy.A;
  const auto& in_a = toy.in_a;
  const auto& f = toy.f;
  bowlrp::evaluation::PixelFlipOptions flip;
  flip.region_size = S;
  bowlrp::evaluation::FaithfulnessOptions fo;
  fo.subsets = 30;
  fo.regions = 12;
  fo.seed = 5;
  const auto drops = bowlrp::evaluation::subset_drops(f, img, flip, fo);
  BOOST_REQUIRE_EQUAL(drops.subsets.size(), 30u);
  for (std::size_t s = 0; s < drops.subsets.size(); ++s) {
    BOOST_REQUIRE_EQUAL(drops.subsets[s].size(), 12u);
    BOOST_TEST(std::set<int>(drops.subsets[s].begin(), drops.subsets[s].end()).size() == 12u);  // no repeats
    double hit = 0;
    for (int r : drops.subsets[s]) hit += std::count(A.begin(), A.end(), r);
    BOOST_TEST(drops.drops[s] == hit / A.size(), boost::test_tools::tolerance(1e-12));
  }
  std::vector<double> R(in_a.begin(), in_a.end()), neg(R.size()), flat(R.size(), 1.0);
  for (std::size_t i = 0; i < R.size(); ++i) neg[i] = -R[i];
  BOOST_TEST(bowlrp::evaluation::faithfulness_correlation(drops, grid, R.data(), W, H) == 1.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(bowlrp::evaluation::faithfulness_correlation(drops, grid, neg.data(), W, H) == -1.0,
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(bowlrp::evaluation::faithfulness_correlation(drops, grid, flat.data(), W, H) == 0.0);
  // Pearson by its plain formula on a small series.
  const std::vector<double> a{1, 2, 3, 5}, b{2, 1, 4, 4};
  // means 2.75, 2.75; sab = 3.25... computed: (-1.75)(-0.75)+(-0.75)(-1.75)+(0.25)(1.25)+(2.25)(1.25) = 5.75
  // saa = 3.0625+0.5625+0.0625+5.0625 = 8.75, sbb = 0.5625+3.0625+1.5625+1.5625 = 6.75
  BOOST_TEST(bowlrp::evaluation::pearson_correlation(a, b) == 5.75 / std::sqrt(8.75 * 6.75),
             boost::test_tools::tolerance(1e-14));
  fo.regions = 55;  // more than the 54 regions
  BOOST_CHECK_THROW(bowlrp::evaluation::subset_drops(f, img, flip, fo), std::invalid_argument);
  fo.regions = 3;
  fo.subsets = 1;
  BOOST_CHECK_THROW(fo.validate(), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(flip_fills_mean_and_blur_by_hand) {
  // 13 x 9 image; mean fill = the mean; blur fill = a separable Gaussian, reflect-101 border, written here.
  bb::GrayImage img;
  img.width = img.original_width = 13;
  img.height = img.original_height = 9;
  for (int i = 0; i < 13 * 9; ++i) img.pixels.push_back(static_cast<float>((i * 29 % 17) / 17.0));
  bowlrp::evaluation::PixelFlipOptions o;
  o.fill = bowlrp::evaluation::FlipFill::mean;
  double sum = 0;
  for (float p : img.pixels) sum += p;
  for (float v : bowlrp::evaluation::flip_fill(img, o)) BOOST_TEST(v == static_cast<float>(sum / img.pixels.size()));
  o.fill = bowlrp::evaluation::FlipFill::blur;
  o.blur_sigma = 1.3;
  const int r = static_cast<int>(std::ceil(3 * 1.3));
  std::vector<double> w(2 * r + 1);
  double ws = 0;
  for (int k = -r; k <= r; ++k) ws += w[k + r] = std::exp(-k * k / (2 * 1.3 * 1.3));
  const auto reflect = [](int i, int n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; };
  const std::vector<float> blur = bowlrp::evaluation::flip_fill(img, o);
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 13; ++x) {
      double v = 0;
      for (int dy = -r; dy <= r; ++dy)
        for (int dx = -r; dx <= r; ++dx)
          v += w[dy + r] * w[dx + r] / (ws * ws) * img.at(reflect(x + dx, 13), reflect(y + dy, 9));
      BOOST_TEST(blur[y * 13 + x] == v, boost::test_tools::tolerance(1e-5));
    }
  BOOST_TEST((bowlrp::evaluation::flip_fill_from_string("blur") == bowlrp::evaluation::FlipFill::blur));
  BOOST_CHECK_THROW(bowlrp::evaluation::flip_fill_from_string("zeros"), std::invalid_argument);
  o.blur_sigma = 0;
  BOOST_CHECK_THROW(o.validate(), std::invalid_argument);
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
  // In-memory image without resizing: incremental = full as well, least relevant first too.
  bowlrp::evaluation::PixelFlipOptions o;
  o.steps = 15;
  o.random_orders = 1;
  o.lerf = true;
  check_incremental_equals_full(m, o);
  // The blur and mean fills: incremental = full as well.
  o.lerf = false;
  o.steps = 6;
  for (auto fill : {bowlrp::evaluation::FlipFill::blur, bowlrp::evaluation::FlipFill::mean}) {
    o.fill = fill;
    check_incremental_equals_full(m, o);
  }
}

BOOST_AUTO_TEST_CASE(occlusion_matches_naive_full_reruns) {
  // A small pipeline (working image 48x36 from an 80x60 original) and a hand-made hik SVM.
  bowlrp::bow::PipelineOptions o;
  o.image.max_side = 48;
  o.dsift.bin_sizes = {4};
  o.dsift.step = 4;
  o.pooling.pyramid = {{1, 1}, {2, 1}};
  const bowlrp::bow::Codebook cb = random_codebook(6, 11);
  const bowlrp::bow::Pipeline pipeline(o, cb);
  const std::size_t V = pipeline.dimension();
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> u(0, 0.2);
  std::vector<double> support(3 * V);
  for (double& v : support) v = u(rng);
  bowlrp::svm::Kernel kernel;
  kernel.type = bowlrp::svm::KernelType::intersection;
  const bowlrp::svm::KernelSvm model(kernel, V, support, {{"a", -0.1, {1.0, -0.5, 0.7}}, {"b", 0.2, {-0.3, 0.4, 0.1}}});
  std::vector<float> px(80 * 60);
  for (int y = 0; y < 60; ++y)
    for (int x = 0; x < 80; ++x)
      px[y * 80 + x] = static_cast<float>(0.5 + 0.3 * std::sin(x * 0.4) * std::cos(y * 0.3) + 0.1 * ((x * 7 + y * 3) % 5) / 5.0);
  const bowlrp::bow::GrayImage image = pipeline.loader().from_gray(px.data(), 80, 60);
  BOOST_REQUIRE(image.width == 48);
  const bowlrp::bow::EncodeTrace trace = pipeline.encode(image);
  const int patch = 16;
  const std::uint64_t seed = 3;
  for (std::size_t cls : {0u, 1u}) {
    const bowlrp::evaluation::IncrementalFlipper flipper(std::make_shared<const bowlrp::bow::Pipeline>(pipeline),
                                                        std::make_shared<const bowlrp::svm::KernelSvm>(model), cls);
    const std::vector<double> map = bowlrp::evaluation::occlusion_map(flipper, image, trace, patch, seed);
    BOOST_REQUIRE(map.size() == 80u * 60u);
    // Naive: paste the noise over each patch, re-encode the whole image, score.
    const std::vector<float> noise = bowlrp::evaluation::flip_noise(48, 36, seed);
    const double f0 = model.decision(cls, trace.histogram().data());
    const int cols = 3, rows = 3;  // ceil(48/16), ceil(36/16)
    std::vector<double> drop(cols * rows);
    for (int r = 0; r < cols * rows; ++r) {
      bowlrp::bow::GrayImage x = image;
      const int x0 = (r % cols) * patch, y0 = (r / cols) * patch;
      for (int y = y0; y < std::min(36, y0 + patch); ++y)
        for (int xx = x0; xx < std::min(48, x0 + patch); ++xx) x.pixels[y * 48 + xx] = noise[y * 48 + xx];
      drop[r] = f0 - model.decision(cls, pipeline.encode(x).histogram().data());
    }
    // Each original pixel belongs to the patch holding the working pixel under its centre.
    std::vector<int> owner(80 * 60), count(cols * rows, 0);
    for (int y = 0; y < 60; ++y)
      for (int x = 0; x < 80; ++x) {
        const int wx = static_cast<int>((x + 0.5) * 48 / 80), wy = static_cast<int>((y + 0.5) * 36 / 60);
        owner[y * 80 + x] = (wy / patch) * cols + wx / patch;
        ++count[owner[y * 80 + x]];
      }
    double max_err = 0, sum = 0, sum_drop = 0;
    for (int q = 0; q < 80 * 60; ++q) {
      max_err = std::max(max_err, std::fabs(map[q] - drop[owner[q]] / count[owner[q]]));
      sum += map[q];
    }
    for (double d : drop) sum_drop += d;
    BOOST_TEST(max_err < 1e-12);
    BOOST_TEST(std::fabs(sum - sum_drop) < 1e-9);
    BOOST_TEST(std::any_of(drop.begin(), drop.end(), [](double d) { return std::fabs(d) > 1e-6; }));
  }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
