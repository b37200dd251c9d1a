// Suite decompose/vlad: the ε rule of the VLAD layer (decompose/vlad_relevance.h) against ψ_d(l)
// materialised as an L x V matrix, an empty pyramid cell, conservation on real VOC2007 images with a
// pyramid, and the refusals of bad options, codebooks, traces and relevance sizes (vlad_fixtures.h).
#include <bowlrp/bow/vlad.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/vlad_relevance.h>

#include "test_util.h"
#include "vlad_fixtures.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace bb = bowlrp::bow;
namespace bd = bowlrp::decompose;
using namespace bowlrp::test::vlad;

namespace {

// The i-th image of VOC2007's train list.
std::string voc_image(std::size_t i) {
  std::ifstream list(bowlrp::test::voc_root() + "/ImageSets/Main/train.txt");
  std::string id;
  for (std::size_t k = 0; k <= i; ++k) std::getline(list, id);
  return bowlrp::test::voc_root() + "/JPEGImages/" + id + ".jpg";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(decompose)
BOOST_AUTO_TEST_SUITE(vlad)

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

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
