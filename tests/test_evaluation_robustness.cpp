// Suite evaluation/robustness: robustness.h. The mirror and noise helpers by hand; the metrics of a
// small model against naive recomputation (each changed image's maps from method_maps, the norms
// written out here); the input-invariance promise of dense SIFT (a constant added to every pixel
// leaves the score and the LRP map unchanged up to rounding); and the same numbers inside
// evaluate_explanation when asked.
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/evaluation/randomisation.h>
#include <bowlrp/evaluation/robustness.h>
#include <bowlrp/model/model.h>

#include "evaluation_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace be = bowlrp::evaluation;

namespace {

bowlrp::model::Model structured_model() {
  const auto pipeline = bowlrp::test::evaluation::structured_pipeline();
  return bowlrp::model::Model(
      pipeline, bowlrp::test::evaluation::hand_made_svm(pipeline->dimension(), bowlrp::svm::KernelType::intersection));
}

double dist(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(robustness)

BOOST_AUTO_TEST_CASE(mirror_and_noise_helpers) {
  bowlrp::bow::GrayImage img;
  img.width = img.original_width = 3;
  img.height = img.original_height = 2;
  img.pixels = {0.0f, 0.5f, 1.0f, 0.2f, 0.3f, 0.999f};
  const bowlrp::bow::GrayImage m = bowlrp::bow::mirror_left_right(img);
  BOOST_TEST(m.pixels == (std::vector<float>{1.0f, 0.5f, 0.0f, 0.999f, 0.3f, 0.2f}));
  BOOST_TEST(be::mirrored_map({1, 2, 3, 4, 5, 6}, 3, 2) == (std::vector<double>{3, 2, 1, 6, 5, 4}));
  BOOST_CHECK_THROW(be::mirrored_map({1, 2, 3}, 2, 2), std::invalid_argument);
  const bowlrp::bow::GrayImage a = be::perturbed(img, 0.05, 7, 0), b = be::perturbed(img, 0.05, 7, 0),
                               c = be::perturbed(img, 0.05, 7, 1);
  BOOST_TEST(a.pixels == b.pixels);
  BOOST_TEST(a.pixels != c.pixels);
  for (std::size_t i = 0; i < a.pixels.size(); ++i) {
    BOOST_TEST(a.pixels[i] >= 0.0f);
    BOOST_TEST(a.pixels[i] <= 1.0f);
    BOOST_TEST(std::fabs(a.pixels[i] - img.pixels[i]) <= 0.05f + 1e-7f);
  }
  BOOST_CHECK_THROW((be::RobustnessOptions{0, 0.02, 0.1, 0}.validate()), std::invalid_argument);
  BOOST_CHECK_THROW((be::RobustnessOptions{2, 0.0, 0.1, 0}.validate()), std::invalid_argument);
  BOOST_CHECK_THROW((be::RobustnessOptions{2, 0.02, 0.0, 0}.validate()), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(robustness_metrics_against_naive_recomputation) {
  const bowlrp::model::Model m = structured_model();
  const bowlrp::bow::GrayImage image = bowlrp::test::evaluation::structured_image(m.loader());
  be::QualityOptions q;
  q.occlusion_patch = 16;
  const be::RobustnessOptions ro{3, 0.03, 0.1, 11};
  const auto original = be::method_maps(m, image, 0, q);
  const be::RobustnessResult r = be::robustness(m, image, 0, q, ro, original);
  // Naive: each changed image's maps, the norms written out.
  std::map<std::string, double> sens, lip;
  for (std::size_t i = 0; i < 3; ++i) {
    const bowlrp::bow::GrayImage xi = be::perturbed(image, 0.03, 11, i);
    double dx = 0;
    for (std::size_t p = 0; p < xi.pixels.size(); ++p) dx += std::pow(double(xi.pixels[p]) - image.pixels[p], 2);
    for (const auto& [name, map] : be::method_maps(m, xi, 0, q)) {
      const std::vector<double> zero(map.size(), 0.0);
      sens[name] = std::max(sens[name], dist(map, original.at(name)) / dist(original.at(name), zero));
      lip[name] = std::max(lip[name], dist(map, original.at(name)) / std::sqrt(dx));
    }
  }
  for (const char* name : {"lrp", "sensitivity", "occlusion"}) {
    BOOST_TEST(r.at("max_sensitivity").at(name) == sens.at(name), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(r.at("local_lipschitz").at(name) == lip.at(name), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(r.at("max_sensitivity").at(name) > 0.0);  // noise does move the maps
    BOOST_TEST_MESSAGE(name << ": max-sensitivity " << r.at("max_sensitivity").at(name) << ", mirror spearman "
                            << r.at("mirror_spearman").at(name) << ", shift difference "
                            << r.at("shift_difference").at(name));
  }
  const auto mirror = be::method_maps(m, bowlrp::bow::mirror_left_right(image), 0, q);
  const std::vector<double> back = be::mirrored_map(mirror.at("lrp"), 80, 60);
  BOOST_TEST(r.at("mirror_spearman").at("lrp") == be::spearman_correlation(original.at("lrp").data(), back.data(), back.size()));
  // Input invariance: dense SIFT reads gradients, so + 0.1 everywhere keeps f and the LRP map (to rounding).
  bowlrp::bow::GrayImage shifted = image;
  for (float& p : shifted.pixels) p += 0.1f;
  BOOST_TEST(m.scores(m.encode(shifted))[0] == m.scores(m.encode(image))[0], boost::test_tools::tolerance(1e-6));
  BOOST_TEST(r.at("shift_difference").at("lrp") < 1e-3);
  // Inside evaluate_explanation.
  q.robustness_samples = 3;
  q.robustness_noise = 0.03;
  q.flip.seed = 11;
  q.flip.steps = 2;
  q.flip.random_orders = 0;
  const auto res = be::evaluate_explanation(m, m.explainer(q.composite), be::IncrementalFlipper(m, 0), image, 0, q, {});
  BOOST_REQUIRE_MESSAGE(res.error.empty(), res.error);
  BOOST_TEST(res.metrics.at("max_sensitivity").at("occlusion") == r.at("max_sensitivity").at("occlusion"));
  BOOST_TEST(res.metrics.at("shift_difference").at("lrp") == r.at("shift_difference").at("lrp"));
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
