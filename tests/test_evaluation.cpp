// Suite `evaluation`: spectral relevance analysis (spray.h) on maps with planted strategies, its
// preprocessing against hand-computed values, the graph identity behind the eigengap (as many zero
// eigenvalues of the normalised Laplacian as the graph has components), determinism and refusals.
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/evaluation/folder_evaluation.h>
#include <bowlrp/evaluation/faithfulness_correlation.h>
#include <bowlrp/evaluation/map_metrics.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/evaluation/shapes_experiment.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/evaluation/spray.h>
#include <bowlrp/model/fit.h>

#include "svm_fixtures.h"
#include "test_util.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <array>
#include <filesystem>
#include <optional>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace be = bowlrp::evaluation;

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

// Writes a shapes image, with a 16 x 16 black-and-white checkerboard in its top-left corner if marked.
std::string write_marked(const bowlrp::datasets::ShapesOptions& o, int index, bool marked, const std::string& path) {
  bowlrp::datasets::ShapeImage im = bowlrp::datasets::generate_shape(o, index);
  if (marked)
    for (int y = 2; y < 18; ++y)
      for (int x = 2; x < 18; ++x)
        for (int ch = 0; ch < 3; ++ch)
          im.bgr[(static_cast<std::size_t>(y) * im.width + x) * 3 + ch] = ((x / 4 + y / 4) % 2) ? 255 : 0;
  const cv::Mat m(im.height, im.width, CV_8UC3, im.bgr.data());
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  cv::imwrite(path, m);
  return path;
}

// A small Bag-of-Words (5 random words, one cell) + hik model of two classes, trained on random histograms.
bowlrp::model::Model small_bow_model() {
  bowlrp::bow::PipelineOptions options;
  options.kmeans.words = 5;
  options.dsift.bin_sizes = {4};
  options.dsift.step = 4;
  options.pooling.pyramid = {{1, 1}};
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> centres(5 * 128);
  for (float& c : centres) c = u(rng);
  std::vector<int> labels;
  std::vector<double> X = bowlrp::test::class_data(30, 5, 2, labels, 17);
  for (double& x : X) x /= 1.4;
  return bowlrp::model::Model(
      bowlrp::bow::Pipeline(options, bowlrp::bow::Codebook(128, std::move(centres))),
      bowlrp::svm::train_one_vs_rest(X.data(), 30, 5, labels, {"a", "b"},
                                     bowlrp::test::make_kernel(bowlrp::svm::KernelType::intersection), {}));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(evaluation)

// The schemas composed of others (the demo's, the protocols') name each option and flag once, and
// the demo's defaults read back through it: 16 heatmaps over 4 classes, 5 flipped images per class.
BOOST_AUTO_TEST_CASE(composed_schemas_name_each_option_once) {
  const auto unique = [](const auto& schema, const std::string& what) {
    std::set<std::string> names, flags;
    for (const auto& o : schema) {
      BOOST_TEST(names.insert(o.name).second, what << ": option " << o.name << " twice");
      if (!o.flag.empty()) BOOST_TEST(flags.insert(o.flag).second, what << ": flag " << o.flag << " twice");
    }
  };
  using bowlrp::evaluation::ShapesExperimentOptions;
  unique(ShapesExperimentOptions::schema(), "ShapesExperimentOptions");
  unique(bowlrp::evaluation::VocProtocolOptions::schema(), "VocProtocolOptions");
  unique(bowlrp::evaluation::FolderEvaluationOptions::schema(), "FolderEvaluationOptions");
  const ShapesExperimentOptions d = ShapesExperimentOptions::defaults();
  const auto text = [&](const std::string& name) { return *bowlrp::core::find_option(ShapesExperimentOptions::schema(), name)->get(d); };
  BOOST_TEST(text("images_per_class") == "200");
  BOOST_TEST(text("gallery") == "4");
  BOOST_TEST(text("explain") == "5");
  BOOST_TEST(text("words") == "512");
  BOOST_TEST(!bowlrp::core::find_option(ShapesExperimentOptions::schema(), "masks"));
  ShapesExperimentOptions o = d;
  bowlrp::core::find_option(ShapesExperimentOptions::schema(), "images_per_class")->set(o, "7", "--images-per-class");
  BOOST_TEST(o.shapes.images_per_class == 7);
  BOOST_CHECK_THROW(bowlrp::core::find_option(ShapesExperimentOptions::schema(), "test_fraction")->set(o, "1", "t"),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(spray_finds_a_planted_clever_hans_strategy_and_the_causal_test_confirms_it) {
  // Training: every circle carries a corner marker, no square does; the model can answer "circle"
  // from the marker. Test circles: half marked, half not. SpRAy over the test circles must separate
  // the two, and flipping the marked cluster's region must drop f in its members far more than in
  // the unmarked images.
  bowlrp::test::TempDir dir;
  bowlrp::datasets::ShapesOptions so;
  so.classes = {"circle", "square"};
  so.images_per_class = 60;
  so.width = so.height = 96;
  so.seed = 21;
  std::vector<std::string> train_paths, train_labels, test_paths;
  std::vector<int> marked;
  for (int i = 0; i < 2 * so.images_per_class; ++i) {
    const bool circle = i % 2 == 0;  // class = index % classes
    const int k = i / 2;
    if (k < 30) {
      train_paths.push_back(write_marked(so, i, circle, dir / ("train/" + std::to_string(i) + ".png")));
      train_labels.push_back(circle ? "circle" : "square");
    } else if (circle) {
      const bool m = k % 2 == 0;
      test_paths.push_back(write_marked(so, i, m, dir / ("test/" + std::to_string(i) + ".png")));
      marked.push_back(m);
    }
  }
  bowlrp::model::FitOptions fo;
  fo.pipeline.kmeans.words = 64;
  fo.pipeline.kmeans.samples = 20000;
  fo.pipeline.dsift.step = 3;
  fo.pipeline.image.max_side = 0;
  fo.training_accuracy = false;
  const bowlrp::model::Model model = bowlrp::model::fit(bowlrp::model::LabelledImages::from_paths(train_paths, train_labels), fo);
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

// evaluate_explanation's per-image metrics are the curves' AOPCs, the area between LeRF and MoRF and
// the map metrics of each method's own map (recomputed here from the maps), and QualityTotals
// summarises each over images as mean_interval does.
BOOST_AUTO_TEST_CASE(quality_metrics_are_each_methods_map_and_curve_metrics) {
  const bowlrp::model::Model m = small_bow_model();
  be::QualityOptions q;
  q.flip.steps = 6;
  q.flip.random_orders = 1;
  q.flip.lerf = true;
  q.occlusion_patch = 16;
  q.faithfulness_subsets = 5;
  q.faithfulness_regions = 4;
  const be::IncrementalFlipper flipper(m, 1);
  const auto explainer = m.explainer(q.composite);
  const be::RegionsFn regions = [](int w, int h) {
    return std::vector<std::pair<std::string, be::RegionMask>>{
        {"boxes", be::mask_from_boxes(w, h, {bowlrp::bow::Box{8, 4, 40, 30}})},
        {"empty", be::mask_from_boxes(w, h, {})}};  // no inside pixel: skipped
  };
  be::QualityTotals totals;
  std::vector<double> lrp_sparseness;
  for (int i = 0; i < 2; ++i) {
    std::vector<float> px(64 * 48);
    for (std::size_t p = 0; p < px.size(); ++p) px[p] = static_cast<float>(((p + 13 * i) * 37 % 101) / 101.0);
    const bowlrp::bow::GrayImage image = m.loader().from_gray(px.data(), 64, 48);
    const be::QualityResult r = be::evaluate_explanation(m, explainer, flipper, image, 1, q, regions);
    BOOST_REQUIRE_MESSAGE(r.error.empty(), r.error);
    const bowlrp::bow::Trace trace = m.encode(image);
    const std::vector<double> lrp = explainer.explain(trace, 1).pixels.R;
    const std::vector<double> sens = be::sensitivity_map(m, 1, trace);
    const std::vector<double> occ = be::occlusion_map(flipper, image, trace, q.occlusion_patch, q.seed);
    const be::RegionMask box = regions(64, 48)[0].second;
    const std::vector<double> x = be::flip_fractions(be::RegionGrid(64, 48, q.flip.region_size).size(), q.flip);
    const be::SubsetDrops drops = be::subset_drops(flipper, image, trace, q.flip, {5, 4, q.flip.seed});
    const be::RegionGrid grid(64, 48, q.flip.region_size);
    for (const auto& [name, map] : std::vector<std::pair<std::string, const std::vector<double>*>>{
             {"lrp", &lrp}, {"sensitivity", &sens}, {"occlusion", &occ}}) {
      BOOST_TEST(r.metrics.at("sparseness").at(name) == be::sparseness(map->data(), 64, 48));
      BOOST_TEST(r.metrics.at("complexity").at(name) == be::complexity(map->data(), 64, 48));
      BOOST_TEST(r.metrics.at("mass_accuracy_boxes").at(name) == be::relevance_mass_accuracy(map->data(), 64, 48, box));
      BOOST_TEST(r.metrics.at("rank_accuracy_boxes").at(name) == be::relevance_rank_accuracy(map->data(), 64, 48, box));
      BOOST_TEST(r.metrics.at("auc_boxes").at(name) == be::mask_auc(map->data(), 64, 48, box));
      BOOST_TEST(r.metrics.at("aopc").at(name) == be::aopc(r.curves.at(name)));
      BOOST_TEST(r.metrics.at("aopc_lerf").at(name) == be::aopc(r.curves.at(name + "_lerf")));
      BOOST_TEST(r.metrics.at("faithfulness_correlation").at(name) ==
                 be::faithfulness_correlation(drops, grid, map->data(), 64, 48));
      BOOST_TEST(r.metrics.at("abc").at(name) ==
                 be::lerf_morf_area(x, r.curves.at(name + "_lerf"), r.curves.at(name)));
    }
    BOOST_TEST(r.metrics.at("aopc").at("random") == be::aopc(r.curves.at("random")));
    BOOST_TEST(!r.metrics.at("sparseness").count("random"));
    BOOST_TEST(!r.metrics.count("auc_empty"));
    BOOST_TEST(r.metrics.size() == 9u);
    lrp_sparseness.push_back(r.metrics.at("sparseness").at("lrp"));
    totals.add(r);
  }
  const auto summaries = totals.metric_summaries();
  const be::MeanInterval s = summaries.at("sparseness").at("lrp");
  const be::MeanInterval direct = be::mean_interval(lrp_sparseness);
  BOOST_TEST(s.n == 2u);
  BOOST_TEST(s.mean == direct.mean);
  BOOST_TEST(s.half_width == direct.half_width);
}

BOOST_AUTO_TEST_CASE(flippers_keep_their_model_alive) {
  // A small Bag-of-Words + hik model, built in a scope that ends before the flipper is used.
  std::optional<be::IncrementalFlipper> flipper;
  bowlrp::bow::EncodeTrace trace;
  std::vector<float> px(64 * 48);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>((i * 37 % 101) / 101.0);
  double f = 0;
  {
    const bowlrp::model::Model m = small_bow_model();
    flipper.emplace(m, 1);
    trace = std::get<bowlrp::bow::EncodeTrace>(m.encode(m.encoding_as<bowlrp::bow::Pipeline>().loader().from_gray(px.data(), 64, 48)));
    f = m.scores(trace)[1];
  }
  BOOST_TEST(std::isfinite(f));
  BOOST_TEST(flipper->score(trace.histogram()) == f);
}

BOOST_AUTO_TEST_SUITE_END()
