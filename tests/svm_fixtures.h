// Fixtures shared by the svm and model suites (and by decompose/fisher and evaluation/fisher): random
// histograms with many exact zeros, labelled class data, kernels, naive kernel references, a table CRC-32
// and random linear heads.
#pragma once

#include <bowlrp/svm/kernel.h>

#include <boost/test/unit_test.hpp>
#include <libsvm/svm.h>
#include <bowlrp/svm/svm.h>
#include <bowlrp/svm/linear_svm.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::test {

using namespace bowlrp::svm;


inline const std::vector<KernelType> kAllKernels = {KernelType::linear, KernelType::intersection, KernelType::chi2,
                                             KernelType::hellinger, KernelType::rbf, KernelType::expchi2};

inline bool exponential(KernelType t) { return t == KernelType::rbf || t == KernelType::expchi2; }

/// Random non-negative histograms with many exact zeros (as BoW histograms have).
inline std::vector<double> random_histograms(std::size_t n, std::size_t dim, std::uint64_t seed, double zeros = 0.4) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> X(n * dim);
  for (double& x : X) x = u(rng) < zeros ? 0.0 : u(rng) * u(rng);
  return X;
}

// ---- naive references, written from the formulas of kernel.h ----
inline double naive_term(KernelType t, double a, double b) {
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

inline double naive_kernel(const Kernel& k, const double* a, const double* b, std::size_t dim) {
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

inline bool close(double a, double b, double rel) { return std::abs(a - b) <= rel * std::max(1.0, std::max(std::abs(a), std::abs(b))); }

inline Kernel make_kernel(KernelType t, double gamma = 0.0, std::vector<KernelBlock> blocks = {}) {
  Kernel k;
  k.type = t;
  k.gamma = exponential(t) ? (gamma > 0 ? gamma : 0.7) : 0.0;
  k.blocks = std::move(blocks);
  return k;
}

inline bool bitwise_equal(const std::vector<double>& a, const std::vector<double>& b) {
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
inline std::uint32_t naive_crc32(const std::string& s, std::size_t n) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= static_cast<unsigned char>(s[i]);
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

/// Labels of n rows x classes: class c is positive where dimension block c carries extra mass.
inline std::vector<double> class_data(std::size_t n, std::size_t dim, std::size_t classes, std::vector<int>& labels,
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

/// A linear head of random weights of both signs and a bias per class.
inline LinearSvm random_linear_head(std::size_t V, std::size_t classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<LinearClass> cls(classes);
  for (std::size_t c = 0; c < classes; ++c) {
    cls[c].name = "class" + std::to_string(c);
    cls[c].bias = 0.5 * u(rng);
    cls[c].weights.resize(V);
    for (double& w : cls[c].weights) w = u(rng);
  }
  return LinearSvm(V, std::move(cls));
}

}  // namespace bowlrp::test
