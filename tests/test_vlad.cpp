// Tests of the VLAD encoding (bow/vlad.h) and its ε-rule relevance (decompose/vlad_relevance.h):
// the forward sums and normalisations against VLFeat's vl_vlad_encode and against a naive reference
// written here in double, the backward split against explicitly materialised ψ_d(l), conservation
// on a real VOC2007 image with a pyramid, determinism across thread counts and the errors.
// Synthetic images and a tiny codebook (K = 8) keep it fast. Partial module builds compile it with
// -DBOWLRP_EXTRA_SUITES=vlad (it needs bow and decompose).
#include <bowlrp/bow/vlad.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/vlad_relevance.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

extern "C" {
#include <vl/vlad.h>
}

#include "test_util.h"

#include <dlfcn.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bb = bowlrp::bow;
namespace bd = bowlrp::decompose;

namespace {

constexpr int kSift = bb::FeatureTrace::kDim;

// A W x H grey image: a gradient, a disc, a stripe patch, a flat patch (whose descriptors fall below
// the contrast threshold and are zeroed) and mild noise.
bb::GrayImage synthetic_image(int W, int H, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  const double gx = u(rng) - 0.5, gy = u(rng) - 0.5;
  const double cx = W * (0.2 + 0.6 * u(rng)), cy = H * (0.2 + 0.6 * u(rng)), r = std::min(W, H) * (0.12 + 0.15 * u(rng));
  const int sx0 = static_cast<int>(W * 0.5 * u(rng)), sy0 = static_cast<int>(H * 0.5 * u(rng));
  const double period = 3 + 5 * u(rng), angle = 3.14159 * u(rng), disc = u(rng);
  const int fx0 = static_cast<int>((W - 24) * u(rng)), fy0 = static_cast<int>((H - 24) * u(rng));
  std::vector<float> px(static_cast<std::size_t>(W) * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      double v = 0.5 + gx * x / W + gy * y / H;
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r) v = disc;
      if (x >= sx0 && x < sx0 + W / 3 && y >= sy0 && y < sy0 + H / 3)
        v = 0.5 + 0.4 * std::sin(6.28318 * (x * std::cos(angle) + y * std::sin(angle)) / period);
      v += 0.04 * (u(rng) - 0.5);
      if (x >= fx0 && x < fx0 + 24 && y >= fy0 && y < fy0 + 24) v = 0.3;  // flat: zeroed descriptors
      px[static_cast<std::size_t>(y) * W + x] = static_cast<float>(std::clamp(v, 0.0, 1.0));
    }
  return bb::ImageLoader(bb::ImageOptions{0}).from_gray(px.data(), W, H);
}

bb::VladPipelineOptions small_options() {
  bb::VladPipelineOptions o;
  o.image.max_side = 0;
  o.dsift.bin_sizes = {4, 6};
  o.vlad.words = 8;
  o.vlad.seed = 1;
  o.vlad.pyramid = {{1, 1}, {2, 1}};
  return o;
}

// The shared training: descriptors of six synthetic images, one codebook, one pipeline.
struct Fixture {
  bb::VladPipelineOptions options = small_options();
  std::vector<float> descriptors;
  std::size_t n = 0;
  bb::Codebook codebook;
  std::shared_ptr<const bb::VladPipeline> pipeline;
};

const Fixture& fixture() {
  static const Fixture f = [] {
    Fixture x;
    const bb::DenseSift sift(x.options.dsift);
    for (std::uint64_t s = 0; s < 6; ++s) {
      const auto t = sift.extract(synthetic_image(64 + 8 * static_cast<int>(s % 3), 48 + 4 * static_cast<int>(s % 2), 100 + s));
      x.descriptors.insert(x.descriptors.end(), t.descriptors.begin(), t.descriptors.end());
    }
    x.n = x.descriptors.size() / kSift;
    x.codebook = bb::train_vlad_codebook(x.descriptors.data(), x.n, x.options.vlad);
    x.pipeline = std::make_shared<const bb::VladPipeline>(x.options, x.codebook);
    return x;
  }();
  return f;
}

bool zero_descriptor(const float* d) {
  return std::all_of(d, d + kSift, [](float v) { return v == 0.0f; });
}

// The nearest centre in double over every word (ties to the lowest k).
int naive_nearest(const bb::Codebook& cb, const float* s) {
  int best = 0;
  double best_d = std::numeric_limits<double>::infinity();
  for (int k = 0; k < cb.size(); ++k) {
    double d = 0;
    for (int j = 0; j < kSift; ++j) {
      const double e = static_cast<double>(s[j]) - cb.centre(k)[j];
      d += e * e;
    }
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

// RootSIFT in double, written out again.
std::vector<float> naive_root_sift(const float* d) {
  double l1 = 0;
  for (int j = 0; j < kSift; ++j) l1 += std::abs(d[j]);
  std::vector<float> out(kSift, 0.0f);
  if (l1 > 0)
    for (int j = 0; j < kSift; ++j) out[j] = static_cast<float>(std::sqrt(std::abs(d[j]) / l1));
  return out;
}

// Φ from z by the header's formulas, in double.
std::vector<double> naive_normalise(const std::vector<double>& z, std::size_t K, std::size_t cells, bool ssr, bool intra) {
  std::vector<double> v(z.size());
  for (std::size_t d = 0; d < z.size(); ++d) v[d] = ssr ? (z[d] < 0 ? -std::sqrt(-z[d]) : std::sqrt(z[d])) : z[d];
  const std::size_t cell_dim = K * kSift;
  for (std::size_t c = 0; c < cells; ++c) {
    if (intra)
      for (std::size_t k = 0; k < K; ++k) {
        double n = 0;
        for (int j = 0; j < kSift; ++j) n += v[c * cell_dim + k * kSift + j] * v[c * cell_dim + k * kSift + j];
        n = std::max(std::sqrt(n), 1e-12);
        for (int j = 0; j < kSift; ++j) v[c * cell_dim + k * kSift + j] /= n;
      }
    double n = 0;
    for (std::size_t d = 0; d < cell_dim; ++d) n += v[c * cell_dim + d] * v[c * cell_dim + d];
    n = std::max(std::sqrt(n), 1e-12) * std::sqrt(static_cast<double>(cells));
    for (std::size_t d = 0; d < cell_dim; ++d) v[c * cell_dim + d] /= n;
  }
  return v;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

std::vector<double> random_relevance(std::size_t V, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> R(V);
  for (double& r : R) r = g(rng);
  return R;
}

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
double abs_sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += std::abs(x);
  return s;
}

// Whether calling f throws E whose message contains every needle.
template <class E, class F>
bool throws_with(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
  } catch (const E& e) {
    const std::string m = e.what();
    for (const std::string& n : needles)
      if (m.find(n) == std::string::npos) {
        BOOST_TEST_MESSAGE("message '" + m + "' lacks '" + n + "'");
        return false;
      }
    return true;
  } catch (...) {
    return false;
  }
  return false;
}

// The i-th image of VOC2007's train list.
std::string voc_image(std::size_t i) {
  std::ifstream list(bowlrp::test::voc_root() + "/ImageSets/Main/train.txt");
  std::string id;
  for (std::size_t k = 0; k <= i; ++k) std::getline(list, id);
  return bowlrp::test::voc_root() + "/JPEGImages/" + id + ".jpg";
}

// OpenBLAS's thread-count setter and getter, found at run time (the test binary links OpenBLAS only
// through libbowlrp_bow).
using SetThreads = void (*)(int);
using GetThreads = int (*)();
SetThreads blas_setter() { return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); }
GetThreads blas_getter() { return reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); }

// A pipeline of the fixture's codebook with other normalisation flags and pyramid.
bb::VladPipeline variant(bool ssr, bool intra, std::vector<bowlrp::core::PyramidLevel> pyramid) {
  bb::VladPipelineOptions o = fixture().options;
  o.vlad.signed_sqrt = ssr;
  o.vlad.intra_normalisation = intra;
  o.vlad.pyramid = std::move(pyramid);
  return bb::VladPipeline(o, fixture().codebook);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(vlad)

// One cell: z and Φ equal VLFeat's vl_vlad_encode of the same local descriptors, centres and
// one-hot assignments, for every combination of the two normalisation flags; the double version
// agrees to rounding, the float version to float accuracy.
BOOST_AUTO_TEST_CASE(one_cell_matches_vl_vlad_encode) {
  const Fixture& f = fixture();
  const std::size_t K = static_cast<std::size_t>(f.codebook.size()), V = K * kSift;
  double worst_z_double = 0, worst_z_float = 0, worst_phi_double = 0, worst_phi_float = 0;
  for (std::uint64_t seed : {7, 8}) {
    const bb::GrayImage image = synthetic_image(72, 56, seed);
    for (int flags = 0; flags < 4; ++flags) {
      const bool ssr = flags & 1, intra = flags & 2;
      const bb::VladPipeline p = variant(ssr, intra, {{1, 1}});
      const bb::VladTrace t = p.encode(image);
      BOOST_TEST_REQUIRE(t.vlad.size() == V);
      // VLFeat's inputs: the assigned features only (a skipped one has no assignment row).
      std::vector<float> data, q;
      std::size_t n = 0;
      for (std::size_t l = 0; l < t.features.size(); ++l) {
        if (t.assignment[l] < 0) continue;
        data.insert(data.end(), t.local.begin() + l * kSift, t.local.begin() + (l + 1) * kSift);
        q.resize(q.size() + K, 0.0f);
        q[n * K + static_cast<std::size_t>(t.assignment[l])] = 1.0f;
        ++n;
      }
      BOOST_TEST_REQUIRE(n > 10);
      BOOST_TEST_REQUIRE(n < t.features.size());  // the flat patch's zeroed descriptors are skipped
      const std::vector<double> data_d(data.begin(), data.end()), q_d(q.begin(), q.end());
      const std::vector<double> means_d(f.codebook.centres().begin(), f.codebook.centres().end());
      const int vl_flags = (ssr ? VL_VLAD_FLAG_SQUARE_ROOT : 0) | (intra ? VL_VLAD_FLAG_NORMALIZE_COMPONENTS : 0);
      std::vector<float> enc_f(V);
      std::vector<double> enc_d(V);
      // Unnormalised: z.
      vl_vlad_encode(enc_f.data(), VL_TYPE_FLOAT, f.codebook.centres().data(), kSift, K, data.data(), n, q.data(),
                     VL_VLAD_FLAG_UNNORMALIZED);
      vl_vlad_encode(enc_d.data(), VL_TYPE_DOUBLE, means_d.data(), kSift, K, data_d.data(), n, q_d.data(),
                     VL_VLAD_FLAG_UNNORMALIZED);
      const double z_scale = std::max(1.0, *std::max_element(t.unnormalised.begin(), t.unnormalised.end(),
                                                             [](double a, double b) { return std::abs(a) < std::abs(b); }));
      const double dz_d = max_abs_diff(t.unnormalised, enc_d);
      const double dz_f = max_abs_diff(t.unnormalised, std::vector<double>(enc_f.begin(), enc_f.end()));
      BOOST_TEST(dz_d <= 1e-12 * z_scale);
      BOOST_TEST(dz_f <= 1e-5 * std::abs(z_scale));
      worst_z_double = std::max(worst_z_double, dz_d);
      worst_z_float = std::max(worst_z_float, dz_f);
      // Normalised: Φ (one cell, so no 1/sqrt(cells) factor).
      vl_vlad_encode(enc_f.data(), VL_TYPE_FLOAT, f.codebook.centres().data(), kSift, K, data.data(), n, q.data(), vl_flags);
      vl_vlad_encode(enc_d.data(), VL_TYPE_DOUBLE, means_d.data(), kSift, K, data_d.data(), n, q_d.data(), vl_flags);
      const double dp_d = max_abs_diff(t.vlad, enc_d);
      const double dp_f = max_abs_diff(t.vlad, std::vector<double>(enc_f.begin(), enc_f.end()));
      BOOST_TEST(dp_d <= 1e-12);
      BOOST_TEST(dp_f <= 2e-6);
      worst_phi_double = std::max(worst_phi_double, dp_d);
      worst_phi_float = std::max(worst_phi_float, dp_f);
      // Unit norm, and some blocks are empty (zero) with K = 8 on a small image or not: either way
      // the norm of the whole vector is 1.
      double nn = 0;
      for (double v : t.vlad) nn += v * v;
      BOOST_TEST(std::abs(nn - 1.0) <= 1e-12);
    }
  }
  BOOST_TEST_MESSAGE("max |bowlrp - vl_vlad_encode|: z double " << worst_z_double << ", z float " << worst_z_float
                                                               << ", Φ double " << worst_phi_double << ", Φ float "
                                                               << worst_phi_float);
}

// The forward pass against a naive reference: RootSIFT, nearest centre, residual sums per cell of
// a 1x1 + 2x1 pyramid, normalisations with the 1/sqrt(cells) scale.
BOOST_AUTO_TEST_CASE(encode_matches_the_naive_sums_and_normalisation) {
  const Fixture& f = fixture();
  const bb::VladPipeline& p = *f.pipeline;
  const std::size_t K = 8, cells = 3, V = K * kSift * cells;
  BOOST_TEST(p.dimension() == V);
  const bb::VladTrace t = p.encode(synthetic_image(80, 52, 21));
  const std::size_t L = t.features.size();
  BOOST_TEST_REQUIRE(t.unnormalised.size() == V);
  std::vector<double> z(V, 0.0);
  std::vector<int> counts(cells, 0);
  std::size_t skipped = 0;
  for (std::size_t l = 0; l < L; ++l) {
    const std::vector<float> s = naive_root_sift(t.features.descriptor(l));
    BOOST_TEST(std::memcmp(s.data(), t.local.data() + l * kSift, kSift * sizeof(float)) == 0);
    const bb::Frame& fr = t.features.frames[l];
    const int cx = std::min(1, static_cast<int>(std::floor((fr.x + 0.5) * 2 / t.features.width)));
    const int cell[2] = {0, 1 + cx};
    for (int c : cell) ++counts[c];
    BOOST_TEST(t.feature_cells[l * 2] == cell[0]);
    BOOST_TEST(t.feature_cells[l * 2 + 1] == cell[1]);
    if (zero_descriptor(t.features.descriptor(l))) {
      BOOST_TEST(t.assignment[l] == -1);
      ++skipped;
      continue;
    }
    const int k = naive_nearest(f.codebook, s.data());
    BOOST_TEST(t.assignment[l] == k);
    for (int c : cell)
      for (int j = 0; j < kSift; ++j)
        z[c * K * kSift + k * kSift + j] += static_cast<double>(s[j]) - f.codebook.centre(k)[j];
  }
  BOOST_TEST(skipped > 0);
  BOOST_TEST(t.cell_counts == counts, boost::test_tools::per_element());
  BOOST_TEST(max_abs_diff(t.unnormalised, z) <= 1e-12);
  const std::vector<double> phi = naive_normalise(z, K, cells, true, true);
  BOOST_TEST(max_abs_diff(t.vlad, phi) <= 1e-13);
  // Each cell has norm 1/sqrt(cells); the whole vector norm 1.
  for (std::size_t c = 0; c < cells; ++c) {
    double n = 0;
    for (std::size_t d = 0; d < K * kSift; ++d) n += t.vlad[c * K * kSift + d] * t.vlad[c * K * kSift + d];
    BOOST_TEST(std::abs(n - 1.0 / cells) <= 1e-12);
  }
  BOOST_TEST(&t.histogram() == &t.vlad);
  BOOST_TEST(t.pipeline.hex() == p.fingerprint().hex());
}

// Relevance against ψ_d(l) materialised as an L x V matrix: R_l = Σ_d R_d ψ_d(l) / (z_d + ε sign z_d)
// plus the even share of empty blocks; absorbed as the header's formula; conservation.
BOOST_AUTO_TEST_CASE(relevance_matches_explicit_psi_and_conserves) {
  const Fixture& f = fixture();
  const bb::VladPipeline& p = *f.pipeline;
  const std::size_t K = 8, cells = 3, cell_dim = K * kSift, V = cells * cell_dim;
  const bb::VladTrace t = p.encode(synthetic_image(72, 48, 33));
  const std::size_t L = t.features.size();
  std::vector<double> psi(L * V, 0.0), z(V, 0.0);
  std::vector<int> block_count(cells * K, 0), cell_count(cells, 0);
  for (std::size_t l = 0; l < L; ++l) {
    for (int lv = 0; lv < 2; ++lv) ++cell_count[t.feature_cells[l * 2 + lv]];
    if (zero_descriptor(t.features.descriptor(l))) continue;
    const std::vector<float> s = naive_root_sift(t.features.descriptor(l));
    const int k = naive_nearest(f.codebook, s.data());
    for (int lv = 0; lv < 2; ++lv) {
      const int c = t.feature_cells[l * 2 + lv];
      ++block_count[c * K + k];
      for (int j = 0; j < kSift; ++j) {
        const std::size_t d = c * cell_dim + k * kSift + j;
        psi[l * V + d] = static_cast<double>(s[j]) - f.codebook.centre(k)[j];
        z[d] += psi[l * V + d];
      }
    }
  }
  bool some_empty_block = false;
  for (int b : block_count) some_empty_block |= b == 0;
  BOOST_TEST(some_empty_block);  // the even share is exercised
  const std::vector<double> R_d = random_relevance(V, 5);
  for (double eps : {1e-9, 1e-2, 1.0}) {
    bd::FisherRule rule;
    rule.epsilon = eps;
    const bd::FeatureRelevance r = bd::relevance_vlad_features(p, t, R_d, rule);
    std::vector<double> R(L, 0.0);
    double absorbed = 0;
    std::vector<double> per_word(K, 0.0), per_cell(cells, 0.0);
    for (std::size_t c = 0; c < cells; ++c)
      for (std::size_t k = 0; k < K; ++k)
        for (int j = 0; j < kSift; ++j) {
          const std::size_t d = c * cell_dim + k * kSift + j;
          per_word[k] += R_d[d];
          per_cell[c] += R_d[d];
          if (block_count[c * K + k] == 0) {
            for (std::size_t l = 0; l < L; ++l)
              for (int lv = 0; lv < 2; ++lv)
                if (t.feature_cells[l * 2 + lv] == static_cast<int>(c)) R[l] += R_d[d] / cell_count[c];
            continue;
          }
          const double den = z[d] + (z[d] >= 0 ? eps : -eps);
          for (std::size_t l = 0; l < L; ++l) R[l] += R_d[d] * psi[l * V + d] / den;
          absorbed += R_d[d] * eps / (std::abs(z[d]) + eps);
        }
    BOOST_TEST_REQUIRE(r.R.size() == L);
    const double scale = abs_sum(R_d);
    BOOST_TEST(max_abs_diff(r.R, R) <= 1e-12 * scale);
    BOOST_TEST(std::abs(r.absorbed - absorbed) <= 1e-12 * scale);
    BOOST_TEST(r.unassigned == 0.0);
    BOOST_TEST(max_abs_diff(r.per_word, per_word) <= 1e-12 * scale);
    BOOST_TEST(max_abs_diff(r.per_cell, per_cell) <= 1e-12 * scale);
    BOOST_TEST(std::abs(sum(r.R) + r.absorbed + r.unassigned - sum(R_d)) <= 1e-9 * scale);
    // A skipped (zeroed) feature gets only its cells' even shares.
    for (std::size_t l = 0; l < L; ++l)
      if (t.assignment[l] < 0) {
        double share = 0;
        for (int lv = 0; lv < 2; ++lv) {
          const int c = t.feature_cells[l * 2 + lv];
          for (std::size_t k = 0; k < K; ++k)
            if (block_count[c * K + k] == 0)
              for (int j = 0; j < kSift; ++j) share += R_d[c * cell_dim + k * kSift + j] / cell_count[c];
        }
        BOOST_TEST(std::abs(r.R[l] - share) <= 1e-12 * scale);
      }
  }
}

// An empty pyramid cell: its z and Φ stay 0 and its relevance is unassigned.
BOOST_AUTO_TEST_CASE(empty_cell_stays_zero_and_leaves_its_relevance_unassigned) {
  const Fixture& f = fixture();
  const bb::VladPipeline& p = *f.pipeline;  // 1x1 + 2x1
  bb::FeatureTrace all = p.sift().extract(synthetic_image(80, 48, 44)), left = all;
  left.frames.clear();
  left.descriptors.clear();
  for (std::size_t l = 0; l < all.size(); ++l)
    if ((all.frames[l].x + 0.5) * 2 < all.width) {
      left.frames.push_back(all.frames[l]);
      left.descriptors.insert(left.descriptors.end(), all.descriptor(l), all.descriptor(l) + kSift);
    }
  BOOST_TEST_REQUIRE(left.size() > 0);
  const bb::VladTrace t = p.encode_features(left);
  const std::size_t cell_dim = 8 * kSift;
  BOOST_TEST(t.cell_counts[2] == 0);
  for (std::size_t d = 2 * cell_dim; d < 3 * cell_dim; ++d) {
    BOOST_TEST(t.unnormalised[d] == 0.0);
    BOOST_TEST(t.vlad[d] == 0.0);
  }
  const std::vector<double> R_d = random_relevance(p.dimension(), 9);
  const bd::FeatureRelevance r = bd::relevance_vlad_features(p, t, R_d);
  const double empty = std::accumulate(R_d.begin() + 2 * cell_dim, R_d.end(), 0.0);
  BOOST_TEST(std::abs(r.unassigned - empty) <= 1e-12 * abs_sum(R_d));
  BOOST_TEST(std::abs(sum(r.R) + r.absorbed + r.unassigned - sum(R_d)) <= 1e-9 * abs_sum(R_d));
  // No features at all: everything unassigned, Φ = 0.
  bb::FeatureTrace none = left;
  none.frames.clear();
  none.descriptors.clear();
  const bb::VladTrace t0 = p.encode_features(none);
  BOOST_TEST(std::all_of(t0.vlad.begin(), t0.vlad.end(), [](double v) { return v == 0.0; }));
  const bd::FeatureRelevance r0 = bd::relevance_vlad_features(p, t0, R_d);
  BOOST_TEST(r0.R.empty());
  BOOST_TEST(std::abs(r0.unassigned - sum(R_d)) <= 1e-12 * abs_sum(R_d));
}

// Conservation on real VOC2007 images with a 1x1 + 2x2 pyramid, for a random R_d and for the
// relevance of a linear head (R_d = w_d Φ_d), for several ε.
BOOST_AUTO_TEST_CASE(relevance_conserves_on_voc_images_with_a_pyramid) {
  if (!bowlrp::test::have_voc()) return;
  bb::VladPipelineOptions o;
  o.image.max_side = 240;
  o.vlad.words = 16;
  o.vlad.samples = 20000;
  o.vlad.pyramid = {{1, 1}, {2, 2}};
  std::vector<float> desc;
  {
    const bb::ImageLoader loader(o.image);
    const bb::DenseSift sift(o.dsift);
    for (std::size_t i = 0; i < 3; ++i) {
      const auto t = sift.extract(loader.load(voc_image(i)));
      desc.insert(desc.end(), t.descriptors.begin(), t.descriptors.end());
    }
  }
  const bb::VladPipeline p(o, bb::train_vlad_codebook(desc.data(), desc.size() / kSift, o.vlad));
  double worst = 0, worst_absorbed = 0;
  for (std::size_t i : {3, 4}) {
    const bb::VladTrace t = p.encode_file(voc_image(i));
    BOOST_TEST_REQUIRE(t.features.size() > 100);
    const std::vector<double> w = random_relevance(p.dimension(), 100 + i);
    std::vector<double> linear(p.dimension());
    for (std::size_t d = 0; d < linear.size(); ++d) linear[d] = w[d] * t.vlad[d];
    for (const std::vector<double>* R_d : std::vector<const std::vector<double>*>{&w, &linear})
      for (double eps : {1e-9, 1e-3, 1.0}) {
        bd::FisherRule rule;
        rule.epsilon = eps;
        const bd::FeatureRelevance r = bd::relevance_vlad_features(p, t, *R_d, rule);
        const double lhs = sum(r.R) + r.absorbed + r.unassigned, rhs = sum(*R_d);
        worst = std::max(worst, std::abs(lhs - rhs) / abs_sum(*R_d));
        if (eps == 1e-9) worst_absorbed = std::max(worst_absorbed, std::abs(r.absorbed) / abs_sum(*R_d));
        BOOST_TEST(std::abs(lhs - rhs) <= 1e-9 * abs_sum(*R_d), "image " << i << " eps " << eps << ": " << lhs << " vs " << rhs);
        BOOST_TEST(std::abs(sum(r.per_cell) - rhs) <= 1e-9 * abs_sum(*R_d));
        BOOST_TEST(std::abs(sum(r.per_word) - rhs) <= 1e-9 * abs_sum(*R_d));
        if (eps == 1e-9) BOOST_TEST(std::abs(r.absorbed) <= 1e-6 * abs_sum(*R_d));
      }
  }
  BOOST_TEST_MESSAGE("VOC conservation: worst |Σ R_l + absorbed + unassigned - Σ R_d| / Σ |R_d| = "
                     << worst << "; |absorbed| / Σ |R_d| at ε = 1e-9: " << worst_absorbed);
}

// encode gives the same bytes whatever the BLAS and TBB thread counts.
BOOST_AUTO_TEST_CASE(encode_is_independent_of_thread_count) {
  const SetThreads set = blas_setter();
  const GetThreads get = blas_getter();
  BOOST_TEST_REQUIRE((set != nullptr && get != nullptr), "openblas_set_num_threads not found: is bow linked to OpenBLAS?");
  const int before = get();
  const bb::GrayImage image = synthetic_image(160, 120, 55);
  std::vector<bb::VladTrace> traces;
  for (int threads : {1, 2}) {
    set(threads);
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
    traces.push_back(fixture().pipeline->encode(image));
  }
  set(before);
  BOOST_TEST(traces[0].assignment == traces[1].assignment, boost::test_tools::per_element());
  BOOST_TEST(std::memcmp(traces[0].vlad.data(), traces[1].vlad.data(), traces[0].vlad.size() * sizeof(double)) == 0);
  BOOST_TEST(std::memcmp(traces[0].unnormalised.data(), traces[1].unnormalised.data(),
                         traces[0].unnormalised.size() * sizeof(double)) == 0);
}

// Replacing features gives exactly the encoding of the changed image: every feature by those of
// another image (in either order), or the features a changed region reaches (extract_region);
// bad counts and indices are refused.
BOOST_AUTO_TEST_CASE(replace_features_reproduces_encode_bit_for_bit) {
  const bb::VladPipeline& p = *fixture().pipeline;
  const auto same_bytes = [](const std::vector<double>& a, const std::vector<double>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0;
  };
  const bb::GrayImage image = synthetic_image(64, 48, 402), other = synthetic_image(64, 48, 403);
  const bb::VladTrace want = p.encode(other);
  const bb::FeatureTrace fresh = p.sift().extract(other);
  std::vector<std::size_t> all(fresh.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  bb::VladTrace t = p.encode(image);
  BOOST_TEST_REQUIRE(fresh.size() == t.features.size());
  BOOST_TEST_REQUIRE(max_abs_diff(t.vlad, want.vlad) > 1e-3);
  p.replace_features(t, fresh, all);
  BOOST_TEST(t.features.descriptors == want.features.descriptors, boost::test_tools::per_element());
  BOOST_TEST(t.assignment == want.assignment, boost::test_tools::per_element());
  BOOST_TEST(t.word_counts == want.word_counts, boost::test_tools::per_element());
  BOOST_TEST(same_bytes(t.unnormalised, want.unnormalised));
  BOOST_TEST(same_bytes(t.vlad, want.vlad));
  bb::VladTrace u = p.encode(image);
  const std::vector<std::size_t> reversed(all.rbegin(), all.rend());
  bb::FeatureTrace flipped = fresh;
  for (std::size_t i = 0; i < fresh.size(); ++i) {
    flipped.frames[i] = fresh.frames[reversed[i]];
    std::copy(fresh.descriptor(reversed[i]), fresh.descriptor(reversed[i]) + kSift, flipped.descriptors.begin() + i * kSift);
  }
  p.replace_features(u, flipped, reversed);
  BOOST_TEST(same_bytes(u.vlad, want.vlad));
  // A region made flat: only the features it reaches are recomputed.
  bb::GrayImage changed = image;
  const bb::Box box{20, 10, 40, 30};
  for (int y = box.y0; y < box.y1; ++y)
    for (int x = box.x0; x < box.x1; ++x) changed.pixels[static_cast<std::size_t>(y) * changed.width + x] = 0.5f;
  std::vector<std::size_t> indices;
  const bb::FeatureTrace region = p.sift().extract_region(changed, box, &indices);
  BOOST_TEST_REQUIRE(!indices.empty());
  BOOST_TEST_REQUIRE(indices.size() < t.features.size());
  bb::VladTrace r = p.encode(image);
  p.replace_features(r, region, indices);
  const bb::VladTrace full = p.encode(changed);
  BOOST_TEST(r.assignment == full.assignment, boost::test_tools::per_element());
  BOOST_TEST(same_bytes(r.vlad, full.vlad));
  BOOST_TEST(max_abs_diff(r.vlad, p.encode(image).vlad) > 1e-6);  // the region changed something
  BOOST_TEST(throws_with<std::invalid_argument>([&] { p.replace_features(r, fresh, std::vector<std::size_t>(3, 0)); },
                                                {"replace_features", std::to_string(fresh.size()) + " replacement", "3 indices"}));
  bb::FeatureTrace one = fresh;
  one.frames.resize(1);
  one.descriptors.resize(kSift);
  BOOST_TEST(throws_with<std::invalid_argument>([&] { p.replace_features(r, one, {fresh.size()}); },
                                                {"replace_features", "index " + std::to_string(fresh.size())}));
  bb::VladTrace broken = p.encode(image);
  broken.feature_cells[1] = 7;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { p.pool(broken); }, {"VladPipeline::pool", "cell 7 of 3"}));
}

// Training: zeroed descriptors dropped, RootSIFT applied, then Codebook::train; deterministic.
BOOST_AUTO_TEST_CASE(train_vlad_codebook_is_kmeans_of_the_nonzero_rootsift_descriptors) {
  const Fixture& f = fixture();
  std::vector<float> kept;
  for (std::size_t l = 0; l < f.n; ++l)
    if (!zero_descriptor(f.descriptors.data() + l * kSift)) {
      const std::vector<float> s = naive_root_sift(f.descriptors.data() + l * kSift);
      kept.insert(kept.end(), s.begin(), s.end());
    }
  BOOST_TEST_REQUIRE(kept.size() < f.descriptors.size());
  const bb::Codebook direct = bb::Codebook::train(kept.data(), kept.size() / kSift, kSift, f.options.vlad.kmeans_options());
  BOOST_TEST(direct.centres() == f.codebook.centres(), boost::test_tools::per_element());
  const bb::Codebook again = bb::train_vlad_codebook(f.descriptors.data(), f.n, f.options.vlad);
  BOOST_TEST(again.centres() == f.codebook.centres(), boost::test_tools::per_element());
  BOOST_TEST(f.options.vlad.kmeans_options().words == 8);
  BOOST_TEST(f.options.vlad.kmeans_options().seed == 1u);
  bb::VladOptions many = f.options.vlad;
  many.words = 4096;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bb::train_vlad_codebook(f.descriptors.data(), 100, many); },
                                                {"4096 words", "non-zero descriptors"}));
}

// The fingerprint follows the encoding options and the codebook, not the training-only options.
BOOST_AUTO_TEST_CASE(fingerprint_and_canonical_text) {
  const Fixture& f = fixture();
  bb::VladPipelineOptions o = f.options;
  o.vlad.seed = 99;
  o.vlad.samples = 5;
  o.vlad.max_iterations = 3;
  BOOST_TEST(bb::VladPipeline(o, f.codebook).fingerprint().hex() == f.pipeline->fingerprint().hex());
  BOOST_TEST(bb::canonical_encoding_options(o) == bb::canonical_encoding_options(f.options));
  BOOST_TEST(bb::canonical_training_options(o) != bb::canonical_training_options(f.options));
  BOOST_TEST(variant(false, true, f.options.vlad.pyramid).fingerprint().hex() != f.pipeline->fingerprint().hex());
  BOOST_TEST(variant(true, false, f.options.vlad.pyramid).fingerprint().hex() != f.pipeline->fingerprint().hex());
  BOOST_TEST(variant(true, true, {{1, 1}}).fingerprint().hex() != f.pipeline->fingerprint().hex());
  std::vector<float> other = f.codebook.centres();
  other[5] += 0.01f;
  BOOST_TEST(bb::VladPipeline(f.options, bb::Codebook(kSift, other)).fingerprint().hex() != f.pipeline->fingerprint().hex());
}

BOOST_AUTO_TEST_CASE(bad_options_codebooks_traces_and_relevance_sizes_throw) {
  const Fixture& f = fixture();
  auto with = [&](auto change) {
    bb::VladOptions o = f.options.vlad;
    change(o);
    return o;
  };
  const auto check = [&](const bb::VladOptions& o, std::initializer_list<std::string> needles) {
    BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, needles));
    bb::VladPipelineOptions po = f.options;
    po.vlad = o;
    BOOST_TEST(throws_with<std::invalid_argument>([&] { bb::VladPipeline(po, f.codebook); }, needles));
  };
  check(with([](bb::VladOptions& o) { o.words = 0; }), {"VladOptions::words = 0", "1 .. 4096"});
  check(with([](bb::VladOptions& o) { o.words = 5000; }), {"VladOptions::words = 5000"});
  check(with([](bb::VladOptions& o) { o.samples = 0; }), {"VladOptions::samples = 0"});
  check(with([](bb::VladOptions& o) { o.max_iterations = 0; }), {"VladOptions::max_iterations = 0"});
  check(with([](bb::VladOptions& o) { o.pyramid.clear(); }), {"VladOptions::pyramid", "at least one level"});
  check(with([](bb::VladOptions& o) { o.pyramid = {{1, 1}, {0, 2}}; }), {"VladOptions::pyramid[1] = 0x2"});
  bb::VladPipelineOptions bad_sift = f.options;
  bad_sift.dsift.step = 0;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bb::VladPipeline(bad_sift, f.codebook); }, {"step"}));
  // Codebooks of the wrong size or dimension (bow::Codebook itself refuses non-finite centres).
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bb::VladPipeline(f.options, bb::Codebook(kSift, std::vector<float>(7 * kSift, 0.1f))); },
      {"VladPipeline", "7 words of dimension 128", "expected 8"}));
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bb::VladPipeline(f.options, bb::Codebook(64, std::vector<float>(8 * 64, 0.1f))); },
      {"VladPipeline", "dimension 64"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bb::VladPipeline(f.options, bb::Codebook()); },
                                                {"VladPipeline", "0 words"}));
  // A trace of another pipeline, a wrong R_d size, a broken trace, a bad ε.
  const bb::VladPipeline other = variant(false, false, f.options.vlad.pyramid);
  const bb::VladTrace t = other.encode(synthetic_image(64, 48, 3));
  const std::vector<double> R_d(f.pipeline->dimension(), 1.0);
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::relevance_vlad_features(*f.pipeline, t, R_d); },
                                                {"relevance_vlad_features", "another pipeline"}));
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bd::relevance_vlad_features(other, t, std::vector<double>(R_d.size() - 1, 1.0)); },
      {"relevance_vlad_features", "R_d has " + std::to_string(R_d.size() - 1) + " values"}));
  bb::VladTrace broken = t;
  broken.assignment.pop_back();
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::relevance_vlad_features(other, broken, R_d); },
                                                {"relevance_vlad_features", "disagree"}));
  broken = t;
  broken.assignment[0] = 8;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::relevance_vlad_features(other, broken, R_d); },
                                                {"relevance_vlad_features", "word 8"}));
  broken = t;
  broken.feature_cells[0] = -1;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::relevance_vlad_features(other, broken, R_d); },
                                                {"relevance_vlad_features", "cell -1 of 3"}));
  bd::FisherRule zero_eps;
  zero_eps.epsilon = 0;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bd::relevance_vlad_features(other, t, R_d, zero_eps); }, {}));
  // Features without an image size, or with a descriptor count that does not match the frames.
  bb::FeatureTrace sized = t.features;
  sized.width = 0;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { other.encode_features(sized); }, {"no image size"}));
  sized = t.features;
  sized.descriptors.pop_back();
  BOOST_TEST(throws_with<std::invalid_argument>([&] { other.encode_features(sized); }, {"128 per frame"}));
}

// ---------- VLAD as a model kind (model/kinds/vlad.h, its model-file codec) ----------

namespace {
// A VLAD model of the fixture's pipeline with a random linear head of three classes.
bowlrp::model::Model vlad_model(std::uint64_t seed) {
  const std::size_t V = fixture().pipeline->dimension();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<bowlrp::svm::LinearClass> classes;
  for (const char* name : {"a", "b", "c"}) {
    bowlrp::svm::LinearClass c{name, g(rng), std::vector<double>(V)};
    for (double& w : c.weights) w = g(rng);
    classes.push_back(std::move(c));
  }
  return bowlrp::model::Model(fixture().pipeline, std::make_shared<const bowlrp::svm::LinearSvm>(V, std::move(classes)));
}

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
}  // namespace

// The model knows the kind by its registration alone: its name, summary, dimension, and a model file
// that loads to the same pipeline (fingerprint), the same decisions bit for bit, and saves again to
// the same bytes; FitOptions::from_model gives back the VLAD options.
BOOST_AUTO_TEST_CASE(a_vlad_model_round_trips_through_its_model_file) {
  const bowlrp::model::Model m = vlad_model(5);
  BOOST_TEST(m.encoding_kind() == "vlad");
  BOOST_TEST(m.encoding_summary().find("vlad, RootSIFT, 8 words") == 0, m.encoding_summary());
  BOOST_TEST(bowlrp::model::encoding_kind_from_string("vlad") == "vlad");
  bowlrp::test::TempDir tmp;
  m.save(tmp / "v.bowlrp");
  const bowlrp::model::Model back = bowlrp::model::Model::load(tmp / "v.bowlrp");
  BOOST_TEST(back.encoding_kind() == "vlad");
  BOOST_TEST((back.fingerprint() == m.fingerprint()));
  BOOST_TEST(back.encoding_as<bb::VladPipeline>().codebook().centres() == fixture().codebook.centres());
  const bb::GrayImage image = synthetic_image(72, 52, 7);
  const bowlrp::model::Trace t = m.encode(image), tb = back.encode(image);
  const std::vector<double> f = m.scores(t), fb = back.scores(tb);
  BOOST_TEST(std::memcmp(f.data(), fb.data(), f.size() * sizeof(double)) == 0);
  back.save(tmp / "again.bowlrp");
  BOOST_TEST((file_bytes(tmp / "v.bowlrp") == file_bytes(tmp / "again.bowlrp")));
  const bowlrp::model::FitOptions o = bowlrp::model::FitOptions::from_model(back);
  BOOST_TEST(o.encoding == "vlad");
  BOOST_TEST(!o.head.has_value());  // linear SVMs are VLAD's default head
  BOOST_TEST(o.vlad.words == 8);
  BOOST_TEST((o.vlad.pyramid.size() == 2 && o.vlad.pyramid[1].cols == 2));
  BOOST_TEST(o.mirrors());
  // A head of another dimension is refused with the kind's own account of V.
  std::vector<bowlrp::svm::LinearClass> short_head = {{"a", 0, std::vector<double>(10)}};
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] {
        bowlrp::model::Model(fixture().pipeline, std::make_shared<const bowlrp::svm::LinearSvm>(10, short_head));
      },
      {"words x 128 x pyramid cells"}));
}

// The model's explainer chains the linear head's rule and the VLAD ε rule: every layer conserves,
// the absorbed part of the VLAD layer reported; the sensitivity map covers the image.
BOOST_AUTO_TEST_CASE(a_vlad_model_explains_conserving_at_every_layer) {
  const bowlrp::model::Model m = vlad_model(6);
  for (std::uint64_t seed : {11, 12, 13}) {
    const bb::GrayImage image = synthetic_image(80, 60, seed);
    const bowlrp::model::Trace t = m.encode(image);
    for (std::size_t cls = 0; cls < m.classes(); ++cls) {
      const bd::Explanation e = m.explainer().explain(t, cls);
      const bd::ConservationReport r = bd::check_conservation(e);
      BOOST_TEST(r.ok(), "class " << cls << " residual " << r.relative_residual);
      const double sum_d = r.sum_dimensions;
      BOOST_TEST(std::abs(sum_d - (r.sum_features + r.unassigned_features + r.absorbed_features)) <=
                 1e-9 * std::max(1.0, std::abs(sum_d)));
    }
    const std::vector<double> s = m.sensitivity_map(0, t);
    BOOST_TEST(s.size() == static_cast<std::size_t>(image.original_width) * image.original_height);
    BOOST_TEST(std::all_of(s.begin(), s.end(), [](double v) { return v >= 0 && std::isfinite(v); }));
  }
  // A trace of another kind of encoding is refused by the explainer.
  const bb::EncodeTrace other;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { m.explainer().explain(other, std::size_t{0}); },
                                                {"another kind of encoding"}));
}

// The flipper reaches VLAD through replace_features: its incremental curve equals re-encoding every
// perturbed image (VLAD's replacement is exact), bit for bit.
BOOST_AUTO_TEST_CASE(incremental_pixel_flipping_of_a_vlad_model_equals_full_reencoding) {
  const bowlrp::model::Model m = vlad_model(7);
  const bb::GrayImage image = synthetic_image(72, 54, 21);
  const bowlrp::model::Trace t = m.encode(image);
  bowlrp::evaluation::PixelFlipOptions o;
  o.region_size = 9;
  o.steps = 12;
  o.regions_per_step = 2;
  const bowlrp::evaluation::IncrementalFlipper flipper(m, 1);
  const bowlrp::evaluation::RegionGrid grid(image.width, image.height, o.region_size);
  const std::vector<int> order = bowlrp::evaluation::random_order(grid.size(), 3);
  const std::vector<double> incremental = flipper.flip_curve(image, t, order, o);
  const std::vector<double> full = bowlrp::evaluation::flip_curve(
      image, order, o, [&](const bb::GrayImage& x) { return m.scores(m.encode(x))[1]; });
  BOOST_TEST_REQUIRE(incremental.size() == full.size());
  for (std::size_t k = 0; k < full.size(); ++k) BOOST_TEST(incremental[k] == full[k], "step " << k);
}

// fit() trains a VLAD model by the common protocol from the kind's traits alone: seeded, so a second
// fit gives the same model file; a kernel that needs non-negative inputs is refused over VLAD vectors.
BOOST_AUTO_TEST_CASE(fit_trains_a_vlad_model_reproducibly) {
  std::vector<bb::GrayImage> images;
  std::vector<std::string> labels;
  for (std::uint64_t s = 0; s < 12; ++s) {
    images.push_back(synthetic_image(64, 48, 300 + s));
    labels.push_back(s % 2 ? "odd" : "even");
  }
  bowlrp::model::FitOptions o;
  o.encoding = "vlad";
  o.pipeline.dsift.bin_sizes = {4, 6};
  o.vlad.words = 6;
  o.vlad.samples = 2000;
  o.threads = 2;
  bowlrp::test::TempDir tmp;
  const auto data = bowlrp::model::LabelledImages::from_images(images, labels);
  const bowlrp::model::Model a = bowlrp::model::fit(data, o);
  BOOST_TEST(a.encoding_kind() == "vlad");
  BOOST_TEST(a.head_kind() == "linear-svm");
  BOOST_TEST(a.dimension() == 6u * 128u);
  o.threads = 1;
  const bowlrp::model::Model b = bowlrp::model::fit(data, o);
  a.save(tmp / "a.bowlrp");
  b.save(tmp / "b.bowlrp");
  BOOST_TEST((file_bytes(tmp / "a.bowlrp") == file_bytes(tmp / "b.bowlrp")));
  o.head = "kernel-svm";
  o.kernel.type = bowlrp::svm::KernelType::chi2;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"the vlad encoding's are signed"}));
}

BOOST_AUTO_TEST_SUITE_END()
