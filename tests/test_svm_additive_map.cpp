// Tests of svm::AdditiveKernelMap: VLFeat's table against the closed form of the map written here from
// Vedaldi & Zisserman's formulas, psi(a) . psi(b) against the intersection and chi2 kernels, the values
// outside the table, and the exact per-dimension relevance of a linear function of the map.
#include <bowlrp/svm/additive_map.h>
#include <bowlrp/svm/kernel.h>

#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

using namespace bowlrp;
using namespace bowlrp::svm;
using bowlrp::test::throws_with;

namespace {

constexpr double kPi = 3.14159265358979323846;

// psi(a) in closed form, uniform window (the header's formulas).
std::vector<double> closed_form(KernelType kernel, int order, double period, double a) {
  auto kappa = [&](double lambda) {
    return kernel == KernelType::chi2 ? 2.0 / (std::exp(kPi * lambda) + std::exp(-kPi * lambda))
                                      : (2.0 / kPi) / (1 + 4 * lambda * lambda);
  };
  const double L = 2 * kPi / period;
  std::vector<double> psi(2 * static_cast<std::size_t>(order) + 1, 0.0);
  if (a == 0) return psi;
  const double s = a < 0 ? -1 : 1, x = std::abs(a);
  psi[0] = s * std::sqrt(x * L * kappa(0));
  for (int j = 1; j <= order; ++j) {
    const double r = std::sqrt(2 * x * L * kappa(j * L));
    psi[2 * j - 1] = s * r * std::cos(j * L * std::log(x));
    psi[2 * j] = s * r * std::sin(j * L * std::log(x));
  }
  return psi;
}

double naive_term(KernelType kernel, double a, double b) {
  if (kernel == KernelType::intersection) return std::min(a, b);
  return a + b == 0 ? 0.0 : 2 * a * b / (a + b);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(svm)
BOOST_AUTO_TEST_SUITE(additive_map)

BOOST_AUTO_TEST_CASE(options_are_validated) {
  AdditiveMapOptions o;
  o.validate();
  o.kernel = KernelType::rbf;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"kernel rbf", "hik or chi2"}));
  o = {};
  o.order = 0;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"order 0"}));
  o = {};
  o.period = 0;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"period"}));
  o = {};
  o.kernel = KernelType::linear;
  BOOST_CHECK_THROW(AdditiveKernelMap{o}, std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(table_matches_the_closed_form) {
  // VLFeat interpolates its table linearly within 8 + 8n subdivisions of each octave.
  for (KernelType kernel : {KernelType::intersection, KernelType::chi2})
    for (int order : {1, 3}) {
      AdditiveMapOptions o;
      o.kernel = kernel;
      o.order = order;
      o.period = 5.5;
      o.window = MapWindow::uniform;
      const AdditiveKernelMap map(o);
      BOOST_TEST(map.components() == 2u * order + 1);
      std::vector<double> got(map.components());
      double worst = 0;
      for (double e = -18.9; e < 7.9; e += 0.0137) {
        for (double sign : {1.0, -1.0}) {
          const double a = sign * std::exp2(e);
          map.map_value(a, got.data());
          const std::vector<double> want = closed_form(kernel, order, o.period, a);
          double diff = 0, size = 0;
          for (std::size_t j = 0; j < want.size(); ++j) {
            diff = std::max(diff, std::abs(got[j] - want[j]));
            size = std::max(size, std::abs(want[j]));
          }
          worst = std::max(worst, diff / size);
        }
      }
      BOOST_TEST_MESSAGE(to_string(kernel) << " order " << order << ": largest relative table error " << worst);
      BOOST_TEST(worst < 2e-3, to_string(kernel) << " order " << order << ": " << worst);
    }
}

BOOST_AUTO_TEST_CASE(values_outside_the_table_map_to_zero) {
  for (int order : {1, 2, 5}) {
    AdditiveMapOptions o;
    o.order = order;
    const AdditiveKernelMap map(o);
    // Poison the buffer: VLFeat alone would leave the last n values of these untouched.
    for (double a : {0.0, -0.0, 1e-7, 256.0, 1e6, -300.0}) {
      std::vector<double> out(map.components(), 123.0);
      map.map_value(a, out.data());
      for (double v : out) BOOST_TEST(v == 0.0, "order " << order << ", a = " << a);
    }
    std::vector<double> plus(map.components()), minus(map.components());
    map.map_value(0.3, plus.data());
    map.map_value(-0.3, minus.data());
    for (std::size_t j = 0; j < plus.size(); ++j) BOOST_TEST(minus[j] == -plus[j]);
    std::vector<double> out(map.components());
    BOOST_CHECK_THROW(map.map_value(std::nan(""), out.data()), std::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(the_map_approximates_the_kernel) {
  // l1-normalised histograms of V = 64 with 30% zeros and a wide range of bin sizes: Psi(x) . Psi(y)
  // against k(x, y), relative to k(x, y), worst over all pairs; a higher order approximates better.
  const std::size_t V = 64, n = 40;
  std::mt19937_64 rng(5);
  std::vector<double> X(n * V);
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (std::size_t d = 0; d < V; ++d) {
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;
      X[i * V + d] = u < 0.3 ? 0.0 : u * u * u;
      sum += X[i * V + d];
    }
    for (std::size_t d = 0; d < V; ++d) X[i * V + d] /= sum;
  }
  for (KernelType kernel : {KernelType::intersection, KernelType::chi2}) {
    double worst_by_order[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      AdditiveMapOptions o;
      o.kernel = kernel;
      o.order = k == 0 ? 1 : 3;
      const AdditiveKernelMap map(o);
      const std::vector<double> P = map.map_rows(X.data(), n, V);
      const std::size_t W = V * map.components();
      for (std::size_t i = 0; i < n; ++i)
        for (std::size_t j = i; j < n; ++j) {
          double approx = 0, exact = 0;
          for (std::size_t c = 0; c < W; ++c) approx += P[i * W + c] * P[j * W + c];
          for (std::size_t d = 0; d < V; ++d) exact += naive_term(kernel, X[i * V + d], X[j * V + d]);
          worst_by_order[k] = std::max(worst_by_order[k], std::abs(approx - exact) / exact);
        }
    }
    BOOST_TEST_MESSAGE(to_string(kernel) << ": largest relative kernel error, order 1 " << worst_by_order[0]
                                         << ", order 3 " << worst_by_order[1]);
    // Measured (VLFeat 0.9.21, default period, rectangular window): chi2 6.9e-3 / 6.3e-4, hik 0.145 /
    // 0.087 (the intersection's spectrum decays slowly: bins of very different size are where it errs).
    BOOST_TEST(worst_by_order[0] < (kernel == KernelType::chi2 ? 0.014 : 0.2));
    BOOST_TEST(worst_by_order[1] < (kernel == KernelType::chi2 ? 0.0015 : 0.12));
    BOOST_TEST(worst_by_order[1] < worst_by_order[0]);
  }
}

BOOST_AUTO_TEST_CASE(relevance_is_exact_per_dimension) {
  // f(x) = b + w . Psi(x) is the sum of the per-dimension terms plus b: R_d against psi(x_d) . w_d
  // computed here, and their sum against the dot product over the whole map.
  const std::size_t V = 100;
  std::mt19937_64 rng(9);
  auto u = [&] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  for (KernelType kernel : {KernelType::intersection, KernelType::chi2}) {
    AdditiveMapOptions o;
    o.kernel = kernel;
    o.order = 2;
    const AdditiveKernelMap map(o);
    const std::size_t m = map.components();
    std::vector<double> x(V), w(V * m);
    for (double& v : x) v = u() < 0.3 ? 0.0 : u() / 20;
    for (double& v : w) v = u() - 0.5;
    const double b = 0.37;
    std::vector<double> psi(V * m);
    map.map_row(x.data(), V, psi.data());
    double f = b;
    for (std::size_t c = 0; c < V * m; ++c) f += w[c] * psi[c];
    const std::vector<double> R = map.relevance(w.data(), x.data(), V);
    BOOST_TEST(R.size() == V);
    double total = b;
    for (std::size_t d = 0; d < V; ++d) {
      double want = 0;
      for (std::size_t j = 0; j < m; ++j) want += w[d * m + j] * psi[d * m + j];
      BOOST_TEST(R[d] == want);
      if (x[d] == 0) BOOST_TEST(R[d] == 0.0);
      total += R[d];
    }
    BOOST_TEST(std::abs(total - f) <= 1e-12 * std::max(1.0, std::abs(f)), "sum " << total << " vs f " << f);
  }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
