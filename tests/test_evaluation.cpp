// Suite `evaluation`: the composed option schemas, explanation quality per image against each
// method's own maps and curves, and flippers outliving their model. SpRAy: test_evaluation_spray.cpp.
#include <bowlrp/evaluation/folder_evaluation.h>
#include <bowlrp/evaluation/faithfulness_correlation.h>
#include <bowlrp/evaluation/map_metrics.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/evaluation/shapes_experiment.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/model/fit.h>

#include "svm_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <optional>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace be = bowlrp::evaluation;

namespace {

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

// evaluate_explanation's per-image metrics are the curves' AOPCs, the area between LeRF and MoRF and
// the map metrics of each method's own map (recomputed here from the maps), and QualityTotals
// summarises each over images as mean_interval does.
BOOST_AUTO_TEST_CASE(quality_methods_are_refused_when_empty_unknown_or_repeated) {
  be::QualityOptions q;
  BOOST_TEST(q.measures(be::Ordering::occlusion));
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{}, {"lrp", "gradcam"}, {"lrp", "random", "lrp"}}) {
    q.methods = bad;
    BOOST_CHECK_THROW(q.validate(), std::invalid_argument);
  }
  q.methods = {"random"};
  BOOST_TEST(!q.measures(be::Ordering::lrp));
  BOOST_CHECK_NO_THROW(q.validate());
}

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
    // A subset of the methods: the same values for those, nothing for the others (randomisation and
    // robustness included, which recompute the maps).
    be::QualityOptions only = q;
    only.methods = {"occlusion", "lrp"};
    only.randomisation = true;
    only.robustness_samples = 1;
    const be::QualityResult sub = be::evaluate_explanation(m, explainer, flipper, image, 1, only, regions);
    BOOST_REQUIRE_MESSAGE(sub.error.empty(), sub.error);
    BOOST_TEST(sub.curves.size() == 4u);  // lrp, occlusion and their LeRF curves
    BOOST_TEST(sub.curves.at("lrp") == r.curves.at("lrp"));
    BOOST_TEST(sub.curves.at("occlusion_lerf") == r.curves.at("occlusion_lerf"));
    for (const auto& [metric, values] : sub.metrics) {
      BOOST_TEST((values.count("sensitivity") + values.count("random")) == 0u, metric);
      BOOST_TEST(values.count("lrp") == 1u, metric);
      if (r.metrics.count(metric))
        for (const auto& [name, v] : values) BOOST_TEST(v == r.metrics.at(metric).at(name), metric << " " << name);
    }
    BOOST_TEST(sub.metrics.count("randomisation_spearman") == 1u);
    BOOST_TEST(sub.metrics.count("mirror_spearman") == 1u);
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
