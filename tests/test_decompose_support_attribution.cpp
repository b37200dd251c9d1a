// Suite decompose/support_attribution: the split of a kernel-SVM decision over its support vectors
// (decompose/support_attribution.h) against per-support-vector kernel sums written out here, its
// conservation for every kernel type, the per-dimension split of sum-decomposable kernels, the top-K
// order and tie rule, the refusals, a planted "Clever Hans" mark that the top supporters must find,
// and the matching pixel maps on a test and a training trace.
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/support_attribution.h>
#include <bowlrp/svm/svm.h>

#include "bow_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bd = bowlrp::decompose;
namespace bb = bowlrp::bow;
namespace bs = bowlrp::svm;
using bowlrp::test::throws_with;

namespace {

const std::vector<bs::KernelType> kKernels = {bs::KernelType::linear, bs::KernelType::intersection,
                                              bs::KernelType::chi2,   bs::KernelType::hellinger,
                                              bs::KernelType::rbf,    bs::KernelType::expchi2};

bool exponential(bs::KernelType t) { return t == bs::KernelType::rbf || t == bs::KernelType::expchi2; }

// ---- the kernels written out (kernel.h's formulas), independent of the library's engine ----

// k_d(a, b) of a sum-decomposable kernel; the per-dimension distance of an exponential one.
double term(bs::KernelType t, double a, double b) {
  switch (t) {
    case bs::KernelType::linear: return a * b;
    case bs::KernelType::intersection: return a < b ? a : b;
    case bs::KernelType::chi2: return a + b > 0 ? 2 * a * b / (a + b) : 0.0;
    case bs::KernelType::hellinger: return std::sqrt(a * b);
    case bs::KernelType::rbf: return (a - b) * (a - b);
    case bs::KernelType::expchi2: return a + b > 0 ? (a - b) * (a - b) / (a + b) : 0.0;
  }
  return 0.0;
}

// k(s, x) = Σ_u w_u Σ_{d in u} k_d(s_d, x_d), or Σ_u w_u exp(-γ Σ_{d in u} D_d(s_d, x_d)).
double kernel(const bs::Kernel& k, const double* s, const double* x, std::size_t V) {
  std::vector<bs::KernelBlock> blocks = k.blocks;
  if (blocks.empty()) blocks.push_back({0, V, 1.0});
  double total = 0;
  for (const bs::KernelBlock& u : blocks) {
    double sum = 0;
    for (std::size_t d = u.begin; d < u.end; ++d) sum += term(k.type, s[d], x[d]);
    total += u.weight * (exponential(k.type) ? std::exp(-k.gamma * sum) : sum);
  }
  return total;
}

bool close(double a, double b, double rel) {
  return std::abs(a - b) <= rel * std::max(1.0, std::max(std::abs(a), std::abs(b)));
}

// A histogram: a third zeros, the rest in (0, scale).
std::vector<double> histogram(std::mt19937_64& rng, std::size_t V, double scale = 0.4) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> h(V);
  for (double& v : h) v = u(rng) < 0.33 ? 0.0 : scale * u(rng);
  return h;
}

// S random support vectors, `classes` classes of random coefficients (some exactly 0) and biases.
bs::KernelSvm random_model(bs::KernelType type, std::size_t V, std::size_t S, std::uint64_t seed,
                           std::vector<bs::KernelBlock> blocks = {}, std::size_t classes = 3) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> support;
  for (std::size_t i = 0; i < S; ++i) {
    const std::vector<double> s = histogram(rng, V);
    support.insert(support.end(), s.begin(), s.end());
  }
  bs::Kernel k;
  k.type = type;
  k.gamma = exponential(type) ? 0.8 : 0.0;
  k.blocks = std::move(blocks);
  std::vector<bs::BinarySvm> cls;
  for (std::size_t c = 0; c < classes; ++c) {
    bs::BinarySvm b;
    b.name = "class" + std::to_string(c);
    b.bias = u(rng);
    for (std::size_t i = 0; i < S; ++i) b.coef.push_back(i % 4 == c % 4 ? 0.0 : 2 * u(rng));
    cls.push_back(std::move(b));
  }
  return bs::KernelSvm(k, V, std::move(support), std::move(cls));
}

const std::vector<std::vector<bs::KernelBlock>> kBlockings = {
    {},                                  // the whole vector, weight 1
    {{0, 4, 0.5}, {4, 11, 2.0}},         // two blocks covering everything
    {{0, 3, 1.5}, {6, 11, 0.25}},        // dimensions 3..5 in no block (weight 0)
};

std::string kernel_name(bs::KernelType t, std::size_t blocking) {
  return bs::to_string(t) + " blocking " + std::to_string(blocking);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decompose)
BOOST_AUTO_TEST_SUITE(support_attribution)

// c_i against coef_ci times the kernel written out, and Σ_i c_i + b = decision() for every kernel type
// and blocking; f is decision()'s own bits.
BOOST_AUTO_TEST_CASE(contributions_match_naive_kernel_sums_and_conserve_for_every_kernel) {
  const std::size_t V = 11, S = 9;
  std::mt19937_64 rng(5);
  for (bs::KernelType t : kKernels)
    for (std::size_t b = 0; b < kBlockings.size(); ++b) {
      BOOST_TEST_CONTEXT(kernel_name(t, b)) {
        const bs::KernelSvm model = random_model(t, V, S, 100 + 7 * b + static_cast<int>(t), kBlockings[b]);
        for (int trial = 0; trial < 3; ++trial) {
          const std::vector<double> x = histogram(rng, V);
          for (std::size_t cls = 0; cls < model.classes().size(); ++cls) {
            const bd::SupportContributions sc = bd::support_contributions(model, x, cls);
            BOOST_REQUIRE_EQUAL(sc.contributions.size(), S);
            BOOST_TEST(sc.cls == cls);
            BOOST_TEST(sc.bias == model.classes()[cls].bias);
            const double dec = model.decision(cls, x.data());
            BOOST_TEST(std::memcmp(&sc.f, &dec, sizeof dec) == 0, "f " << sc.f << " vs decision " << dec);
            BOOST_TEST(close(sc.total() + sc.bias, dec, 1e-12), sc.total() << " + " << sc.bias << " vs " << dec);
            double naive_f = model.classes()[cls].bias;
            for (std::size_t i = 0; i < S; ++i) {
              const double ref = model.classes()[cls].coef[i] * kernel(model.kernel(), model.support_vector(i), x.data(), V);
              naive_f += ref;
              BOOST_TEST(close(sc.contributions[i], ref, 1e-12), "c_" << i << " " << sc.contributions[i] << " vs " << ref);
              if (model.classes()[cls].coef[i] == 0.0) BOOST_TEST(sc.contributions[i] == 0.0);
            }
            BOOST_TEST(close(naive_f, dec, 1e-12));
          }
        }
      }
    }
}

// R_{i,d} against coef_ci w_d k_d(s_id, x_d) written out, and Σ_d R_{i,d} = c_i, for each
// sum-decomposable kernel and blocking.
BOOST_AUTO_TEST_CASE(dimension_relevance_matches_naive_terms_and_sums_to_the_contribution) {
  const std::size_t V = 11, S = 9;
  std::mt19937_64 rng(9);
  for (bs::KernelType t : kKernels) {
    if (exponential(t)) continue;
    for (std::size_t b = 0; b < kBlockings.size(); ++b) {
      BOOST_TEST_CONTEXT(kernel_name(t, b)) {
        const bs::KernelSvm model = random_model(t, V, S, 300 + 7 * b + static_cast<int>(t), kBlockings[b]);
        const std::vector<double> x = histogram(rng, V);
        std::vector<double> w(V, kBlockings[b].empty() ? 1.0 : 0.0);
        for (const bs::KernelBlock& u : kBlockings[b])
          for (std::size_t d = u.begin; d < u.end; ++d) w[d] = u.weight;
        for (std::size_t cls = 0; cls < model.classes().size(); ++cls) {
          const bd::SupportContributions sc = bd::support_contributions(model, x, cls);
          for (std::size_t i = 0; i < S; ++i) {
            const std::vector<double> R = bd::support_dimension_relevance(model, x, cls, i);
            BOOST_REQUIRE_EQUAL(R.size(), V);
            double sum = 0;
            for (std::size_t d = 0; d < V; ++d) {
              const double ref = model.classes()[cls].coef[i] * w[d] * term(t, model.support_vector(i)[d], x[d]);
              BOOST_TEST(close(R[d], ref, 1e-13), "R_" << i << "," << d << " " << R[d] << " vs " << ref);
              sum += R[d];
            }
            BOOST_TEST(close(sum, sc.contributions[i], 1e-12), "Σ_d R_" << i << ",d " << sum << " vs c_i " << sc.contributions[i]);
          }
        }
      }
    }
  }
}

// Top-K: largest positive first, most negative first, zeros in neither list, ties by index, K caps.
BOOST_AUTO_TEST_CASE(top_k_order_and_tie_rule) {
  bd::SupportContributions sc;
  sc.contributions = {0.5, -1.0, 0.5, 2.0, 0.0, -1.0, -0.25, 0.5};
  using V = std::vector<std::size_t>;
  BOOST_TEST(sc.top_supporting(10) == (V{3, 0, 2, 7}), boost::test_tools::per_element());
  BOOST_TEST(sc.top_supporting(3) == (V{3, 0, 2}), boost::test_tools::per_element());
  BOOST_TEST(sc.top_supporting(2) == (V{3, 0}), boost::test_tools::per_element());
  BOOST_TEST(sc.top_supporting(0).empty());
  BOOST_TEST(sc.top_opposing(10) == (V{1, 5, 6}), boost::test_tools::per_element());
  BOOST_TEST(sc.top_opposing(1) == (V{1}), boost::test_tools::per_element());
  BOOST_TEST(sc.top_opposing(2) == (V{1, 5}), boost::test_tools::per_element());

  // Ties from a model: duplicated support vectors with equal coefficients give equal c_i bit for bit.
  const std::size_t V_ = 6;
  std::mt19937_64 rng(21);
  const std::vector<double> a = histogram(rng, V_), b = histogram(rng, V_);
  std::vector<double> support;
  for (const auto* s : {&a, &b, &a, &b, &a}) support.insert(support.end(), s->begin(), s->end());
  bs::Kernel k;
  k.type = bs::KernelType::intersection;
  const bs::KernelSvm model(k, V_, support, {{"pos", 0.1, {0.7, -0.3, 0.7, -0.3, 0.2}}});
  const std::vector<double> x = histogram(rng, V_);
  const bd::SupportContributions m = bd::support_contributions(model, x, 0);
  BOOST_TEST(m.contributions[0] == m.contributions[2]);
  BOOST_TEST(m.top_supporting(3) == (V{0, 2, 4}), boost::test_tools::per_element());
  BOOST_TEST(m.top_opposing(5) == (V{1, 3}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(refusals) {
  const std::size_t V = 11;
  const bs::KernelSvm hik = random_model(bs::KernelType::intersection, V, 5, 1);
  const bs::KernelSvm rbf = random_model(bs::KernelType::rbf, V, 5, 2);
  const bs::KernelSvm chi2 = random_model(bs::KernelType::chi2, V, 5, 3);
  std::mt19937_64 rng(3);
  const std::vector<double> x = histogram(rng, V);
  std::vector<double> nan_x = x, neg_x = x;
  nan_x[4] = std::numeric_limits<double>::quiet_NaN();
  neg_x[2] = -0.1;
  const std::vector<double> short_x(V - 1, 0.1);

  BOOST_TEST(throws_with<std::out_of_range>([&] { bd::support_contributions(hik, x, 3); }, {"class index 3", "3 classes"}));
  BOOST_TEST(throws_with<std::out_of_range>([&] { bd::support_dimension_relevance(hik, x, 7, 0); }, {"class index 7"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_contributions(hik, short_x, 0); },
                                                {"10 dimensions", "expects 11"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_dimension_relevance(hik, short_x, 0, 0); },
                                                {"10 dimensions"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_contributions(hik, nan_x, 0); },
                                                {"dimension 4", "not finite"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_contributions(rbf, nan_x, 0); }, {"not finite"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_contributions(chi2, neg_x, 0); },
                                                {"dimension 2", "negative", "chi2"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_dimension_relevance(rbf, x, 0, 0); },
                                                {"rbf", "not sum-decomposable", "support_contributions"}));
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bd::support_dimension_relevance(random_model(bs::KernelType::expchi2, V, 5, 4), x, 0, 0); }, {"expchi2"}));
  BOOST_TEST(throws_with<std::out_of_range>([&] { bd::support_dimension_relevance(hik, x, 0, 5); },
                                            {"support vector index 5", "5 support vectors"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_contributions(bs::KernelSvm(), x, 0); }, {"empty"}));
  // Every kernel accepts a valid input for the contributions, rbf included.
  BOOST_TEST(bd::support_contributions(rbf, x, 0).contributions.size() == 5u);
}

// A planted shortcut: three training images of "dog" content carry a mark (dimension 12) and are
// labelled "cat". For a dog image with the mark, the cat score's top three supporters must be
// exactly those three marked training images.
BOOST_AUTO_TEST_CASE(planted_mark_is_found_among_the_top_supporters) {
  const std::size_t V = 13, per_class = 20, marked = 3, n = 2 * per_class + marked;
  std::mt19937_64 rng(77);
  std::uniform_real_distribution<double> u(0, 1);
  auto content = [&](bool dog) {
    std::vector<double> h(V, 0.0);
    for (std::size_t d = 0; d < 12; ++d) h[d] = 0.3 * u(rng) + ((d >= 6) == dog ? 0.5 : 0.0);
    return h;
  };
  std::vector<double> X;
  std::vector<int> labels;  // n x 2: cat, dog
  for (std::size_t j = 0; j < n; ++j) {
    const bool dog_content = j >= per_class;  // rows per_class .. n-1 look like dogs
    std::vector<double> h = content(dog_content);
    const bool is_marked = j >= 2 * per_class;
    if (is_marked) h[12] = 1.0;
    X.insert(X.end(), h.begin(), h.end());
    const bool cat = !dog_content || is_marked;
    labels.push_back(cat ? 1 : -1);
    labels.push_back(cat ? -1 : 1);
  }
  bs::Kernel k;
  k.type = bs::KernelType::intersection;
  bs::TrainOptions to;
  to.C = 10;
  to.threads = 1;
  const bs::KernelSvm model = bs::train_one_vs_rest(X.data(), n, V, labels, {"cat", "dog"}, k, to);

  // The support index of each marked training row (support vectors are copies of training rows).
  std::vector<std::size_t> marked_support;
  for (std::size_t j = 2 * per_class; j < n; ++j)
    for (std::size_t i = 0; i < model.support_size(); ++i)
      if (std::memcmp(model.support_vector(i), X.data() + j * V, V * sizeof(double)) == 0) marked_support.push_back(i);
  BOOST_REQUIRE_EQUAL(marked_support.size(), marked);

  std::vector<double> x = content(true);
  x[12] = 1.0;
  const bd::SupportContributions sc = bd::support_contributions(model, x, model.class_index("cat"));
  BOOST_TEST(close(sc.total() + sc.bias, model.decision(0, x.data()), 1e-12));
  std::vector<std::size_t> top = sc.top_supporting(marked);
  std::sort(top.begin(), top.end());
  std::sort(marked_support.begin(), marked_support.end());
  BOOST_TEST(top == marked_support, boost::test_tools::per_element());
  // The mark dimension carries the largest share of each marked supporter's contribution.
  for (std::size_t i : marked_support) {
    const std::vector<double> R = bd::support_dimension_relevance(model, x, 0, i);
    const long top_d = std::max_element(R.begin(), R.end()) - R.begin();
    BOOST_TEST(top_d == 12);
  }
  // Without the mark each marked supporter loses exactly its mark term coef_i min(1, 1), and the cat
  // score drops by their sum: the shortcut, not the dog content, made them the top supporters.
  x[12] = 0.0;
  const bd::SupportContributions plain = bd::support_contributions(model, x, 0);
  double mark_total = 0;
  for (std::size_t i : marked_support) {
    const double coef = model.classes()[0].coef[i];
    BOOST_TEST(coef > 0);
    BOOST_TEST(close(sc.contributions[i] - plain.contributions[i], coef, 1e-12));
    mark_total += coef;
  }
  BOOST_TEST(close(sc.f - plain.f, mark_total, 1e-12));
}

// The matching maps: R_{i,·} through the test trace and the training trace as the library's own
// relevance_features + relevance_pixels give them, conserving c_i; a training trace that is not s_i,
// or a trace of another pipeline, is refused.
BOOST_AUTO_TEST_CASE(pixel_maps_push_the_same_dimensions_down_both_traces) {
  bb::PipelineOptions po;
  po.kmeans.words = 16;
  po.pooling.pyramid = {{1, 1}, {2, 2}};
  auto pipeline = std::make_shared<const bb::Pipeline>(po, bowlrp::test::random_codebook(16, 4));
  const bb::ImageLoader loader(po.image);
  auto image = [&](unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> u(0, 1);
    const int W = 48, H = 40;
    std::vector<float> px(W * H);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) px[y * W + x] = 0.5f + 0.4f * std::sin(0.3f * x * (1 + seed % 3) + 0.2f * y) * u(rng);
    return loader.from_gray(px.data(), W, H);
  };
  const bb::EncodeTrace train_a = pipeline->encode(image(1)), train_b = pipeline->encode(image(2)),
                        test = pipeline->encode(image(3));
  BOOST_REQUIRE(test.features.size() > 0 && train_a.features.size() > 0 && train_b.features.size() > 0);
  const std::size_t V = pipeline->dimension();
  std::vector<double> support = train_a.histogram();
  support.insert(support.end(), train_b.histogram().begin(), train_b.histogram().end());
  bs::Kernel k;
  k.type = bs::KernelType::intersection;
  const bs::KernelSvm model(k, V, support, {{"pos", -0.2, {0.8, -0.5}}});
  const bb::Encoding encoding = pipeline;

  for (std::size_t i = 0; i < 2; ++i) {
    const bb::EncodeTrace& training = i == 0 ? train_a : train_b;
    const bd::SupportPixelMaps m = bd::support_pixel_maps(model, encoding, test, training, 0, i);
    const bd::SupportContributions sc = bd::support_contributions(model, test.histogram(), 0);
    BOOST_TEST(m.support_index == i);
    BOOST_TEST(m.dimensions == bd::support_dimension_relevance(model, test.histogram(), 0, i),
               boost::test_tools::per_element());
    BOOST_TEST(close(m.contribution, sc.contributions[i], 1e-12));
    const bd::FeatureRelevance ft = bd::relevance_features(test.features, test.assignment, test.pool, m.dimensions);
    const bd::FeatureRelevance fr =
        bd::relevance_features(training.features, training.assignment, training.pool, m.dimensions);
    BOOST_TEST(m.test_features.R == ft.R, boost::test_tools::per_element());
    BOOST_TEST(m.training_features.R == fr.R, boost::test_tools::per_element());
    BOOST_TEST(m.test_pixels.R == bd::relevance_pixels(test.features, ft.R).R, boost::test_tools::per_element());
    BOOST_TEST(m.training_pixels.R == bd::relevance_pixels(training.features, fr.R).R, boost::test_tools::per_element());
    BOOST_TEST(m.test_pixels.width == test.features.width);
    BOOST_TEST(m.training_pixels.height == training.features.height);
    for (const auto* p : {&m.test_pixels, &m.training_pixels}) {
      const double assigned = p->total() + p->unassigned +
                              (p == &m.test_pixels ? m.test_features.unassigned : m.training_features.unassigned);
      BOOST_TEST(close(assigned, m.contribution, 1e-10), assigned << " vs c_i " << m.contribution);
    }
  }
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_pixel_maps(model, encoding, test, train_b, 0, 0); },
                                                {"not support vector 0", "training image"}));
  bb::PipelineOptions other = po;
  other.pooling.p = 2;
  const bb::Encoding other_encoding = std::make_shared<const bb::Pipeline>(other, bowlrp::test::random_codebook(16, 4));
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bd::support_pixel_maps(model, other_encoding, test, train_a, 0, 0); }, {"another pipeline", "test"}));
  bs::Kernel r;
  r.type = bs::KernelType::rbf;
  r.gamma = 1.0;
  const bs::KernelSvm rbf_model(r, V, support, {{"pos", -0.2, {0.8, -0.5}}});
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::support_pixel_maps(rbf_model, encoding, test, train_a, 0, 0); },
                                                {"not sum-decomposable"}));
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
