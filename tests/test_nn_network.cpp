// Suite nn/network: the network head's forward pass (nn::Network): the trace, decision and batch give the
// same bits whatever the thread count, the gradient against central differences, and the refusals of
// bad shapes, values, names, traces and thread counts (network_fixtures.h).
#include <bowlrp/core/parallel.h>
#include <bowlrp/nn/network.h>

#include "network_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bn = bowlrp::nn;
using namespace bowlrp::test::network;

BOOST_AUTO_TEST_SUITE(nn)
BOOST_AUTO_TEST_SUITE(network)

BOOST_AUTO_TEST_CASE(forward_decision_and_batch_give_the_same_bits) {
  std::mt19937_64 rng(7000);
  const bn::Network net = random_network(rng, {37, 21, 13, 5}, true);
  BOOST_TEST(net.dim() == 37u);
  BOOST_TEST(net.classes() == 5u);
  BOOST_TEST(net.hidden_sizes() == std::vector<std::size_t>({21, 13}));
  const std::size_t n = 203;
  const Vec X = random_vector(rng, n * net.dim(), false);
  const Vec batch1 = net.decision_batch(X.data(), n, 1);
  const Vec batch2 = net.decision_batch(X.data(), n, 2);
  const Vec batch0 = net.decision_batch(X.data(), n);
  BOOST_TEST(same_bits(batch1, batch2));  // the thread count changes nothing
  BOOST_TEST(same_bits(batch1, batch0));
  for (std::size_t r = 0; r < n; ++r) {
    const double* x = X.data() + r * net.dim();
    const bn::NetworkTrace t = net.forward(x);
    const Vec f = net.decision(x);
    BOOST_REQUIRE(same_bits(t.scores(), f));
    BOOST_REQUIRE(same_bits(f, Vec(batch1.begin() + r * 5, batch1.begin() + (r + 1) * 5)));
    for (std::size_t c = 0; c < 5; ++c) BOOST_REQUIRE(net.decision(c, x) == f[c]);
    // The trace holds the rectified inputs of every layer.
    BOOST_REQUIRE_EQUAL(t.inputs.size(), 3u);
    BOOST_REQUIRE(same_bits(t.inputs[0], Vec(x, x + net.dim())));
    for (std::size_t l = 1; l < 3; ++l)
      for (std::size_t j = 0; j < t.inputs[l].size(); ++j) BOOST_REQUIRE(t.inputs[l][j] == std::max(0.0, t.pre_activations[l - 1][j]));
  }
  BOOST_TEST(net.decision_batch(X.data(), 0, 2).empty());
}

BOOST_AUTO_TEST_CASE(gradient_matches_central_differences) {
  Worst worst;
  int checked = 0;
  for (int seed = 0; seed < 20; ++seed) {
    std::mt19937_64 rng(8000 + seed);
    const bn::Network net = random_network(rng, {6, 8, 7, 3}, true);
    const Vec x = random_vector(rng, 6, false);
    const bn::NetworkTrace t = net.forward(x.data());
    double margin = std::numeric_limits<double>::infinity();  // distance of the hidden units from their kink
    for (std::size_t l = 0; l + 1 < t.pre_activations.size(); ++l)
      for (double z : t.pre_activations[l]) margin = std::min(margin, std::abs(z));
    if (margin < 1e-3) continue;  // a step of 1e-6 could cross a kink
    const double h = 1e-6;
    for (std::size_t cls = 0; cls < 3; ++cls) {
      const Vec g = net.gradient(cls, t);
      BOOST_REQUIRE_EQUAL(g.size(), 6u);
      for (std::size_t d = 0; d < 6; ++d) {
        Vec xp = x, xm = x;
        xp[d] += h;
        xm[d] -= h;
        const double fd = (net.decision(cls, xp.data()) - net.decision(cls, xm.data())) / (xp[d] - xm[d]);
        const double err = std::abs(fd - g[d]);
        BOOST_TEST(err <= 1e-7 * std::max(1.0, std::abs(g[d])), "seed " << seed << " class " << cls << " d " << d
                                                                       << ": " << fd << " vs " << g[d]);
        worst.see(err, std::max(1.0, std::abs(g[d])));
      }
    }
    ++checked;
  }
  BOOST_TEST(checked >= 5);
  BOOST_TEST_MESSAGE("gradient vs central differences (h = 1e-6, " << checked << " points): worst error " << worst.value);
}

BOOST_AUTO_TEST_CASE(network_refuses_bad_shapes_values_and_names) {
  const auto layer = [](std::size_t in, std::size_t out) {
    return bn::DenseLayer{in, out, Vec(in * out, 0.5), Vec(out, 0.1)};
  };
  using Names = std::vector<std::string>;
  check_throws<std::invalid_argument>([] { bn::Network({}, {}); }, {"no layers", "at least one"});
  check_throws<std::invalid_argument>([&] { bn::Network({layer(3, 4), layer(5, 2)}, {"a", "b"}); },
                                      {"layer 2 of 2 has 5 inputs but layer 1 has 4 outputs"});
  check_throws<std::invalid_argument>([&] { bn::Network({bn::DenseLayer{0, 2, {}, {0, 0}}}, {"a", "b"}); },
                                      {"layer 1 of 1 has 0 inputs", "expected both >= 1"});
  bn::DenseLayer short_weights = layer(3, 2);
  short_weights.weights.pop_back();
  check_throws<std::invalid_argument>([&] { bn::Network({short_weights}, {"a", "b"}); },
                                      {"5 weights and 2 biases", "expected 6 (outputs x inputs) and 2"});
  bn::DenseLayer long_biases = layer(3, 2);
  long_biases.biases.push_back(0.0);
  check_throws<std::invalid_argument>([&] { bn::Network({long_biases}, {"a", "b"}); }, {"6 weights and 3 biases"});
  for (double bad : {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    bn::DenseLayer w = layer(3, 2), b = layer(3, 2);
    w.weights[4] = bad;
    b.biases[1] = -bad;
    check_throws<std::invalid_argument>([&] { bn::Network({layer(2, 3), w}, {"a", "b"}); },
                                        {"layer 2 of 2 has a non-finite weight or bias"});
    check_throws<std::invalid_argument>([&] { bn::Network({b}, {"a", "b"}); }, {"non-finite"});
  }
  check_throws<std::invalid_argument>([&] { bn::Network({layer(3, 2)}, Names{"a"}); },
                                      {"2 outputs but there are 1 class names", "one output per class"});
  check_throws<std::invalid_argument>([&] { bn::Network({layer(3, 2)}, Names{"a", "a"}); },
                                      {"class name 'a' is empty or repeated"});
  check_throws<std::invalid_argument>([&] { bn::Network({layer(3, 2)}, Names{"a", ""}); },
                                      {"class name '' is empty or repeated"});

  const bn::Network net({layer(3, 4), layer(4, 2)}, {"cat", "dog"});
  BOOST_TEST(net.class_index("dog") == 1u);
  check_throws<std::invalid_argument>([&] { net.class_index("zebra"); },
                                      {"unknown class 'zebra'", "the model knows cat, dog"});
  const Vec x = {1, 2, 3};
  check_throws<std::out_of_range>([&] { net.decision(2, x.data()); }, {"class index 2 out of range", "2 classes"});
  const bn::NetworkTrace t = net.forward(x.data());
  check_throws<std::out_of_range>([&] { net.gradient(7, t); }, {"class index 7"});
  bn::NetworkTrace bad_trace = t;
  bad_trace.inputs[1].pop_back();
  check_throws<std::invalid_argument>([&] { net.gradient(0, bad_trace); }, {"trace's layer 2"});
  bad_trace.inputs.pop_back();
  check_throws<std::invalid_argument>([&] { net.gradient(0, bad_trace); }, {"trace has 1 layers, the network 2"});
  check_throws<std::invalid_argument>([&] { net.decision_batch(x.data(), 1, -1); }, {"threads -1", "expected 0"});
  check_throws<std::invalid_argument>([&] { net.decision_batch(x.data(), 1, bowlrp::core::kMaxThreads + 1); },
                                      {"threads 1025"});
  const bn::Network empty;
  BOOST_TEST(empty.dim() == 0u);
  check_throws<std::invalid_argument>([&] { empty.forward(x.data()); }, {"empty"});
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
