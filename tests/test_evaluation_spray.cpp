// Suite evaluation/spray: spectral relevance analysis (spray.h) on maps with planted strategies, its
// preprocessing (downsizing, positive part, normalisations) against plain formulas on small arrays,
// the graph identity behind the eigengap (as many zero eigenvalues of the normalised Laplacian as the
// graph has components), determinism and refusals; and over real explanations, a planted Clever-Hans
// strategy (a corner marker the model learned from its training circles) found by the clustering,
// with its own cluster count when the marker is on a fifth of the class, and confirmed by the causal test.
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/evaluation/spray.h>
#include <bowlrp/model/fit.h>

#include "planted_hans_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

namespace be = bowlrp::evaluation;
using bowlrp::test::write_marked;

namespace {

// n maps of gw x gh cells per strategy: strategy s puts a bump of relevance at its own place, plus noise.
std::vector<std::vector<double>> planted(int per_strategy, int strategies, int gw, int gh, double noise,
                                         std::uint64_t seed, std::vector<int>* truth) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::vector<std::vector<double>> maps;
  for (int s = 0; s < strategies; ++s)
    for (int k = 0; k < per_strategy; ++k) {
      std::vector<double> m(static_cast<std::size_t>(gw) * gh);
      const double cx = (s % 3 + 0.5) * gw / 3.0, cy = (s / 3 + 0.5) * gh / 2.0;
      for (int y = 0; y < gh; ++y)
        for (int x = 0; x < gw; ++x) {
          const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
          m[static_cast<std::size_t>(y) * gw + x] = (1.5 + 0.5 * z(rng) * 0.1) * std::exp(-d2 / 8.0) + noise * z(rng);
        }
      maps.push_back(std::move(m));
      truth->push_back(s);
    }
  return maps;
}

// Share of maps whose cluster's majority strategy is their own.
double purity(const std::vector<int>& labels, const std::vector<int>& truth, int clusters, int strategies) {
  std::vector<std::vector<int>> count(clusters, std::vector<int>(strategies, 0));
  for (std::size_t i = 0; i < labels.size(); ++i) ++count[labels[i]][truth[i]];
  int right = 0;
  for (const auto& row : count) right += *std::max_element(row.begin(), row.end());
  return double(right) / labels.size();
}



// The planted Clever-Hans model, trained once for the cases that use it: 30 training circles, each
// with the corner marker, and 30 unmarked squares (shapes seed 21, 96 x 96 px); the model can answer
// "circle" from the marker.
struct PlantedHans {
  bowlrp::test::TempDir dir;
  bowlrp::datasets::ShapesOptions shapes;
  bowlrp::model::Model model;
  PlantedHans() : shapes(options()), model(fit(shapes, dir)) {}
  /// n test circles (shapes images 60, 62, ...), image k marked when k % every == 0.
  std::vector<std::string> test_paths(int every, int n = 30) const {
    std::vector<std::string> paths;
    for (int k = 0; k < n; ++k) {
      const int i = 60 + 2 * k;
      paths.push_back(write_marked(shapes, i, k % every == 0,
                                   dir / ("test-" + std::to_string(every) + "/" + std::to_string(i) + ".png")));
    }
    return paths;
  }

 private:
  static bowlrp::datasets::ShapesOptions options() {
    bowlrp::datasets::ShapesOptions so;
    so.classes = {"circle", "square"};
    so.images_per_class = 200;  // the index range; an image depends on its index and the seed only
    so.width = so.height = 96;
    so.seed = 21;
    return so;
  }
  static bowlrp::model::Model fit(const bowlrp::datasets::ShapesOptions& so, const bowlrp::test::TempDir& dir) {
    std::vector<std::string> paths, labels;
    for (int i = 0; i < 60; ++i) {
      const bool circle = i % 2 == 0;  // class = index % classes
      paths.push_back(write_marked(so, i, circle, dir / ("train/" + std::to_string(i) + ".png")));
      labels.push_back(circle ? "circle" : "square");
    }
    return bowlrp::model::fit(bowlrp::model::LabelledImages::from_paths(paths, labels), bowlrp::test::planted_fit_options());
  }
};

const PlantedHans& planted_hans() {
  static const PlantedHans h;
  return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(spray)

BOOST_AUTO_TEST_CASE(spray_finds_a_planted_clever_hans_strategy_and_the_causal_test_confirms_it) {
  // Training: every circle carries a corner marker, no square does; the model can answer "circle"
  // from the marker. Test circles: half marked, half not. SpRAy over the test circles must separate
  // the two, and flipping the marked cluster's region must drop f in its members far more than in
  // the unmarked images.
  const PlantedHans& h = planted_hans();
  const bowlrp::model::Model& model = h.model;
  const std::vector<std::string> test_paths = h.test_paths(2);
  std::vector<int> marked;
  for (std::size_t k = 0; k < test_paths.size(); ++k) marked.push_back(k % 2 == 0);
  be::SprayImagesOptions o;
  o.spray.grid_width = o.spray.grid_height = 12;
  o.spray.neighbours = 5;
  o.spray.eigenvalues = 8;
  o.causal_images = 15;
  const be::SprayAnalysis a = be::spray_images(model, test_paths, model.class_index("circle"), o);
  BOOST_REQUIRE(a.failures.empty());
  BOOST_REQUIRE(a.analysed.size() == test_paths.size());
  // Purity of the split into marked and unmarked, whatever the number of clusters found.
  const int C = a.result.clusters;
  std::vector<std::vector<int>> count(C, std::vector<int>(2, 0));
  for (std::size_t k = 0; k < a.analysed.size(); ++k) ++count[a.result.labels[k]][marked[a.analysed[k]]];
  int right = 0;
  for (const auto& row : count) right += std::max(row[0], row[1]);
  const double purity = double(right) / a.analysed.size();
  BOOST_TEST_MESSAGE("planted strategy: " << C << " clusters (eigengap " << a.result.eigengap_clusters << "), purity "
                     << purity);
  BOOST_TEST(C >= 2);
  BOOST_TEST(purity >= 0.9);
  // The cluster holding most marked images: its region flipped drops f in its members far more.
  int hans = 0;
  for (int c = 1; c < C; ++c)
    if (count[c][1] > count[hans][1]) hans = c;
  const be::SprayCausal& sc = a.causal[hans];
  BOOST_TEST_MESSAGE("causal test of the marked cluster: member drop " << sc.member_drop << " (" << sc.members
                     << " images), elsewhere " << sc.other_drop << " (" << sc.others << ")");
  for (int v = 0; v < 12; ++v) {
    std::string row;
    for (int u = 0; u < 12; ++u) row += sc.region[v * 12 + u] ? '#' : '.';
    BOOST_TEST_MESSAGE(row);
  }
  BOOST_TEST(sc.members > 0u);
  BOOST_TEST(sc.others > 0u);
  BOOST_TEST(sc.member_drop > 0.0);
  BOOST_TEST(sc.member_drop > 2 * sc.other_drop);
  // Its region lies in the top-left corner of the grid.
  bool corner = false;
  for (int v = 0; v < 3; ++v)
    for (int u = 0; u < 3; ++u) corner |= sc.region[v * 12 + u] != 0;
  BOOST_TEST(corner);
  // Deterministic, and independent of the thread count.
  be::SprayImagesOptions one = o;
  one.threads = 1;
  const be::SprayAnalysis b = be::spray_images(model, test_paths, model.class_index("circle"), one);
  BOOST_TEST(b.result.labels == a.result.labels, boost::test_tools::per_element());
  BOOST_TEST(b.causal[hans].member_drop == sc.member_drop);
}

BOOST_AUTO_TEST_CASE(downsize_map_is_an_area_average) {
  // 4 x 2 onto 2 x 1: each cell averages a 2 x 2 block.
  const std::vector<double> m = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::vector<double> g = be::downsize_map(m.data(), 4, 2, 2, 1);
  BOOST_TEST(g.size() == 2u);
  BOOST_TEST(g[0] == (1 + 2 + 5 + 6) / 4.0);
  BOOST_TEST(g[1] == (3 + 4 + 7 + 8) / 4.0);
  // 5 px onto 2 cells: cell 0 covers [0, 2.5), half of pixel 2.
  const std::vector<double> row = {1, 2, 3, 4, 5};
  const std::vector<double> h = be::downsize_map(row.data(), 5, 1, 2, 1);
  BOOST_TEST(std::abs(h[0] - (1 + 2 + 0.5 * 3) / 2.5) < 1e-15);
  BOOST_TEST(std::abs(h[1] - (0.5 * 3 + 4 + 5) / 2.5) < 1e-15);
  // The total is kept: sum of cell means x cell area = sum of the map, for any sizes (also upsizing).
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(-1, 1);
  for (const auto& [W, H, gw, gh] : std::vector<std::array<int, 4>>{{37, 23, 8, 5}, {500, 375, 32, 32}, {3, 2, 7, 5}}) {
    std::vector<double> map(static_cast<std::size_t>(W) * H);
    for (double& v : map) v = u(rng);
    const std::vector<double> grid = be::downsize_map(map.data(), W, H, gw, gh);
    double total = 0, cells = 0;
    for (double v : map) total += v;
    for (double v : grid) cells += v * (double(W) / gw) * (double(H) / gh);
    BOOST_TEST(std::abs(total - cells) < 1e-9 * std::max(1.0, std::abs(total)), W << "x" << H << " -> " << gw << "x" << gh);
  }
  BOOST_CHECK_THROW(be::downsize_map(m.data(), 0, 2, 2, 1), std::invalid_argument);
}

// The must-show: a marker on a fifth of the class, SpRAy with every default option and its own
// cluster count (the eigengap) puts the marked images in a cluster of their own: precision (marked
// members / cluster size) and recall (marked members in it / all marked) of that cluster both >= 0.8.
// Maps of real explanations (the planted model, "circle" on 50 test circles, every fifth marked);
// clustering only, no causal test.
BOOST_AUTO_TEST_CASE(spray_isolates_a_marker_on_a_fifth_of_a_class_with_its_own_cluster_count) {
  const PlantedHans& h = planted_hans();
  const int n = 50, every = 5;
  be::SprayImagesOptions o;
  o.causal_images = 0;
  BOOST_REQUIRE(o.spray.clusters == 0);
  const be::SprayAnalysis a = be::spray_images(h.model, h.test_paths(every, n), h.model.class_index("circle"), o);
  BOOST_REQUIRE(a.analysed.size() == static_cast<std::size_t>(n));
  const be::SprayResult& r = a.result;
  std::vector<int> marked_in(static_cast<std::size_t>(r.clusters), 0);
  for (std::size_t k = 0; k < a.analysed.size(); ++k)
    if (a.analysed[k] % every == 0) ++marked_in[static_cast<std::size_t>(r.labels[k])];
  const std::size_t hans = std::max_element(marked_in.begin(), marked_in.end()) - marked_in.begin();
  const double precision = double(marked_in[hans]) / r.sizes[hans], recall = double(marked_in[hans]) / (n / every);
  BOOST_TEST_MESSAGE("marker on 1 in " << every << ": " << r.clusters << " clusters (eigengap), the marked cluster "
                     << hans << " of " << r.sizes[hans] << ": precision " << precision << ", recall " << recall);
  BOOST_TEST(r.clusters == r.eigengap_clusters);
  BOOST_TEST(precision >= 0.8);
  BOOST_TEST(recall >= 0.8);
}

// preprocess: the positive part and each normalisation against plain formulas on small maps.
BOOST_AUTO_TEST_CASE(preprocessing_variants_match_plain_formulas) {
  be::SprayOptions o;
  o.grid_width = 3;
  o.grid_height = 2;
  const std::vector<std::vector<double>> maps = {{1, -4, 2, 0, 3, -1}, {0, 0, 0, 0, 0, 0}, {-2, -1, -0.5, -3, -1, -1}};
  // Hand-computed for the first map: max |R| = 4, sum |R| = 11, ||R|| = sqrt(31); R+ = {1, 0, 2, 0, 3, 0}: max 3, sum 6, sqrt(14).
  const std::vector<double> signed_map = maps[0], positive_map = {1, 0, 2, 0, 3, 0};
  const auto scaled = [](std::vector<double> v, double by) {
    for (double& x : v) x /= by;
    return v;
  };
  const std::vector<std::pair<be::MapNormalisation, std::array<double, 2>>> norms = {
      {be::MapNormalisation::max, {4.0, 3.0}},
      {be::MapNormalisation::l1, {11.0, 6.0}},
      {be::MapNormalisation::l2, {std::sqrt(31.0), std::sqrt(14.0)}},
      {be::MapNormalisation::none, {1.0, 1.0}}};
  for (const auto& [n, by] : norms)
    for (const bool positive : {false, true}) {
      o.normalisation = n;
      o.positive = positive;
      const std::vector<double> x = be::preprocess(maps, o);
      BOOST_REQUIRE(x.size() == 18u);
      const std::vector<double> want = scaled(positive ? positive_map : signed_map, by[positive ? 1 : 0]);
      for (std::size_t g = 0; g < 6; ++g)
        BOOST_TEST(std::abs(x[g] - want[g]) < 1e-15, to_string(n) << (positive ? " R+" : " signed") << " cell " << g);
      // An all-zero map stays zero; a map with no positive part is zero under R+ and scaled as the others otherwise.
      for (std::size_t g = 0; g < 6; ++g) BOOST_TEST(x[6 + g] == 0.0);
      for (std::size_t g = 0; g < 6; ++g) {
        const double v = maps[2][g];
        const double want3 = positive ? 0.0
                             : n == be::MapNormalisation::max  ? v / 3.0
                             : n == be::MapNormalisation::l1   ? v / 8.5
                             : n == be::MapNormalisation::l2   ? v / std::sqrt(4 + 1 + 0.25 + 9 + 1 + 1)
                                                               : v;
        BOOST_TEST(std::abs(x[12 + g] - want3) < 1e-15, to_string(n) << (positive ? " R+" : " signed") << " map 3 cell " << g);
      }
    }
  // The choice's text form, and the refusals naming the field.
  for (const char* name : {"max", "l1", "l2", "none"}) BOOST_TEST(to_string(be::map_normalisation_from_string(name)) == name);
  BOOST_CHECK_THROW(be::map_normalisation_from_string("sum"), std::invalid_argument);
  be::SprayOptions bad;
  bad.normalisation = static_cast<be::MapNormalisation>(7);
  try {
    bad.validate();
    BOOST_ERROR("validate accepted normalisation 7");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("SprayOptions.normalisation = 7") != std::string::npos);
  }
  be::SprayOptions parsed;
  bowlrp::core::find_option(be::SprayOptions::schema(), "normalisation")->set(parsed, "l1", "--normalisation");
  bowlrp::core::find_option(be::SprayOptions::schema(), "positive")->set(parsed, "false", "--no-positive");
  BOOST_TEST((parsed.normalisation == be::MapNormalisation::l1));
  BOOST_TEST(!parsed.positive);
}

BOOST_AUTO_TEST_CASE(planted_strategies_are_separated_by_the_eigengap) {
  be::SprayOptions o;
  o.grid_width = 24;
  o.grid_height = 16;
  std::vector<int> truth;
  const auto maps = planted(25, 4, o.grid_width, o.grid_height, 0.05, 11, &truth);
  const be::SprayResult r = be::spray(maps, o);
  BOOST_TEST(r.images == 100u);
  BOOST_TEST(r.eigengap_clusters == 4);
  BOOST_TEST(r.clusters == 4);
  BOOST_TEST(purity(r.labels, truth, r.clusters, 4) == 1.0);
  BOOST_TEST(r.eigenvalues.size() == 32u);
  BOOST_TEST(std::is_sorted(r.eigenvalues.begin(), r.eigenvalues.end()));
  BOOST_TEST(std::abs(r.eigenvalues.front()) < 1e-10);
  BOOST_TEST(r.eigenvalues.back() <= 2.0 + 1e-10);
  std::size_t total = 0;
  for (std::size_t s : r.sizes) total += s;
  BOOST_TEST(total == 100u);
  BOOST_TEST(std::is_sorted(r.sizes.rbegin(), r.sizes.rend()));
  for (int c = 0; c < r.clusters; ++c) {
    BOOST_TEST(r.labels[r.typical[c]] == c);
    // The mean map of a cluster peaks where its strategy puts relevance.
    const auto& mm = r.mean_maps[c];
    const std::size_t peak = std::max_element(mm.begin(), mm.end()) - mm.begin();
    const int s = truth[r.typical[c]];
    const int px = static_cast<int>(peak) % o.grid_width, py = static_cast<int>(peak) / o.grid_width;
    BOOST_TEST(std::abs(px - (s % 3 + 0.5) * o.grid_width / 3.0) <= 2.0);
    BOOST_TEST(std::abs(py - (s / 3 + 0.5) * o.grid_height / 2.0) <= 2.0);
  }
  // A small cluster of an unexpected strategy is found as its own (smallest) cluster.
  std::vector<int> truth2;
  auto mixed = planted(40, 1, o.grid_width, o.grid_height, 0.05, 5, &truth2);
  std::vector<int> odd_truth;
  auto odd = planted(12, 2, o.grid_width, o.grid_height, 0.05, 6, &odd_truth);
  for (std::size_t i = 0; i < odd.size(); ++i)
    if (odd_truth[i] == 1) {
      mixed.push_back(odd[i]);
      truth2.push_back(1);
    }
  const be::SprayResult r2 = be::spray(mixed, o);
  BOOST_TEST(r2.clusters == 2);
  BOOST_TEST(r2.sizes == std::vector<std::size_t>({40, 12}), boost::test_tools::per_element());
  BOOST_TEST(purity(r2.labels, truth2, 2, 2) == 1.0);
}

BOOST_AUTO_TEST_CASE(zero_eigenvalues_count_the_graph_components) {
  // Three far-apart groups of 8 with k = 3: the kNN graph has (at least) three components, so the
  // normalised Laplacian has that many zero eigenvalues - the identity the eigengap rests on.
  be::SprayOptions o;
  o.grid_width = 12;
  o.grid_height = 8;
  o.neighbours = 3;
  o.eigenvalues = 6;
  std::vector<int> truth;
  const auto maps = planted(8, 3, o.grid_width, o.grid_height, 0.0, 2, &truth);
  std::vector<std::vector<double>> jittered = maps;
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(-1e-3, 1e-3);
  for (auto& m : jittered)
    for (double& v : m) v += u(rng);
  const be::SprayResult r = be::spray(jittered, o);
  for (int i = 0; i < 3; ++i) BOOST_TEST(std::abs(r.eigenvalues[i]) < 1e-10, "eigenvalue " << i << " = " << r.eigenvalues[i]);
  BOOST_TEST(r.eigengap_clusters >= 3);
  BOOST_TEST(purity(r.labels, truth, r.clusters, 3) == 1.0);
}

BOOST_AUTO_TEST_CASE(spray_is_deterministic_and_takes_a_given_cluster_count) {
  be::SprayOptions o;
  o.grid_width = 16;
  o.grid_height = 12;
  std::vector<int> truth;
  const auto maps = planted(15, 3, o.grid_width, o.grid_height, 0.3, 4, &truth);
  const be::SprayResult a = be::spray(maps, o), b = be::spray(maps, o);
  BOOST_TEST(a.labels == b.labels, boost::test_tools::per_element());
  BOOST_TEST(a.eigenvalues == b.eigenvalues, boost::test_tools::per_element());
  BOOST_TEST(a.embedding == b.embedding, boost::test_tools::per_element());
  o.clusters = 5;
  const be::SprayResult c = be::spray(maps, o);
  BOOST_TEST(c.clusters == 5);
  BOOST_TEST(c.sizes.size() == 5u);
  BOOST_TEST(c.embedding.size() == maps.size() * 5);
  // Normalisation: scaling one map changes nothing.
  std::vector<std::vector<double>> scaled = maps;
  for (double& v : scaled[3]) v *= 1000;
  o.clusters = 0;
  BOOST_TEST(be::spray(scaled, o).labels == a.labels, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(spray_refuses_what_it_cannot_cluster) {
  be::SprayOptions o;
  o.grid_width = 4;
  o.grid_height = 4;
  const std::vector<double> m(16, 1.0);
  BOOST_CHECK_THROW(be::spray({m}, o), std::invalid_argument);
  BOOST_CHECK_THROW(be::spray({m, std::vector<double>(15, 1.0)}, o), std::invalid_argument);
  std::vector<double> nan = m;
  nan[3] = std::nan("");
  BOOST_CHECK_THROW(be::spray({m, nan}, o), std::invalid_argument);
  auto message = [](be::SprayOptions bad) {
    try {
      bad.validate();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  be::SprayOptions b = o;
  b.neighbours = 0;
  BOOST_TEST(message(b).find("SprayOptions.neighbours = 0") != std::string::npos);
  b = o;
  b.eigenvalues = 1;
  BOOST_TEST(message(b).find("eigenvalues") != std::string::npos);
  b = o;
  b.clusters = 40;
  b.eigenvalues = 4;
  std::vector<std::vector<double>> many(10, m);
  for (std::size_t i = 0; i < many.size(); ++i) many[i][i] += 1.0;
  BOOST_CHECK_THROW(be::spray(many, b), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
