// Suite bow/vlad: the VLAD encoding (bow/vlad.h): the forward sums and normalisations against VLFeat's
// vl_vlad_encode and against a naive reference written here in double, determinism across thread
// counts, replace_features, training and the fingerprint, on synthetic images and a tiny codebook
// (K = 8, vlad_fixtures.h).
#include <bowlrp/bow/vlad.h>

extern "C" {
#include <vl/vlad.h>
}

#include "test_util.h"
#include "vlad_fixtures.h"

#include <dlfcn.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace bb = bowlrp::bow;
using namespace bowlrp::test::vlad;

namespace {

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

// OpenBLAS's thread-count setter and getter, found at run time (the test binary links OpenBLAS only
// through libbowlrp_bow).
using SetThreads = void (*)(int);
using GetThreads = int (*)();
SetThreads blas_setter() { return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")); }
GetThreads blas_getter() { return reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")); }

}  // namespace

BOOST_AUTO_TEST_SUITE(bow)
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

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
