// Suite decompose/network: the layer rules of the network head (decompose/network_relevance.h): every
// rule against a naive reference written here from the explicit messages matrix R_{i<-j}, conservation
// per layer and end to end for every rule and composite, the z rule = gradient x input identity of
// bias-free ReLU networks, an αβ example computed by hand, the network layers of the conservation
// checker (and that it can fail), the rule and composite texts, and the Explainer's refusal of rules
// that do not fit the network (network_fixtures.h).
#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/network_relevance.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/nn/network.h>

#include "network_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace bd = bowlrp::decompose;
namespace bn = bowlrp::nn;
using namespace bowlrp::test::network;

namespace {

Vec dense(const bn::DenseLayer& layer, const Vec& a) {
  Vec z(layer.outputs);
  bn::dense_forward(layer, a.data(), z.data());
  return z;
}

double sum(const Vec& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return s;
}

// The naive reference of one layer: the explicit messages matrix M[i][j] = R_{i<-j} (n_in x n_out),
// each entry from the rule's definition (rules.h) as written, R_i = Σ_j M[i][j] and
// absorbed = Σ_j R_j - Σ_i R_i. `scale` (Σ |M| + Σ |R_j|) is the size of the terms whose rounding
// the comparisons tolerate.
struct Reference {
  std::vector<Vec> M;
  Vec R;
  double upper = 0.0, absorbed = 0.0, scale = 0.0;
};

Reference reference(const bn::DenseLayer& layer, const Vec& a, const Vec& z, const Vec& R_upper,
                    const bd::LayerRule& rule) {
  const std::size_t n_in = layer.inputs, n_out = layer.outputs;
  Reference ref;
  ref.M.assign(n_in, Vec(n_out, 0.0));
  for (std::size_t j = 0; j < n_out; ++j) {
    const double b = layer.biases[j];
    double z_pos = std::max(b, 0.0), z_neg = std::min(b, 0.0), w2 = 0.0;
    for (std::size_t i = 0; i < n_in; ++i) {
      const double zij = a[i] * layer.weight(j, i);
      z_pos += std::max(zij, 0.0);
      z_neg += std::min(zij, 0.0);
      w2 += layer.weight(j, i) * layer.weight(j, i);
    }
    for (std::size_t i = 0; i < n_in; ++i) {
      const double zij = a[i] * layer.weight(j, i);
      double& m = ref.M[i][j];
      if (std::holds_alternative<bd::ZRule>(rule)) {
        m = z[j] == 0.0 ? 0.0 : zij / z[j] * R_upper[j];
      } else if (const auto* e = std::get_if<bd::EpsilonRule>(&rule)) {
        const double sign = z[j] >= 0.0 ? 1.0 : -1.0;
        m = zij / (z[j] + e->epsilon * sign) * R_upper[j];
      } else if (const auto* ab = std::get_if<bd::AlphaBetaRule>(&rule)) {
        const double pos = z_pos > 0.0 ? ab->alpha * std::max(zij, 0.0) / z_pos : 0.0;
        const double neg = z_neg < 0.0 ? ab->beta * std::min(zij, 0.0) / z_neg : 0.0;
        m = (pos - neg) * R_upper[j];
      } else if (std::holds_alternative<bd::FlatRule>(rule)) {
        m = R_upper[j] / static_cast<double>(n_in);
      } else {
        m = w2 == 0.0 ? 0.0 : layer.weight(j, i) * layer.weight(j, i) / w2 * R_upper[j];
      }
    }
  }
  ref.R.assign(n_in, 0.0);
  for (std::size_t i = 0; i < n_in; ++i)
    for (std::size_t j = 0; j < n_out; ++j) {
      ref.R[i] += ref.M[i][j];
      ref.scale += std::abs(ref.M[i][j]);
    }
  ref.upper = sum(R_upper);
  for (double r : R_upper) ref.scale += std::abs(r);
  ref.absorbed = ref.upper - sum(ref.R);
  ref.scale = std::max(ref.scale, 1e-300);
  return ref;
}

std::vector<bd::LayerRule> all_rules() {
  return {bd::ZRule{},
          bd::EpsilonRule{},
          bd::EpsilonRule{0.5},
          bd::AlphaBetaRule{1.0, 0.0},
          bd::AlphaBetaRule{2.0, 1.0},
          bd::AlphaBetaRule{1.5, 0.5},
          bd::FlatRule{},
          bd::WSquareRule{}};
}

// An Explanation of a network head whose lower layers are trivially consistent (one feature, one
// pixel holding Σ R_d), so that check_conservation judges the head.
bd::Explanation explanation_of(const bd::DimensionRelevance& d, std::size_t cls) {
  bd::Explanation e;
  e.cls = cls;
  e.class_name = "c" + std::to_string(cls);
  e.dimensions = d;
  e.features.R = {d.total()};
  e.pixels.width = e.pixels.height = 1;
  e.pixels.R = {d.total()};
  return e;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decompose)
BOOST_AUTO_TEST_SUITE(network)

// ---------------------------------------------------------------------------------------------
// relevance_dense: every rule against the naive reference.

BOOST_AUTO_TEST_CASE(every_rule_matches_the_naive_messages_matrix) {
  const std::vector<std::pair<std::size_t, std::size_t>> sizes = {{1, 1}, {1, 3}, {2, 1}, {3, 4}, {5, 7}, {9, 6}, {17, 5}};
  Worst worst_R, worst_absorbed, worst_conservation;
  int zero_z = 0, zero_rows = 0, layers = 0;
  for (int seed = 0; seed < 30; ++seed) {
    std::mt19937_64 rng(1000 + seed);
    for (const auto& [n_in, n_out] : sizes)
      for (bool biases : {false, true})
        for (bool positive : {false, true}) {
          // Row 1 has all-zero weights; row 2 gets z_2 = 0 exactly with non-zero terms.
          bn::DenseLayer layer = random_layer(rng, n_in, n_out, biases, {1});
          Vec a = random_vector(rng, n_in, positive);
          if (positive && n_in >= 3) a[n_in - 1] = 0.0;  // a rectified input
          const std::size_t j0 = 2;
          if (j0 < n_out) {
            if (biases) {  // b = -(W a) in the forward's own order: z = -d + d = 0 exactly
              layer.biases[j0] = 0.0;
              layer.biases[j0] = -dense(layer, a)[j0];
            } else if (n_in >= 2) {  // +c a_0 and -c a_1 with a_1 = a_0, every other weight 0
              std::fill_n(layer.weights.begin() + j0 * n_in, n_in, 0.0);
              a[1] = a[0] = std::abs(a[0]) + 0.25;
              layer.weights[j0 * n_in] = 0.75;
              layer.weights[j0 * n_in + 1] = -0.75;
            }
          }
          const Vec z = dense(layer, a);
          if (j0 < n_out && (biases || n_in >= 2)) {
            BOOST_REQUIRE_EQUAL(z[j0], 0.0);
            ++zero_z;
          }
          if (n_out > 1) ++zero_rows;
          Vec R_upper = random_vector(rng, n_out, false);
          if (n_out > 3) R_upper[3] = 0.0;
          ++layers;
          for (const bd::LayerRule& rule : all_rules()) {
            const Reference ref = reference(layer, a, z, R_upper, rule);
            const bd::LayerRelevance got = bd::relevance_dense(layer, a.data(), z.data(), R_upper.data(), rule);
            BOOST_REQUIRE_EQUAL(got.R.size(), n_in);
            const double tol = 1e-12 * ref.scale;
            double err = 0.0;
            for (std::size_t i = 0; i < n_in; ++i) err = std::max(err, std::abs(got.R[i] - ref.R[i]));
            BOOST_TEST(err <= tol, bd::to_string(rule) << " seed " << seed << " " << n_in << "x" << n_out
                                                       << " biases " << biases << " positive " << positive
                                                       << ": |R - R_ref| = " << err << " > " << tol);
            BOOST_TEST(got.upper == ref.upper);
            const double err_absorbed = std::abs(got.absorbed - ref.absorbed);
            BOOST_TEST(err_absorbed <= tol, bd::to_string(rule) << " seed " << seed << " " << n_in << "x" << n_out
                                                                << ": absorbed " << got.absorbed << ", reference "
                                                                << ref.absorbed);
            // Conservation, with the absorbed part from the rule's own formula: a check, not an identity.
            const double err_conservation = std::abs(got.upper - sum(got.R) - got.absorbed);
            BOOST_TEST(err_conservation <= tol, bd::to_string(rule) << ": upper - lower - absorbed = "
                                                                    << got.upper - sum(got.R) - got.absorbed);
            worst_R.see(err, ref.scale);
            worst_absorbed.see(err_absorbed, ref.scale);
            worst_conservation.see(err_conservation, ref.scale);
          }
        }
  }
  BOOST_TEST(zero_z > 100);
  BOOST_TEST(zero_rows > 100);
  BOOST_TEST_MESSAGE("relevance_dense vs the messages matrix over " << layers << " layers x " << all_rules().size()
                     << " rules (" << zero_z << " with z_j = 0): worst |R - R_ref| / scale " << worst_R.value
                     << ", absorbed " << worst_absorbed.value << ", conservation " << worst_conservation.value);
}

BOOST_AUTO_TEST_CASE(special_neurons_send_nothing_and_keep_their_relevance) {
  // 3 inputs, 3 neurons: neuron 0 has all-zero weights and b = 0 (z = 0, nothing to split by),
  // neuron 1 has z = 0 from cancelling terms, neuron 2 is ordinary but has R = 0.
  bn::DenseLayer layer{3, 3, {0, 0, 0, /**/ 0.5, -0.5, 0, /**/ 1, 2, 3}, {0, 0, 0.5}};
  const Vec a = {2, 2, 1};
  const Vec z = dense(layer, a);
  BOOST_REQUIRE(z[0] == 0.0 && z[1] == 0.0);
  {  // z rule: both z = 0 neurons keep their R_j whole
    const Vec R_upper = {0.7, -1.3, 0.0};
    const bd::LayerRelevance r = bd::relevance_dense(layer, a.data(), z.data(), R_upper.data(), bd::ZRule{});
    BOOST_TEST(r.R == Vec({0.0, 0.0, 0.0}));
    BOOST_TEST(r.absorbed == 0.7 - 1.3);
  }
  {  // w2: neuron 0 (weights all 0) keeps 0.7; neuron 1 splits -1.3 half and half
    const Vec R_upper = {0.7, -1.3, 0.0};
    const bd::LayerRelevance r = bd::relevance_dense(layer, a.data(), z.data(), R_upper.data(), bd::WSquareRule{});
    BOOST_TEST(r.R == Vec({-0.65, -0.65, 0.0}));
    BOOST_TEST(r.absorbed == 0.7);
  }
  {  // ε with sign(0) = +1: neuron 1 sends z_ij / ε R_j = ±(1 / 0.5) (-1.3) and keeps (0 + ε) / ε R_j = R_j
    const Vec R_upper = {0.0, -1.3, 0.0};
    const bd::LayerRelevance r = bd::relevance_dense(layer, a.data(), z.data(), R_upper.data(), bd::EpsilonRule{0.5});
    BOOST_TEST(r.R[0] == 1.0 / 0.5 * -1.3);
    BOOST_TEST(r.R[1] == -1.0 / 0.5 * -1.3);
    BOOST_TEST(r.R[2] == 0.0);
    BOOST_TEST(r.absorbed == -1.3);
  }
  {  // αβ: neuron 0 has z⁺ = z⁻ = 0, so both parts send nothing: it keeps (α - β) R_j = R_j
    const Vec R_upper = {0.7, 0.0, 0.0};
    const bd::LayerRelevance r =
        bd::relevance_dense(layer, a.data(), z.data(), R_upper.data(), bd::AlphaBetaRule{2.0, 1.0});
    BOOST_TEST(r.R == Vec({0.0, 0.0, 0.0}));
    BOOST_TEST(r.absorbed == 0.7);
  }
  {  // flat never keeps anything, whatever the weights
    const Vec R_upper = {0.6, -0.3, 0.9};
    const bd::LayerRelevance r = bd::relevance_dense(layer, a.data(), z.data(), R_upper.data(), bd::FlatRule{});
    for (double Ri : r.R) BOOST_TEST(std::abs(Ri - 0.4) <= 1e-15);
    BOOST_TEST(r.absorbed == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(relevance_dense_refuses_bad_rules_and_layers) {
  bn::DenseLayer layer{2, 1, {1, 2}, {0}};
  const Vec a = {1, 1}, z = {3}, R = {1};
  check_throws<std::invalid_argument>(
      [&] { bd::relevance_dense(layer, a.data(), z.data(), R.data(), bd::EpsilonRule{0.0}); },
      {"EpsilonRule.epsilon = 0", "expected a finite value > 0"});
  check_throws<std::invalid_argument>(
      [&] { bd::relevance_dense(layer, a.data(), z.data(), R.data(), bd::AlphaBetaRule{2.0, 0.0}); },
      {"alpha - beta = 2", "expected 1"});
  layer.weights.push_back(3.0);
  check_throws<std::invalid_argument>([&] { bd::relevance_dense(layer, a.data(), z.data(), R.data(), bd::ZRule{}); },
                                      {"relevance_dense", "3 weights", "expected"});
}

// ---------------------------------------------------------------------------------------------
// Through networks.

BOOST_AUTO_TEST_CASE(z_rule_conserves_exactly_without_biases) {
  Worst worst;
  for (int seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(2000 + seed);
    const bn::Network net = random_network(rng, {16, 12, 10, 8, 4}, false);
    const Vec x = random_vector(rng, 16, seed % 2 == 0);
    const bn::NetworkTrace trace = net.forward(x.data());
    bd::NetworkComposite composite;
    composite.input = composite.hidden = composite.output = bd::ZRule{};
    for (std::size_t cls = 0; cls < net.classes(); ++cls) {
      const bd::NetworkRelevance r = bd::relevance_network(net, trace, cls, composite);
      BOOST_TEST(r.f == trace.scores()[cls]);
      BOOST_TEST(r.absorbed() == 0.0);  // no bias, no z_j = 0 with relevance: nothing kept
      const double err = std::abs(sum(r.layers.front().R) - r.f);
      BOOST_TEST(err <= 1e-12 * std::max(1.0, std::abs(r.f)), "seed " << seed << " class " << cls << ": Σ R_d = "
                                                                      << sum(r.layers.front().R) << ", f = " << r.f);
      worst.see(err, std::max(1.0, std::abs(r.f)));
    }
  }
  BOOST_TEST_MESSAGE("z rule, bias-free 16-12-10-8-4: worst |Σ R_d - f| / max(1, |f|) = " << worst.value);
}

BOOST_AUTO_TEST_CASE(z_rule_equals_gradient_times_input_without_biases) {
  Worst worst;
  int inactive = 0;
  for (int seed = 0; seed < 40; ++seed) {
    std::mt19937_64 rng(3000 + seed);
    const bn::Network net = random_network(rng, {9, 11, 7, 3}, false);
    const Vec x = random_vector(rng, 9, seed % 3 == 0);
    const bn::NetworkTrace trace = net.forward(x.data());
    for (const Vec& z : {trace.pre_activations[0], trace.pre_activations[1]})
      for (double v : z) inactive += v <= 0.0;
    bd::NetworkComposite composite;
    composite.layers = {bd::ZRule{}, bd::ZRule{}, bd::ZRule{}};
    for (std::size_t cls = 0; cls < net.classes(); ++cls) {
      const Vec g = net.gradient(cls, trace);
      const bd::DimensionRelevance d = bd::relevance_dimensions(net, cls, x.data(), composite);
      double scale = 1e-300, err = 0.0;
      for (std::size_t i = 0; i < x.size(); ++i) scale += std::abs(x[i] * g[i]);
      for (std::size_t i = 0; i < x.size(); ++i) err = std::max(err, std::abs(d.R[i] - x[i] * g[i]));
      BOOST_TEST(err <= 1e-12 * scale, "seed " << seed << " class " << cls << ": |R_d - x_d df/dx_d| = " << err);
      worst.see(err, scale);
    }
  }
  BOOST_TEST(inactive > 50);  // the ReLUs matter
  BOOST_TEST_MESSAGE("z rule vs gradient x input: worst max_d |R_d - x_d g_d| / Σ |x_d g_d| = " << worst.value);
}

BOOST_AUTO_TEST_CASE(alpha_beta_on_a_hand_computed_two_layer_network) {
  // x = (1, 2).
  // Layer 1: neuron 0 w = (2, -0.5), b = 1:  z = 2 - 1 + 1 = 2;  neuron 1 w = (1, 1), b = -1: z = 1 + 2 - 1 = 2.
  // Layer 2: class 0 w = (1, -0.5), b = 0.5: f_0 = 2 - 1 + 0.5 = 1.5;  class 1 w = (-1, 1), b = 0: f_1 = 0.
  // Explaining class 0, R = 1.5 at the output.
  //   output layer, class 0: z_i⁺ = (2, 0), b⁺ = 0.5 -> z⁺ = 2.5;  z_i⁻ = (0, -1), b⁻ = 0 -> z⁻ = -1.
  //   hidden neuron 0:       z_i⁺ = (2, 0), b⁺ = 1   -> z⁺ = 3;    z_i⁻ = (0, -1), b⁻ = 0 -> z⁻ = -1.
  //   hidden neuron 1:       z_i⁺ = (1, 2), b⁺ = 0   -> z⁺ = 3;    z_i⁻ = (0, 0),  b⁻ = -1 -> z⁻ = -1.
  // α = 1, β = 0:
  //   output: R_h = (1 * 2/2.5 * 1.5, 0) = (1.2, 0), absorbed 1.5 * 0.5/2.5 = 0.3.
  //   hidden: neuron 0 sends (2/3 * 1.2, 0) = (0.8, 0) and keeps 1.2 * 1/3 = 0.4; neuron 1 has R = 0.
  //   R_d = (0.8, 0), absorbed 0.4 + 0.3; 0.8 + 0.7 = 1.5.
  // α = 2, β = 1:
  //   output: R_h0 = (2 * 2/2.5 - 0) 1.5 = 2.4, R_h1 = (0 - 1 * (-1)/(-1)) 1.5 = -1.5,
  //           absorbed 1.5 (2 * 0.5/2.5 - 1 * 0/(-1)) = 0.6;  2.4 - 1.5 + 0.6 = 1.5.
  //   hidden neuron 0 (R = 2.4): sends (2 * 2/3 * 2.4, -1 * (-1)/(-1) * 2.4) = (3.2, -2.4), keeps 2.4 * 2 * 1/3 = 1.6.
  //   hidden neuron 1 (R = -1.5): sends (2 * 1/3 * -1.5, 2 * 2/3 * -1.5) = (-1, -2), its negative part is
  //           the bias alone: keeps -1.5 (2 * 0/3 - 1 * (-1)/(-1)) = 1.5.
  //   R_d = (3.2 - 1, -2.4 - 2) = (2.2, -4.4), absorbed 1.6 + 1.5 = 3.1 (hidden) + 0.6 (output);
  //   2.2 - 4.4 + 3.1 + 0.6 = 1.5.
  const bn::Network net({bn::DenseLayer{2, 2, {2, -0.5, 1, 1}, {1, -1}}, bn::DenseLayer{2, 2, {1, -0.5, -1, 1}, {0.5, 0}}},
                        {"yes", "no"});
  const Vec x = {1, 2};
  const bn::NetworkTrace trace = net.forward(x.data());
  BOOST_REQUIRE(trace.scores() == Vec({1.5, 0.0}));
  struct Case {
    double alpha, beta;
    Vec R_hidden, R_d;
    double absorbed_hidden, absorbed_output;
  };
  for (const Case& c : {Case{1, 0, {1.2, 0}, {0.8, 0}, 0.4, 0.3}, Case{2, 1, {2.4, -1.5}, {2.2, -4.4}, 3.1, 0.6}}) {
    bd::NetworkComposite composite;
    composite.input = composite.hidden = composite.output = bd::AlphaBetaRule{c.alpha, c.beta};
    const bd::NetworkRelevance r = bd::relevance_network(net, trace, 0, composite);
    BOOST_REQUIRE_EQUAL(r.layers.size(), 2u);
    const double tol = 1e-14;
    for (std::size_t i = 0; i < 2; ++i) {
      BOOST_TEST(std::abs(r.layers[1].R[i] - c.R_hidden[i]) <= tol, "α " << c.alpha << " R_h" << i << " = " << r.layers[1].R[i]);
      BOOST_TEST(std::abs(r.layers[0].R[i] - c.R_d[i]) <= tol, "α " << c.alpha << " R_d" << i << " = " << r.layers[0].R[i]);
    }
    BOOST_TEST(std::abs(r.layers[1].absorbed - c.absorbed_output) <= tol, "output absorbed " << r.layers[1].absorbed);
    BOOST_TEST(std::abs(r.layers[0].absorbed - c.absorbed_hidden) <= tol, "input layer absorbed " << r.layers[0].absorbed);
    BOOST_TEST(r.layers[1].upper == 1.5);
    BOOST_TEST(r.totals[1].rule == (c.alpha == 1 ? "alpha-beta:1:0" : "alpha-beta:2:1"));
  }
}

BOOST_AUTO_TEST_CASE(every_rule_and_composite_conserves_with_biases) {
  std::vector<bd::NetworkComposite> composites;
  for (const bd::LayerRule& rule : all_rules()) {
    bd::NetworkComposite c;
    c.input = c.hidden = c.output = rule;
    composites.push_back(c);
  }
  composites.push_back(bd::network_composite_from_string("input=flat,hidden=alpha2beta1,output=epsilon:0.01"));
  composites.push_back(bd::network_composite_from_string("input=w2,hidden=z,output=alpha1beta0"));
  composites.push_back(bd::network_composite_from_string("input=z,hidden=epsilon:0.1,output=z"));
  Worst worst_total, worst_layer;
  int explained = 0;
  for (const std::vector<std::size_t>& shape :
       std::vector<std::vector<std::size_t>>{{7, 3}, {10, 9, 4}, {12, 9, 8, 6, 3}}) {
    const std::size_t L = shape.size() - 1;
    std::vector<bd::NetworkComposite> these = composites;
    bd::NetworkComposite list;  // an explicit list cycling through the rules
    for (std::size_t l = 0; l < L; ++l) list.layers.push_back(all_rules()[(3 * l + 1) % all_rules().size()]);
    these.push_back(list);
    for (int seed = 0; seed < 12; ++seed) {
      std::mt19937_64 rng(4000 + seed);
      const bn::Network net = random_network(rng, shape, true);
      const Vec x = random_vector(rng, shape.front(), seed % 2 == 1);
      for (const bd::NetworkComposite& composite : these)
        for (std::size_t cls = 0; cls < net.classes(); ++cls) {
          const bd::DimensionRelevance d = bd::relevance_dimensions(net, cls, x.data(), composite);
          const std::string what = bd::to_string(composite) + " seed " + std::to_string(seed) + " class " +
                                   std::to_string(cls) + " L " + std::to_string(L);
          BOOST_TEST(d.f == net.decision(cls, x.data()), what);  // the network's own forward, same bits
          BOOST_TEST(d.bias == net.layers().back().biases[cls]);
          BOOST_TEST(bd::to_string(d.method) == "layer-wise");
          BOOST_REQUIRE_EQUAL(d.layers.size(), L);
          double absorbed = 0.0;
          for (std::size_t l = 0; l < L; ++l) {
            BOOST_TEST(d.layers[l].rule == bd::to_string(composite.rule_for(l, L)));
            BOOST_TEST(d.layers[l].inputs == shape[l]);
            BOOST_TEST(d.layers[l].outputs == shape[l + 1]);
            absorbed += d.layers[l].absorbed;
          }
          BOOST_TEST(d.layers.back().upper == d.f);
          BOOST_TEST(d.layers.front().lower == d.total());
          BOOST_TEST(d.absorbed == absorbed);
          BOOST_TEST(d.residual == d.f - d.total() - d.absorbed);
          const double scale = std::max(1.0, std::abs(d.f));
          const double err = std::abs(d.total() + d.absorbed - d.f);
          BOOST_TEST(err <= 1e-12 * scale, what << ": Σ R_d + absorbed - f = " << d.total() + d.absorbed - d.f);
          worst_total.see(err, scale);
          // Deterministic: a second run gives the same bits.
          BOOST_TEST(same_bits(bd::relevance_dimensions(net, cls, x.data(), composite).R, d.R));

          const bd::ConservationReport report = bd::check_conservation(explanation_of(d, cls), 1e-12);
          BOOST_TEST(report.ok(), what << "\n" << report.summary());
          BOOST_TEST(report.network_conserved);
          BOOST_REQUIRE_EQUAL(report.network_layers.size(), L);
          for (const bd::NetworkLayerCheck& c : report.network_layers) {
            BOOST_TEST(c.conserved);
            BOOST_TEST(c.linked);
            worst_layer.see(c.relative_residual, 1.0);
          }
          ++explained;
        }
    }
  }
  BOOST_TEST_MESSAGE("network conservation with biases over " << explained << " explanations: worst |Σ R_d + absorbed - f|"
                     " / max(1, |f|) = " << worst_total.value << ", worst layer relative residual " << worst_layer.value);
}

BOOST_AUTO_TEST_CASE(conservation_check_of_network_layers_can_fail) {
  std::mt19937_64 rng(5000);
  const bn::Network net = random_network(rng, {8, 6, 5, 3}, true);
  const Vec x = random_vector(rng, 8, false);
  const bd::DimensionRelevance good =
      bd::relevance_dimensions(net, 1, x.data(), bd::network_composite_from_string("input=z,hidden=alpha2beta1,output=epsilon"));
  const double delta = 1e-6 * std::max(1.0, std::abs(good.f));
  {
    const bd::ConservationReport r = bd::check_conservation(explanation_of(good, 1));
    BOOST_TEST(r.ok(), r.summary());
    const std::string s = r.summary();
    BOOST_TEST(s.find("network layer 2 (epsilon:0.01, 5 -> 3)") != std::string::npos, s);
    BOOST_TEST(s.find("network layer 1 (alpha-beta:2:1, 6 -> 5)") != std::string::npos, s);
    BOOST_TEST(s.find("network layers conserved") != std::string::npos, s);
  }
  {  // a corrupted absorbed part: that layer is unbalanced (and the head's absorbed no longer matches)
    bd::DimensionRelevance d = good;
    d.layers[1].absorbed += delta;
    const bd::ConservationReport r = bd::check_conservation(explanation_of(d, 1));
    BOOST_TEST(!r.ok());
    BOOST_TEST(!r.network_conserved);
    BOOST_TEST(!r.network_layers[1].conserved);
    BOOST_TEST(r.network_layers[1].linked);
    BOOST_TEST(r.network_layers[1].relative_residual > 1e-7);
    BOOST_TEST(r.network_layers[0].conserved);
    BOOST_TEST(r.network_layers[2].conserved);
    BOOST_TEST(r.svm_conserved);  // f = Σ R_d + absorbed still holds: only the layer check sees it
    BOOST_TEST(r.summary().find("network layers NOT conserved") != std::string::npos, r.summary());
    BOOST_TEST(r.summary().find("VIOLATED") != std::string::npos, r.summary());
  }
  {  // balanced layers that do not link: layer 1 reports more than layer 2 passed down
    bd::DimensionRelevance d = good;
    d.layers[1].upper += delta;
    d.layers[1].lower += delta;
    const bd::ConservationReport r = bd::check_conservation(explanation_of(d, 1));
    BOOST_TEST(!r.ok());
    BOOST_TEST(r.svm_conserved);
    BOOST_TEST(r.network_layers[1].relative_residual <= 1e-12);
    BOOST_TEST(!r.network_layers[1].linked);
    BOOST_TEST(!r.network_layers[0].linked);  // and layer 0 received other than layer 1 passed down
    BOOST_TEST(r.network_layers[2].conserved);
  }
  {  // the output layer must split f
    bd::DimensionRelevance d = good;
    d.layers[2].upper += delta;
    d.layers[2].absorbed += delta;
    const bd::ConservationReport r = bd::check_conservation(explanation_of(d, 1));
    BOOST_TEST(!r.network_layers[2].linked);
    BOOST_TEST(!r.ok());
  }
  {  // the input layer's lower must be Σ R_d
    bd::DimensionRelevance d = good;
    d.layers[0].lower += delta;
    d.layers[0].absorbed -= delta;
    d.absorbed -= delta;
    const bd::ConservationReport r = bd::check_conservation(explanation_of(d, 1));
    BOOST_TEST(!r.network_layers[0].linked);
    BOOST_TEST(!r.network_conserved);
  }
  {  // the head's absorbed must be the layers' sum: every layer off by 0.8 tolerance passes alone, not together
    bd::DimensionRelevance d = good;
    const double tol = 1e-9 * std::max(1.0, std::abs(good.f));
    for (bd::LayerTotals& t : d.layers) t.absorbed += 0.8 * tol;
    const bd::ConservationReport r = bd::check_conservation(explanation_of(d, 1));
    BOOST_TEST(r.svm_conserved);
    for (const bd::NetworkLayerCheck& c : r.network_layers) BOOST_TEST(c.conserved);
    BOOST_TEST(!r.network_conserved);
    BOOST_TEST(!r.ok());
  }
  {  // non-finite: nothing is conserved
    bd::DimensionRelevance d = good;
    d.layers[1].absorbed = std::numeric_limits<double>::quiet_NaN();
    const bd::ConservationReport r = bd::check_conservation(explanation_of(d, 1));
    BOOST_TEST(!r.finite);
    BOOST_TEST(!r.ok());
    BOOST_TEST(!r.svm_conserved);
    BOOST_TEST(std::isnan(r.network_layers[1].relative_residual));
    d = good;
    d.layers[0].lower = std::numeric_limits<double>::infinity();  // a total outside every sum
    const bd::ConservationReport r2 = bd::check_conservation(explanation_of(d, 1));
    BOOST_TEST(!r2.finite);
    BOOST_TEST(!r2.ok());
    BOOST_TEST(!r2.svm_conserved);
  }
  {  // an SVM head has no network layers: nothing changes for it
    bd::DimensionRelevance d;
    d.R = {0.5, 0.25};
    d.f = 1.0;
    d.absorbed = 0.25;
    const bd::ConservationReport r = bd::check_conservation(explanation_of(d, 0));
    BOOST_TEST(r.ok());
    BOOST_TEST(r.network_layers.empty());
    BOOST_TEST(r.network_conserved);
    BOOST_TEST(r.summary().find("network") == std::string::npos, r.summary());
  }
}

BOOST_AUTO_TEST_CASE(relevance_network_refusals) {
  std::mt19937_64 rng(6000);
  const bn::Network net = random_network(rng, {4, 3, 2}, true);
  const Vec x = random_vector(rng, 4, false);
  const bn::NetworkTrace trace = net.forward(x.data());
  const bd::NetworkComposite composite;
  check_throws<std::out_of_range>([&] { bd::relevance_network(net, trace, 2, composite); },
                                  {"class index 2", "2 classes"});
  check_throws<std::out_of_range>([&] { bd::relevance_dimensions(net, 5, x.data(), composite); },
                                  {"class index 5", "2 classes"});
  bn::NetworkTrace short_trace = trace;
  short_trace.inputs.pop_back();
  check_throws<std::invalid_argument>([&] { bd::relevance_network(net, short_trace, 0, composite); },
                                      {"trace has 1 layer inputs", "expected 2"});
  bn::NetworkTrace wide = trace;
  wide.pre_activations[0].push_back(1.0);
  check_throws<std::invalid_argument>([&] { bd::relevance_network(net, wide, 0, composite); },
                                      {"layer 1", "4 pre-activations", "expected 4 and 3"});
  bd::NetworkComposite bad;
  bad.hidden = bd::EpsilonRule{-1.0};
  check_throws<std::invalid_argument>([&] { bd::relevance_network(net, trace, 0, bad); },
                                      {"NetworkComposite.hidden", "EpsilonRule.epsilon = -1"});
  bd::NetworkComposite list;
  list.layers = {bd::ZRule{}, bd::ZRule{}, bd::ZRule{}};
  check_throws<std::invalid_argument>([&] { bd::relevance_network(net, trace, 0, list); },
                                      {"3 rules", "2 layers", "one rule per layer"});
  check_throws<std::invalid_argument>([&] { bd::relevance_dimensions(net, 0, x.data(), list); }, {"3 rules"});
}

// ---------------------------------------------------------------------------------------------
// Rule and composite texts.

BOOST_AUTO_TEST_CASE(layer_rules_round_trip_and_parse) {
  std::vector<bd::LayerRule> rules = all_rules();
  for (double eps : {1e-9, 1.0 / 3.0, 0.1 + 0.2, 123456.789, std::numeric_limits<double>::denorm_min(),
                     std::numeric_limits<double>::max(), std::nextafter(0.01, 1.0)})
    rules.push_back(bd::EpsilonRule{eps});
  for (double beta : {1.0 / 3.0, 0.1, 2.5, 1e-17, 7.0})
    rules.push_back(bd::AlphaBetaRule{1.0 + beta, beta});
  for (const bd::LayerRule& rule : rules) {
    const std::string text = bd::to_string(rule);
    const bd::LayerRule back = bd::layer_rule_from_string(text);
    BOOST_TEST(back.index() == rule.index(), text);
    BOOST_TEST(bd::to_string(back) == text);
    if (const auto* e = std::get_if<bd::EpsilonRule>(&rule)) BOOST_TEST(std::get<bd::EpsilonRule>(back).epsilon == e->epsilon, text);
    if (const auto* ab = std::get_if<bd::AlphaBetaRule>(&rule)) {
      BOOST_TEST(std::get<bd::AlphaBetaRule>(back).alpha == ab->alpha, text);
      BOOST_TEST(std::get<bd::AlphaBetaRule>(back).beta == ab->beta, text);
    }
  }
  BOOST_TEST(bd::to_string(bd::ZRule{}) == "z");
  BOOST_TEST(bd::to_string(bd::EpsilonRule{}) == "epsilon:0.01");
  BOOST_TEST(bd::to_string(bd::AlphaBetaRule{2, 1}) == "alpha-beta:2:1");
  BOOST_TEST(bd::to_string(bd::FlatRule{}) == "flat");
  BOOST_TEST(bd::to_string(bd::WSquareRule{}) == "w2");
  BOOST_TEST(std::get<bd::EpsilonRule>(bd::layer_rule_from_string("epsilon")).epsilon == 0.01);
  BOOST_TEST(std::get<bd::EpsilonRule>(bd::layer_rule_from_string("epsilon:1e-4")).epsilon == 1e-4);
  BOOST_TEST(bd::to_string(bd::layer_rule_from_string("alpha1beta0")) == "alpha-beta:1:0");
  BOOST_TEST(bd::to_string(bd::layer_rule_from_string("alpha2beta1")) == "alpha-beta:2:1");
  BOOST_TEST(bd::to_string(bd::layer_rule_from_string("alpha-beta:1.5:0.5")) == "alpha-beta:1.5:0.5");
  BOOST_TEST(bd::to_string(bd::SvmMethod::layer_wise) == "layer-wise");
  BOOST_TEST(bd::to_string(bd::SvmMethod::exact) == "exact");
}

BOOST_AUTO_TEST_CASE(layer_rules_refusals) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"alpha-beta:3:1", "alpha - beta = 2; expected 1"},
      {"alpha-beta:2:1.5", "alpha - beta = 0.5; expected 1"},
      {"alpha-beta:0:-1", "AlphaBetaRule.beta = -1; expected >= 0"},
      {"alpha-beta:2", "unknown rule or wrong number of parameters"},
      {"alpha-beta:2:1:0", "wrong number of parameters"},
      {"alpha-beta:two:1", "'two' is not a finite number"},
      {"alpha-beta:inf:inf", "'inf' is not a finite number"},
      {"epsilon:0", "EpsilonRule.epsilon = 0; expected a finite value > 0"},
      {"epsilon:-0.5", "EpsilonRule.epsilon = -0.5"},
      {"epsilon:1e-400", "EpsilonRule.epsilon = 0"},
      {"epsilon:nan", "'nan' is not a finite number"},
      {"epsilon:1e999", "'1e999' is not a finite number"},
      {"epsilon:", "'' is not a finite number"},
      {"epsilon:0.1x", "'0.1x' is not a finite number"},
      {"epsilon: 0.1", "' 0.1' is not a finite number"},
      {"z:1", "wrong number of parameters"},
      {"Z", "unknown rule"},
      {"alpha3beta2", "unknown rule"},
      {"lrp", "unknown rule"},
      {"", "unknown rule"},
  };
  for (const auto& [text, why] : bad)
    check_throws<std::invalid_argument>([&] { bd::layer_rule_from_string(text); },
                                        {"layer rule '" + text + "'", why});
  check_throws<std::invalid_argument>([] { bd::layer_rule_from_string("nope"); },
                                      {"expected z, epsilon, epsilon:E, alpha-beta:A:B, alpha1beta0, alpha2beta1, flat or w2"});
  // The structs' own validation.
  check_throws<std::invalid_argument>([] { bd::EpsilonRule{0.0}.validate(); }, {"EpsilonRule.epsilon = 0"});
  check_throws<std::invalid_argument>([] { bd::EpsilonRule{std::numeric_limits<double>::infinity()}.validate(); },
                                      {"EpsilonRule.epsilon = inf"});
  check_throws<std::invalid_argument>([] { bd::AlphaBetaRule{1.0, 1.0}.validate(); }, {"alpha - beta = 0"});
  check_throws<std::invalid_argument>([] { bd::AlphaBetaRule{0.5, -0.5}.validate(); }, {"beta = -0.5"});
  check_throws<std::invalid_argument>([] { bd::AlphaBetaRule{std::nan(""), 0.0}.validate(); }, {"expected finite values"});
  bd::AlphaBetaRule{1.0 + 1e-13, 0.0}.validate();  // within 1e-12 of α - β = 1
  bd::validate(bd::ZRule{});
  check_throws<std::invalid_argument>([] { bd::validate(bd::LayerRule{bd::EpsilonRule{-2}}); }, {"epsilon = -2"});
  bd::Composite composite;
  composite.validate();
  composite.network.output = bd::AlphaBetaRule{3.0, 1.0};
  check_throws<std::invalid_argument>([&] { composite.validate(); }, {"NetworkComposite.output", "alpha - beta = 2"});
  composite.network.output = bd::ZRule{};
  composite.network.layers = {bd::FlatRule{}, bd::EpsilonRule{0.0}};
  check_throws<std::invalid_argument>([&] { composite.validate(); }, {"NetworkComposite.layers[1]", "epsilon = 0"});
}

BOOST_AUTO_TEST_CASE(composite_rule_for_each_layer) {
  bd::NetworkComposite c;
  c.input = bd::FlatRule{};
  c.hidden = bd::AlphaBetaRule{2, 1};
  c.output = bd::ZRule{};
  BOOST_TEST(bd::to_string(c.rule_for(0, 1)) == "z");  // a single layer is the output layer
  BOOST_TEST(bd::to_string(c.rule_for(0, 2)) == "flat");
  BOOST_TEST(bd::to_string(c.rule_for(1, 2)) == "z");
  const std::vector<std::string> four = {"flat", "alpha-beta:2:1", "alpha-beta:2:1", "z"};
  for (std::size_t l = 0; l < 4; ++l) BOOST_TEST(bd::to_string(c.rule_for(l, 4)) == four[l]);
  check_throws<std::invalid_argument>([&] { c.rule_for(4, 4); }, {"layer 4 of a network of 4 layers", "expected 0 .. 3"});
  c.layers = {bd::WSquareRule{}, bd::EpsilonRule{0.25}, bd::ZRule{}};
  BOOST_TEST(bd::to_string(c.rule_for(1, 3)) == "epsilon:0.25");
  BOOST_TEST(bd::to_string(c.rule_for(2, 3)) == "z");
  check_throws<std::invalid_argument>([&] { c.rule_for(0, 4); },
                                      {"the explicit list has 3 rules ('w2;epsilon:0.25;z') but the network has 4 layers",
                                       "expected one rule per layer"});
  check_throws<std::invalid_argument>([&] { c.rule_for(0, 2); }, {"3 rules", "2 layers"});
}

BOOST_AUTO_TEST_CASE(composite_strings_round_trip_and_refusals) {
  {
    const bd::NetworkComposite c = bd::network_composite_from_string("epsilon:0.5");
    BOOST_TEST(c.layers.empty());
    BOOST_TEST(bd::to_string(c) == "input=epsilon:0.5,hidden=epsilon:0.5,output=epsilon:0.5");
  }
  {
    const bd::NetworkComposite c = bd::network_composite_from_string("flat;alpha2beta1;epsilon");
    BOOST_TEST(c.layers.size() == 3u);
    BOOST_TEST(bd::to_string(c) == "flat;alpha-beta:2:1;epsilon:0.01");
  }
  {
    const bd::NetworkComposite c = bd::network_composite_from_string("input=flat,hidden=alpha2beta1,output=epsilon:0.01");
    BOOST_TEST(bd::to_string(c) == "input=flat,hidden=alpha-beta:2:1,output=epsilon:0.01");
  }
  {  // missing parts keep their defaults, in any order
    const bd::NetworkComposite c = bd::network_composite_from_string("output=z,input=w2");
    BOOST_TEST(bd::to_string(c) == "input=w2,hidden=epsilon:0.01,output=z");
  }
  BOOST_TEST(bd::to_string(bd::NetworkComposite{}) == "input=epsilon:0.01,hidden=epsilon:0.01,output=epsilon:0.01");
  // Round trips of to_string, including an explicit list of one ("z;", not one rule for every layer).
  std::vector<bd::NetworkComposite> composites(4);
  composites[1].input = bd::EpsilonRule{1.0 / 3.0};
  composites[1].output = bd::AlphaBetaRule{1.0 + 0.1, 0.1};
  composites[2].layers = {bd::ZRule{}};
  composites[3].layers = {bd::FlatRule{}, bd::WSquareRule{}, bd::EpsilonRule{0.1 + 0.2}, bd::AlphaBetaRule{2, 1}};
  for (const bd::NetworkComposite& c : composites) {
    const std::string text = bd::to_string(c);
    const bd::NetworkComposite back = bd::network_composite_from_string(text);
    BOOST_TEST(bd::to_string(back) == text);
    BOOST_TEST(back.layers.size() == c.layers.size(), text);
  }
  BOOST_TEST(std::get<bd::EpsilonRule>(bd::network_composite_from_string(bd::to_string(composites[1])).input).epsilon ==
             1.0 / 3.0);
  BOOST_TEST(bd::to_string(composites[2]) == "z;");
  const std::vector<std::pair<std::string, std::vector<std::string>>> bad = {
      {"", {"network composite ''", "empty"}},
      {"input=flat,bogus=z", {"part 'bogus=z' is not input=R, hidden=R or output=R"}},
      {"input=flat,z", {"part 'z' is not"}},
      {"input=flat,input=z", {"input given twice"}},
      {"input=", {"input: layer rule ''"}},
      {"hidden=alpha-beta:3:1", {"hidden: layer rule 'alpha-beta:3:1'", "alpha - beta = 2"}},
      {"flat;;z", {"layer 1 has no rule"}},
      {"flat;z;", {"layer 2 has no rule"}},
      {";", {"layer 0 has no rule"}},
      {"flat;bad", {"layer 1: layer rule 'bad'", "unknown rule"}},
      {"epsilon:0", {"every layer: layer rule 'epsilon:0'", "expected a finite value > 0"}},
  };
  for (const auto& [text, parts] : bad) {
    std::vector<std::string> all = parts;
    all.push_back("network composite '" + text + "'");
    check_throws<std::invalid_argument>([&] { bd::network_composite_from_string(text); }, all);
  }
}

// The rules are checked against the network when the Explainer is made, before any image: an explicit
// list of another length than the layers (it failed on every image), and a bias policy, which shares an
// SVM's single bias and would be ignored by a network head (whose layers' rules treat their biases).
BOOST_AUTO_TEST_CASE(explainer_refuses_rules_that_do_not_fit_the_network) {
  std::mt19937_64 rng(41);
  const auto net = std::make_shared<const bn::Network>(random_network(rng, {6, 5, 3}, true));
  const bowlrp::core::Digest pipeline;
  bd::Composite ok;
  BOOST_CHECK_NO_THROW(bd::Explainer(bd::Head(net), pipeline, ok));
  ok.network = bd::network_composite_from_string("flat;epsilon");
  BOOST_CHECK_NO_THROW(bd::Explainer(bd::Head(net), pipeline, ok));
  bd::Composite three;
  three.network = bd::network_composite_from_string("flat;epsilon;z");
  check_throws<std::invalid_argument>([&] { bd::Explainer(bd::Head(net), pipeline, three); },
                                      {"explicit list has 3 rules", "the network has 2 layers"});
  for (const auto policy : {bd::BiasPolicy::proportional, bd::BiasPolicy::absorbed}) {
    bd::Composite c;
    c.svm.bias = policy;
    check_throws<std::invalid_argument>([&] { bd::Explainer(bd::Head(net), pipeline, c); },
                                        {"bias policy '" + bd::to_string(policy) + "' applies to SVM heads only"});
  }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
