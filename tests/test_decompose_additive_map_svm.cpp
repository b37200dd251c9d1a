// Tests of the explicit-map linear SVM head (svm::AdditiveMapSvm) and its relevance partner
// (decompose/additive_map_relevance.h): construction checks, R_d against a naive reference written
// here from Vedaldi & Zisserman's closed form of psi (uniform window, on VLFeat's table nodes, where its
// interpolation is exact), conservation under each bias policy, and a trained head against the
// kernel SVM it approximates.
#include <bowlrp/decompose/additive_map_relevance.h>
#include <bowlrp/svm/additive_map_svm.h>
#include <bowlrp/svm/svm.h>

#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace bowlrp;
namespace bd = bowlrp::decompose;
using bowlrp::test::throws_with;

namespace {

constexpr double kPi = 3.14159265358979323846;

// psi_j(a) for a > 0 from the formulas (uniform window): sqrt(a L kappa_0), sqrt(2 a L kappa_j) cos/sin(j L log a).
double psi_naive(svm::KernelType kernel, int order, double period, double a, int j) {
  if (a == 0) return 0.0;
  auto kappa = [&](double lambda) {
    return kernel == svm::KernelType::chi2 ? 1.0 / std::cosh(kPi * lambda) : (2.0 / kPi) / (1 + 4 * lambda * lambda);
  };
  const double L = 2 * kPi / period;
  if (j == 0) return std::sqrt(a * L * kappa(0));
  const int k = (j + 1) / 2;
  (void)order;
  const double r = std::sqrt(2 * a * L * kappa(k * L));
  return j % 2 == 1 ? r * std::cos(k * L * std::log(a)) : r * std::sin(k * L * std::log(a));
}

// A node of VLFeat's table: 2^e (1 + i / (8 + 8n)), where its linear interpolation is exact.
double table_node(std::mt19937_64& rng, int order) {
  const int N = 8 + 8 * order;
  const int e = -12 + static_cast<int>(rng() % 12);  // 2^-12 .. 2^-1
  const int i = static_cast<int>(rng() % N);
  return std::ldexp(1.0 + static_cast<double>(i) / N, e);
}

svm::AdditiveMapSvm random_head(svm::KernelType kernel, int order, double period, std::size_t V, std::size_t C,
                                std::mt19937_64& rng) {
  svm::AdditiveMapOptions o;
  o.kernel = kernel;
  o.order = order;
  o.period = period;
  o.window = svm::MapWindow::uniform;
  const std::size_t m = 2 * static_cast<std::size_t>(order) + 1;
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<svm::LinearClass> classes;
  for (std::size_t c = 0; c < C; ++c) {
    svm::LinearClass k{"class" + std::to_string(c), u(rng), std::vector<double>(V * m)};
    for (double& w : k.weights) w = u(rng);
    classes.push_back(std::move(k));
  }
  return svm::AdditiveMapSvm(V, o, svm::LinearSvm(V * m, std::move(classes)));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decompose)
BOOST_AUTO_TEST_SUITE(additive_map_svm)

BOOST_AUTO_TEST_CASE(construction_is_checked) {
  svm::AdditiveMapOptions o;  // chi2, order 1: 3 values per dimension
  svm::LinearSvm four(4, {{"a", 0.0, {1, 2, 3, 4}}});
  BOOST_TEST(throws_with<std::invalid_argument>([&] { svm::AdditiveMapSvm(2, o, four); },
                                                {"dimension 4", "2 x 3 = 6"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { svm::AdditiveMapSvm(0, o, four); }, {"dim 0"}));
  svm::LinearSvm six(6, {{"a", 0.0, {1, 2, 3, 4, 5, 6}}});
  svm::AdditiveMapOptions bad = o;
  bad.kernel = svm::KernelType::rbf;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { svm::AdditiveMapSvm(2, bad, six); }, {"kernel rbf"}));
  BOOST_CHECK_THROW(svm::LinearSvm(6, {{"a", 0.0, {1, 2, 3, 4, 5, std::nan("")}}}), std::invalid_argument);
  const svm::AdditiveMapSvm ok(2, o, six);
  BOOST_TEST(ok.dim() == 2u);
  const double x[2] = {0.25, 0.5};
  BOOST_CHECK_THROW(ok.decision(1, x), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(relevance_matches_a_naive_reference) {
  std::mt19937_64 rng(11);
  const std::size_t V = 40, C = 3;
  for (svm::KernelType kernel : {svm::KernelType::intersection, svm::KernelType::chi2})
    for (int order : {1, 2}) {
      const double period = 6.0;
      const svm::AdditiveMapSvm head = random_head(kernel, order, period, V, C, rng);
      const std::size_t m = 2 * static_cast<std::size_t>(order) + 1;
      std::vector<double> x(V);
      for (std::size_t d = 0; d < V; ++d) x[d] = d % 5 == 0 ? 0.0 : table_node(rng, order);
      for (std::size_t c = 0; c < C; ++c) {
        bd::SvmRule rule;
        rule.bias = bd::BiasPolicy::absorbed;
        const bd::DimensionRelevance r = bd::relevance_dimensions(head, c, x.data(), rule);
        const std::vector<double>& w = head.classes()[c].weights;
        double f = head.classes()[c].bias, worst = 0, scale = 0;
        for (std::size_t d = 0; d < V; ++d) {
          double want = 0;
          for (std::size_t j = 0; j < m; ++j)
            want += w[d * m + j] * psi_naive(kernel, order, period, x[d], static_cast<int>(j));
          f += want;
          worst = std::max(worst, std::abs(r.R[d] - want));
          scale = std::max(scale, std::abs(want));
          if (x[d] == 0) BOOST_TEST(r.R[d] == 0.0);
        }
        BOOST_TEST(worst <= 1e-9 * scale, svm::to_string(kernel) << " order " << order << ": " << worst);
        BOOST_TEST(std::abs(r.f - f) <= 1e-9 * std::max(1.0, std::abs(f)), r.f << " vs naive " << f);
        BOOST_TEST(r.absorbed == head.classes()[c].bias);
      }
    }
}

BOOST_AUTO_TEST_CASE(every_bias_policy_conserves) {
  std::mt19937_64 rng(3);
  const std::size_t V = 200;
  const svm::AdditiveMapSvm head = random_head(svm::KernelType::chi2, 3, 5.0, V, 2, rng);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> x(V);
  double sum = 0;
  for (double& v : x) sum += (v = u(rng) < 0.4 ? 0.0 : u(rng));
  for (double& v : x) v /= sum;
  for (auto policy : {bd::BiasPolicy::uniform, bd::BiasPolicy::proportional,
                      bd::BiasPolicy::absorbed}) {
    bd::Composite composite;
    composite.svm.bias = policy;
    const bd::DimensionRelevance r = bd::relevance_head(head, 1, x.data(), composite, nullptr);
    const double rel = std::abs(r.f - r.total() - r.absorbed) / std::max(1.0, std::abs(r.f));
    BOOST_TEST(rel <= 1e-12, bd::to_string(policy) << ": " << rel);
    BOOST_TEST(r.residual == r.f - r.total() - r.absorbed);
    BOOST_TEST(r.f == head.decision(1, x.data()));
  }
  std::vector<svm::IntersectionIndex> none;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::check_head(head, {}, &none); },
                                                {"intersection indices"}));
  bd::check_head(head, {}, nullptr);
}

BOOST_AUTO_TEST_CASE(trained_head_is_close_to_the_kernel_svm) {
  // Three classes of l1-normalised histograms (V = 48) drawn from Dirichlet-like mixtures whose bins
  // differ in scale, 120 train / 240 test: the explicit-map head (order 2) against the kernel SVM of its
  // kernel on the same data, top-1 accuracy.
  const std::size_t V = 48, C = 3, n_train = 120, n_test = 240;
  std::mt19937_64 rng(21);
  std::gamma_distribution<double> shape_small(0.4), shape_large(0.8);
  auto draw = [&](std::size_t cls, double* x) {
    double sum = 0;
    for (std::size_t d = 0; d < V; ++d) {
      const bool own = d % C == cls;
      x[d] = (own ? shape_large(rng) : shape_small(rng)) * (d < V / 2 ? 1.0 : 0.2);
      sum += x[d];
    }
    for (std::size_t d = 0; d < V; ++d) x[d] /= sum;
  };
  std::vector<double> Xtr(n_train * V), Xte(n_test * V);
  std::vector<std::size_t> ytr(n_train), yte(n_test);
  for (std::size_t i = 0; i < n_train; ++i) draw(ytr[i] = i % C, Xtr.data() + i * V);
  for (std::size_t i = 0; i < n_test; ++i) draw(yte[i] = (i * 7 + 1) % C, Xte.data() + i * V);
  std::vector<int> labels(n_train * C);
  for (std::size_t i = 0; i < n_train; ++i)
    for (std::size_t c = 0; c < C; ++c) labels[i * C + c] = ytr[i] == c ? 1 : -1;
  const std::vector<std::string> names{"a", "b", "c"};
  auto accuracy = [&](const std::vector<double>& scores) {
    std::size_t right = 0;
    for (std::size_t i = 0; i < n_test; ++i) {
      const double* s = scores.data() + i * C;
      right += static_cast<std::size_t>(std::max_element(s, s + C) - s) == yte[i];
    }
    return static_cast<double>(right) / n_test;
  };
  svm::TrainOptions options;
  options.C = 3.0;
  options.threads = 1;
  for (svm::KernelType kernel : {svm::KernelType::intersection, svm::KernelType::chi2}) {
    const svm::KernelSvm exact = svm::train_one_vs_rest(Xtr.data(), n_train, V, labels, names, svm::Kernel{kernel}, options);
    std::vector<double> exact_scores;
    for (std::size_t i = 0; i < n_test; ++i) {
      const std::vector<double> s = exact.decision(Xte.data() + i * V);
      exact_scores.insert(exact_scores.end(), s.begin(), s.end());
    }
    svm::AdditiveMapOptions map;
    map.kernel = kernel;
    map.order = 2;
    const svm::AdditiveMapSvm head =
        svm::train_additive_map_one_vs_rest(Xtr.data(), n_train, V, labels, names, map, options);
    const double a_exact = accuracy(exact_scores), a_map = accuracy(head.decision_batch(Xte.data(), n_test, 1));
    BOOST_TEST_MESSAGE(svm::to_string(kernel) << ": kernel SVM accuracy " << a_exact << ", explicit map " << a_map);
    BOOST_TEST(a_exact > 0.6);
    BOOST_TEST(std::abs(a_map - a_exact) <= 0.04, svm::to_string(kernel) << ": " << a_map << " vs " << a_exact);
  }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
