// Tests of the svm module: kernels and Gram matrices against naive formulas, decisions against
// libsvm's own svm_predict_values, the fast intersection evaluator, and the model file.
#include <bowlrp/bow/io.h>
#include <bowlrp/svm/classifier.h>
#include <bowlrp/svm/fast_intersection.h>
#include <bowlrp/svm/kernel.h>
#include <bowlrp/svm/svm.h>

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

namespace {

const std::vector<KernelType> kAllKernels = {KernelType::linear, KernelType::intersection, KernelType::chi2,
                                             KernelType::hellinger, KernelType::rbf, KernelType::expchi2};

bool exponential(KernelType t) { return t == KernelType::rbf || t == KernelType::expchi2; }

/// Random non-negative histograms with many exact zeros (as BoW histograms have).
std::vector<double> random_histograms(std::size_t n, std::size_t dim, std::uint64_t seed, double zeros = 0.4) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> X(n * dim);
  for (double& x : X) x = u(rng) < zeros ? 0.0 : u(rng) * u(rng);
  return X;
}

// ---- naive references, written from the formulas of kernel.h ----
double naive_term(KernelType t, double a, double b) {
  switch (t) {
    case KernelType::linear: return a * b;
    case KernelType::intersection: return std::min(a, b);
    case KernelType::chi2: return a + b == 0 ? 0.0 : 2 * a * b / (a + b);
    case KernelType::hellinger: return std::sqrt(a * b);
    case KernelType::rbf: return (a - b) * (a - b);
    case KernelType::expchi2: return a + b == 0 ? 0.0 : (a - b) * (a - b) / (a + b);
  }
  return 0;
}

double naive_kernel(const Kernel& k, const double* a, const double* b, std::size_t dim) {
  std::vector<KernelBlock> blocks = k.blocks;
  if (blocks.empty()) blocks.push_back({0, dim, 1.0});
  double total = 0;
  for (const KernelBlock& u : blocks) {
    double s = 0;
    for (std::size_t d = u.begin; d < u.end; ++d) s += naive_term(k.type, a[d], b[d]);
    total += u.weight * (exponential(k.type) ? std::exp(-k.gamma * s) : s);
  }
  return total;
}

bool close(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max(1.0, std::max(std::abs(a), std::abs(b))); }

Kernel make_kernel(KernelType t, double gamma = 0.0, std::vector<KernelBlock> blocks = {}) {
  Kernel k;
  k.type = t;
  k.gamma = exponential(t) ? (gamma > 0 ? gamma : 0.7) : 0.0;
  k.blocks = std::move(blocks);
  return k;
}

bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
}

// ---- libsvm used directly, as the reference for decisions ----
struct LibsvmModelDeleter {
  void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};

/// A libsvm C-SVC trained on a precomputed Gram matrix; the nodes must outlive the model. Labels
/// +1 / -1 / 0 (left out) go to libsvm as 1 / 0, so that libsvm orders them by first occurrence.
struct LibsvmReference {
  std::size_t n = 0;
  std::vector<svm_node> nodes;
  std::vector<svm_node*> rows;
  std::vector<double> y;
  std::vector<int> weight_label{1, 0};
  std::vector<double> weight{1.0, 1.0};
  std::unique_ptr<svm_model, LibsvmModelDeleter> model;

  LibsvmReference(const std::vector<double>& G, std::size_t n_, const std::vector<int>& labels, double C,
                  bool balanced) : n(n_) {
    nodes.resize(n * (n + 2));
    std::size_t pos = 0, neg = 0;
    for (std::size_t i = 0; i < n; ++i) {
      svm_node* r = nodes.data() + i * (n + 2);
      r[0] = {0, double(i + 1)};
      for (std::size_t j = 0; j < n; ++j) r[j + 1] = {int(j + 1), G[i * n + j]};
      r[n + 1] = {-1, 0};
      if (labels[i] != 0) {
        rows.push_back(r);
        y.push_back(labels[i] > 0 ? 1.0 : 0.0);  // as train_one_vs_rest feeds libsvm
        (labels[i] > 0 ? pos : neg)++;
      }
    }
    weight = {double(pos + neg) / (2.0 * pos), double(pos + neg) / (2.0 * neg)};
    svm_problem prob{int(y.size()), y.data(), rows.data()};
    svm_parameter p{};
    p.svm_type = C_SVC;
    p.kernel_type = PRECOMPUTED;
    p.cache_size = 100;
    p.eps = 1e-3;
    p.C = C;
    p.nr_weight = balanced ? 2 : 0;
    p.weight_label = weight_label.data();
    p.weight = weight.data();
    p.shrinking = 1;
    BOOST_REQUIRE(svm_check_parameter(&prob, &p) == nullptr);
    model.reset(svm_train(&prob, &p));
  }
  /// libsvm's decision value (label[0] vs label[1]) for a row of kernel values against all n.
  double decision(const std::vector<double>& kx) const {
    std::vector<svm_node> x(n + 2);
    x[0] = {0, 0.0};
    for (std::size_t j = 0; j < n; ++j) x[j + 1] = {int(j + 1), kx[j]};
    x[n + 1] = {-1, 0};
    double dec = 0;
    svm_predict_values(model.get(), x.data(), &dec);
    return dec;
  }
};

/// Bitwise CRC-32 (zlib), the slow textbook form.
std::uint32_t naive_crc32(const std::string& s, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= static_cast<unsigned char>(s[i]);
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

/// Labels of n rows x classes: class c is positive where dimension block c carries extra mass.
std::vector<double> class_data(std::size_t n, std::size_t dim, std::size_t classes, std::vector<int>& labels,
                               std::uint64_t seed) {
  std::vector<double> X = random_histograms(n, dim, seed);
  std::mt19937_64 rng(seed + 1);
  labels.assign(n * classes, -1);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t c = rng() % classes;
    labels[i * classes + c] = 1;
    for (std::size_t d = c * 4; d < c * 4 + 4 && d < dim; ++d) X[i * dim + d] += 0.4;
  }
  return X;
}

}  // namespace

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
        const SvmModel model = train_one_vs_rest(X.data(), n, dim, labels, {"c0"}, k, opt);
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
    const SvmModel model = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b", "c"}, make_kernel(t, 2.0), {});
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
  const SvmModel all = train_one_vs_rest(X.data(), n, dim, labels, {"x", "y", "z"}, k, opt,
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
  const SvmModel sub = train_one_vs_rest(Xs.data(), ls.size(), dim, ls, {"y"}, k, {});
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
  BOOST_CHECK_THROW(SvmModel(make_kernel(KernelType::linear), 3, std::vector<double>(7), {}), std::invalid_argument);
  BOOST_CHECK_THROW(SvmModel(make_kernel(KernelType::linear), 3, std::vector<double>(6), {{"a", 0.0, {1.0}}}),
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
  const SvmModel model = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b", "c"}, k, {});
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
  const SvmModel lin = train_one_vs_rest(X.data(), n, dim, labels, {"a", "b", "c"}, make_kernel(KernelType::linear), {});
  BOOST_CHECK_THROW(IntersectionIndex(lin, 0), std::invalid_argument);
  BOOST_CHECK_THROW(IntersectionIndex(model, 3), std::out_of_range);
}

namespace {

Classifier sample_classifier(KernelType t) {
  Classifier cl;
  cl.options.image.max_side = 321;
  cl.options.dsift.bin_sizes = {4, 8};
  cl.options.dsift.step = 3;
  cl.options.dsift.magnif = 5.5;
  cl.options.dsift.contrast_threshold = 0.0123456789012345;
  cl.options.dsift.window_size = 2.0;
  cl.options.dsift.fast = false;
  cl.options.kmeans.words = 6;
  cl.options.kmeans.samples = 123457;
  cl.options.kmeans.max_iterations = 17;
  cl.options.kmeans.seed = (std::uint64_t{1} << 63) + 5;
  cl.options.mapping.kind = bow::MappingKind::soft;
  cl.options.mapping.neighbours = 3;
  cl.options.mapping.beta = 0.1;
  cl.options.mapping.rank_decay = 0.3;
  cl.options.pooling.p = std::numeric_limits<double>::infinity();
  cl.options.pooling.pyramid = {{1, 1}, {2, 2}};
  cl.options.pooling.normalisation = bow::Normalisation::l2;
  cl.options.pooling.hellinger = true;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> centres(6 * 128);
  for (float& c : centres) c = u(rng);
  cl.codebook = bow::Codebook(128, std::move(centres));
  const std::size_t n = 40, dim = 6 * 5;
  std::vector<int> labels;
  std::vector<double> X = class_data(n, dim, 3, labels, 111);
  for (double& x : X) x /= 1.4;  // into [0, 1], as the pipeline's histograms are
  cl.svm = train_one_vs_rest(X.data(), n, dim, labels, {"aeroplane", "bicycle", "naïve ünïcode"},
                             make_kernel(t, 0.3, {{0, 6, 1.0}, {6, 30, 0.25}}), {});
  return cl;
}

std::string error_of(const std::string& path) {
  try {
    load_classifier(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(model_file_round_trip_is_exact) {
  test::TempDir tmp;
  for (KernelType t : {KernelType::intersection, KernelType::rbf}) {
    const Classifier cl = sample_classifier(t);
    const std::string path = tmp / ("model_" + to_string(t) + ".bowlrp");
    save_classifier(path, cl);
    const Classifier back = load_classifier(path);
    // Options, field by field.
    const bow::PipelineOptions &a = cl.options, &b = back.options;
    BOOST_TEST(b.image.max_side == a.image.max_side);
    BOOST_TEST(b.dsift.bin_sizes == a.dsift.bin_sizes);
    BOOST_TEST(b.dsift.step == a.dsift.step);
    BOOST_TEST(b.dsift.magnif == a.dsift.magnif);
    BOOST_TEST(b.dsift.contrast_threshold == a.dsift.contrast_threshold);
    BOOST_TEST(b.dsift.window_size == a.dsift.window_size);
    BOOST_TEST(b.dsift.fast == a.dsift.fast);
    BOOST_TEST(b.kmeans.words == a.kmeans.words);
    BOOST_TEST(b.kmeans.samples == a.kmeans.samples);
    BOOST_TEST(b.kmeans.max_iterations == a.kmeans.max_iterations);
    BOOST_TEST(b.kmeans.seed == a.kmeans.seed);
    BOOST_TEST((b.mapping.kind == a.mapping.kind));
    BOOST_TEST(b.mapping.neighbours == a.mapping.neighbours);
    BOOST_TEST(b.mapping.beta == a.mapping.beta);
    BOOST_TEST(b.mapping.rank_decay == a.mapping.rank_decay);
    BOOST_TEST(b.pooling.is_max());
    BOOST_TEST(b.pooling.pyramid.size() == 2u);
    BOOST_TEST(b.pooling.pyramid[1].cols == 2);
    BOOST_TEST(b.pooling.pyramid[1].rows == 2);
    BOOST_TEST((b.pooling.normalisation == a.pooling.normalisation));
    BOOST_TEST(b.pooling.hellinger == a.pooling.hellinger);
    BOOST_TEST(back.codebook.dim() == 128);
    BOOST_TEST(back.codebook.centres() == cl.codebook.centres());
    // The SVMs, bit for bit.
    BOOST_TEST((back.svm.kernel().type == t));
    BOOST_TEST(back.svm.kernel().gamma == cl.svm.kernel().gamma);
    BOOST_TEST(back.svm.kernel().blocks.size() == 2u);
    BOOST_TEST(back.svm.kernel().blocks[1].weight == 0.25);
    BOOST_TEST(bitwise_equal(back.svm.support(), cl.svm.support()));
    for (std::size_t c = 0; c < 3; ++c) {
      BOOST_TEST(back.svm.classes()[c].name == cl.svm.classes()[c].name);
      BOOST_TEST(back.svm.classes()[c].bias == cl.svm.classes()[c].bias);
      BOOST_TEST(bitwise_equal(back.svm.classes()[c].coef, cl.svm.classes()[c].coef));
    }
    const std::vector<double> T = random_histograms(8, 30, 112);
    for (std::size_t r = 0; r < 8; ++r)
      BOOST_TEST(bitwise_equal(back.svm.decision(&T[r * 30]), cl.svm.decision(&T[r * 30])));
    // The documented layout, read by hand.
    const std::string buf = bow::read_file(path);
    BOOST_TEST(buf.compare(0, 13, "BOWLRP-MODEL\n") == 0);
    std::uint64_t N = 0;
    for (int k = 0; k < 8; ++k) N |= std::uint64_t(static_cast<unsigned char>(buf[13 + k])) << (8 * k);
    BOOST_TEST((21 + N) % 8 == 0u);
    const std::string json = buf.substr(21, N);
    BOOST_TEST(json.find("\"format_version\":1") != std::string::npos);
    BOOST_TEST(json.find("\"p\":\"inf\"") != std::string::npos);
    std::uint64_t stored = 0;
    for (int k = 0; k < 8; ++k) stored |= std::uint64_t(static_cast<unsigned char>(buf[buf.size() - 8 + k])) << (8 * k);
    BOOST_TEST(stored == naive_crc32(buf, buf.size() - 8));
    // Support vectors sit at their descriptor's offset as raw little-endian doubles.
    const std::size_t key = json.find("\"support_vectors\"");
    BOOST_TEST_REQUIRE(key != std::string::npos);
    const std::size_t obj = json.rfind('{', key);
    const std::size_t off_at = json.find("\"offset\":", obj);
    const std::size_t offset = std::stoull(json.substr(off_at + 9));
    double first = 0;
    std::memcpy(&first, buf.data() + 21 + N + offset, 8);
    BOOST_TEST(first == cl.svm.support()[0]);
  }
}

BOOST_AUTO_TEST_CASE(bad_model_files_are_rejected) {
  test::TempDir tmp;
  const std::string good = tmp / "good.bowlrp";
  save_classifier(good, sample_classifier(KernelType::intersection));
  const std::string buf = bow::read_file(good);
  std::uint64_t N = 0;
  for (int k = 0; k < 8; ++k) N |= std::uint64_t(static_cast<unsigned char>(buf[13 + k])) << (8 * k);
  auto check = [&](const std::string& name, const std::string& bytes, const std::string& expected) {
    const std::string path = tmp / name;
    bow::write_file_atomic(path, bytes);
    const std::string err = error_of(path);
    BOOST_TEST(err.find(path) != std::string::npos, name << ": " << err);
    BOOST_TEST(err.find(expected) != std::string::npos, name << ": '" << err << "' lacks '" << expected << "'");
  };
  BOOST_TEST(error_of(good).empty());
  check("empty", "", "empty");
  for (std::size_t cut : {std::size_t{5}, std::size_t{17}, std::size_t{21 + N / 2}, std::size_t{21 + N + 40},
                          buf.size() / 2, buf.size() - 3})
    check("cut" + std::to_string(cut), buf.substr(0, cut), "truncated");
  std::string magic = buf;
  magic[3] = 'X';
  check("magic", magic, "not a bowlrp model file");
  check("text", "hello world, this is not a model at all", "not a bowlrp model file");
  std::string version = buf;
  const std::size_t at = version.find("\"format_version\":1");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  version[at + 17] = '2';
  check("version", version, "format_version 2");
  std::string flipped = buf;
  flipped[21 + N + 100] ^= 0x10;  // inside the codebook
  check("flip_data", flipped, "checksum");
  std::string flipped_json = buf;
  const std::size_t name_at = flipped_json.find("aeroplane");
  flipped_json[name_at] = 'b';
  check("flip_json", flipped_json, "checksum");
  std::string flipped_crc = buf;
  flipped_crc[buf.size() - 2] ^= 1;
  check("flip_crc", flipped_crc, "checksum");
  check("trailing", buf + "xx", "trailing");
  BOOST_CHECK_THROW(load_classifier(tmp / "missing.bowlrp"), std::runtime_error);
  // Saving refuses parts that do not fit together.
  Classifier wrong = sample_classifier(KernelType::intersection);
  wrong.options.pooling.pyramid = {{1, 1}};  // V would be 6, the SVM has 30
  BOOST_CHECK_THROW(save_classifier(tmp / "wrong.bowlrp", wrong), std::invalid_argument);
}

// ---- crafted model files: a valid checksum over bad content ----

namespace {

using nlohmann::json;

std::uint64_t le64(const std::string& b, std::size_t at) {
  std::uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= std::uint64_t(static_cast<unsigned char>(b[at + k])) << (8 * k);
  return v;
}

void append_le64(std::string& out, std::uint64_t v) {
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

/// CRC-32 (zlib) with a byte table: the fuzz test checksums thousands of files.
std::uint32_t table_crc32(const std::string& s, std::size_t n) {
  static const std::vector<std::uint32_t> table = [] {
    std::vector<std::uint32_t> t(256);
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ static_cast<unsigned char>(s[i])) & 0xFF] ^ (c >> 8);
  return ~c;
}

/// A model file taken apart: its JSON header and its data section.
struct ModelParts {
  json header;
  std::string data;
};

ModelParts split_model(const std::string& buf) {
  const std::uint64_t N = le64(buf, 13);
  return {json::parse(buf.substr(21, N)), buf.substr(21 + N, buf.size() - 21 - N - 8)};
}

/// Puts a header text and a data section together as the writer does (padding, length, checksum),
/// so that a crafted file passes the checksum and reaches the checks of its content.
std::string assemble_model(std::string text, const std::string& data) {
  text.append((8 - (21 + text.size()) % 8) % 8, ' ');
  std::string out = kClassifierMagic;
  append_le64(out, text.size());
  out += text;
  out += data;
  append_le64(out, table_crc32(out, out.size()));
  return out;
}
std::string assemble_model(const ModelParts& p) { return assemble_model(p.header.dump(), p.data); }

json& array_entry(json& header, const std::string& name) {
  for (json& a : header.at("arrays"))
    if (a.at("name") == name) return a;
  throw std::logic_error("the sample model has no array " + name);
}

std::size_t array_offset(const ModelParts& p, const std::string& name) {
  for (const json& a : p.header.at("arrays"))
    if (a.at("name") == name) return a.at("offset").get<std::size_t>();
  throw std::logic_error("the sample model has no array " + name);
}

void put_f8(std::string& data, std::size_t at, double v) { std::memcpy(data.data() + at, &v, 8); }
void put_f4(std::string& data, std::size_t at, float v) { std::memcpy(data.data() + at, &v, 4); }

/// The parts of a saved sample model (trained by libsvm), for crafting.
ModelParts sample_parts(const test::TempDir& tmp, KernelType t) {
  const std::string path = tmp / ("base_" + to_string(t) + ".bowlrp");
  save_classifier(path, sample_classifier(t));
  return split_model(bow::read_file(path));
}

/// Loads crafted bytes and checks that the load fails with a std::runtime_error whose message names
/// the file and holds every expected fragment.
void expect_refused(const test::TempDir& tmp, const std::string& name, const std::string& bytes,
                    const std::vector<std::string>& expected) {
  const std::string path = tmp / (name + ".bowlrp");
  bow::write_file_atomic(path, bytes);
  const std::string err = error_of(path);
  BOOST_TEST(!err.empty(), name << ": the crafted model was accepted");
  if (err.empty()) return;
  BOOST_TEST_MESSAGE(name << ": " << err);
  BOOST_TEST(err.find(path) != std::string::npos, name << ": '" << err << "' does not name the file");
  for (const std::string& e : expected)
    BOOST_TEST(err.find(e) != std::string::npos, name << ": '" << err << "' lacks '" << e << "'");
}

}  // namespace

BOOST_AUTO_TEST_CASE(crafted_model_helper_reproduces_the_writer) {
  test::TempDir tmp;
  const std::string path = tmp / "m.bowlrp";
  save_classifier(path, sample_classifier(KernelType::intersection));
  const std::string buf = bow::read_file(path);
  BOOST_TEST(table_crc32(buf, buf.size() - 8) == naive_crc32(buf, buf.size() - 8));
  BOOST_TEST((assemble_model(split_model(buf)) == buf));
}

BOOST_AUTO_TEST_CASE(crafted_model_array_sizes_cannot_overflow) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  // S x V x 8 bytes wraps to exactly 0 in 64 bits for V = 2^61, 2^62, 2^63: the old size check divided by it.
  for (int e : {61, 62, 63}) {
    ModelParts p = base;
    const std::uint64_t V = std::uint64_t{1} << e;
    p.header["dim"] = V;
    array_entry(p.header, "support_vectors")["shape"][1] = V;
    expect_refused(tmp, "dim_2_" + std::to_string(e), assemble_model(p), {"dim", std::to_string(V)});
  }
  // Byte counts that wrap to the stored one.
  ModelParts p = base;
  const std::uint64_t S = base.header.at("support_size");
  p.header["support_size"] = S + (std::uint64_t{1} << 61);
  array_entry(p.header, "support_vectors")["shape"][0] = S + (std::uint64_t{1} << 61);
  array_entry(p.header, "coefficients")["shape"][1] = S + (std::uint64_t{1} << 61);
  expect_refused(tmp, "support_wraps", assemble_model(p), {"support_size"});
}

BOOST_AUTO_TEST_CASE(crafted_model_without_support_vectors_is_refused) {
  test::TempDir tmp;
  ModelParts p = sample_parts(tmp, KernelType::intersection);
  const std::uint64_t end = array_entry(p.header, "codebook_centres").at("nbytes");
  p.header["support_size"] = 0;
  for (const char* name : {"support_vectors", "coefficients"}) {
    json& a = array_entry(p.header, name);
    a["shape"][name == std::string("support_vectors") ? 0 : 1] = 0;
    a["nbytes"] = 0;
    a["offset"] = end;
  }
  p.header["data_bytes"] = end;
  p.data.resize(end);
  expect_refused(tmp, "support_size_0", assemble_model(p), {"support_size", "0", ">= 1"});
}

BOOST_AUTO_TEST_CASE(crafted_model_arrays_must_tile_the_data_section) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  {  // coefficients overlapping the support vectors (the tail of the data section then unused)
    ModelParts p = base;
    array_entry(p.header, "coefficients")["offset"] = array_offset(base, "support_vectors");
    expect_refused(tmp, "overlap", assemble_model(p), {"coefficients", "offset"});
  }
  {  // the same array listed twice
    ModelParts p = base;
    p.header["arrays"].push_back(array_entry(p.header, "coefficients"));
    expect_refused(tmp, "duplicate", assemble_model(p), {"coefficients", "twice"});
  }
  {  // a gap of 8 unlisted bytes before the coefficients
    ModelParts p = base;
    const std::size_t at = array_offset(base, "coefficients");
    array_entry(p.header, "coefficients")["offset"] = at + 8;
    p.header["data_bytes"] = base.data.size() + 8;
    p.data.insert(at, 8, '\0');
    expect_refused(tmp, "gap", assemble_model(p), {"coefficients", "offset"});
  }
  {  // an array this format does not define
    ModelParts p = base;
    p.header["arrays"].push_back({{"name", "extra"}, {"dtype", "<f8"}, {"shape", {1, 1}},
                                  {"offset", base.data.size()}, {"nbytes", 8}});
    p.header["data_bytes"] = base.data.size() + 8;
    p.data.append(8, '\0');
    expect_refused(tmp, "extra_array", assemble_model(p), {"extra"});
  }
}

BOOST_AUTO_TEST_CASE(crafted_model_integers_are_not_truncated) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::uint64_t two32 = std::uint64_t{1} << 32;
  struct Case {
    const char* pointer;
    json value;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"/pipeline/kmeans/words", two32 + 6, {"pipeline.kmeans.words", "4294967302"}},
      {"/pipeline/image/max_side", two32 + 321, {"pipeline.image.max_side", "4294967617"}},
      {"/pipeline/dsift/step", two32 + 3, {"pipeline.dsift.step"}},
      {"/pipeline/dsift/step", 3.5, {"pipeline.dsift.step", "3.5", "integer"}},
      {"/pipeline/dsift/bin_sizes/0", two32 + 4, {"pipeline.dsift.bin_sizes[0]"}},
      {"/pipeline/kmeans/samples", -1, {"pipeline.kmeans.samples", "-1"}},
      {"/pipeline/kmeans/max_iterations", two32 + 17, {"pipeline.kmeans.max_iterations"}},
      {"/pipeline/mapping/neighbours", two32 + 3, {"pipeline.mapping.neighbours"}},
      {"/pipeline/pooling/pyramid/1/cols", two32 + 2, {"pipeline.pooling.pyramid[1].cols"}},
      {"/kernel/blocks/0/end", 6.0, {"kernel.blocks[0].end", "integer"}},
  };
  int n = 0;
  for (const Case& c : cases) {
    ModelParts p = base;
    p.header[json::json_pointer(c.pointer)] = c.value;
    expect_refused(tmp, "int" + std::to_string(n++), assemble_model(p), c.expected);
  }
}

BOOST_AUTO_TEST_CASE(crafted_model_words_must_match_the_codebook) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  for (int words : {5, 7}) {
    ModelParts p = base;
    p.header["pipeline"]["kmeans"]["words"] = words;
    expect_refused(tmp, "words" + std::to_string(words), assemble_model(p),
                   {"pipeline.kmeans.words", std::to_string(words), "6"});
  }
  // A codebook of 7 words whose SVM still fits 6 words x 5 cells is refused too.
  ModelParts p = base;
  json& cb = array_entry(p.header, "codebook_centres");
  const std::size_t more = 128 * 4;
  cb["shape"][0] = 7;
  cb["nbytes"] = 7 * more;
  p.data.insert(6 * more, more, '\0');
  for (const char* name : {"support_vectors", "coefficients"})
    array_entry(p.header, name)["offset"] = array_offset(base, name) + more;
  p.header["data_bytes"] = base.data.size() + more;
  expect_refused(tmp, "codebook7", assemble_model(p), {"codebook_centres", "7"});
}

BOOST_AUTO_TEST_CASE(crafted_model_values_are_finite_and_bounded) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::size_t sv = array_offset(base, "support_vectors"), co = array_offset(base, "coefficients");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto header_edit = [&](const std::string& name, const char* pointer, const json& v,
                         const std::vector<std::string>& expected) {
    ModelParts p = base;
    p.header[json::json_pointer(pointer)] = v;
    expect_refused(tmp, name, assemble_model(p), expected);
  };
  header_edit("weight_huge", "/kernel/blocks/1/weight", 1e308, {"kernel.blocks[1].weight", "1e+308"});
  header_edit("bias_huge", "/classes/0/bias", 1e308, {"classes[0].bias", "1e+308"});
  header_edit("gamma_huge", "/kernel/gamma", 1e300, {"kernel.gamma", "1e+300"});
  header_edit("beta_huge", "/pipeline/mapping/beta", 1e300, {"pipeline.mapping.beta"});
  header_edit("window_huge", "/pipeline/dsift/window_size", 1e39, {"pipeline.dsift.window_size", "1e+39"});
  header_edit("window_tiny", "/pipeline/dsift/window_size", 1e-320, {"pipeline.dsift.window_size", "1e-320"});
  header_edit("magnif_tiny", "/pipeline/dsift/magnif", 1e-320, {"pipeline.dsift.magnif", "1e-320"});
  auto data_edit = [&](const std::string& name, std::size_t at, double v, const std::vector<std::string>& expected) {
    ModelParts p = base;
    put_f8(p.data, at, v);
    expect_refused(tmp, name, assemble_model(p), expected);
  };
  data_edit("coef_huge", co + 8, 1e308, {"coefficients", "1e+308"});
  data_edit("coef_nan", co, nan, {"coefficients", "nan"});
  data_edit("support_huge", sv + 16, 1e308, {"support_vectors", "1e+308"});
  data_edit("support_negative", sv, -0.5, {"support_vectors", "-0.5"});
  {
    ModelParts p = base;
    put_f4(p.data, 4 * 130, 1e30F);
    expect_refused(tmp, "centre_huge", assemble_model(p), {"codebook_centres"});
  }
  {  // every value below its own cap, but together a decision of ~1e170: refused by the decision bound
    ModelParts p = base;
    p.header["kernel"]["blocks"][0]["weight"] = 1e90;
    const std::size_t S = base.header.at("support_size");
    for (std::size_t i = 0; i < S; ++i) put_f8(p.data, co + 8 * i, 1e80);
    expect_refused(tmp, "decision_bound", assemble_model(p), {"decision", "classes[0]"});
  }
}

BOOST_AUTO_TEST_CASE(crafted_model_class_names_are_printable_and_unique) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"aero\x01plane", "U+0001"}, {"aero\nplane", "U+000A"}, {"aero\tplane", "U+0009"},
      {"aero\x7fplane", "U+007F"}, {"aero\xc2\x85plane", "U+0085"}, {"aero\xe2\x80\xa8plane", "U+2028"},
      {std::string("aero\0plane", 10), "U+0000"}, {"", "empty"}};
  int n = 0;
  for (const auto& [name, expected] : bad) {
    ModelParts p = base;
    p.header["classes"][0]["name"] = name;
    expect_refused(tmp, "name" + std::to_string(n++), assemble_model(p), {"classes[0].name", expected});
  }
  ModelParts p = base;
  p.header["classes"][2]["name"] = "aeroplane";
  expect_refused(tmp, "name_repeated", assemble_model(p), {"classes[2].name", "aeroplane", "repeat"});
}

BOOST_AUTO_TEST_CASE(crafted_model_header_keys_are_exact) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::string text = base.header.dump();
  // A repeated key: JSON parsers disagree on which copy wins, so the file is ambiguous.
  std::string dup = text;
  dup.insert(1, "\"dim\":30,");
  expect_refused(tmp, "dup_top", assemble_model(dup, base.data), {"dim", "twice"});
  std::string dup_inner = text;
  const std::size_t at = dup_inner.find("\"step\":");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  dup_inner.insert(at, "\"step\":4,");
  expect_refused(tmp, "dup_inner", assemble_model(dup_inner, base.data), {"step", "twice"});
  // Unknown keys (a misspelt field would otherwise be silently ignored).
  ModelParts p = base;
  p.header["pipeline"]["dsift"]["stepp"] = 3;
  expect_refused(tmp, "unknown_inner", assemble_model(p), {"pipeline.dsift.stepp", "unknown"});
  ModelParts q = base;
  q.header["extra"] = 1;
  expect_refused(tmp, "unknown_top", assemble_model(q), {"extra", "unknown"});
  ModelParts r = base;
  r.header.erase("support_size");
  expect_refused(tmp, "missing", assemble_model(r), {"support_size", "missing"});
}

BOOST_AUTO_TEST_CASE(saving_refuses_what_loading_would_refuse) {
  test::TempDir tmp;
  const Classifier good = sample_classifier(KernelType::intersection);
  auto refused = [&](const Classifier& cl, const std::string& expected) {
    try {
      save_classifier(tmp / "m.bowlrp", cl);
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what() << " lacks " << expected);
      return;
    }
    BOOST_TEST(false, "saved a model the loader refuses (expected an error about " << expected << ")");
  };
  Classifier words = good;
  words.options.kmeans.words = 7;
  refused(words, "kmeans.words");
  const SvmModel& m = good.svm;
  std::vector<BinarySvm> classes = m.classes();
  classes[1].name = "bi\ncycle";
  Classifier name = good;
  name.svm = SvmModel(m.kernel(), m.dim(), m.support(), classes);
  refused(name, "classes[1].name");
  std::vector<double> support = m.support();
  support[3] = 1.5;
  Classifier big = good;
  big.svm = SvmModel(m.kernel(), m.dim(), support, m.classes());
  refused(big, "support_vectors[0][3]");
  classes = m.classes();
  classes[2].coef[0] = 1e200;
  Classifier coef = good;
  coef.svm = SvmModel(m.kernel(), m.dim(), m.support(), classes);
  refused(coef, "coefficients[2][0]");
}

namespace {

/// Serialises a JSON value as dump() does, with optional edits: the scalar numbered `leaf` (in
/// document order) is written as the text `raw`, the object member numbered `drop` is left out, the
/// member numbered `dup` is written twice (the second time with the value text `dup_raw` if set).
struct JsonEmitter {
  long leaf = -1, drop = -1, dup = -1;
  std::string raw, dup_raw;
  long leaves = 0, members = 0;
  std::string out;
  void value(const json& j) {
    if (j.is_object()) {
      out += '{';
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        const long m = members++;
        const std::size_t mark = out.size();
        if (!first) out += ',';
        out += json(it.key()).dump() + ':';
        const std::size_t at = out.size();
        value(it.value());
        if (m == drop) {
          out.resize(mark);
          continue;
        }
        first = false;
        if (m == dup) out += ',' + json(it.key()).dump() + ':' + (dup_raw.empty() ? out.substr(at) : dup_raw);
      }
      out += '}';
    } else if (j.is_array()) {
      out += '[';
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (i) out += ',';
        value(j[i]);
      }
      out += ']';
    } else {
      out += leaves++ == leaf ? raw : j.dump();
    }
  }
};

}  // namespace

// Mutations of real trained models, each with a valid checksum: every load must either be refused
// with std::runtime_error / std::invalid_argument or give a model whose decisions are finite on
// histograms and whose options build a pipeline. Never a crash, never another exception.
BOOST_AUTO_TEST_CASE(fuzzed_model_files_are_refused_or_sound) {
  test::TempDir tmp;
  const std::string path = tmp / "fuzz.bowlrp";
  const std::vector<std::string> raws = {
      "0", "-1", "1", "3", "7", "255", "2147483647", "2147483648", "-2147483649", "4294967302",
      "2305843009213693952", "9223372036854775807", "9223372036854775808", "18446744073709551615",
      "18446744073709551616", "1e39", "1e308", "-1e308", "1e-320", "0.5", "-0.0", "1e999", "NaN", "Infinity", "true",
      "null", "\"\"", "\"inf\"", "\"hik\"", "\"rbf\"", "\"a\\u0001b\"", "\"x\\ny\"", "\"\\u0000\"", "\"\\u007f\"",
      "\"\\ud800\"", "[]", "{}", "[0]", "[1,1]", "{\"cols\":1,\"rows\":1}", "\"aeroplane\""};
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> doubles = {0.0, -0.0, -1.0, 1.0, 0.5, 2.0, 1e20, 1e100, 1e308, -1e308,
                                       1e-310, inf, -inf, std::numeric_limits<double>::quiet_NaN()};
  const float finf = std::numeric_limits<float>::infinity();
  const std::vector<float> floats = {0.0F, -0.0F, -1.0F, 1.0F, 0.5F, 1.5F, 1e20F, 3e38F, 1e-40F, finf, -finf,
                                     std::numeric_limits<float>::quiet_NaN()};
  const std::vector<std::uint64_t> sizes = {0, 1, 2, 5, 7, 31, std::uint64_t{1} << 31, std::uint64_t{1} << 32,
                                            std::uint64_t{1} << 61, std::uint64_t{1} << 62,
                                            std::uint64_t{1} << 63, ~std::uint64_t{0}, ~std::uint64_t{0} - 7};
  const std::vector<ModelParts> bases = {sample_parts(tmp, KernelType::intersection),
                                         sample_parts(tmp, KernelType::rbf),
                                         sample_parts(tmp, KernelType::hellinger)};
  bow::GrayImage image;  // a small textured image for the pipelines of accepted models
  image.width = image.original_width = 48;
  image.height = image.original_height = 40;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      image.pixels.push_back(0.5F + 0.25F * std::sin(0.4F * x) * std::cos(0.3F * y) + ((x / 8 + y / 8) % 2 ? 0.2F : -0.2F));
  std::mt19937_64 rng(20261201);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  constexpr int kMutations = 4000;
  // BOWLRP_FUZZ_TRACE=1 logs each mutation and refusal (with --log_level=message), to find the one
  // that crashes.
  const bool trace = std::getenv("BOWLRP_FUZZ_TRACE") != nullptr;
  int refused_runtime = 0, refused_invalid = 0, accepted = 0, bad = 0;
  std::vector<int> accepted_by_kind(10, 0);
  for (int it = 0; it < kMutations; ++it) {
    const ModelParts& base = bases[it % bases.size()];
    ModelParts p = base;
    JsonEmitter e;
    const int kind = static_cast<int>(pick(10));
    auto data_at = [&](std::size_t align) { return p.data.empty() ? 0 : pick(p.data.size() / align) * align; };
    auto emit_count = [&] {
      JsonEmitter c;
      c.value(p.header);
      return std::make_pair(c.leaves, c.members);
    };
    auto json_edit = [&](int k) {
      const auto [leaves, members] = emit_count();
      if (k == 0) {
        e.leaf = static_cast<long>(pick(leaves));
        e.raw = raws[pick(raws.size())];
      } else if (k == 1) {
        e.drop = static_cast<long>(pick(members));
      } else {
        e.dup = static_cast<long>(pick(members));
        if (rng() % 2) e.dup_raw = raws[pick(raws.size())];
      }
    };
    auto size_edit = [&] {  // one size or offset of the array table, or a pair that must agree
      json& a = p.header["arrays"][pick(3)];
      const char* field = std::array<const char*, 4>{"offset", "nbytes", "shape", "shape"}[pick(4)];
      std::uint64_t v = sizes[pick(sizes.size())];
      if (rng() % 2 && std::string(field) != "shape") v = a[field].get<std::uint64_t>() + 8 * (rng() % 2 ? 1 : -1);
      if (std::string(field) == "shape") {
        const std::size_t axis = pick(2);
        a["shape"][axis] = v;
        // keep the header's own count in step, so that only the byte ranges disagree
        const std::string name = a["name"];
        if (name == "support_vectors") p.header[axis ? "dim" : "support_size"] = v;
        if (name == "codebook_centres" && axis == 0) p.header["pipeline"]["kmeans"]["words"] = v;
        if (name == "coefficients" && axis == 1) p.header["support_size"] = v;
      } else {
        a[field] = v;
      }
    };
    switch (kind) {
      case 0: case 1: case 2: json_edit(kind); break;
      case 3: if (!p.data.empty()) p.data[data_at(1)] ^= static_cast<char>(1 + pick(255)); break;
      case 4: if (p.data.size() >= 8) put_f8(p.data, data_at(8), doubles[pick(doubles.size())]); break;
      case 5: put_f4(p.data, pick(6 * 128) * 4, floats[pick(floats.size())]); break;
      case 6: size_edit(); break;
      case 7:  // the data section grows or shrinks, with or without data_bytes
        if (rng() % 2) p.data.append(8 * (1 + pick(3)), '\0');
        else p.data.resize(p.data.size() - std::min(p.data.size(), std::size_t{8} * (1 + pick(3))));
        if (rng() % 2) p.header["data_bytes"] = p.data.size();
        break;
      case 8: json_edit(0); break;
      default:  // several at once
        size_edit();
        json_edit(static_cast<int>(pick(3)));
        if (p.data.size() >= 8) put_f8(p.data, data_at(8), doubles[pick(doubles.size())]);
        break;
    }
    e.value(p.header);
    std::string text = e.out;
    if (kind == 8 && !text.empty()) text[pick(text.size())] = static_cast<char>(rng() & 0xFF);  // plus a raw byte
    std::string bytes = assemble_model(text, p.data);
    if (kind == 9 && rng() % 4 == 0) {  // a wrong header length, checksum recomputed
      std::string re = bytes.substr(0, 13);
      append_le64(re, le64(bytes, 13) + 8 * (rng() % 2 ? 1 : -1));
      re += bytes.substr(21, bytes.size() - 29);
      append_le64(re, table_crc32(re, re.size()));
      bytes = re;
    }
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    if (trace) BOOST_TEST_MESSAGE("mutation " << it << " kind " << kind);
    Classifier cl;
    try {
      cl = load_classifier(path);
    } catch (const std::runtime_error& ex) {
      ++refused_runtime;
      if (trace) BOOST_TEST_MESSAGE("refused: " << ex.what());
      continue;
    } catch (const std::invalid_argument& ex) {
      ++refused_invalid;
      if (trace) BOOST_TEST_MESSAGE("refused: " << ex.what());
      continue;
    }
    ++accepted;
    ++accepted_by_kind[kind];
    // An accepted model must be sound: finite decisions on histograms, and the pipeline its options
    // describe runs on an image and gives a histogram in [0, 1]^V (the domain of the loader's bounds).
    std::string problem;
    try {
      const std::size_t V = cl.svm.dim();
      std::vector<double> x(V);
      for (int probe = 0; probe < 4 && problem.empty(); ++probe) {
        for (std::size_t d = 0; d < V; ++d) x[d] = probe == 0 ? 0.0 : probe == 1 ? 1.0 : (rng() % 1000) / 999.0;
        if (probe == 3) {  // an L1-normalised histogram
          double s = 0;
          for (double v : x) s += v;
          for (double& v : x) v = s > 0 ? v / s : 0.0;
        }
        for (double f : cl.svm.decision(x.data()))
          if (!std::isfinite(f)) problem = "a non-finite decision on a histogram";
      }
      const bow::Pipeline pipeline(cl.options, cl.codebook);
      const std::vector<double> h = pipeline.encode(image).histogram();
      if (h.size() != V || !std::all_of(h.begin(), h.end(), [](double v) { return v >= 0 && v <= 1 + 1e-6; }))
        problem = "an image histogram outside [0, 1]^V";
      for (double f : cl.svm.decision(h.data()))
        if (!std::isfinite(f)) problem = "a non-finite decision on an image";
    } catch (const std::exception& ex) {
      problem = std::string("an exception when used: ") + ex.what();
    }
    if (!problem.empty()) {
      ++bad;
      BOOST_TEST_MESSAGE("mutation " << it << " (kind " << kind << ") was accepted but gives " << problem);
    }
  }
  std::string by_kind;
  for (int n : accepted_by_kind) by_kind += " " + std::to_string(n);
  BOOST_TEST_MESSAGE("fuzzed model files: " << kMutations << " mutations, " << refused_runtime
                                            << " refused (runtime_error), " << refused_invalid
                                            << " refused (invalid_argument), " << accepted
                                            << " accepted (by mutation kind:" << by_kind << ")");
  BOOST_TEST(bad == 0);
  BOOST_TEST(refused_runtime + refused_invalid + accepted == kMutations);
  // Both outcomes must be exercised, or the fuzzer is not testing the checks.
  BOOST_TEST(accepted > 50);
  BOOST_TEST(refused_runtime > kMutations / 2);
}

BOOST_AUTO_TEST_SUITE_END()
