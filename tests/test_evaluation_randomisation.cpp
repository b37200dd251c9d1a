// Suite evaluation/randomisation: the sanity checks of randomisation.h. Spearman and SSIM against
// naive formulas written here; the randomised heads of every kind (each output's weights a
// permutation of its own, biases kept, seeded); and on a small model, that randomising the head
// changes every method's map, as the check reports it and as recomputed here from the randomised model.
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/evaluation/randomisation.h>
#include <bowlrp/model/model.h>

#include "evaluation_fixtures.h"
#include "network_fixtures.h"
#include "svm_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace be = bowlrp::evaluation;
using bowlrp::test::evaluation::hand_made_svm;
using bowlrp::test::evaluation::structured_image;
using bowlrp::test::evaluation::structured_pipeline;

namespace {

// Spearman by definition: rank_i = 1 + #{|v_j| < |v_i|} + (#{|v_j| = |v_i|} - 1) / 2, then Pearson.
double naive_spearman(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = a.size();
  auto ranks = [n](const std::vector<double>& v) {
    std::vector<double> r(n);
    for (std::size_t i = 0; i < n; ++i) {
      double below = 0, equal = 0;
      for (std::size_t j = 0; j < n; ++j) {
        below += std::fabs(v[j]) < std::fabs(v[i]);
        equal += std::fabs(v[j]) == std::fabs(v[i]);
      }
      r[i] = 1 + below + (equal - 1) / 2;
    }
    return r;
  };
  const std::vector<double> ra = ranks(a), rb = ranks(b);
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < n; ++i) ma += ra[i] / n, mb += rb[i] / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

// SSIM by definition: every 7 x 7 window inside the map, its means, sample variances and covariance.
double naive_ssim(const std::vector<double>& a, const std::vector<double>& b, int W, int H) {
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) ma = std::max(ma, std::fabs(a[i])), mb = std::max(mb, std::fabs(b[i]));
  double total = 0;
  int windows = 0;
  for (int y0 = 0; y0 + 7 <= H; ++y0)
    for (int x0 = 0; x0 + 7 <= W; ++x0) {
      std::vector<double> x, y;
      for (int yy = y0; yy < y0 + 7; ++yy)
        for (int xx = x0; xx < x0 + 7; ++xx) {
          x.push_back(ma > 0 ? std::fabs(a[yy * W + xx]) / ma : 0.0);
          y.push_back(mb > 0 ? std::fabs(b[yy * W + xx]) / mb : 0.0);
        }
      double mx = 0, my = 0;
      for (int i = 0; i < 49; ++i) mx += x[i] / 49, my += y[i] / 49;
      double vx = 0, vy = 0, cxy = 0;
      for (int i = 0; i < 49; ++i) {
        vx += (x[i] - mx) * (x[i] - mx) / 48;
        vy += (y[i] - my) * (y[i] - my) / 48;
        cxy += (x[i] - mx) * (y[i] - my) / 48;
      }
      const double C1 = 1e-4, C2 = 9e-4;
      total += (2 * mx * my + C1) * (2 * cxy + C2) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      ++windows;
    }
  return total / windows;
}

std::vector<double> sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(randomisation)

BOOST_AUTO_TEST_CASE(spearman_and_ssim_match_their_definitions) {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> g(0.0, 1.0);
  const int W = 12, H = 9;
  std::vector<double> a(W * H), b(W * H);
  for (int i = 0; i < W * H; ++i) {
    a[i] = std::round(3 * g(rng)) / 3;  // ties, and signs that the magnitudes ignore
    b[i] = a[i] * 0.5 + 0.5 * g(rng);
  }
  BOOST_TEST(be::spearman_correlation(a.data(), b.data(), a.size()) == naive_spearman(a, b),
             boost::test_tools::tolerance(1e-12));
  BOOST_TEST(be::map_ssim(a.data(), b.data(), W, H) == naive_ssim(a, b, W, H), boost::test_tools::tolerance(1e-9));
  BOOST_TEST(be::map_ssim(a.data(), a.data(), W, H) == 1.0, boost::test_tools::tolerance(1e-12));
  std::vector<double> neg(a.size()), rev(a.size()), flat(a.size(), 2.0);
  for (std::size_t i = 0; i < a.size(); ++i) neg[i] = -3 * a[i], rev[i] = 1.0 / (1.0 + std::fabs(a[i]));
  BOOST_TEST(be::spearman_correlation(a.data(), neg.data(), a.size()) == 1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(be::spearman_correlation(a.data(), rev.data(), a.size()) == -1.0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(be::spearman_correlation(a.data(), flat.data(), a.size()) == 0.0);
  BOOST_CHECK_THROW(be::map_ssim(a.data(), b.data(), 6, 18), std::invalid_argument);
  BOOST_CHECK_THROW(be::spearman_correlation(a.data(), b.data(), 1), std::invalid_argument);
  b[5] = std::nan("");
  BOOST_CHECK_THROW(be::spearman_correlation(a.data(), b.data(), a.size()), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(randomised_heads_shuffle_each_outputs_weights_and_keep_the_rest) {
  const auto pipeline = structured_pipeline();
  const std::size_t V = pipeline->dimension();
  const bowlrp::model::Model kernel(pipeline, hand_made_svm(V, bowlrp::svm::KernelType::intersection));
  BOOST_TEST(kernel.head_parameter_layers() == 1u);
  const bowlrp::model::Model r = kernel.with_randomised_head(1, 3);
  const auto& before = kernel.head_as<bowlrp::svm::KernelSvm>().classes();
  const auto& after = r.head_as<bowlrp::svm::KernelSvm>().classes();
  for (std::size_t c = 0; c < 2; ++c) {
    BOOST_TEST(sorted(after[c].coef) == sorted(before[c].coef));
    BOOST_TEST(after[c].coef != before[c].coef);
    BOOST_TEST(after[c].bias == before[c].bias);
  }
  BOOST_TEST(r.head_as<bowlrp::svm::KernelSvm>().support() == kernel.head_as<bowlrp::svm::KernelSvm>().support());
  BOOST_TEST(kernel.with_randomised_head(1, 3).head_as<bowlrp::svm::KernelSvm>().classes()[0].coef == after[0].coef);
  BOOST_TEST(kernel.with_randomised_head(1, 4).head_as<bowlrp::svm::KernelSvm>().classes()[0].coef != after[0].coef);
  BOOST_TEST(kernel.with_randomised_head(0, 3).head_as<bowlrp::svm::KernelSvm>().classes()[0].coef == before[0].coef);
  BOOST_CHECK_THROW(kernel.with_randomised_head(2, 3), std::invalid_argument);

  const bowlrp::model::Model linear(
      pipeline, std::make_shared<const bowlrp::svm::LinearSvm>(bowlrp::svm::LinearSvm::from_kernel_svm(
                    *hand_made_svm(V, bowlrp::svm::KernelType::linear))));
  const auto& w0 = linear.head_as<bowlrp::svm::LinearSvm>().classes()[1];
  const bowlrp::model::Model linear_r = linear.with_randomised_head(1, 3);
  const auto& w1 = linear_r.head_as<bowlrp::svm::LinearSvm>().classes()[1];
  BOOST_TEST(sorted(w1.weights) == sorted(w0.weights));
  BOOST_TEST(w1.weights != w0.weights);
  BOOST_TEST(w1.bias == w0.bias);

  std::mt19937_64 rng(2);
  const bowlrp::model::Model net(
      pipeline, std::make_shared<const bowlrp::nn::Network>(bowlrp::test::network::random_network(rng, {V, 6, 2}, true)));
  BOOST_TEST(net.head_parameter_layers() == 2u);
  const auto& l0 = net.head_as<bowlrp::nn::Network>().layers();
  for (std::size_t k : {1u, 2u}) {
    const bowlrp::model::Model net_r = net.with_randomised_head(k, 3);
    const auto& lk = net_r.head_as<bowlrp::nn::Network>().layers();
    BOOST_TEST((lk[0].weights == l0[0].weights) == (k == 1));  // the first layer only at depth 2
    BOOST_TEST(lk[1].weights != l0[1].weights);
    for (std::size_t l = 0; l < 2; ++l) {
      BOOST_TEST(lk[l].biases == l0[l].biases);
      for (std::size_t j = 0; j < l0[l].outputs; ++j) {  // each row is a permutation of its own
        const auto row = [&](const std::vector<double>& w) {
          return sorted(std::vector<double>(w.begin() + j * l0[l].inputs, w.begin() + (j + 1) * l0[l].inputs));
        };
        BOOST_TEST(row(lk[l].weights) == row(l0[l].weights));
      }
    }
  }
  BOOST_CHECK_THROW(net.with_randomised_head(3, 3), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(randomising_the_head_changes_every_methods_map) {
  const auto pipeline = structured_pipeline();
  const bowlrp::model::Model m(pipeline, hand_made_svm(pipeline->dimension(), bowlrp::svm::KernelType::intersection));
  const bowlrp::bow::GrayImage image = structured_image(m.loader());
  be::QualityOptions q;
  q.occlusion_patch = 16;
  const auto levels = be::randomisation_check(m, image, 1, q, 7);
  BOOST_REQUIRE_EQUAL(levels.size(), 2u);
  BOOST_TEST(levels[0].name == "head 1/1");
  BOOST_TEST(levels[1].name == "random logit");
  BOOST_TEST(levels[1].compared_class == 0u);
  // The check's numbers, recomputed from the randomised model's maps.
  const auto original = be::method_maps(m, image, 1, q);
  const auto randomised = be::method_maps(m.with_randomised_head(1, 7), image, 1, q);
  for (const char* name : {"lrp", "sensitivity", "occlusion"}) {
    const auto& o = original.at(name);
    const auto& r = randomised.at(name);
    BOOST_TEST(levels[0].methods.at(name).spearman == naive_spearman(o, r), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(levels[0].methods.at(name).ssim == naive_ssim(o, r, 80, 60), boost::test_tools::tolerance(1e-9));
    BOOST_TEST_MESSAGE(name << ": spearman " << levels[0].methods.at(name).spearman << ", ssim "
                            << levels[0].methods.at(name).ssim << "; random logit spearman "
                            << levels[1].methods.at(name).spearman);
    BOOST_TEST(levels[0].methods.at(name).spearman < 0.95);  // the map moved with the head (lrp 0.16)
  }
  // The same inside evaluate_explanation, when asked.
  q.randomisation = true;
  q.flip.steps = 2;
  q.flip.random_orders = 0;
  q.flip.seed = 7;
  const auto res = be::evaluate_explanation(m, m.explainer(q.composite), be::IncrementalFlipper(m, 1), image, 1, q, {});
  BOOST_REQUIRE_MESSAGE(res.error.empty(), res.error);
  BOOST_TEST(res.metrics.at("randomisation_spearman").at("lrp") == levels[0].methods.at("lrp").spearman);
  BOOST_TEST(res.metrics.at("random_logit_ssim").at("occlusion") == levels[1].methods.at("occlusion").ssim);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
