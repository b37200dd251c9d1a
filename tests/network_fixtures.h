// Fixtures shared by the network suites (nn/network, decompose/network): random dense layers, networks
// and vectors, bitwise comparison, the worst relative error seen, and refusals with their messages.
// Needs the nn module only.
#pragma once

#include <bowlrp/nn/network.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::test::network {

/// A vector of doubles.
using Vec = std::vector<double>;

/// Worst errors seen, relative to each comparison's scale (printed at the end of the tests that set them).
struct Worst {
  double value = 0.0;
  void see(double error, double scale) { value = std::max(value, error / scale); }
};

/// A random layer: weights and biases N(0, 1) (biases 0 when !biases); rows listed in zero_rows get
/// all-zero weights.
inline bowlrp::nn::DenseLayer random_layer(std::mt19937_64& rng, std::size_t n_in, std::size_t n_out, bool biases,
                            const std::vector<std::size_t>& zero_rows = {}) {
  std::normal_distribution<double> g(0.0, 1.0);
  bowlrp::nn::DenseLayer layer;
  layer.inputs = n_in;
  layer.outputs = n_out;
  layer.weights.resize(n_in * n_out);
  layer.biases.assign(n_out, 0.0);
  for (double& w : layer.weights) w = g(rng);
  if (biases)
    for (double& b : layer.biases) b = g(rng);
  for (std::size_t j : zero_rows)
    if (j < n_out) std::fill_n(layer.weights.begin() + j * n_in, n_in, 0.0);
  return layer;
}

/// A random network n[0] -> n[1] -> ... with the given bias setting; class names c0, c1, ...
inline bowlrp::nn::Network random_network(std::mt19937_64& rng, const std::vector<std::size_t>& n, bool biases) {
  std::vector<bowlrp::nn::DenseLayer> layers;
  for (std::size_t l = 0; l + 1 < n.size(); ++l) layers.push_back(random_layer(rng, n[l], n[l + 1], biases));
  std::vector<std::string> names;
  for (std::size_t c = 0; c < n.back(); ++c) names.push_back("c" + std::to_string(c));
  return bowlrp::nn::Network(std::move(layers), std::move(names));
}

/// n values N(0, 1), or their absolute values when positive.
inline Vec random_vector(std::mt19937_64& rng, std::size_t n, bool positive) {
  std::normal_distribution<double> g(0.0, 1.0);
  Vec v(n);
  for (double& x : v) x = positive ? std::abs(g(rng)) : g(rng);
  return v;
}

/// Runs f and checks that it throws E with every part in its message.
template <class E>
inline void check_throws(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    BOOST_ERROR("no exception; expected one saying '" << parts.front() << "'");
  } catch (const E& e) {
    const std::string what = e.what();
    for (const std::string& p : parts)
      BOOST_TEST(what.find(p) != std::string::npos, "message '" << what << "' lacks '" << p << "'");
  }
}

/// Whether a and b hold the same doubles bit for bit.
inline bool same_bits(const Vec& a, const Vec& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0);
}

}  // namespace bowlrp::test::network
