// Tests of the svm module: kernels and Gram matrices against naive formulas, decisions against
// libsvm's own svm_predict_values, the fast intersection evaluator, the explicit-weight linear head,
// and the model file.
#include <bowlrp/core/io.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/svm/fast_intersection.h>
#include <bowlrp/svm/kernel.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include "svm_fixtures.h"
#include "test_util.h"

#include <libsvm/svm.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace bowlrp;
using namespace bowlrp::svm;

using namespace bowlrp::test;

BOOST_AUTO_TEST_SUITE(svm)

BOOST_AUTO_TEST_CASE(kernel_names_round_trip) {
  for (KernelType t : kAllKernels) BOOST_TEST((kernel_type_from_string(to_string(t)) == t));
  BOOST_TEST(to_string(KernelType::intersection) == "hik");
  BOOST_TEST((kernel_type_from_string("intersection") == KernelType::intersection));
  BOOST_CHECK_THROW(kernel_type_from_string("gaussian"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(kernels_match_naive_formulas) {
  const std::size_t dim = 37;  // not a multiple of the 4 lanes
  const std::vector<double> X = random_histograms(6, dim, 11);
  const std::vector<std::vector<KernelBlock>> block_sets = {{}, {{0, 10, 0.5}, {10, 30, 2.0}}, {{20, 37, 1.5}, {3, 9, 0.25}}};
  for (KernelType t : kAllKernels)
    for (const auto& blocks : block_sets) {
      const Kernel k = make_kernel(t, 0.9, blocks);
      for (std::size_t i = 0; i < 6; ++i)
        for (std::size_t j = 0; j < 6; ++j) {
          const double got = k(&X[i * dim], &X[j * dim], dim), want = naive_kernel(k, &X[i * dim], &X[j * dim], dim);
          BOOST_TEST(close(got, want, 1e-13), to_string(t) << " blocks " << blocks.size() << ": " << got << " vs " << want);
        }
    }
  // Per-dimension terms, including chi2's 0/0 = 0.
  const double pairs[][2] = {{0, 0}, {0, 0.3}, {0.25, 0.5}, {1e-300, 0}, {2.0, 2.0}};
  for (KernelType t : {KernelType::linear, KernelType::intersection, KernelType::chi2, KernelType::hellinger})
    for (const auto& p : pairs)
      BOOST_TEST(close(make_kernel(t).term(p[0], p[1]), naive_term(t, p[0], p[1]), 1e-15), to_string(t) << " " << p[0] << "," << p[1]);
  BOOST_TEST(make_kernel(KernelType::chi2).term(0, 0) == 0.0);
  const std::vector<double> zero(dim, 0.0);
  BOOST_TEST(make_kernel(KernelType::chi2)(zero.data(), zero.data(), dim) == 0.0);
  BOOST_TEST(make_kernel(KernelType::expchi2, 2.0)(zero.data(), zero.data(), dim) == 1.0);
  BOOST_TEST(kernel_distance(KernelType::expchi2, zero.data(), zero.data(), dim) == 0.0);
  BOOST_TEST(close(kernel_distance(KernelType::rbf, &X[0], &X[dim], dim),
                   -std::log(naive_kernel(make_kernel(KernelType::rbf, 1.0), &X[0], &X[dim], dim)), 1e-12));
  BOOST_CHECK_THROW(make_kernel(KernelType::rbf).term(0.1, 0.2), std::logic_error);
  BOOST_CHECK_THROW(kernel_distance(KernelType::intersection, &X[0], &X[dim], dim), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(kernel_blocks_weights_and_validation) {
  const Kernel k = make_kernel(KernelType::intersection, 0, {{10, 20, 0.5}, {0, 5, 3.0}});
  BOOST_TEST(k.weight(0) == 3.0);
  BOOST_TEST(k.weight(4) == 3.0);
  BOOST_TEST(k.weight(7) == 0.0);  // in no block
  BOOST_TEST(k.weight(19) == 0.5);
  BOOST_TEST(k.weight(20) == 0.0);
  BOOST_TEST(make_kernel(KernelType::linear).weight(123) == 1.0);
  BOOST_TEST(k.sum_decomposable());
  BOOST_TEST(!make_kernel(KernelType::expchi2).sum_decomposable());
  BOOST_CHECK_NO_THROW(k.validate(20));
  BOOST_CHECK_THROW(k.validate(19), std::invalid_argument);  // block end beyond dim
  BOOST_CHECK_THROW(make_kernel(KernelType::linear, 0, {{0, 10, 1}, {9, 12, 1}}).validate(20), std::invalid_argument);
  BOOST_CHECK_THROW(make_kernel(KernelType::linear, 0, {{5, 5, 1}}).validate(20), std::invalid_argument);
  BOOST_CHECK_THROW(make_kernel(KernelType::linear, 0, {{0, 5, -1}}).validate(20), std::invalid_argument);
  Kernel rbf = make_kernel(KernelType::rbf);
  rbf.gamma = 0;
  BOOST_CHECK_THROW(rbf.validate(20), std::invalid_argument);
  rbf.gamma = std::numeric_limits<double>::infinity();
  BOOST_CHECK_THROW(rbf.validate(20), std::invalid_argument);
  BOOST_CHECK_THROW(make_kernel(KernelType::linear).validate(0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(gram_matrix_matches_naive_loop) {
  const std::size_t n = 37, m = 70, dim = 45;  // tiles of 32 with ragged edges
  const std::vector<double> X = random_histograms(n, dim, 21), Y = random_histograms(m, dim, 22);
  for (KernelType t : kAllKernels) {
    const Kernel k = make_kernel(t, 0.5, {{0, 20, 1.0}, {21, 45, 0.75}});
    std::vector<double> G(n * m), S(n * n), Scopy(n * n);
    gram_matrix(k, X.data(), n, Y.data(), m, dim, G.data(), 2);
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < m; ++j) {
        BOOST_TEST(close(G[i * m + j], naive_kernel(k, &X[i * dim], &Y[j * dim], dim), 1e-13), to_string(t));
        BOOST_TEST(G[i * m + j] == k(&X[i * dim], &Y[j * dim], dim));  // same engine, same bits
      }
    // The symmetric path (X == Y) gives the same bits as the general one.
    const std::vector<double> Xc = X;
    gram_matrix(k, X.data(), n, X.data(), n, dim, S.data(), 2);
    gram_matrix(k, X.data(), n, Xc.data(), n, dim, Scopy.data(), 2);
    BOOST_TEST(bitwise_equal(S, Scopy), to_string(t));
  }
}

BOOST_AUTO_TEST_CASE(gram_matrix_independent_of_thread_count) {
  const std::size_t n = 150, dim = 300;
  const std::vector<double> X = random_histograms(n, dim, 31);
  for (KernelType t : kAllKernels) {
    const Kernel k = make_kernel(t, 0.05);
    std::vector<double> G1(n * n), G2(n * n), Gall(n * n);
    gram_matrix(k, X.data(), n, X.data(), n, dim, G1.data(), 1);
    gram_matrix(k, X.data(), n, X.data(), n, dim, G2.data(), 2);
    gram_matrix(k, X.data(), n, X.data(), n, dim, Gall.data(), 0);
    BOOST_TEST(bitwise_equal(G1, G2), to_string(t));
    BOOST_TEST(bitwise_equal(G1, Gall), to_string(t));
  }
}

BOOST_AUTO_TEST_CASE(default_gamma_is_inverse_mean_distance) {
  const std::size_t n = 60, dim = 33;
  const std::vector<double> X = random_histograms(n, dim, 41);
  for (KernelType t : {KernelType::rbf, KernelType::expchi2}) {
    double sum = 0;
    std::size_t pairs = 0;
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = i + 1; j < n; ++j, ++pairs)
        for (std::size_t d = 0; d < dim; ++d) sum += naive_term(t, X[i * dim + d], X[j * dim + d]);
    BOOST_TEST(close(default_gamma(t, X.data(), n, dim), pairs / sum, 1e-12), to_string(t));
  }
  // Subsampled beyond 1000 rows: deterministic, and close to the full-data value.
  const std::size_t big = 1300, bdim = 8;
  const std::vector<double> B = random_histograms(big, bdim, 42);
  double sum = 0;
  for (std::size_t i = 0; i < big; ++i)
    for (std::size_t j = i + 1; j < big; ++j)
      sum += kernel_distance(KernelType::rbf, &B[i * bdim], &B[j * bdim], bdim);
  const double full = (big * (big - 1) / 2.0) / sum;
  const double g1 = default_gamma(KernelType::rbf, B.data(), big, bdim), g2 = default_gamma(KernelType::rbf, B.data(), big, bdim);
  BOOST_TEST(g1 == g2);
  BOOST_TEST(std::abs(g1 / full - 1) < 0.05);
  BOOST_TEST(g1 != full);  // it really subsampled
  BOOST_CHECK_THROW(default_gamma(KernelType::intersection, X.data(), n, dim), std::invalid_argument);
  BOOST_CHECK_THROW(default_gamma(KernelType::rbf, X.data(), 1, dim), std::invalid_argument);
  const std::vector<double> same(4 * dim, 0.25);
  BOOST_CHECK_THROW(default_gamma(KernelType::rbf, same.data(), 4, dim), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(decisions_match_libsvm_for_every_kernel_and_label_order) {
  const std::size_t n = 70, dim = 24;
  std::vector<int> labels3;
  const std::vector<double> X0 = class_data(n, dim, 3, labels3, 51);
  const std::vector<double> T = random_histograms(12, dim, 52);
  for (KernelType t : kAllKernels)
    for (int first : {1, -1})
      for (bool balanced : {false, true}) {
        // One class (class 0 of the data), with the row order chosen so that libsvm sees `first` first.
        std::vector<std::size_t> order(n);
        for (std::size_t i = 0; i < n; ++i) order[i] = i;
        const auto it = std::find_if(order.begin(), order.end(), [&](std::size_t i) { return labels3[i * 3] == first; });
        std::iter_swap(order.begin(), it);
        std::vector<double> X(n * dim);
        std::vector<int> labels(n);
        for (std::size_t i = 0; i < n; ++i) {
          std::copy_n(&X0[order[i] * dim], dim, &X[i * dim]);
          labels[i] = labels3[order[i] * 3];
        }
        labels[n - 1] = 0;  // left out
        Kernel k = make_kernel(t, 0, t == KernelType::chi2 ? std::vector<KernelBlock>{{0, 12, 2.0}, {12, 24, 0.5}}
                                                           : std::vector<KernelBlock>{});
        if (exponential(t)) k.gamma = 0;  // let training choose default_gamma
        TrainOptions opt;
        opt.C = 3.0;
        opt.class_C = {balanced ? 0.7 : 3.0};
        opt.balanced = balanced;
        const KernelSvm model = train_one_vs_rest(X.data(), n, dim, labels, {"c0"}, k, opt);
        if (exponential(t)) {
          k.gamma = default_gamma(t, X.data(), n, dim);
          BOOST_TEST(model.kernel().gamma == k.gamma);
        }
        std::vector<double> G(n * n);
        gram_matrix(k, X.data(), n, X.data(), n, dim, G.data());
        const LibsvmReference ref(G, n, labels, balanced ? 0.7 : 3.0, balanced);
        BOOST_TEST_REQUIRE(ref.model->label[0] == (first == 1 ? 1 : 0));  // both orders really occur
        std::size_t nonzero = 0;
        for (double c : model.classes()[0].coef) nonzero += c != 0;
        BOOST_TEST(nonzero == static_cast<std::size_t>(ref.model->l));
        BOOST_TEST(model.support_size() == static_cast<std::size_t>(ref.model->l));
        std::vector<double> kx(n);
        for (std::size_t r = 0; r < 12 + 5; ++r) {
          const double* x = r < 12 ? &T[r * dim] : &X[r * dim];
          gram_matrix(k, x, 1, X.data(), n, dim, kx.data(), 1);
          const double want = first * ref.decision(kx);
          const double got = model.decision(0, x);
          BOOST_TEST(close(got, want, 1e-9), to_string(t) << " first=" << first << " balanced=" << balanced << ": " << got
                                                          << " vs libsvm " << want);
        }
      }
}

BOOST_AUTO_TEST_CASE(batch_decisions_and_kernel_values_are_bitwise_consistent) {
  const std::size_t n = 90, dim = 40;
  std::vector<int> labels;
  const std::vector<double> X = class_data(n, dim, 3, labels, 61);
  const std::vector<double> T = random_histograms(300, dim, 62);  // > 256 rows: two batch chunks
  for (KernelType t : {KernelType::intersection, KernelType::hellinger, KernelType::expchi2}) {
    const KernelSvm model = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b", "c"}, make_kernel(t, 2.0), {});
    const std::vector<double> batch = model.decision_batch(T.data(), 300, 2);
    for (std::size_t r = 0; r < 300; ++r) {
      const std::vector<double> f = model.decision(&T[r * dim]);
      BOOST_TEST(std::memcmp(f.data(), &batch[r * 3], 3 * sizeof(double)) == 0);
      BOOST_TEST(model.decision(1, &T[r * dim]) == f[1]);
    }
    const std::vector<double> kv = model.kernel_values(&T[0]);
    double f0 = 0;
    for (std::size_t i = 0; i < model.support_size(); ++i) {
      BOOST_TEST(kv[i] == model.kernel()(model.support_vector(i), &T[0], dim));
      f0 += model.classes()[0].coef[i] * kv[i];
    }
    BOOST_TEST(model.classes()[0].bias + f0 == batch[0]);
  }
}

BOOST_AUTO_TEST_CASE(one_vs_rest_leaves_out_label_zero) {
  const std::size_t n = 80, dim = 20, C = 3;
  std::vector<int> labels;
  const std::vector<double> X = class_data(n, dim, C, labels, 71);
  for (std::size_t i = 0; i < n; i += 3) labels[i * C + 1] = 0;  // class 1 ignores every third row
  const Kernel k = make_kernel(KernelType::intersection);
  TrainOptions opt;
  opt.threads = 2;
  std::size_t calls = 0, last = 0;
  const KernelSvm all = train_one_vs_rest(X.data(), n, dim, labels, {"x", "y", "z"}, k, opt,
                                         [&](std::size_t done, std::size_t total) {
                                           ++calls;
                                           last = std::max(last, done);
                                           BOOST_TEST(total == C);
                                         });
  BOOST_TEST(calls == C);
  BOOST_TEST(last == C);
  BOOST_TEST(all.class_index("z") == 2u);
  BOOST_CHECK_THROW(all.class_index("w"), std::invalid_argument);
  // No left-out row of class 1 is one of its support vectors.
  for (std::size_t s = 0; s < all.support_size(); ++s) {
    std::size_t row = n;
    for (std::size_t i = 0; i < n; ++i)
      if (std::equal(all.support_vector(s), all.support_vector(s) + dim, &X[i * dim])) row = i;
    BOOST_TEST_REQUIRE(row < n);
    if (all.classes()[1].coef[s] != 0) BOOST_TEST(labels[row * C + 1] != 0);
  }
  // Class 1 equals a model trained on the kept rows only.
  std::vector<double> Xs;
  std::vector<int> ls;
  for (std::size_t i = 0; i < n; ++i)
    if (labels[i * C + 1] != 0) {
      Xs.insert(Xs.end(), &X[i * dim], &X[i * dim] + dim);
      ls.push_back(labels[i * C + 1]);
    }
  const KernelSvm sub = train_one_vs_rest(Xs.data(), ls.size(), dim, ls, {"y"}, k, {});
  BOOST_TEST(sub.classes()[0].bias == all.classes()[1].bias);
  const std::vector<double> T = random_histograms(10, dim, 72);
  for (std::size_t r = 0; r < 10; ++r) BOOST_TEST(close(sub.decision(0, &T[r * dim]), all.decision(1, &T[r * dim]), 1e-14));
}

BOOST_AUTO_TEST_CASE(training_rejects_bad_input) {
  const std::size_t n = 10, dim = 6;
  const std::vector<double> X = random_histograms(n, dim, 81);
  std::vector<int> labels(n * 2, -1);
  for (std::size_t i = 0; i < n; i += 2) labels[i * 2] = 1;  // class "cat" has positives, "dog" none
  try {
    train_one_vs_rest(X.data(), n, dim, labels, {"cat", "dog"}, make_kernel(KernelType::intersection), {});
    BOOST_FAIL("a class without positives must be rejected");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()).find("'dog'") != std::string::npos, e.what());
  }
  labels[1] = 1;
  BOOST_CHECK_NO_THROW(train_one_vs_rest(X.data(), n, dim, labels, {"cat", "dog"}, make_kernel(KernelType::linear), {}));
  BOOST_CHECK_THROW(train_one_vs_rest(X.data(), n, dim, labels, {"cat", "cat"}, make_kernel(KernelType::linear), {}),
                    std::invalid_argument);
  BOOST_CHECK_THROW(train_one_vs_rest(X.data(), n, dim, labels, {"cat"}, make_kernel(KernelType::linear), {}),
                    std::invalid_argument);
  std::vector<int> bad = labels;
  bad[3] = 2;
  BOOST_CHECK_THROW(train_one_vs_rest(X.data(), n, dim, bad, {"cat", "dog"}, make_kernel(KernelType::linear), {}),
                    std::invalid_argument);
  std::vector<double> nan = X;
  nan[7] = std::nan("");
  BOOST_CHECK_THROW(train_one_vs_rest(nan.data(), n, dim, labels, {"cat", "dog"}, make_kernel(KernelType::linear), {}),
                    std::invalid_argument);
  TrainOptions o;
  o.C = 0;
  BOOST_CHECK_THROW(o.validate(2), std::invalid_argument);
  o = {};
  o.class_C = {1.0};
  BOOST_CHECK_THROW(o.validate(2), std::invalid_argument);
  o.class_C = {1.0, -1.0};
  BOOST_CHECK_THROW(o.validate(2), std::invalid_argument);
  o = {};
  o.epsilon = 0;
  BOOST_CHECK_THROW(o.validate(2), std::invalid_argument);
  BOOST_CHECK_THROW(KernelSvm(make_kernel(KernelType::linear), 3, std::vector<double>(7), {}), std::invalid_argument);
  BOOST_CHECK_THROW(KernelSvm(make_kernel(KernelType::linear), 3, std::vector<double>(6), {{"a", 0.0, {1.0}}}),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(libsvm_output_goes_to_the_logger) {
  const std::size_t n = 30, dim = 8;
  std::vector<int> labels;
  const std::vector<double> X = class_data(n, dim, 2, labels, 91);
  std::string captured;
  set_libsvm_logger([&](const std::string& s) { captured += s; });
  train_one_vs_rest(X.data(), n, dim, labels, {"a", "b"}, make_kernel(KernelType::linear), {});
  set_libsvm_logger({});
  BOOST_TEST(captured.find("optimization finished") != std::string::npos, captured);
  const std::size_t before = captured.size();
  train_one_vs_rest(X.data(), n, dim, labels, {"a", "b"}, make_kernel(KernelType::linear), {});
  BOOST_TEST(captured.size() == before);
}

BOOST_AUTO_TEST_CASE(fast_intersection_is_exact) {
  const std::size_t n = 90, dim = 30, C = 3;
  std::vector<int> labels;
  std::vector<double> X = class_data(n, dim, C, labels, 101);
  for (std::size_t i = 0; i < n; i += 7) X[i * dim + 2] = 0.125;  // repeated support values
  const Kernel k = make_kernel(KernelType::intersection, 0, {{0, 12, 0.5}, {14, 30, 2.0}});  // 12, 13: weight 0
  const KernelSvm model = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b", "c"}, k, {});
  const std::vector<IntersectionIndex> idx = build_intersection_indices(model, 2);
  BOOST_TEST_REQUIRE(idx.size() == C);
  std::vector<double> T = random_histograms(15, dim, 102);
  for (std::size_t d = 0; d < dim; ++d) {
    T[d] = model.support_vector(0)[d];         // ties with support values
    T[dim + d] = 10.0;                         // beyond every support value
    T[2 * dim + d] = 0.0;
  }
  T[3 * dim + 2] = 0.125;
  for (std::size_t c = 0; c < C; ++c) {
    const IntersectionIndex& ix = idx[c];
    BOOST_TEST(ix.dim() == dim);
    BOOST_TEST(ix.bias() == model.classes()[c].bias);
    BOOST_TEST(ix.entries() > 0u);
    const std::vector<double>& coef = model.classes()[c].coef;
    for (std::size_t r = 0; r < 15; ++r) {
      const double* x = &T[r * dim];
      double scale = std::abs(model.classes()[c].bias), sum_terms = 0;
      for (std::size_t d = 0; d < dim; ++d) {
        double g = 0, g_abs = 0;
        for (std::size_t i = 0; i < model.support_size(); ++i) {
          g += coef[i] * std::min(model.support_vector(i)[d], x[d]);
          g_abs += std::abs(coef[i] * std::min(model.support_vector(i)[d], x[d]));
        }
        const double want = k.weight(d) * g, got = ix.term(d, x[d]);
        BOOST_TEST(std::abs(got - want) <= 1e-12 * (k.weight(d) * g_abs + 1e-300), "class " << c << " d " << d);
        scale += k.weight(d) * g_abs;
        sum_terms += got;
      }
      const double naive = model.decision(c, x);
      BOOST_TEST(std::abs(ix.decision(x) - naive) <= 1e-12 * scale, ix.decision(x) << " vs " << naive);
      BOOST_TEST(ix.decision(x) == ix.bias() + sum_terms);
    }
  }
  const KernelSvm lin = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b", "c"}, make_kernel(KernelType::linear), {});
  BOOST_CHECK_THROW(IntersectionIndex(lin, 0), std::invalid_argument);
  BOOST_CHECK_THROW(IntersectionIndex(model, 3), std::out_of_range);
}

// ---- LinearSvm: the explicit-weight linear head ----

namespace {

// Scale of f_c(x) for relative comparisons: |b| + sum_d |w_d x_d|.
double linear_scale(const LinearClass& c, const double* x) {
  double s = std::abs(c.bias);
  for (std::size_t d = 0; d < c.weights.size(); ++d) s += std::abs(c.weights[d] * x[d]);
  return s;
}

// A LinearSvm of random weights of both signs.
LinearSvm random_linear(std::size_t dim, std::size_t classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<LinearClass> cls(classes);
  for (std::size_t c = 0; c < classes; ++c) {
    cls[c].name = "c" + std::to_string(c);
    cls[c].bias = u(rng);
    cls[c].weights.resize(dim);
    for (double& w : cls[c].weights) w = u(rng);
  }
  return LinearSvm(dim, std::move(cls));
}

}  // namespace

BOOST_AUTO_TEST_CASE(linear_head_from_kernel_svm_matches_the_kernel_model) {
  const std::size_t n = 60, dim = 37, C = 3;  // 37: not a multiple of the 4 lanes
  std::vector<int> labels;
  const std::vector<double> X = class_data(n, dim, C, labels, 111);
  const std::vector<double> T = random_histograms(20, dim, 112);
  const std::vector<std::vector<KernelBlock>> block_sets = {{}, {{0, 10, 0.5}, {12, 37, 2.0}}};  // 10, 11: weight 0
  for (const auto& blocks : block_sets) {
    BOOST_TEST_CONTEXT("blocks " << blocks.size()) {
      const Kernel k = make_kernel(KernelType::linear, 0, blocks);
      const KernelSvm kernel_model = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b", "c"}, k, {});
      const LinearSvm linear = LinearSvm::from_kernel_svm(kernel_model);
      BOOST_TEST(linear.dim() == dim);
      BOOST_TEST_REQUIRE(linear.classes().size() == C);
      for (std::size_t c = 0; c < C; ++c) {
        const LinearClass& lc = linear.classes()[c];
        const BinarySvm& kc = kernel_model.classes()[c];
        BOOST_TEST(lc.name == kc.name);
        BOOST_TEST(lc.bias == kc.bias);
        // w_cd = weight(d) sum_i coef_ci s_id, summed naively here.
        for (std::size_t d = 0; d < dim; ++d) {
          double w = 0, w_abs = 0;
          for (std::size_t i = 0; i < kernel_model.support_size(); ++i) {
            w += kc.coef[i] * kernel_model.support_vector(i)[d];
            w_abs += std::abs(kc.coef[i] * kernel_model.support_vector(i)[d]);
          }
          BOOST_TEST(std::abs(lc.weights[d] - k.weight(d) * w) <= 1e-13 * k.weight(d) * w_abs + 1e-300, "d " << d);
        }
        if (!blocks.empty()) BOOST_TEST((lc.weights[10] == 0.0 && lc.weights[11] == 0.0));
      }
      BOOST_TEST(linear.class_index("c") == 2u);
      for (std::size_t r = 0; r < 20 + 5; ++r) {
        const double* x = r < 20 ? &T[r * dim] : &X[r * dim];
        const std::vector<double> want = kernel_model.decision(x), got = linear.decision(x);
        BOOST_TEST_REQUIRE(got.size() == C);
        for (std::size_t c = 0; c < C; ++c) {
          // Relative to the scale of the sum of the kernel model's terms.
          double scale = std::abs(kernel_model.classes()[c].bias);
          for (std::size_t i = 0; i < kernel_model.support_size(); ++i)
            scale += std::abs(kernel_model.classes()[c].coef[i] * naive_kernel(k, kernel_model.support_vector(i), x, dim));
          scale = std::max(scale, linear_scale(linear.classes()[c], x));
          BOOST_TEST(std::abs(got[c] - want[c]) <= 1e-12 * scale, "row " << r << " class " << c << ": " << got[c]
                                                                          << " vs " << want[c]);
          BOOST_TEST(linear.decision(c, x) == got[c]);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(linear_head_refuses_non_linear_kernels) {
  const std::size_t n = 40, dim = 12;
  std::vector<int> labels;
  const std::vector<double> X = class_data(n, dim, 2, labels, 121);
  for (KernelType t : {KernelType::intersection, KernelType::chi2, KernelType::rbf}) {
    const KernelSvm model = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b"}, make_kernel(t), {});
    try {
      LinearSvm::from_kernel_svm(model);
      BOOST_FAIL("a " << to_string(t) << " model must be refused");
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find("kernel is " + to_string(t)) != std::string::npos, e.what());
    }
  }
}

BOOST_AUTO_TEST_CASE(linear_head_batch_is_bitwise_decision) {
  const std::size_t dim = 45, C = 4, n = 300;  // 45: ragged last lanes; 300 rows: many tiles
  const LinearSvm model = random_linear(dim, C, 131);
  const std::vector<double> T = random_histograms(n, dim, 132);
  for (int threads : {1, 2, 0}) {
    const std::vector<double> batch = model.decision_batch(T.data(), n, threads);
    BOOST_TEST_REQUIRE(batch.size() == n * C);
    for (std::size_t r = 0; r < n; ++r) {
      const std::vector<double> f = model.decision(&T[r * dim]);
      BOOST_TEST(std::memcmp(f.data(), &batch[r * C], C * sizeof(double)) == 0, "threads " << threads << " row " << r);
      for (std::size_t c = 0; c < C; ++c) BOOST_TEST(model.decision(c, &T[r * dim]) == f[c]);
    }
  }
  // The batch of one row and of a row inside a larger batch agree too.
  const std::vector<double> one = model.decision_batch(&T[7 * dim], 1, 2);
  BOOST_TEST(std::memcmp(one.data(), model.decision(&T[7 * dim]).data(), C * sizeof(double)) == 0);
  // The fixed order, written out: 4 lanes by d mod 4, (l0 + l1) + (l2 + l3), then the bias.
  const LinearClass& c1 = model.classes()[1];
  double lane[4] = {0, 0, 0, 0};
  for (std::size_t d = 0; d < dim; ++d) lane[d % 4] += c1.weights[d] * T[d];
  BOOST_TEST(model.decision(1, T.data()) == c1.bias + ((lane[0] + lane[1]) + (lane[2] + lane[3])));
  BOOST_TEST(model.decision_batch(T.data(), 0, 2).empty());
  BOOST_CHECK_THROW(model.decision_batch(T.data(), n, -1), std::invalid_argument);
  BOOST_CHECK_THROW(model.decision_batch(T.data(), n, core::kMaxThreads + 1), std::invalid_argument);
  BOOST_CHECK_THROW(model.decision(C, T.data()), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(train_linear_one_vs_rest_separates_two_classes) {
  // Two classes, each with extra mass on its own 4 dimensions: linearly separable.
  const std::size_t n = 80, dim = 16, C = 2;
  std::vector<int> labels, test_labels;
  const std::vector<double> X = class_data(n, dim, C, labels, 141);
  const std::vector<double> T = class_data(60, dim, C, test_labels, 142);
  TrainOptions opt;
  opt.threads = 2;
  std::size_t calls = 0;
  const LinearSvm model = train_linear_one_vs_rest(X.data(), n, dim, labels, {"left", "right"}, opt,
                                                   [&](std::size_t, std::size_t total) {
                                                     ++calls;
                                                     BOOST_TEST(total == C);
                                                   });
  BOOST_TEST(calls == C);
  BOOST_TEST(model.dim() == dim);
  BOOST_TEST(model.class_index("right") == 1u);
  auto accuracy = [&](const std::vector<double>& rows, const std::vector<int>& truth, std::size_t m) {
    const std::vector<double> f = model.decision_batch(rows.data(), m, 2);
    std::size_t right = 0;
    for (std::size_t i = 0; i < m; ++i)
      for (std::size_t c = 0; c < C; ++c) right += (f[i * C + c] > 0) == (truth[i * C + c] == 1);
    return static_cast<double>(right) / static_cast<double>(m * C);
  };
  BOOST_TEST(accuracy(X, labels, n) == 1.0);
  BOOST_TEST(accuracy(T, test_labels, 60) >= 0.95);
  // The same as collapsing train_one_vs_rest's linear model by hand, bit for bit.
  const LinearSvm by_hand = LinearSvm::from_kernel_svm(
      train_one_vs_rest(X.data(), n, dim, labels, {"left", "right"}, make_kernel(KernelType::linear), opt));
  for (std::size_t c = 0; c < C; ++c) {
    BOOST_TEST(model.classes()[c].bias == by_hand.classes()[c].bias);
    BOOST_TEST(bitwise_equal(model.classes()[c].weights, by_hand.classes()[c].weights));
  }
  // train_one_vs_rest's refusals carry over.
  std::vector<int> no_positive(n * C, -1);
  for (std::size_t i = 0; i < n; ++i) no_positive[i * C] = labels[i * C];
  BOOST_CHECK_THROW(train_linear_one_vs_rest(X.data(), n, dim, no_positive, {"left", "right"}, opt), std::invalid_argument);
  opt.threads = -1;
  BOOST_CHECK_THROW(train_linear_one_vs_rest(X.data(), n, dim, labels, {"left", "right"}, opt), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(train_linear_one_vs_rest_lean_weights_equal_the_collapse) {
  // The lean path (w accumulated from the training rows, no support vectors copied) against
  // from_kernel_svm of train_one_vs_rest's model: 3 classes, some labels left out (0), dimensions
  // spanning several accumulation chunks, plain / balanced / per-class C, 1 and 2 threads.
  const std::size_t n = 90, dim = 2600, C = 3;
  std::vector<int> labels;
  const std::vector<double> X = class_data(n, dim, C, labels, 151);
  for (std::size_t i = 0; i < n; i += 7) labels[i * C + (i % C)] = 0;
  const std::vector<double> T = random_histograms(20, dim, 152);
  const std::vector<std::string> names = {"a", "b", "c"};
  for (int setting = 0; setting < 3; ++setting)
    for (int threads : {1, 2}) {
      TrainOptions opt;
      opt.threads = threads;
      opt.C = 5;
      if (setting == 1) opt.balanced = true;
      if (setting == 2) opt.class_C = {0.5, 2.0, 30.0};
      const LinearSvm lean = train_linear_one_vs_rest(X.data(), n, dim, labels, names, opt);
      const KernelSvm kernel_model = train_one_vs_rest(X.data(), n, dim, labels, names, make_kernel(KernelType::linear), opt);
      const LinearSvm collapsed = LinearSvm::from_kernel_svm(kernel_model);
      BOOST_TEST_REQUIRE(lean.classes().size() == C);
      BOOST_TEST(lean.dim() == dim);
      for (std::size_t c = 0; c < C; ++c) {
        const std::vector<double>& w = lean.classes()[c].weights;
        const std::vector<double>& v = collapsed.classes()[c].weights;
        double diff = 0, norm = 0;
        for (std::size_t d = 0; d < dim; ++d) {
          diff = std::max(diff, std::abs(w[d] - v[d]));
          norm = std::max(norm, std::abs(v[d]));
        }
        BOOST_TEST(norm > 0.0);
        BOOST_TEST(diff <= 1e-12 * norm, "setting " << setting << " threads " << threads << " class " << c);
        BOOST_TEST(lean.classes()[c].bias == collapsed.classes()[c].bias);
        // Same terms in the same order: in fact the same bits.
        BOOST_TEST(bitwise_equal(w, v), "setting " << setting << " threads " << threads << " class " << c);
      }
      // And the scores agree with the kernel model to rounding.
      for (std::size_t r = 0; r < 20; ++r) {
        const double* x = T.data() + r * dim;
        const std::vector<double> want = kernel_model.decision(x), got = lean.decision(x);
        for (std::size_t c = 0; c < C; ++c)
          BOOST_TEST(close(got[c], want[c], 1e-12 * std::max(1.0, linear_scale(lean.classes()[c], x))));
      }
    }
  // Independent of the thread count, bit for bit.
  TrainOptions one, all;
  one.threads = 1;
  all.threads = 0;
  const LinearSvm a = train_linear_one_vs_rest(X.data(), n, dim, labels, names, one);
  const LinearSvm b = train_linear_one_vs_rest(X.data(), n, dim, labels, names, all);
  for (std::size_t c = 0; c < C; ++c) BOOST_TEST(bitwise_equal(a.classes()[c].weights, b.classes()[c].weights));
}

BOOST_AUTO_TEST_CASE(linear_svm_constructor_refuses_bad_models) {
  const LinearSvm empty;
  BOOST_TEST(empty.dim() == 0u);
  BOOST_TEST(empty.classes().empty());
  const double x[3] = {1, 2, 3};
  BOOST_TEST(empty.decision(x).empty());
  BOOST_CHECK_THROW(empty.decision(0, x), std::out_of_range);
  BOOST_CHECK_THROW(empty.class_index("a"), std::invalid_argument);

  const LinearSvm ok(3, {{"a", 0.5, {1.0, -2.0, 0.25}}, {"b", -1.0, {0.0, 0.0, 1.0}}});
  BOOST_TEST(ok.decision(0, x) == 0.5 + ((1.0 * 1 + -2.0 * 2) + 0.25 * 3));
  BOOST_TEST(ok.decision(x)[1] == 2.0);
  try {
    ok.class_index("z");
    BOOST_FAIL("an unknown class must be refused");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()) == "unknown class 'z': the model knows a, b");
  }
  auto refused = [](std::size_t dim, std::vector<LinearClass> classes, const std::string& part) {
    try {
      const LinearSvm model(dim, std::move(classes));
      BOOST_ERROR("expected a refusal mentioning \"" << part << "\"");
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(part) != std::string::npos, e.what());
    }
  };
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  refused(3, {{"a", 0.0, {1.0, 2.0}}}, "class 'a' has 2 weights, expected one per dimension (3)");
  refused(3, {{"a", 0.0, {1.0, 2.0, 3.0}}, {"b", 0.0, {1.0, 2.0, 3.0, 4.0}}}, "class 'b' has 4 weights");
  refused(3, {{"a", 0.0, {1.0, nan, 3.0}}}, "class 'a' has a non-finite bias or weight");
  refused(3, {{"a", inf, {1.0, 2.0, 3.0}}}, "class 'a' has a non-finite bias or weight");
  refused(3, {{"a", nan, {1.0, 2.0, 3.0}}}, "non-finite");
  refused(3, {}, "no classes");
  refused(0, {{"a", 0.0, {}}}, "dimension 0");
  refused(3, {{"a", 0.0, {1.0, 2.0, 3.0}}, {"a", 0.0, {1.0, 2.0, 3.0}}}, "class name 'a' is empty or repeated");
  refused(3, {{"", 0.0, {1.0, 2.0, 3.0}}}, "empty or repeated");
}

BOOST_AUTO_TEST_SUITE_END()
