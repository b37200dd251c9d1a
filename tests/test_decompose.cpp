// Tests of the relevance decomposition: every stage against a naive reference written here, and
// conservation f = sum R_d = sum R_l = sum R_q over kernels x pooling x mapping x pyramid x norms.
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/core/io.h>
#include <bowlrp/svm/linear_svm.h>

#include "test_util.h"

#ifdef BOWLRP_BUILD_HAS_DATASETS
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/datasets/shapes.h>
#include <chrono>
#endif

#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace bd = bowlrp::decompose;
namespace bb = bowlrp::bow;
namespace bs = bowlrp::svm;

namespace {

// An explainer sharing a copy of the model, for traces made with the given pipeline fingerprint
// (hand-made traces carry the empty one).
bowlrp::decompose::Explainer make_explainer(
    const bowlrp::svm::KernelSvm& model, const bowlrp::decompose::Composite& composite = {},
    std::shared_ptr<const std::vector<bowlrp::svm::IntersectionIndex>> indices = nullptr,
    const bowlrp::core::Digest& pipeline = {}) {
  return bowlrp::decompose::Explainer(std::make_shared<const bowlrp::svm::KernelSvm>(model), pipeline, composite,
                                      std::move(indices));
}

constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------- naive kernels and SVMs ----------

double naive_term(bs::KernelType t, double a, double b) {
  switch (t) {
    case bs::KernelType::linear: return a * b;
    case bs::KernelType::intersection: return std::min(a, b);
    case bs::KernelType::chi2: return a + b > 0 ? 2 * a * b / (a + b) : 0.0;
    case bs::KernelType::hellinger: return std::sqrt(a * b);
    default: throw std::logic_error("not sum-decomposable");
  }
}

double naive_dist(bs::KernelType t, double a, double b) {
  if (t == bs::KernelType::rbf) return (a - b) * (a - b);
  return a + b > 0 ? (a - b) * (a - b) / (a + b) : 0.0;
}

std::vector<bs::KernelBlock> blocks_or_whole(const bs::Kernel& k, std::size_t V) {
  if (k.blocks.empty()) return {{0, V, 1.0}};
  return k.blocks;
}

double naive_kernel(const bs::Kernel& k, const double* a, const double* b, std::size_t V) {
  double sum = 0;
  for (const auto& u : blocks_or_whole(k, V)) {
    double s = 0;
    for (std::size_t d = u.begin; d < u.end; ++d)
      s += k.sum_decomposable() ? naive_term(k.type, a[d], b[d]) : naive_dist(k.type, a[d], b[d]);
    sum += u.weight * (k.sum_decomposable() ? s : std::exp(-k.gamma * s));
  }
  return sum;
}

double naive_decision(const bs::KernelSvm& m, std::size_t cls, const double* x) {
  double f = m.classes()[cls].bias;
  for (std::size_t i = 0; i < m.support_size(); ++i)
    f += m.classes()[cls].coef[i] * naive_kernel(m.kernel(), m.support_vector(i), x, m.dim());
  return f;
}

// A histogram-like random vector: half zeros, the rest in (0, scale).
std::vector<double> random_histogram(std::mt19937_64& rng, std::size_t V, double scale = 0.3) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> h(V);
  for (auto& v : h) v = u(rng) < 0.5 ? 0.0 : scale * u(rng);
  return h;
}

bs::KernelSvm make_model(bs::KernelType type, std::size_t V, std::size_t S, std::uint64_t seed,
                        std::vector<bs::KernelBlock> blocks = {}, std::size_t classes = 2, double gamma_factor = 1.0) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> support;
  for (std::size_t i = 0; i < S; ++i) {
    auto s = random_histogram(rng, V);
    support.insert(support.end(), s.begin(), s.end());
  }
  bs::Kernel k;
  k.type = type;
  k.blocks = std::move(blocks);
  if (type == bs::KernelType::rbf || type == bs::KernelType::expchi2) {
    double mean = 0;
    int n = 0;
    for (std::size_t i = 0; i + 1 < S; ++i, ++n)
      for (std::size_t d = 0; d < V; ++d) mean += naive_dist(type, support[i * V + d], support[(i + 1) * V + d]);
    k.gamma = gamma_factor * n / mean;
  }
  std::vector<bs::BinarySvm> cls;
  for (std::size_t c = 0; c < classes; ++c) {
    bs::BinarySvm b;
    b.name = "class" + std::to_string(c);
    b.bias = 0.3 * u(rng);
    b.coef.resize(S);
    for (auto& a : b.coef) a = u(rng) < -0.8 ? 0.0 : u(rng);  // some vectors not support of this class
    cls.push_back(std::move(b));
  }
  return bs::KernelSvm(k, V, std::move(support), std::move(cls));
}

// A linear head of random weights of both signs, some exactly 0.
bs::LinearSvm make_linear_head(std::size_t V, std::size_t classes, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<bs::LinearClass> cls(classes);
  for (std::size_t c = 0; c < classes; ++c) {
    cls[c].name = "class" + std::to_string(c);
    cls[c].bias = 0.5 * u(rng);
    cls[c].weights.resize(V);
    for (auto& w : cls[c].weights) w = u(rng) < -0.8 ? 0.0 : u(rng);
  }
  return bs::LinearSvm(V, std::move(cls));
}

// ---------- synthetic forward traces ----------

enum class MapKind { hard, soft, rank };

struct Synthetic {
  bb::EncodeTrace trace;
  std::vector<int> cell_level;  // level of each global cell
};

// Frames at random places, words assigned by a hard/soft/rank-like rule, pooled naively.
Synthetic make_trace(std::uint64_t seed, int L, int K, const std::vector<bowlrp::core::PyramidLevel>& pyramid, MapKind map,
                     double p, bb::Normalisation norm, bool hellinger, int W = 64, int H = 48) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  Synthetic s;
  bb::FeatureTrace& ft = s.trace.features;
  ft.width = ft.work_width = W;
  ft.height = ft.work_height = H;
  for (int l = 0; l < L; ++l) {
    bb::Frame f;
    f.x = static_cast<float>(u(rng) * W);
    f.y = static_cast<float>(u(rng) * H);
    f.bin_size = 2 + static_cast<int>(u(rng) * 3);
    f.size = 4.0f * f.bin_size;
    const int x0 = static_cast<int>(std::floor(f.x - f.size / 2)), y0 = static_cast<int>(std::floor(f.y - f.size / 2));
    f.support = {std::max(0, x0), std::max(0, y0), std::min(W, x0 + static_cast<int>(f.size)),
                 std::min(H, y0 + static_cast<int>(f.size))};
    ft.frames.push_back(f);
  }
  ft.descriptors.assign(static_cast<std::size_t>(L) * bb::FeatureTrace::kDim, 0.0f);

  bb::Assignment& as = s.trace.assignment;
  for (int l = 0; l < L; ++l) {
    const int r = map == MapKind::hard ? 1 : 3;
    std::vector<int> words;
    while (static_cast<int>(words.size()) < r) {
      const int k = static_cast<int>(u(rng) * K);
      if (std::find(words.begin(), words.end(), k) == words.end()) words.push_back(k);
    }
    std::vector<double> w(r);
    for (int j = 0; j < r; ++j) w[j] = map == MapKind::hard ? 1.0 : map == MapKind::rank ? std::pow(0.5, j) : std::exp(-2 * u(rng));
    const double z = std::accumulate(w.begin(), w.end(), 0.0);
    for (int j = 0; j < r; ++j) {
      as.words.push_back(words[j]);
      as.weights.push_back(static_cast<float>(w[j] / z));
    }
    as.offsets.push_back(static_cast<std::uint32_t>(as.words.size()));
  }

  bb::PoolTrace& pt = s.trace.pool;
  pt.words = K;
  pt.levels = static_cast<int>(pyramid.size());
  pt.p = p;
  int offset = 0;
  std::vector<int> level_offset;
  for (std::size_t j = 0; j < pyramid.size(); ++j) {
    level_offset.push_back(offset);
    for (int c = 0; c < pyramid[j].cols * pyramid[j].rows; ++c) s.cell_level.push_back(static_cast<int>(j));
    offset += pyramid[j].cols * pyramid[j].rows;
  }
  pt.cells = offset;
  pt.cell_counts.assign(offset, 0);
  for (int l = 0; l < L; ++l)
    for (std::size_t j = 0; j < pyramid.size(); ++j) {
      const int cx = std::min(pyramid[j].cols - 1, static_cast<int>(ft.frames[l].x * pyramid[j].cols / W));
      const int cy = std::min(pyramid[j].rows - 1, static_cast<int>(ft.frames[l].y * pyramid[j].rows / H));
      const int c = level_offset[j] + cy * pyramid[j].cols + cx;
      pt.feature_cells.push_back(c);
      ++pt.cell_counts[c];
    }
  const std::size_t V = pt.dimension();
  pt.pooled.assign(V, 0.0);
  for (int c = 0; c < pt.cells; ++c)
    for (int k = 0; k < K; ++k) {
      double acc = 0;
      for (int l = 0; l < L; ++l) {
        if (pt.feature_cells[l * pt.levels + s.cell_level[c]] != c) continue;
        for (auto e = as.offsets[l]; e < as.offsets[l + 1]; ++e)
          if (as.words[e] == k) acc = std::isinf(p) ? std::max(acc, static_cast<double>(as.weights[e])) : acc + std::pow(as.weights[e], p);
      }
      pt.pooled[c * K + k] = std::isinf(p) || pt.cell_counts[c] == 0 ? acc : std::pow(acc / pt.cell_counts[c], 1 / p);
    }
  pt.histogram = pt.pooled;
  if (hellinger)
    for (auto& v : pt.histogram) v = std::sqrt(v);
  double n = 1;
  if (norm == bb::Normalisation::l1) n = std::accumulate(pt.histogram.begin(), pt.histogram.end(), 0.0);
  if (norm == bb::Normalisation::l2) n = std::sqrt(std::inner_product(pt.histogram.begin(), pt.histogram.end(), pt.histogram.begin(), 0.0));
  if (n > 0)
    for (auto& v : pt.histogram) v /= n;
  pt.norm = n > 0 ? n : 1;
  return s;
}

// R_l by the formula, dimension by dimension, from the mapping weights of each cell's features.
std::vector<double> naive_feature_relevance(const Synthetic& s, const std::vector<double>& R_d) {
  const auto& as = s.trace.assignment;
  const auto& pt = s.trace.pool;
  const std::size_t L = s.trace.features.size();
  std::vector<double> R(L, 0.0);
  for (int c = 0; c < pt.cells; ++c)
    for (int k = 0; k < pt.words; ++k) {
      const double r = R_d[c * pt.words + k];
      std::vector<double> m(L, 0.0);  // m_k(l) for the features of cell c, 0 for the others
      for (std::size_t l = 0; l < L; ++l) {
        if (pt.feature_cells[l * pt.levels + s.cell_level[c]] != c) continue;
        for (auto e = as.offsets[l]; e < as.offsets[l + 1]; ++e)
          if (as.words[e] == k) m[l] = as.weights[e];
      }
      const double x = pt.pooled[c * pt.words + k];
      if (x == 0) {  // over the features of cell c, or of the image if the cell has none
        std::vector<std::size_t> members;
        for (std::size_t l = 0; l < L; ++l)
          if (pt.feature_cells[l * pt.levels + s.cell_level[c]] == c) members.push_back(l);
        if (members.empty())
          for (auto& v : R) v += r / L;
        for (std::size_t l : members) R[l] += r / members.size();
      } else if (std::isinf(pt.p)) {
        const double mx = *std::max_element(m.begin(), m.end());
        const double n = static_cast<double>(std::count(m.begin(), m.end(), mx));
        for (std::size_t l = 0; l < L; ++l)
          if (m[l] == mx) R[l] += r / n;
      } else {
        double z = 0;
        for (double v : m) z += std::pow(v, pt.p);
        for (std::size_t l = 0; l < L; ++l) R[l] += r * std::pow(m[l], pt.p) / z;
      }
    }
  return R;
}

// R_q by visiting every pixel of every support: weight 1, times the coverage on the boundary
// columns and rows, normalised by the summed weight.
std::vector<double> naive_pixels(const bb::FeatureTrace& ft, const std::vector<double>& R_l) {
  std::vector<double> R(static_cast<std::size_t>(ft.width) * ft.height, 0.0);
  for (std::size_t l = 0; l < ft.size(); ++l) {
    const auto& b = ft.frames[l].support;
    const auto& c = ft.frames[l].cover;
    auto wx = [&](int x) { return 1.0 - (x == b.x0 ? 1.0 - c.x0 : 0.0) - (x == b.x1 - 1 ? 1.0 - c.x1 : 0.0); };
    auto wy = [&](int y) { return 1.0 - (y == b.y0 ? 1.0 - c.y0 : 0.0) - (y == b.y1 - 1 ? 1.0 - c.y1 : 0.0); };
    double area = 0;
    for (int y = b.y0; y < b.y1; ++y)
      for (int x = b.x0; x < b.x1; ++x) area += wx(x) * wy(y);
    for (int y = b.y0; y < b.y1; ++y)
      for (int x = b.x0; x < b.x1; ++x) R[static_cast<std::size_t>(y) * ft.width + x] += R_l[l] * wx(x) * wy(y) / area;
  }
  return R;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

const std::vector<bowlrp::core::PyramidLevel> kFlat{{1, 1}};
const std::vector<bowlrp::core::PyramidLevel> kPyramid{{1, 1}, {2, 2}};

const std::vector<bs::KernelType> kExactKernels{bs::KernelType::linear, bs::KernelType::intersection,
                                                bs::KernelType::chi2, bs::KernelType::hellinger};

// Pyramid-level blocks (weights as in pyramid match: coarse level counts half).
std::vector<bs::KernelBlock> pyramid_blocks(std::size_t K) { return {{0, K, 0.5}, {K, 5 * K, 1.0}}; }

std::string combo_name(bs::KernelType t, bool blocks, double p, MapKind m, bool pyr, bb::Normalisation n, bool hel) {
  return bs::to_string(t) + (blocks ? "+blocks" : "") + " p=" + (std::isinf(p) ? "max" : std::to_string(p)) +
         " map=" + std::to_string(static_cast<int>(m)) + (pyr ? " 1x1+2x2" : " 1x1") + " norm=" + bb::to_string(n) +
         (hel ? "+hellinger" : "");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decompose)

BOOST_AUTO_TEST_CASE(rules_parse_and_validate) {
  for (auto p : {bd::BiasPolicy::uniform, bd::BiasPolicy::proportional, bd::BiasPolicy::absorbed})
    BOOST_TEST((bd::bias_policy_from_string(bd::to_string(p)) == p));
  BOOST_CHECK_THROW(bd::bias_policy_from_string("Uniform "), std::invalid_argument);
  bd::Composite c;
  BOOST_CHECK_NO_THROW(c.validate());
  c.taylor.root.max_bisections = 0;
  BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  c.taylor = {};
  c.taylor.root.tolerance = 0;
  BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  c.taylor = {};
  c.taylor.root.scan_steps = 0;
  BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  c.taylor = {};
  c.svm.bias = static_cast<bd::BiasPolicy>(7);
  BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  auto model = make_model(bs::KernelType::intersection, 8, 4, 1);
  BOOST_CHECK_THROW(make_explainer(model, c), std::invalid_argument);
  BOOST_CHECK_THROW(make_explainer(bs::KernelSvm{}, bd::Composite{}), std::invalid_argument);
  BOOST_CHECK_THROW(bd::Explainer(nullptr, {}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(dimension_relevance_matches_definition_for_sum_decomposable_kernels) {
  const std::size_t K = 12, V = 5 * K;
  for (auto type : kExactKernels)
    for (bool blocks : {false, true}) {
      BOOST_TEST_CONTEXT(bs::to_string(type) << (blocks ? " with blocks" : "")) {
        auto model = make_model(type, V, 40, 7, blocks ? pyramid_blocks(K) : std::vector<bs::KernelBlock>{});
        std::mt19937_64 rng(3);
        const auto h = random_histogram(rng, V);
        const auto& c = model.classes()[1];
        bd::Composite comp;
        const auto r = bd::relevance_dimensions(model, 1, h.data(), comp);
        // R_d = b/V + sum_i coef_i w(d) k_d(s_id, h_d)
        std::vector<double> expect(V, c.bias / V);
        for (std::size_t d = 0; d < V; ++d) {
          const double w = blocks ? (d < K ? 0.5 : 1.0) : 1.0;
          for (std::size_t i = 0; i < model.support_size(); ++i)
            expect[d] += c.coef[i] * w * naive_term(type, model.support_vector(i)[d], h[d]);
        }
        BOOST_TEST(max_abs_diff(r.R, expect) < 1e-12);
        const double f = naive_decision(model, 1, h.data());
        BOOST_TEST(std::abs(r.f - f) < 1e-10);
        BOOST_TEST(std::abs(r.total() - f) < 1e-10);
        BOOST_TEST(std::abs(r.residual) < 1e-10);
        BOOST_TEST((r.method == bd::SvmMethod::exact));
        BOOST_TEST(r.root.empty());
      }
    }
}

BOOST_AUTO_TEST_CASE(fast_intersection_index_matches_the_direct_loop) {
  const std::size_t K = 20, V = 5 * K;
  for (bool blocks : {false, true}) {
    auto model = make_model(bs::KernelType::intersection, V, 50, 13, blocks ? pyramid_blocks(K) : std::vector<bs::KernelBlock>{}, 3);
    std::mt19937_64 rng(6);
    auto h = random_histogram(rng, V);
    h[0] = model.support_vector(3)[0];  // a value equal to a support value: the binary search edge
    for (auto policy : {bd::BiasPolicy::uniform, bd::BiasPolicy::proportional, bd::BiasPolicy::absorbed}) {
      bd::Composite fast;
      fast.svm.bias = policy;
      for (std::size_t c = 0; c < 3; ++c) {
        const bs::IntersectionIndex index(model, c);
        const auto a = bd::relevance_dimensions(model, c, h.data(), fast, &index);
        const auto b = bd::relevance_dimensions(model, c, h.data(), fast);
        BOOST_TEST(max_abs_diff(a.R, b.R) < 1e-12);
        BOOST_TEST(std::abs(a.f - naive_decision(model, c, h.data())) < 1e-12);
        BOOST_TEST(std::abs(a.residual) < 1e-12);
        BOOST_TEST(a.absorbed == b.absorbed);
      }
      const bs::IntersectionIndex other(model, 1);
      BOOST_CHECK_THROW(bd::relevance_dimensions(model, 0, h.data(), fast, &other), std::invalid_argument);
    }
  }
  // Through the explainer: given indices and the direct loop agree.
  const auto s = make_trace(31, 70, K, kPyramid, MapKind::soft, 1.0, bb::Normalisation::l1, false);
  auto model = make_model(bs::KernelType::intersection, V, 40, 14, {}, 3);
  auto shared = std::make_shared<const std::vector<bs::IntersectionIndex>>(bs::build_intersection_indices(model));
  const bd::Explainer given = make_explainer(model, {}, shared), direct = make_explainer(model);
  for (std::size_t c = 0; c < 3; ++c) {
    const auto a = given.explain(s.trace, c), d = direct.explain(s.trace, c);
    BOOST_TEST(max_abs_diff(a.pixels.R, d.pixels.R) < 1e-12);
    BOOST_TEST(bd::check_conservation(a).ok());
  }
  auto chi2 = make_model(bs::KernelType::chi2, V, 10, 1, {}, 3);
  BOOST_CHECK_THROW(make_explainer(chi2, {}, shared), std::invalid_argument);
  auto two = std::make_shared<const std::vector<bs::IntersectionIndex>>(shared->begin(), shared->begin() + 2);
  BOOST_CHECK_THROW(make_explainer(model, {}, two), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(bias_policies_each_conserve) {
  const std::size_t V = 50;
  auto model = make_model(bs::KernelType::intersection, V, 30, 11);
  std::mt19937_64 rng(5);
  const auto h = random_histogram(rng, V);
  bd::Composite comp;
  comp.svm.bias = bd::BiasPolicy::absorbed;
  const auto raw = bd::relevance_dimensions(model, 0, h.data(), comp);
  const double b = model.classes()[0].bias;
  BOOST_TEST(raw.absorbed == b);
  BOOST_TEST(std::abs(raw.total() + raw.absorbed - raw.f) < 1e-12);
  for (auto policy : {bd::BiasPolicy::uniform, bd::BiasPolicy::proportional}) {
    comp.svm.bias = policy;
    const auto r = bd::relevance_dimensions(model, 0, h.data(), comp);
    BOOST_TEST(r.absorbed == 0.0);
    BOOST_TEST(std::abs(r.total() - r.f) < 1e-12);
    double mass = 0;
    for (double v : raw.R) mass += std::abs(v);
    for (std::size_t d = 0; d < V; ++d) {
      const double beta = policy == bd::BiasPolicy::uniform ? b / V : b * std::abs(raw.R[d]) / mass;
      BOOST_TEST(std::abs(r.R[d] - raw.R[d] - beta) < 1e-14);
    }
  }
  // Proportional with nothing to be proportional to falls back to uniform.
  std::vector<double> zero(V, 0.0);
  auto lin = make_model(bs::KernelType::linear, V, 10, 2);
  comp.svm.bias = bd::BiasPolicy::proportional;
  const auto r0 = bd::relevance_dimensions(lin, 0, zero.data(), comp);
  for (double v : r0.R) BOOST_TEST(std::abs(v - lin.classes()[0].bias / V) < 1e-15);
}

BOOST_AUTO_TEST_CASE(linear_head_relevance_matches_naive_reference) {
  const std::size_t V = 51;  // not a multiple of the 4 lanes of the decision
  const auto model = make_linear_head(V, 3, 21);
  std::mt19937_64 rng(22);
  const auto h = random_histogram(rng, V);
  for (std::size_t cls = 0; cls < 3; ++cls) {
    BOOST_TEST_CONTEXT("class " << cls) {
      const auto& c = model.classes()[cls];
      const auto r = bd::relevance_dimensions(model, cls, h.data(), bd::SvmRule{});
      // R_d = w_d h_d + b / V
      std::vector<double> expect(V);
      double f = c.bias, scale = std::abs(c.bias);
      for (std::size_t d = 0; d < V; ++d) {
        expect[d] = c.weights[d] * h[d] + c.bias / V;
        f += c.weights[d] * h[d];
        scale += std::abs(c.weights[d] * h[d]);
      }
      BOOST_TEST(max_abs_diff(r.R, expect) < 1e-15);
      BOOST_TEST(r.f == model.decision(cls, h.data()));
      BOOST_TEST(std::abs(r.f - f) <= 1e-14 * scale);
      BOOST_TEST(r.bias == c.bias);
      BOOST_TEST(r.absorbed == 0.0);
      BOOST_TEST(std::abs(r.residual) <= 1e-14 * scale);
      BOOST_TEST(r.residual == r.f - r.total() - r.absorbed);
      BOOST_TEST((r.method == bd::SvmMethod::exact));
      BOOST_TEST(r.root.empty());
      BOOST_TEST(r.root_found);
    }
  }
}

BOOST_AUTO_TEST_CASE(linear_head_relevance_conserves_under_every_bias_policy) {
  const std::size_t V = 200;
  const auto model = make_linear_head(V, 2, 31);
  std::mt19937_64 rng(32);
  for (int trial = 0; trial < 5; ++trial) {
    const auto h = random_histogram(rng, V, 2.0);
    for (std::size_t cls = 0; cls < 2; ++cls) {
      const double b = model.classes()[cls].bias;
      bd::SvmRule rule;
      rule.bias = bd::BiasPolicy::absorbed;
      const auto raw = bd::relevance_dimensions(model, cls, h.data(), rule);
      BOOST_TEST(raw.absorbed == b);
      for (std::size_t d = 0; d < V; ++d) BOOST_TEST(raw.R[d] == model.classes()[cls].weights[d] * h[d]);
      double mass = 0;
      for (double v : raw.R) mass += std::abs(v);
      for (auto policy : {bd::BiasPolicy::uniform, bd::BiasPolicy::proportional, bd::BiasPolicy::absorbed}) {
        BOOST_TEST_CONTEXT("trial " << trial << " class " << cls << " " << bd::to_string(policy)) {
          rule.bias = policy;
          const auto r = bd::relevance_dimensions(model, cls, h.data(), rule);
          BOOST_TEST(std::abs(r.total() + r.absorbed - r.f) <= 1e-12 * std::max(1.0, std::abs(r.f)));
          BOOST_TEST(std::abs(r.residual) <= 1e-12 * std::max(1.0, std::abs(r.f)));
          BOOST_TEST(r.absorbed == (policy == bd::BiasPolicy::absorbed ? b : 0.0));
          for (std::size_t d = 0; d < V; ++d) {
            const double beta = policy == bd::BiasPolicy::uniform ? b / V
                                : policy == bd::BiasPolicy::proportional ? b * std::abs(raw.R[d]) / mass : 0.0;
            BOOST_TEST(std::abs(r.R[d] - raw.R[d] - beta) < 1e-14);
          }
        }
      }
    }
  }
  // Proportional with nothing to be proportional to falls back to uniform.
  const std::vector<double> zero(V, 0.0);
  bd::SvmRule prop;
  prop.bias = bd::BiasPolicy::proportional;
  const auto r0 = bd::relevance_dimensions(model, 1, zero.data(), prop);
  for (double v : r0.R) BOOST_TEST(v == model.classes()[1].bias / V);
  BOOST_TEST(r0.f == model.classes()[1].bias);
}

BOOST_AUTO_TEST_CASE(linear_head_relevance_equals_the_linear_kernel_models) {
  const std::size_t K = 12, V = 5 * K;
  for (bool blocks : {false, true}) {
    BOOST_TEST_CONTEXT((blocks ? "with blocks" : "no blocks")) {
      const auto kernel_model = make_model(bs::KernelType::linear, V, 40, 41, blocks ? pyramid_blocks(K) : std::vector<bs::KernelBlock>{}, 3);
      const auto head = bs::LinearSvm::from_kernel_svm(kernel_model);
      std::mt19937_64 rng(42);
      const auto h = random_histogram(rng, V);
      for (auto policy : {bd::BiasPolicy::uniform, bd::BiasPolicy::proportional, bd::BiasPolicy::absorbed}) {
        bd::Composite comp;
        comp.svm.bias = policy;
        for (std::size_t c = 0; c < 3; ++c) {
          const auto a = bd::relevance_dimensions(head, c, h.data(), comp.svm);
          const auto k = bd::relevance_dimensions(kernel_model, c, h.data(), comp);
          BOOST_TEST(max_abs_diff(a.R, k.R) < 1e-13);
          BOOST_TEST(std::abs(a.f - k.f) < 1e-12);
          BOOST_TEST(a.absorbed == k.absorbed);
          BOOST_TEST(a.bias == k.bias);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(linear_head_relevance_rejects_bad_classes_and_rules) {
  const std::size_t V = 10;
  const auto model = make_linear_head(V, 2, 51);
  const std::vector<double> h(V, 0.1);
  try {
    bd::relevance_dimensions(model, 2, h.data(), bd::SvmRule{});
    BOOST_FAIL("class 2 of 2 must be refused");
  } catch (const std::out_of_range& e) {
    BOOST_TEST(std::string(e.what()) == "class index 2 out of range; the model has 2 classes");
  }
  BOOST_CHECK_THROW(bd::relevance_dimensions(bs::LinearSvm{}, 0, h.data(), bd::SvmRule{}), std::out_of_range);
  bd::SvmRule bad;
  bad.bias = static_cast<bd::BiasPolicy>(7);
  BOOST_CHECK_THROW(bd::relevance_dimensions(model, 0, h.data(), bad), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(feature_relevance_matches_naive_reference) {
  int combos = 0;
  for (double p : {1.0, 2.0, 3.0, kInf})
    for (MapKind m : {MapKind::hard, MapKind::soft, MapKind::rank})
      for (const auto* pyr : {&kFlat, &kPyramid}) {
        BOOST_TEST_CONTEXT("p=" << p << " map=" << static_cast<int>(m) << " levels=" << pyr->size()) {
          const auto s = make_trace(100 + combos, 60, 16, *pyr, m, p, bb::Normalisation::l1, false);
          std::mt19937_64 rng(combos);
          std::normal_distribution<double> g(0, 1);
          std::vector<double> R_d(s.trace.pool.dimension());
          for (auto& v : R_d) v = g(rng);
          const auto fr = bd::relevance_features(s.trace.features, s.trace.assignment, s.trace.pool, R_d);
          BOOST_TEST(max_abs_diff(fr.R, naive_feature_relevance(s, R_d)) < 1e-12);
          const double total = std::accumulate(R_d.begin(), R_d.end(), 0.0);
          BOOST_TEST(std::abs(fr.total() - total) < 1e-12);
          BOOST_TEST(fr.unassigned == 0.0);
          // Summaries: per word over cells, per cell over words.
          const int K = s.trace.pool.words;
          for (int k = 0; k < K; ++k) {
            double w = 0;
            for (int c = 0; c < s.trace.pool.cells; ++c) w += R_d[c * K + k];
            BOOST_TEST(std::abs(fr.per_word[k] - w) < 1e-12);
          }
          for (int c = 0; c < s.trace.pool.cells; ++c)
            BOOST_TEST(std::abs(fr.per_cell[c] - std::accumulate(R_d.begin() + c * K, R_d.begin() + (c + 1) * K, 0.0)) < 1e-12);
          ++combos;
        }
      }
  BOOST_TEST(combos == 24);
}

// The same reference on traces made by the real Mapper and Pooler (all mappings, p-means, max,
// pyramid, Hellinger + L2), so the relevance step and the forward step read the trace alike.
BOOST_AUTO_TEST_CASE(feature_relevance_on_real_bow_traces) {
  const int K = 24, D = bb::FeatureTrace::kDim;
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> centres(static_cast<std::size_t>(K) * D);
  for (auto& v : centres) v = u(rng);
  Synthetic base = make_trace(18, 150, K, kFlat, MapKind::hard, 1.0, bb::Normalisation::l1, false);
  for (auto& v : base.trace.features.descriptors) v = u(rng);
  int checked = 0;
  for (auto kind : {bb::MappingKind::hard, bb::MappingKind::soft, bb::MappingKind::rank})
    for (double p : {1.0, 2.0, kInf}) {
      BOOST_TEST_CONTEXT(bb::to_string(kind) << " p=" << p) {
        bb::MappingOptions mo;
        mo.kind = kind;
        mo.neighbours = 3;
        const bb::Mapper mapper(bb::Codebook(D, centres), mo);
        bb::PoolingOptions po;
        po.p = p;
        po.pyramid = kPyramid;
        po.normalisation = bb::Normalisation::l2;
        po.hellinger = true;
        const bb::Pooler pooler(K, po);
        Synthetic s = base;
        s.trace.assignment = mapper.assign(s.trace.features);
        s.trace.pool = pooler.pool(s.trace.features, s.trace.assignment);
        s.cell_level = {0, 1, 1, 1, 1};
        BOOST_REQUIRE_EQUAL(s.trace.pool.dimension(), 5u * K);
        std::normal_distribution<double> g(0, 1);
        std::vector<double> R_d(s.trace.pool.dimension());
        for (auto& v : R_d) v = g(rng);
        const auto fr = bd::relevance_features(s.trace.features, s.trace.assignment, s.trace.pool, R_d);
        BOOST_TEST(max_abs_diff(fr.R, naive_feature_relevance(s, R_d)) < 1e-12);
        BOOST_TEST(std::abs(fr.total() - std::accumulate(R_d.begin(), R_d.end(), 0.0)) < 1e-12);
        ++checked;
      }
    }
  BOOST_TEST(checked == 9);
}

BOOST_AUTO_TEST_CASE(max_pooling_ties_split_evenly) {
  // Three features in one cell, word 0 weights {0.5, 0.5, 0.25}; word 1 only in feature 2.
  Synthetic s = make_trace(1, 3, 2, kFlat, MapKind::hard, kInf, bb::Normalisation::none, false);
  auto& as = s.trace.assignment;
  as.offsets = {0, 1, 2, 4};
  as.words = {0, 0, 0, 1};
  as.weights = {0.5f, 0.5f, 0.25f, 0.75f};
  const std::vector<double> R_d{3.0, -2.0};
  const auto fr = bd::relevance_features(s.trace.features, as, s.trace.pool, R_d);
  BOOST_TEST(fr.R[0] == 1.5);
  BOOST_TEST(fr.R[1] == 1.5);
  BOOST_TEST(fr.R[2] == -2.0);
  // Sum pooling on the same weights splits word 0 by weight: 0.5 : 0.5 : 0.25.
  s.trace.pool.p = 1.0;
  const auto fs = bd::relevance_features(s.trace.features, as, s.trace.pool, R_d);
  BOOST_TEST(std::abs(fs.R[0] - 1.2) < 1e-15);
  BOOST_TEST(std::abs(fs.R[2] - (0.6 - 2.0)) < 1e-15);
}

BOOST_AUTO_TEST_CASE(zero_dimensions_spread_over_the_features_of_their_cell) {
  // K = 4, every feature hard-assigned to word 0: words 1..3 have x_d = 0. With the 2x2 level,
  // cells without features have x_d = 0 for every word. A zero dimension of a cell gives R_d to
  // that cell's features only (none outside it); of an empty cell, to all L features.
  Synthetic s = make_trace(2, 5, 4, kPyramid, MapKind::hard, 1.0, bb::Normalisation::l2, true);
  auto& as = s.trace.assignment;
  std::fill(as.words.begin(), as.words.end(), 0);
  const auto& pt = s.trace.pool;
  const std::size_t V = pt.dimension(), L = 5;
  int fine_cells_checked = 0, empty_cells_checked = 0;
  for (std::size_t d = 0; d < V; ++d) {
    const int c = static_cast<int>(d / 4);
    const bool used = d % 4 == 0 && pt.cell_counts[c] > 0;
    if (used) continue;
    std::vector<double> R_d(V, 0.0);
    R_d[d] = 2.5;
    const auto fr = bd::relevance_features(s.trace.features, as, pt, R_d);
    const int M = pt.cell_counts[c];
    for (std::size_t l = 0; l < L; ++l) {
      const bool in_cell = pt.feature_cells[l * pt.levels + s.cell_level[c]] == c;
      BOOST_TEST(fr.R[l] == (M == 0 ? 2.5 / L : in_cell ? 2.5 / M : 0.0));
    }
    BOOST_TEST(std::abs(fr.total() - 2.5) < 1e-15);
    if (s.cell_level[c] == 1) ++(M == 0 ? empty_cells_checked : fine_cells_checked);
  }
  // The random trace has 2x2 cells with and without features, so both branches ran.
  BOOST_TEST(fine_cells_checked > 0);
  BOOST_TEST(empty_cells_checked > 0);
}

BOOST_AUTO_TEST_CASE(empty_feature_set_reports_everything_unassigned) {
  Synthetic s = make_trace(3, 0, 8, kPyramid, MapKind::hard, 1.0, bb::Normalisation::l1, false);
  auto model = make_model(bs::KernelType::intersection, s.trace.pool.dimension(), 10, 4);
  const bd::Explainer ex = make_explainer(model);
  const auto e = ex.explain(s.trace, 0);
  BOOST_TEST(e.features.R.empty());
  BOOST_TEST(std::abs(e.features.unassigned - e.dimensions.total()) < 1e-15);
  BOOST_TEST(e.pixels.width == 64);
  BOOST_TEST(e.pixels.total() == 0.0);
  const auto rep = bd::check_conservation(e);
  BOOST_TEST(rep.svm_conserved);
  BOOST_TEST(rep.features_conserved);
  // sum R_l = 0 = sum R_q: the relevance was lost at the feature layer, and the report says where.
  BOOST_TEST(rep.pixels_conserved);
  BOOST_TEST(rep.unassigned_features == e.features.unassigned);
}

BOOST_AUTO_TEST_CASE(pixel_relevance_matches_naive_reference) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    Synthetic s = make_trace(seed, 150, 8, kFlat, MapKind::soft, 1.0, bb::Normalisation::l1, false, 37 + seed, 29);
    // Add 1-pixel supports and full-image supports.
    s.trace.features.frames[0].support = {0, 0, 1, 1};
    s.trace.features.frames[1].support = {36, 28, 37, 29};
    s.trace.features.frames[2].support = {0, 0, s.trace.features.width, s.trace.features.height};
    // Boundary coverage of the supports: plain boxes for every third frame, partial otherwise
    // (a one-pixel-wide box keeps x0 + x1 - 1 > 0).
    std::mt19937_64 cover_rng(seed + 10);
    std::uniform_real_distribution<float> cu(0.55F, 1.0F);
    for (std::size_t l = 0; l < s.trace.features.size(); ++l)
      if (l % 3 != 2) s.trace.features.frames[l].cover = {cu(cover_rng), cu(cover_rng), cu(cover_rng), cu(cover_rng)};
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> g(0, 1);
    std::vector<double> R_l(s.trace.features.size());
    for (auto& v : R_l) v = g(rng);
    const auto pr = bd::relevance_pixels(s.trace.features, R_l);
    BOOST_TEST(pr.width == s.trace.features.width);
    BOOST_TEST(pr.height == 29);
    BOOST_TEST(max_abs_diff(pr.R, naive_pixels(s.trace.features, R_l)) < 1e-12);
    BOOST_TEST(std::abs(pr.total() - std::accumulate(R_l.begin(), R_l.end(), 0.0)) < 1e-11);
    BOOST_TEST(pr.unassigned == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(pixel_relevance_empty_and_bad_supports) {
  Synthetic s = make_trace(4, 3, 8, kFlat, MapKind::hard, 1.0, bb::Normalisation::l1, false);
  s.trace.features.frames[1].support = {5, 5, 5, 9};  // empty
  const auto pr = bd::relevance_pixels(s.trace.features, {1.0, 2.0, 4.0});
  BOOST_TEST(pr.unassigned == 2.0);
  BOOST_TEST(std::abs(pr.total() - 5.0) < 1e-12);
  BOOST_CHECK_THROW(bd::relevance_pixels(s.trace.features, {1.0, 2.0}), std::invalid_argument);
  s.trace.features.frames[0].support = {60, 0, 70, 4};  // leaves the 64-wide image
  BOOST_CHECK_THROW(bd::relevance_pixels(s.trace.features, {1.0, 2.0, 4.0}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(feature_relevance_rejects_inconsistent_traces) {
  Synthetic s = make_trace(5, 10, 8, kPyramid, MapKind::soft, 2.0, bb::Normalisation::l1, false);
  std::vector<double> R_d(s.trace.pool.dimension(), 1.0);
  R_d.pop_back();
  BOOST_CHECK_THROW(bd::relevance_features(s.trace.features, s.trace.assignment, s.trace.pool, R_d), std::invalid_argument);
  R_d.push_back(1.0);
  auto as = s.trace.assignment;
  as.words[0] = 8;  // word outside [0, K)
  BOOST_CHECK_THROW(bd::relevance_features(s.trace.features, as, s.trace.pool, R_d), std::invalid_argument);
  auto pool = s.trace.pool;
  pool.feature_cells.pop_back();
  BOOST_CHECK_THROW(bd::relevance_features(s.trace.features, s.trace.assignment, pool, R_d), std::invalid_argument);
}

// Conservation to 1e-9 at every layer for every exact kernel x pooling x mapping x pyramid x
// normalisation, through the Explainer.
BOOST_AUTO_TEST_CASE(conservation_over_all_exact_combinations) {
  const int K = 16;
  int combos = 0, seed = 0;
  for (auto type : kExactKernels)
    for (bool blocks : {false, true})
      for (double p : {1.0, 2.0, 3.0, kInf})
        for (MapKind m : {MapKind::hard, MapKind::soft, MapKind::rank})
          for (bool pyr : {false, true})
            for (auto norm : {bb::Normalisation::none, bb::Normalisation::l1, bb::Normalisation::l2})
              for (bool hel : {false, true}) {
                if (blocks && !pyr) continue;  // level blocks need the pyramid
                if (hel && norm == bb::Normalisation::none && type == bs::KernelType::linear) continue;
                ++seed;
                BOOST_TEST_CONTEXT(combo_name(type, blocks, p, m, pyr, norm, hel)) {
                  const auto s = make_trace(1000 + seed, 80, K, pyr ? kPyramid : kFlat, m, p, norm, hel);
                  const std::size_t V = s.trace.pool.dimension();
                  auto model = make_model(type, V, 25, seed, blocks ? pyramid_blocks(K) : std::vector<bs::KernelBlock>{});
                  bd::Composite comp;
                  comp.svm.bias = static_cast<bd::BiasPolicy>(seed % 3);
                  const bd::Explainer ex = make_explainer(model, comp);
                  const auto e = ex.explain(s.trace, seed % 2);
                  const auto rep = bd::check_conservation(e, 1e-9);
                  BOOST_TEST(rep.ok(), rep.summary());
                  BOOST_TEST(std::abs(e.dimensions.f - naive_decision(model, seed % 2, s.trace.pool.histogram.data())) < 1e-10);
                  ++combos;
                }
              }
  BOOST_TEST_MESSAGE("exact conservation combinations checked: " << combos);
  BOOST_TEST(combos > 300);
}

BOOST_AUTO_TEST_CASE(explainer_layers_match_the_stage_functions) {
  const auto s = make_trace(77, 120, 16, kPyramid, MapKind::rank, 2.0, bb::Normalisation::l2, true);
  auto model = make_model(bs::KernelType::chi2, s.trace.pool.dimension(), 30, 9, {}, 3);
  const bd::Explainer ex = make_explainer(model);
  const auto e = ex.explain(s.trace, "class2");
  BOOST_TEST(e.cls == 2u);
  BOOST_TEST(e.class_name == "class2");
  // The full chain against the naive references.
  const auto naive_l = naive_feature_relevance(s, e.dimensions.R);
  BOOST_TEST(max_abs_diff(e.features.R, naive_l) < 1e-12);
  BOOST_TEST(max_abs_diff(e.pixels.R, naive_pixels(s.trace.features, naive_l)) < 1e-12);
  BOOST_CHECK_THROW(ex.explain(s.trace, "nope"), std::invalid_argument);
  BOOST_CHECK_THROW(ex.explain(s.trace, 3), std::out_of_range);
  auto bad = s.trace;
  bad.pool.histogram.pop_back();
  BOOST_CHECK_THROW(ex.explain(bad, 0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(conservation_checker_detects_violations) {
  const auto s = make_trace(8, 40, 8, kFlat, MapKind::hard, 1.0, bb::Normalisation::l1, false);
  auto model = make_model(bs::KernelType::intersection, s.trace.pool.dimension(), 10, 8);
  auto e = make_explainer(model).explain(s.trace, 0);
  BOOST_TEST(bd::check_conservation(e).ok());
  auto broken = e;
  broken.features.R[3] += 1e-6;
  auto rep = bd::check_conservation(broken);
  BOOST_TEST(!rep.features_conserved);
  BOOST_TEST(rep.svm_conserved);
  BOOST_TEST(!rep.ok());
  BOOST_TEST(rep.summary().find("VIOLATED") != std::string::npos);
  BOOST_TEST(rep.summary().find("tolerance 1e-09") != std::string::npos, rep.summary());
  broken = e;
  broken.pixels.R[0] -= 1e-3;
  BOOST_TEST(!bd::check_conservation(broken).pixels_conserved);
  broken = e;
  broken.dimensions.R[0] += 1e-3;
  rep = bd::check_conservation(broken);
  BOOST_TEST(!rep.svm_conserved);
  BOOST_TEST(!rep.features_conserved);
  BOOST_CHECK_THROW(bd::check_conservation(e, -1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(taylor_gradient_matches_central_differences) {
  const std::size_t K = 6, V = 5 * K;
  for (auto type : {bs::KernelType::rbf, bs::KernelType::expchi2})
    for (bool blocks : {false, true}) {
      BOOST_TEST_CONTEXT(bs::to_string(type) << (blocks ? " with blocks" : "")) {
        auto model = make_model(type, V, 20, 21, blocks ? pyramid_blocks(K) : std::vector<bs::KernelBlock>{});
        std::mt19937_64 rng(9);
        std::uniform_real_distribution<double> u(0.05, 0.3);  // interior point: expchi2 is smooth there
        std::vector<double> x(V);
        for (auto& v : x) v = u(rng);
        const auto g = bd::decision_gradient(model, 1, x.data());
        const double eps = 1e-6;
        for (std::size_t d = 0; d < V; ++d) {
          auto a = x, b = x;
          a[d] += eps;
          b[d] -= eps;
          const double num = (naive_decision(model, 1, a.data()) - naive_decision(model, 1, b.data())) / (2 * eps);
          BOOST_TEST(std::abs(g[d] - num) < 1e-7 * std::max(1.0, std::abs(num)));
        }
      }
    }
  auto hik = make_model(bs::KernelType::intersection, 4, 2, 1);
  std::vector<double> x(4, 0.1);
  BOOST_CHECK_THROW(bd::decision_gradient(hik, 0, x.data()), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(taylor_finds_a_nonnegative_root_and_reports_the_residual) {
  const std::size_t K = 8;
  for (auto type : {bs::KernelType::rbf, bs::KernelType::expchi2}) {
    int found = 0;
    for (int trial = 0; trial < 6; ++trial) {
      BOOST_TEST_CONTEXT(bs::to_string(type) << " trial " << trial) {
        const auto s = make_trace(300 + trial, 60, K, kPyramid, MapKind::soft, 1.0, bb::Normalisation::l1, false);
        auto model = make_model(type, s.trace.pool.dimension(), 30, 40 + trial, {}, 2, 4.0);
        if (trial >= 3) {  // the same model negated: f changes sign, the root search the side
          auto classes = model.classes();
          for (auto& c : classes) {
            c.bias = -c.bias;
            for (auto& a : c.coef) a = -a;
          }
          model = bs::KernelSvm(model.kernel(), model.dim(), model.support(), classes);
        }
        bd::Composite comp;
        comp.differentiable = bd::DifferentiableRule::taylor;
        const auto e = make_explainer(model, comp).explain(s.trace, trial % 2);
        const auto& d = e.dimensions;
        BOOST_TEST((d.method == bd::SvmMethod::taylor));
        BOOST_TEST(d.root.size() == s.trace.pool.dimension());
        BOOST_TEST(std::abs(d.f - naive_decision(model, trial % 2, s.trace.pool.histogram.data())) < 1e-10);
        BOOST_TEST(std::abs(d.residual - (d.f - d.total())) < 1e-12);
        for (double v : d.root) BOOST_TEST(v >= 0.0);
        BOOST_TEST_MESSAGE(bs::to_string(type) << " f = " << d.f << ", sum R = " << d.total() << ", f(x0) = " << d.f_root
                                               << ", root found " << d.root_found);
        if (d.root_found) {
          ++found;
          BOOST_TEST(std::abs(d.f_root) <= comp.taylor.root.tolerance * std::max(1.0, std::abs(d.f)));
          BOOST_TEST(std::abs(naive_decision(model, trial % 2, d.root.data())) < 1e-9);
        }
        // The layers below the SVM conserve whatever the SVM rule.
        const auto rep = bd::check_conservation(e);
        BOOST_TEST(rep.lower_layers_ok(), rep.summary());
        BOOST_TEST((rep.method == bd::SvmMethod::taylor));
      }
    }
    BOOST_TEST(found >= 4, bs::to_string(type) << ": roots found in " << found << " of 6 trials");
  }
}

BOOST_AUTO_TEST_CASE(taylor_without_a_sign_change_says_so) {
  // All coefficients and the bias positive: f > 0 everywhere, no root exists.
  const std::size_t V = 20;
  std::mt19937_64 rng(1);
  std::vector<double> support;
  for (int i = 0; i < 5; ++i) {
    auto s = random_histogram(rng, V);
    support.insert(support.end(), s.begin(), s.end());
  }
  bs::Kernel k;
  k.type = bs::KernelType::rbf;
  k.gamma = 2.0;
  bs::KernelSvm model(k, V, support, {{"pos", 0.5, {1, 2, 3, 4, 5}}});
  const auto h = random_histogram(rng, V);
  const auto r = bd::relevance_dimensions(model, 0, h.data(), bd::Composite{});
  BOOST_TEST(!r.root_found);
  BOOST_TEST(r.f > 0.5);
  BOOST_TEST(std::abs(r.residual - (r.f - r.total())) < 1e-12);
  BOOST_TEST(std::abs(r.residual) > 0.1);
  k.gamma = 0;  // unset gamma: rejected by the model or, at the latest, by the explainer
  BOOST_CHECK_THROW((make_explainer(bs::KernelSvm(k, V, support, {{"pos", 0.5, {1, 2, 3, 4, 5}}}))),
                    std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_the_thread_count) {
  const std::size_t V = 3000;
  for (auto type : {bs::KernelType::intersection, bs::KernelType::expchi2}) {
    auto model = make_model(type, V, 60, 3);
    std::mt19937_64 rng(4);
    const auto h = random_histogram(rng, V);
    bd::DimensionRelevance one;
    {
      tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 1);
      one = bd::relevance_dimensions(model, 0, h.data(), bd::Composite{});
    }
    const auto many = bd::relevance_dimensions(model, 0, h.data(), bd::Composite{});
    BOOST_TEST((one.R == many.R));
    BOOST_TEST((one.root == many.root));
  }
}

#ifdef BOWLRP_BUILD_HAS_DATASETS
// End to end on the synthetic shapes (objects with known masks): codebook, hik SVM, explanations.
// Positive relevance must concentrate on the objects: its share inside the masks must exceed the
// masks' area share (what a uniform map scores) clearly, and every explanation must conserve.
BOOST_AUTO_TEST_CASE(shapes_positive_relevance_concentrates_on_the_objects) {
  namespace ds = bowlrp::datasets;
  const auto start = std::chrono::steady_clock::now();
  ds::ShapesOptions so;
  so.images_per_class = 40;
  so.seed = 7;
  const int C = static_cast<int>(so.classes.size()), n = C * so.images_per_class, n_train = C * 30;
  std::vector<ds::ShapeImage> images;
  for (int i = 0; i < n; ++i) images.push_back(ds::generate_shape(so, i));

  bb::PipelineOptions po;
  po.kmeans.words = 128;  // objects sit anywhere, so no pyramid (it lowers accuracy here)
  po.kmeans.samples = 20000;
  po.pooling.pyramid = {{1, 1}};
  const bb::ImageLoader loader(po.image);
  const bb::DenseSift sift(po.dsift);
  std::vector<bb::GrayImage> grey;
  std::vector<float> descriptors;
  for (int i = 0; i < n; ++i) {
    grey.push_back(loader.from_bgr8(images[i].bgr.data(), images[i].width, images[i].height, 3));
    if (i < n_train) {
      const auto ft = sift.extract(grey.back());
      descriptors.insert(descriptors.end(), ft.descriptors.begin(), ft.descriptors.end());
    }
  }
  auto codebook = bb::Codebook::train(descriptors.data(), descriptors.size() / bb::FeatureTrace::kDim,
                                      bb::FeatureTrace::kDim, po.kmeans);
  const bb::Pipeline pipeline(po, codebook);
  const std::size_t V = pipeline.dimension();
  std::vector<bb::EncodeTrace> traces;
  std::vector<double> X;
  std::vector<int> labels;
  for (int i = 0; i < n; ++i) {
    traces.push_back(pipeline.encode(grey[i]));
    if (i < n_train) {
      X.insert(X.end(), traces.back().histogram().begin(), traces.back().histogram().end());
      for (int c = 0; c < C; ++c) labels.push_back(i % C == c ? 1 : -1);
    }
  }
  bs::Kernel kernel;
  kernel.type = bs::KernelType::intersection;
  bs::TrainOptions to;
  to.balanced = true;
  const auto model = bs::train_one_vs_rest(X.data(), n_train, V, labels, so.classes, kernel, to);
  const bd::Explainer explainer = make_explainer(model, {}, nullptr, pipeline.fingerprint());

  int correct = 0, tested = 0;
  double ratio_sum = 0;
  for (int i = n_train; i < n; ++i, ++tested) {
    const std::size_t cls = i % C;
    BOOST_TEST_CONTEXT("test image " << i << " (" << so.classes[cls] << ")") {
      const auto e = explainer.explain(traces[i], cls);
      const auto rep = bd::check_conservation(e);
      BOOST_TEST(rep.ok(), rep.summary());
      BOOST_REQUIRE_EQUAL(e.pixels.width, images[i].width);
      BOOST_REQUIRE_EQUAL(e.pixels.height, images[i].height);
      const auto f = model.decision(traces[i].histogram().data());
      if (std::max_element(f.begin(), f.end()) - f.begin() != static_cast<long>(cls)) continue;
      ++correct;
      double pos = 0, pos_in = 0, area = 0;
      for (std::size_t q = 0; q < e.pixels.R.size(); ++q) {
        const double r = std::max(0.0, e.pixels.R[q]);
        pos += r;
        if (images[i].mask[q]) {
          pos_in += r;
          area += 1;
        }
      }
      BOOST_REQUIRE(pos > 0);
      ratio_sum += (pos_in / pos) / (area / e.pixels.R.size());
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  BOOST_TEST_MESSAGE("shapes: " << correct << "/" << tested << " test images correct; mean ratio "
                     << "(positive relevance share in mask) / (mask area share) = " << ratio_sum / std::max(1, correct)
                     << " (" << seconds << " s)");
  // Shape classes by dense SIFT words are hard (chance is 1/4); ~1/2 is what this setup reaches.
  BOOST_TEST(correct * 20 >= tested * 7, "only " << correct << " of " << tested << " test images classified correctly");
  BOOST_TEST(ratio_sum / std::max(1, correct) >= 1.3);
}
#endif

// p-means with a large p: weights far above 1 make m^p overflow (8^400 = inf) and weights far below
// 1 make it underflow (0.1^400 = 0). Pooling and relevance stay finite, conserve, and approach
// max pooling as p grows.
BOOST_AUTO_TEST_CASE(feature_relevance_large_p_is_finite_conserving_and_tends_to_max) {
  const int K = 10;
  Synthetic s = make_trace(41, 90, K, kPyramid, MapKind::soft, 1.0, bb::Normalisation::l2, false);
  auto& as = s.trace.assignment;
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(0, 1);
  for (std::size_t e = 0; e < as.weights.size(); ++e)
    as.weights[e] = static_cast<float>(e % 7 == 0 ? 4.0 + 4.0 * u(rng) : 0.05 + 0.1 * u(rng));
  std::vector<double> R_d(static_cast<std::size_t>(K) * 5);
  std::normal_distribution<double> g(0, 1);
  for (auto& v : R_d) v = g(rng);
  const double total = std::accumulate(R_d.begin(), R_d.end(), 0.0);
  auto pooled_with = [&](double p) {
    bb::PoolingOptions po;
    po.p = p;
    po.pyramid = kPyramid;
    po.normalisation = bb::Normalisation::l2;
    Synthetic t = s;
    t.trace.pool = bb::Pooler(K, po).pool(t.trace.features, t.trace.assignment);
    return t;
  };
  const Synthetic smax = pooled_with(kInf);
  const auto fmax = bd::relevance_features(smax.trace.features, smax.trace.assignment, smax.trace.pool, R_d);
  double scale = 0;
  for (double r : fmax.R) scale = std::max(scale, std::abs(r));
  auto model = make_model(bs::KernelType::intersection, R_d.size(), 20, 43);
  for (double p : {400.0, 1000.0, 1e6}) {
    BOOST_TEST_CONTEXT("p = " << p) {
      const Synthetic sp = pooled_with(p);
      BOOST_TEST(std::all_of(sp.trace.pool.histogram.begin(), sp.trace.pool.histogram.end(),
                             [](double h) { return std::isfinite(h); }));
      const auto fr = bd::relevance_features(sp.trace.features, sp.trace.assignment, sp.trace.pool, R_d);
      BOOST_TEST(std::all_of(fr.R.begin(), fr.R.end(), [](double r) { return std::isfinite(r); }));
      BOOST_TEST(std::abs(fr.total() - total) < 1e-12);
      const double gap = max_abs_diff(fr.R, fmax.R) / scale;
      BOOST_TEST_MESSAGE("p = " << p << ": max |R_l(p) - R_l(max)| / max |R_l(max)| = " << gap);
      if (p == 1e6) BOOST_TEST(gap < 1e-3);
      // The whole chain on the real pooled trace: finite pixels, exact conservation.
      const auto e = make_explainer(model).explain(sp.trace, 1);
      BOOST_TEST(std::all_of(e.pixels.R.begin(), e.pixels.R.end(), [](double r) { return std::isfinite(r); }));
      const auto rep = bd::check_conservation(e, 1e-9);
      BOOST_TEST(rep.ok(), rep.summary());
    }
  }
}

// Dense SIFT supports of a random texture, at scale 1 (with odd and even bin sizes) and downscaled
// on load (supports in original pixels). A single frame's pixel relevance is the exact share of
// each pixel in the frame's square [x - a/2, x + a/2] x [y - b/2, y + b/2] (a = 4s / scale_x,
// b = 4s / scale_y original px, clipped to the image), so its centroid is the frame centre: exactly
// at scale 1; downscaled, up to the pixel discretisation of the partial boundary pixels, at most
// (c0 (1 - c0) + c1 (1 - c1)) / (2 side) <= 1/4 px over the support side, c the boundary coverages. relevance_pixels also matches the per-pixel reference and conserves.
BOOST_AUTO_TEST_CASE(pixel_support_is_centred_on_the_frame_centre) {
  const int W = 120, H = 100;
  std::mt19937 rng(8);
  std::vector<float> px(static_cast<std::size_t>(W) * H);
  for (auto& v : px) v = static_cast<float>(rng() % 1000) / 999.0F;
  bb::DsiftOptions so;
  so.bin_sizes = {4, 5, 6, 8, 10};
  so.contrast_threshold = 0;
  const bb::DenseSift sift(so);
  // Overlap of pixel i (pixel-centre coordinates, [i - 1/2, i + 1/2]) with [c - h, c + h] clipped to the image.
  auto overlap = [](int i, double c, double h, int n) {
    const double lo = std::max({i - 0.5, c - h, -0.5}), hi = std::min({i + 0.5, c + h, n - 0.5});
    return std::max(0.0, hi - lo);
  };
  for (int cap : {0, 50, 77}) {
    BOOST_TEST_CONTEXT("max_side = " << cap) {
      const auto im = bb::ImageLoader(bb::ImageOptions{cap}).from_gray(px.data(), W, H);
      const auto t = sift.extract(im);
      BOOST_TEST_REQUIRE(t.size() > 0u);
      std::map<int, int> checked;  // unclipped frames per bin size
      double worst_centroid = 0, worst_share = 0;
      for (std::size_t l = 0; l < t.size(); ++l) {
        const auto& f = t.frames[l];
        const double hx = 2.0 * f.bin_size / im.scale_x, hy = 2.0 * f.bin_size / im.scale_y;
        std::vector<double> R_l(t.size(), 0.0);
        R_l[l] = 1.0;
        const auto pr = bd::relevance_pixels(t, R_l);
        double area = 0;
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) area += overlap(x, f.x, hx, W) * overlap(y, f.y, hy, H);
        double m = 0, mx = 0, my = 0, peak = 0, err = 0;
        for (int y = 0; y < H; ++y)
          for (int x = 0; x < W; ++x) {
            const double r = pr.at(x, y);
            m += r;
            mx += r * x;
            my += r * y;
            peak = std::max(peak, r);
            err = std::max(err, std::abs(r - overlap(x, f.x, hx, W) * overlap(y, f.y, hy, H) / area));
          }
        BOOST_TEST_REQUIRE(std::abs(m - 1.0) < 1e-12);
        // f.x and f.y are floats: exact at scale 1 (integers or halves), rounded otherwise.
        BOOST_TEST_REQUIRE(err / peak < (cap == 0 ? 1e-12 : 1e-4), "frame " << l << " bin " << f.bin_size
                                                                      << ": pixel share off by " << err / peak << " of the peak");
        worst_share = std::max(worst_share, err / peak);
        const bool clipped = f.x - hx < -0.5 || f.y - hy < -0.5 || f.x + hx > W - 0.5 || f.y + hy > H - 0.5;
        if (clipped) continue;  // clipping to the image moves the centroid inwards
        const double tol_x = cap == 0 ? 1e-9 : 0.125 / hx + 1e-5, tol_y = cap == 0 ? 1e-9 : 0.125 / hy + 1e-5;
        BOOST_TEST_REQUIRE(std::abs(mx / m - f.x) < tol_x, "frame " << l << " bin " << f.bin_size << ": centroid x "
                                                                    << mx / m << " vs centre " << f.x);
        BOOST_TEST_REQUIRE(std::abs(my / m - f.y) < tol_y, "frame " << l << " bin " << f.bin_size << ": centroid y "
                                                                    << my / m << " vs centre " << f.y);
        worst_centroid = std::max({worst_centroid, std::abs(mx / m - f.x), std::abs(my / m - f.y)});
        ++checked[f.bin_size];
      }
      BOOST_TEST_MESSAGE("max_side " << cap << ": worst centroid offset " << worst_centroid
                                     << " px, worst pixel share error " << worst_share << " of the peak");
      // At scale 1 every bin size has unclipped frames; downscaled, the largest supports span the image.
      for (int s : so.bin_sizes) BOOST_TEST((cap != 0 || checked[s] > 0), "bin size " << s << " has unclipped frames checked");
      BOOST_TEST(checked[4] > 0);
      // All frames at once against the per-pixel reference, and conservation.
      std::normal_distribution<double> g(0, 1);
      std::mt19937_64 r64(cap);
      std::vector<double> R_l(t.size());
      for (auto& v : R_l) v = g(r64);
      const auto pr = bd::relevance_pixels(t, R_l);
      BOOST_TEST(max_abs_diff(pr.R, naive_pixels(t, R_l)) < 1e-12);
      BOOST_TEST(std::abs(pr.total() - std::accumulate(R_l.begin(), R_l.end(), 0.0)) < 1e-10);
      BOOST_TEST(pr.unassigned == 0.0);
    }
  }
}

// One frame explained on an image and on its 2x upsampled version capped back to the same working
// size (supports in the 2x picture's pixels): summing 2x2 blocks of the 2x map gives the 1x map.
BOOST_AUTO_TEST_CASE(pixel_relevance_of_a_frame_agrees_across_a_2x_resolution_change) {
  const int W = 64, H = 48;
  std::mt19937 rng(9);
  std::vector<float> small(static_cast<std::size_t>(W) * H), big(static_cast<std::size_t>(4) * W * H);
  for (auto& v : small) v = static_cast<float>(rng() % 1000) / 999.0F;
  for (int y = 0; y < 2 * H; ++y)
    for (int x = 0; x < 2 * W; ++x) big[static_cast<std::size_t>(y) * 2 * W + x] = small[static_cast<std::size_t>(y / 2) * W + x / 2];
  const bb::DenseSift sift;
  const auto ta = sift.extract(bb::ImageLoader(bb::ImageOptions{0}).from_gray(small.data(), W, H));
  const auto ib = bb::ImageLoader(bb::ImageOptions{W}).from_gray(big.data(), 2 * W, 2 * H);
  BOOST_TEST_REQUIRE(ib.scale_x == 0.5);
  BOOST_TEST_REQUIRE(ib.scale_y == 0.5);
  const auto tb = sift.extract(ib);
  BOOST_TEST_REQUIRE(ta.size() == tb.size());
  BOOST_TEST_REQUIRE(ta.size() > 0u);
  double worst = 0;
  for (std::size_t l = 0; l < ta.size(); ++l) {
    std::vector<double> R_l(ta.size(), 0.0);
    R_l[l] = 1.0;
    const auto a = bd::relevance_pixels(ta, R_l);
    const auto b = bd::relevance_pixels(tb, R_l);
    std::vector<double> down(static_cast<std::size_t>(W) * H, 0.0);
    for (int y = 0; y < 2 * H; ++y)
      for (int x = 0; x < 2 * W; ++x) down[static_cast<std::size_t>(y / 2) * W + x / 2] += b.at(x, y);
    const double peak = *std::max_element(a.R.begin(), a.R.end());
    worst = std::max(worst, max_abs_diff(a.R, down) / peak);
  }
  BOOST_TEST_MESSAGE("1x against 2x-downsummed single-frame maps: worst max|diff| / max R = " << worst);
  BOOST_TEST(worst < 1e-12);
}

// ---------- integrated gradients and the honest SVM-layer status (issue 10) ----------

BOOST_AUTO_TEST_CASE(integrated_gradients_rule_parses_and_validates) {
  for (auto r : {bd::DifferentiableRule::integrated_gradients, bd::DifferentiableRule::taylor})
    BOOST_TEST((bd::differentiable_rule_from_string(bd::to_string(r)) == r));
  BOOST_CHECK_THROW(bd::differentiable_rule_from_string("ig"), std::invalid_argument);
  bd::Composite c;
  BOOST_TEST((c.differentiable == bd::DifferentiableRule::integrated_gradients));  // the default
  BOOST_CHECK_NO_THROW(c.validate());
  for (int nodes : {0, 65}) {
    c.integrated_gradients = {};
    c.integrated_gradients.nodes = nodes;
    BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  }
  c.integrated_gradients = {};
  c.integrated_gradients.segments = 8;
  c.integrated_gradients.max_segments = 4;
  BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  for (double tol : {0.0, -1.0, kInf}) {
    c.integrated_gradients = {};
    c.integrated_gradients.tolerance = tol;
    BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  }
  c.integrated_gradients = {};
  c.integrated_gradients.root.scan_steps = 0;
  BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
  c.integrated_gradients = {};
  c.differentiable = static_cast<bd::DifferentiableRule>(5);
  BOOST_CHECK_THROW(c.validate(), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(integrated_gradients_conserve_f_for_rbf_and_expchi2) {
  const std::size_t K = 8;
  for (auto type : {bs::KernelType::rbf, bs::KernelType::expchi2})
    for (bool blocks : {false, true}) {
      int found = 0;
      for (int trial = 0; trial < 6; ++trial) {
        BOOST_TEST_CONTEXT(bs::to_string(type) << (blocks ? " with blocks" : "") << " trial " << trial) {
          const auto s = make_trace(500 + trial, 60, K, kPyramid, MapKind::soft, 1.0, bb::Normalisation::l1, false);
          const std::size_t V = s.trace.pool.dimension();
          // gamma 1x and 4x the inverse mean distance: the larger one bends f along the path more.
          auto model = make_model(type, V, 30, 60 + trial, blocks ? pyramid_blocks(K) : std::vector<bs::KernelBlock>{},
                                  2, trial % 2 ? 4.0 : 1.0);
          const std::size_t cls = trial % 2;
          const double* h = s.trace.pool.histogram.data();
          const auto e = make_explainer(model).explain(s.trace, cls);
          const auto& d = e.dimensions;
          BOOST_TEST((d.method == bd::SvmMethod::integrated_gradients));
          const double scale = std::max(1.0, std::abs(d.f));
          // The gradient theorem: sum R = f(h) - f(x0), up to the quadrature.
          BOOST_TEST(std::abs(d.total() - (d.f - d.f_root)) <= 1e-11 * scale);
          BOOST_TEST(std::abs(d.quadrature_error) <= 1e-11 * scale);
          BOOST_TEST(d.quadrature_converged);
          BOOST_TEST(std::abs(d.f_root - naive_decision(model, cls, d.root.data())) <= 1e-12 * scale);
          for (std::size_t k = 0; k < V; ++k)
            if (h[k] == d.root[k]) BOOST_TEST(d.R[k] == 0.0);  // no movement, no relevance
          const auto rep = bd::check_conservation(e);
          BOOST_TEST(rep.lower_layers_ok(), rep.summary());
          if (d.root_found) {
            ++found;
            BOOST_TEST(rep.ok(), rep.summary());  // every layer, the SVM one included, at 1e-9
            BOOST_TEST(rep.relative_residual <= 1e-9);
          }
        }
      }
      BOOST_TEST(found >= 4, bs::to_string(type) << ": roots found in " << found << " of 6 trials");
    }
}

BOOST_AUTO_TEST_CASE(integrated_gradients_conserve_on_real_sized_inputs) {
  // V ~ 5000 dimensions and hundreds of support vectors, as a VOC model with a 1x1+2x2 pyramid.
  const std::size_t K = 1000, V = 5 * K;
  for (auto type : {bs::KernelType::rbf, bs::KernelType::expchi2}) {
    BOOST_TEST_CONTEXT(bs::to_string(type)) {
      auto model = make_model(type, V, 300, 17, pyramid_blocks(K), 1, 8.0);
      std::mt19937_64 rng(23);
      const auto h = random_histogram(rng, V);
      bd::Composite taylor;
      taylor.differentiable = bd::DifferentiableRule::taylor;
      const auto t = bd::relevance_dimensions(model, 0, h.data(), taylor);
      const auto ig = bd::relevance_dimensions(model, 0, h.data(), bd::Composite{});
      BOOST_REQUIRE(ig.root_found);
      BOOST_TEST((t.root == ig.root));  // the same root search
      const double scale = std::max(1.0, std::abs(ig.f));
      BOOST_TEST(std::abs(ig.residual) <= 1e-10 * scale, "integrated gradients residual " << ig.residual);
      BOOST_TEST_MESSAGE(bs::to_string(type) << ": f = " << ig.f << ", residual taylor " << t.residual
                                             << ", integrated gradients " << ig.residual << " ("
                                             << ig.quadrature_segments << " segments)");
    }
  }
}

BOOST_AUTO_TEST_CASE(integrated_gradients_match_a_naive_path_integral) {
  // Reference: composite Simpson over 400 steps of the central-difference gradient of the naive
  // decision function, along the same straight path from the root to h.
  const std::size_t V = 12;
  for (auto type : {bs::KernelType::rbf, bs::KernelType::expchi2})
    for (bool blocks : {false, true}) {
      BOOST_TEST_CONTEXT(bs::to_string(type) << (blocks ? " with blocks" : "")) {
        auto model = make_model(type, V, 10, 31, blocks ? std::vector<bs::KernelBlock>{{0, 4, 0.5}, {4, 12, 1.0}}
                                                          : std::vector<bs::KernelBlock>{}, 2, 2.0);
        std::mt19937_64 rng(5);
        std::uniform_real_distribution<double> u(0.05, 0.3);  // interior: expchi2 is smooth there
        std::vector<double> h(V);
        for (auto& v : h) v = u(rng);
        const auto d = bd::relevance_dimensions(model, 1, h.data(), bd::Composite{});
        const int N = 400;
        const double eps = 1e-5;
        std::vector<double> ref(V, 0.0), x(V);
        for (int k = 0; k <= N; ++k) {
          const double t = static_cast<double>(k) / N;
          const double w = (k == 0 || k == N ? 1.0 : k % 2 ? 4.0 : 2.0) / (3.0 * N);
          for (std::size_t j = 0; j < V; ++j) x[j] = d.root[j] + t * (h[j] - d.root[j]);
          for (std::size_t j = 0; j < V; ++j) {
            // The root may lie on the boundary x_j = 0 (a support vector's zero), where expchi2 is
            // defined on one side only: second-order forward differences near it.
            auto a = x, b = x;
            a[j] += eps;
            if (x[j] >= eps) {
              b[j] -= eps;
              ref[j] += w * (naive_decision(model, 1, a.data()) - naive_decision(model, 1, b.data())) / (2 * eps);
            } else {
              b[j] += 2 * eps;
              ref[j] += w * (-3 * naive_decision(model, 1, x.data()) + 4 * naive_decision(model, 1, a.data()) -
                             naive_decision(model, 1, b.data())) / (2 * eps);
            }
          }
        }
        double scale = 1.0;
        for (std::size_t j = 0; j < V; ++j) {
          ref[j] *= h[j] - d.root[j];
          scale = std::max(scale, std::abs(ref[j]));
        }
        for (std::size_t j = 0; j < V; ++j) BOOST_TEST(std::abs(d.R[j] - ref[j]) <= 1e-7 * scale, "dimension " << j << ": " << d.R[j] << " vs " << ref[j]);
        BOOST_TEST(std::abs(d.total() - (naive_decision(model, 1, h.data()) - naive_decision(model, 1, d.root.data()))) <=
                   1e-11);
      }
    }
}

BOOST_AUTO_TEST_CASE(taylor_residual_is_reported_as_not_conserved) {
  const std::size_t K = 8;
  const auto s = make_trace(301, 60, K, kPyramid, MapKind::soft, 1.0, bb::Normalisation::l1, false);
  auto model = make_model(bs::KernelType::rbf, s.trace.pool.dimension(), 30, 41, {}, 2, 4.0);
  bd::Composite comp;
  comp.differentiable = bd::DifferentiableRule::taylor;
  const auto e = make_explainer(model, comp).explain(s.trace, 1);
  const auto rep = bd::check_conservation(e);
  BOOST_TEST((rep.method == bd::SvmMethod::taylor));
  const double rel = std::abs(e.dimensions.f - e.dimensions.total()) / std::max(1.0, std::abs(e.dimensions.f));
  BOOST_REQUIRE_MESSAGE(rel > 1e-3, "this case needs a large Taylor remainder; got " << rel);
  BOOST_TEST(std::abs(rep.relative_residual - rel) <= 1e-15);
  BOOST_TEST(!rep.svm_conserved);
  BOOST_TEST(!rep.ok());  // "conserved" means every layer
  BOOST_TEST(rep.lower_layers_ok());
  BOOST_TEST(rep.finite);
  BOOST_TEST(rep.summary().find("svm layer NOT conserved") != std::string::npos, rep.summary());
  BOOST_TEST(rep.summary().find("relative residual") != std::string::npos, rep.summary());
  // The same image and model with integrated gradients (same root): conserved at every layer.
  const auto ig = make_explainer(model).explain(s.trace, 1);
  BOOST_TEST((ig.dimensions.root == e.dimensions.root));
  const auto rep_ig = bd::check_conservation(ig);
  BOOST_TEST(rep_ig.ok(), rep_ig.summary());
  BOOST_TEST(rep_ig.relative_residual < 1e-9);
}

BOOST_AUTO_TEST_CASE(non_finite_relevance_is_never_conserved) {
  const auto s = make_trace(8, 40, 8, kFlat, MapKind::hard, 1.0, bb::Normalisation::l1, false);
  auto model = make_model(bs::KernelType::intersection, s.trace.pool.dimension(), 10, 8);
  const auto e = make_explainer(model).explain(s.trace, 0);
  BOOST_TEST(bd::check_conservation(e).ok());
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (double bad : {kInf, -kInf, nan}) {
    BOOST_TEST_CONTEXT("f = " << bad) {
      auto broken = e;
      broken.dimensions.f = bad;  // an infinite f made the tolerance infinite: every layer "agreed"
      const auto rep = bd::check_conservation(broken);
      BOOST_TEST(!rep.finite);
      BOOST_TEST(!rep.svm_conserved);
      BOOST_TEST(!rep.features_conserved);
      BOOST_TEST(!rep.pixels_conserved);
      BOOST_TEST(!rep.ok());
      BOOST_TEST(std::isnan(rep.relative_residual));
      BOOST_TEST(rep.summary().find("not finite") != std::string::npos, rep.summary());
    }
    BOOST_TEST_CONTEXT("R = " << bad) {
      auto broken = e;
      broken.dimensions.f = broken.features.R[0] = broken.pixels.R[0] = bad;
      broken.dimensions.R[0] = bad;
      BOOST_TEST(!bd::check_conservation(broken).ok());
      BOOST_TEST(!bd::check_conservation(broken).lower_layers_ok());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
