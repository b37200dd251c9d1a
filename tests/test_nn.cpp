// Tests of the nn module's training (libtorch): it learns, it is reproducible (same data, options,
// seed and threads -> the same weights bit for bit), the input scale is folded into the first layer
// (the trained Network alone reproduces the scores), and bad input is refused with a message.
// The Network's forward pass and gradient are tested in nn/network (test_nn_network.cpp), its relevance
// rules in decompose/network (test_decompose_network.cpp).
#include <bowlrp/nn/network.h>
#include <bowlrp/nn/training.h>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace bnn = bowlrp::nn;

namespace {

// n points in dim dimensions, class c's points around a centre of their own (non-negative, like
// histograms, on the scale of 1/dim), labels one-vs-rest {+1, -1}.
struct Toy {
  std::size_t n = 0, dim = 0;
  std::vector<double> X;
  std::vector<int> labels;
  std::vector<std::string> names;
};

Toy make_toy(std::size_t n, std::size_t dim, std::size_t classes, unsigned seed) {
  Toy t;
  t.n = n;
  t.dim = dim;
  for (std::size_t c = 0; c < classes; ++c) t.names.push_back("class" + std::to_string(c));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> centres(classes * dim);
  for (double& v : centres) v = u(rng) < 0.3 ? 3.0 * u(rng) : 0.0;
  t.X.resize(n * dim);
  t.labels.assign(n * classes, -1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = i % classes;
    t.labels[i * classes + c] = 1;
    double sum = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      const double v = std::max(0.0, centres[c * dim + d] + 0.7 * (u(rng) - 0.5));
      t.X[i * dim + d] = v;
      sum += v;
    }
    for (std::size_t d = 0; d < dim; ++d) t.X[i * dim + d] /= sum;  // l1, as a Bag-of-Words histogram
  }
  return t;
}

// Runs fn, which must throw E with `part` in its message.
template <class E, class F>
void check_throws(F fn, const std::string& part) {
  try {
    fn();
  } catch (const E& e) {
    BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, "message '" << e.what() << "' lacks '" << part << "'");
    return;
  } catch (const std::exception& e) {
    BOOST_ERROR("wrong exception type: " << e.what());
    return;
  }
  BOOST_ERROR("no exception; expected one containing '" << part << "'");
}

bnn::TrainOptions quick() {
  bnn::TrainOptions o;
  o.hidden = {16};
  o.epochs = 40;
  o.batch_size = 16;
  o.learning_rate = 1e-2;
  o.weight_decay = 1e-4;
  o.dropout = 0.1;
  o.threads = 1;
  return o;
}

double sign_accuracy(const bnn::Network& net, const Toy& t) {
  std::size_t right = 0, all = 0;
  const std::size_t C = t.names.size();
  for (std::size_t i = 0; i < t.n; ++i) {
    const std::vector<double> f = net.decision(t.X.data() + i * t.dim);
    for (std::size_t c = 0; c < C; ++c, ++all) right += (f[c] > 0) == (t.labels[i * C + c] > 0);
  }
  return static_cast<double>(right) / static_cast<double>(all);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn)

BOOST_AUTO_TEST_CASE(learns_a_separable_problem) {
  const Toy train = make_toy(240, 30, 3, 1), test = make_toy(120, 30, 3, 1);
  const bnn::Network net = bnn::train_network(train.X.data(), train.n, train.dim, train.labels, train.names, quick());
  BOOST_TEST(net.dim() == 30u);
  BOOST_TEST(net.classes() == 3u);
  BOOST_TEST(net.layers().size() == 2u);
  BOOST_TEST(net.hidden_sizes() == std::vector<std::size_t>{16}, boost::test_tools::per_element());
  BOOST_TEST(net.class_names() == train.names, boost::test_tools::per_element());
  const double acc = sign_accuracy(net, test);
  BOOST_TEST_MESSAGE("toy sign accuracy " << acc);
  // Chance is 2/3 (always "no"); the classes are separable, so the network must do far better.
  BOOST_TEST(acc > 0.95);
}

BOOST_AUTO_TEST_CASE(linear_network_without_hidden_layers) {
  const Toy t = make_toy(120, 12, 2, 3);
  bnn::TrainOptions o = quick();
  o.hidden.clear();
  const bnn::Network net = bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o);
  BOOST_TEST(net.layers().size() == 1u);
  BOOST_TEST(net.hidden_sizes().empty());
  BOOST_TEST(sign_accuracy(net, t) > 0.9);
}

BOOST_AUTO_TEST_CASE(same_seed_and_threads_give_the_same_weights) {
  const Toy t = make_toy(160, 25, 3, 5);
  bnn::TrainOptions o = quick();
  o.hidden = {12, 8};
  o.epochs = 8;
  const bnn::Network a = bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o);
  const bnn::Network b = bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o);
  BOOST_REQUIRE(a.layers().size() == 3u);
  for (std::size_t l = 0; l < a.layers().size(); ++l) {
    BOOST_TEST(a.layers()[l].weights == b.layers()[l].weights, boost::test_tools::per_element());
    BOOST_TEST(a.layers()[l].biases == b.layers()[l].biases, boost::test_tools::per_element());
  }
  o.seed = 1;
  const bnn::Network c = bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o);
  BOOST_TEST((c.layers()[0].weights != a.layers()[0].weights));  // the seed matters
  o.seed = 0;
  o.threads = 2;  // another thread count may round differently, but must train as well
  const bnn::Network d = bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o);
  BOOST_TEST(std::fabs(sign_accuracy(d, t) - sign_accuracy(a, t)) < 0.05);
}

BOOST_AUTO_TEST_CASE(input_scale_is_folded_into_the_first_layer) {
  // Scaling every input by 1000 changes the folded scale s by 1/1000 and nothing else: the
  // network trained on 1000 x must give (to float rounding of training) the scores of the one
  // trained on x for inputs scaled alike, which holds only if s is inside W_1.
  Toy t = make_toy(120, 16, 2, 7);
  bnn::TrainOptions o = quick();
  o.dropout = 0;
  o.epochs = 5;
  const bnn::Network a = bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o);
  Toy big = t;
  for (double& v : big.X) v *= 1000.0;
  const bnn::Network b = bnn::train_network(big.X.data(), big.n, big.dim, big.labels, big.names, o);
  double worst = 0;
  for (std::size_t i = 0; i < t.n; ++i) {
    const std::vector<double> fa = a.decision(t.X.data() + i * t.dim), fb = b.decision(big.X.data() + i * t.dim);
    for (std::size_t c = 0; c < fa.size(); ++c) worst = std::max(worst, std::fabs(fa[c] - fb[c]) / (1 + std::fabs(fa[c])));
  }
  BOOST_TEST_MESSAGE("worst relative score difference, x vs 1000 x: " << worst);
  BOOST_TEST(worst < 1e-4);
  // The network has no input layer beyond the trained ones: layer 1 reads the encoding's vector.
  BOOST_TEST(b.layers()[0].inputs == 16u);
}

BOOST_AUTO_TEST_CASE(leaves_out_label_zero_pairs) {
  // Pairs labelled 0 do not count: flipping their features must not change the model at all.
  Toy t = make_toy(90, 10, 3, 9);
  for (std::size_t i = 0; i < t.n; i += 7) t.labels[i * 3 + (i + 1) % 3] = 0;
  bnn::TrainOptions o = quick();
  o.epochs = 4;
  const bnn::Network a = bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o);
  BOOST_TEST(a.classes() == 3u);
  // A class whose every pair is left out but one positive has no negative: refused.
  Toy bad = t;
  for (std::size_t i = 0; i < bad.n; ++i) bad.labels[i * 3] = i == 0 ? 1 : 0;
  check_throws<std::invalid_argument>(
      [&] { bnn::train_network(bad.X.data(), bad.n, bad.dim, bad.labels, bad.names, o); }, "class 'class0' has 1 positive and 0 negative");
}

BOOST_AUTO_TEST_CASE(refusals) {
  const Toy t = make_toy(30, 6, 2, 11);
  const bnn::TrainOptions o = quick();
  const auto train = [&](const std::vector<double>& X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                         const std::vector<std::string>& names, const bnn::TrainOptions& opts) {
    bnn::train_network(X.data(), n, dim, labels, names, opts);
  };
  check_throws<std::invalid_argument>([&] { train(t.X, 0, t.dim, {}, t.names, o); }, "no training examples");
  check_throws<std::invalid_argument>([&] { train(t.X, t.n, 0, t.labels, t.names, o); }, "dimension 0");
  check_throws<std::invalid_argument>([&] { train(t.X, t.n, t.dim, t.labels, {}, o); }, "no classes");
  check_throws<std::invalid_argument>([&] { train(t.X, t.n, t.dim, std::vector<int>(3, 1), t.names, o); },
                                            "3 labels for 30 examples x 2 classes");
  std::vector<int> labels = t.labels;
  labels[5] = 2;
  check_throws<std::invalid_argument>([&] { train(t.X, t.n, t.dim, labels, t.names, o); }, "label 2 of example 2");
  std::vector<double> X = t.X;
  X[7] = std::numeric_limits<double>::quiet_NaN();
  check_throws<std::invalid_argument>([&] { train(X, t.n, t.dim, t.labels, t.names, o); },
                                            "non-finite input value in example 1, dimension 1");
  check_throws<std::invalid_argument>(
      [&] { train(std::vector<double>(t.X.size(), 0.0), t.n, t.dim, t.labels, t.names, o); }, "every input value is 0");
  const auto refuse = [&](auto mutate, const std::string& message) {
    bnn::TrainOptions bad = o;
    mutate(bad);
    check_throws<std::invalid_argument>([&] { bad.validate(); }, message);
    check_throws<std::invalid_argument>([&] { train(t.X, t.n, t.dim, t.labels, t.names, bad); }, message);
  };
  refuse([](bnn::TrainOptions& b) { b.hidden = {8, 0}; }, "hidden layer 2 has 0 neurons");
  refuse([](bnn::TrainOptions& b) { b.epochs = 0; }, "epochs = 0");
  refuse([](bnn::TrainOptions& b) { b.batch_size = 0; }, "batch_size = 0");
  refuse([](bnn::TrainOptions& b) { b.learning_rate = -1; }, "learning_rate = -1");
  refuse([](bnn::TrainOptions& b) { b.learning_rate = std::numeric_limits<double>::infinity(); }, "learning_rate = inf");
  refuse([](bnn::TrainOptions& b) { b.weight_decay = -0.5; }, "weight_decay = -0.5");
  refuse([](bnn::TrainOptions& b) { b.dropout = 1.0; }, "dropout = 1");
  refuse([](bnn::TrainOptions& b) { b.threads = -1; }, "threads");
}

BOOST_AUTO_TEST_CASE(divergence_is_reported) {
  const Toy t = make_toy(60, 8, 2, 13);
  bnn::TrainOptions o = quick();
  o.learning_rate = 1e30;
  o.weight_decay = 0;
  o.dropout = 0;
  o.epochs = 30;
  check_throws<std::runtime_error>([&] { bnn::train_network(t.X.data(), t.n, t.dim, t.labels, t.names, o); },
                                         "non-finite");
}

// The model file holds at most nn::kMaxLayers dense layers of at most nn::kMaxWidth neurons; training
// options beyond them are refused before training (a 2^20 + 1 layer trained fully, then failed to save).
BOOST_AUTO_TEST_CASE(options_beyond_the_model_files_bounds_are_refused) {
  bnn::TrainOptions o;
  o.hidden = {bnn::kMaxWidth};
  BOOST_CHECK_NO_THROW(o.validate());
  o.hidden = {16, bnn::kMaxWidth + 1};
  check_throws<std::invalid_argument>([&] { o.validate(); }, "hidden layer 2 has 1048577 neurons; expected 1 .. 1048576");
  o.hidden = {2000000};
  check_throws<std::invalid_argument>([&] { o.validate(); }, "2000000 neurons");
  o.hidden.assign(bnn::kMaxLayers - 1, 4);
  BOOST_CHECK_NO_THROW(o.validate());
  o.hidden.push_back(4);
  check_throws<std::invalid_argument>([&] { o.validate(); }, "64 hidden layers; expected at most 63");
}

BOOST_AUTO_TEST_SUITE_END()
