// Suite evaluation/map_metrics: the metrics of one relevance map (evaluation/map_metrics.h) against
// naive references written here (Gini by its pairwise-difference definition, entropy by a plain loop,
// AUC over all pairs, rank accuracy averaged over every tie-breaking order, the pointing game by a
// scan of all mask pixels), hand-computed tiny cases, invariances, edge cases and refusals.
#include <bowlrp/evaluation/localisation.h>
#include <bowlrp/evaluation/map_metrics.h>
#include <bowlrp/evaluation/mean_interval.h>

#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace be = bowlrp::evaluation;

namespace {


be::RegionMask make_mask(int w, int h, std::vector<unsigned char> values) {
  return be::RegionMask{w, h, std::move(values)};
}

// A seeded map: integers in [-3, 3] (many ties) or Gaussian values (no ties in practice).
std::vector<double> random_map(std::size_t n, unsigned seed, bool ties) {
  std::mt19937 rng(seed);
  std::vector<double> r(n);
  std::uniform_int_distribution<int> small(-3, 3);
  std::normal_distribution<double> gauss(0.0, 1.0);
  for (double& v : r) v = ties ? small(rng) : gauss(rng);
  return r;
}

// A seeded mask with about a third inside and some void pixels; at least one inside pixel.
be::RegionMask random_mask(int w, int h, unsigned seed, bool with_void) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, 9);
  be::RegionMask m{w, h, std::vector<unsigned char>(static_cast<std::size_t>(w) * h)};
  for (unsigned char& v : m.values) {
    const int k = d(rng);
    v = k < 3 ? 1 : (with_void && k == 9 ? 255 : 0);
  }
  m.values[static_cast<std::size_t>(seed) % m.values.size()] = 1;
  return m;
}

// --- Naive references ------------------------------------------------------------------------

// Gini index by its pairwise definition sum_{p,q} |a_p - a_q| / (2 n sum a), a = |R|; 0 if sum a = 0.
double gini_pairs(const std::vector<double>& r) {
  const double n = static_cast<double>(r.size());
  double num = 0.0, sum = 0.0;
  for (double p : r) {
    sum += std::fabs(p);
    for (double q : r) num += std::fabs(std::fabs(p) - std::fabs(q));
  }
  return sum == 0.0 ? 0.0 : num / (2.0 * n * sum);
}

// Shannon entropy (nats) of |R| / sum |R| by a plain loop; ln n if the map is all zero.
double entropy_loop(const std::vector<double>& r) {
  double sum = 0.0;
  for (double v : r) sum += std::fabs(v);
  if (sum == 0.0) return std::log(static_cast<double>(r.size()));
  double h = 0.0;
  for (double v : r)
    if (v != 0.0) h += -(std::fabs(v) / sum) * std::log(std::fabs(v) / sum);
  return h;
}

// Positive relevance inside / overall, void skipped.
double mass_ref(const std::vector<double>& r, const be::RegionMask& m) {
  double in = 0.0, all = 0.0;
  for (std::size_t i = 0; i < r.size(); ++i) {
    if (m.values[i] == 255 || r[i] <= 0.0) continue;
    all += r[i];
    if (m.values[i] == 1) in += r[i];
  }
  return all > 0.0 ? in / all : 0.0;
}

// AUC over all (inside, outside) pairs, ties half; 0.5 when nothing is outside.
double auc_pairs(const std::vector<double>& r, const be::RegionMask& m) {
  double wins = 0.0, pairs = 0.0;
  for (std::size_t p = 0; p < r.size(); ++p) {
    if (m.values[p] != 1) continue;
    for (std::size_t q = 0; q < r.size(); ++q) {
      if (m.values[q] != 0) continue;
      pairs += 1.0;
      wins += r[p] > r[q] ? 1.0 : (r[p] == r[q] ? 0.5 : 0.0);
    }
  }
  return pairs == 0.0 ? 0.5 : wins / pairs;
}

// Top-K share with ties broken by one explicit priority per pixel (lower first).
double rank_with_order(const std::vector<double>& r, const be::RegionMask& m, const std::vector<std::size_t>& valid,
                       const std::vector<std::size_t>& priority) {
  std::vector<std::size_t> idx(valid.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    const double ra = r[valid[a]], rb = r[valid[b]];
    return ra != rb ? ra > rb : priority[a] < priority[b];
  });
  std::size_t k = 0, hits = 0;
  for (std::size_t i : valid) k += m.values[i] == 1;
  for (std::size_t j = 0; j < k; ++j) hits += m.values[valid[idx[j]]] == 1;
  return static_cast<double>(hits) / static_cast<double>(k);
}

// Rank accuracy averaged over every tie-breaking order of the non-void pixels (n! orders: tiny maps only).
double rank_all_orders(const std::vector<double>& r, const be::RegionMask& m) {
  std::vector<std::size_t> valid;
  for (std::size_t i = 0; i < r.size(); ++i)
    if (m.values[i] != 255) valid.push_back(i);
  std::vector<std::size_t> priority(valid.size());
  std::iota(priority.begin(), priority.end(), 0);
  double sum = 0.0, count = 0.0;
  do {
    sum += rank_with_order(r, m, valid, priority);
    count += 1.0;
  } while (std::next_permutation(priority.begin(), priority.end()));
  return sum / count;
}

// Pointing game: first maximum by a plain scan, hit if any inside pixel is strictly closer than tol.
be::PointingResult pointing_ref(const std::vector<double>& r, int w, int h, const be::RegionMask& m, double tol) {
  be::PointingResult out;
  double best = -std::numeric_limits<double>::infinity();
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (r[y * w + x] > best) {
        best = r[y * w + x];
        out.x = x;
        out.y = y;
      }
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      if (m.values[y * w + x] == 1 && (x - out.x) * (x - out.x) + (y - out.y) * (y - out.y) < tol * tol) out.hit = true;
  return out;
}

std::vector<double> scaled(std::vector<double> r, double c) {
  for (double& v : r) v *= c;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(map_metrics)

BOOST_AUTO_TEST_CASE(complexity_metrics_by_hand) {
  // |R| = 1, 2, 3, 4: sum_i (2i - 5) a_(i) = -3 - 2 + 3 + 12 = 10, G = 10 / (4 * 10).
  const std::vector<double> r{-1.0, 2.0, -3.0, 4.0};
  BOOST_CHECK_CLOSE(be::sparseness(r.data(), 2, 2), 0.25, 1e-12);
  // One pixel holds all: G = (n - 1) / n, H = 0.
  const std::vector<double> spike{0.0, 0.0, -5.0, 0.0};
  BOOST_CHECK_CLOSE(be::sparseness(spike.data(), 4, 1), 0.75, 1e-12);
  BOOST_CHECK_EQUAL(be::complexity(spike.data(), 4, 1), 0.0);
  // |R| = 0, 1, 1, 2: p = 1/4, 1/4, 1/2, H = 2 (1/4) ln 4 + (1/2) ln 2 = 1.5 ln 2.
  const std::vector<double> q{0.0, -1.0, 1.0, 2.0};
  BOOST_CHECK_CLOSE(be::complexity(q.data(), 2, 2), 1.5 * std::log(2.0), 1e-12);
  // Constant |R| (signs differ): G = 0 exactly, H = ln n.
  const std::vector<double> flat{2.0, -2.0, 2.0, -2.0, 2.0, 2.0};
  BOOST_CHECK_EQUAL(be::sparseness(flat.data(), 3, 2), 0.0);
  BOOST_CHECK_CLOSE(be::complexity(flat.data(), 3, 2), std::log(6.0), 1e-12);
}

BOOST_AUTO_TEST_CASE(complexity_metrics_match_the_naive_definitions) {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    for (bool ties : {false, true}) {
      const int w = 7 + static_cast<int>(seed), h = 5;
      const std::vector<double> r = random_map(static_cast<std::size_t>(w) * h, seed, ties);
      BOOST_TEST_CONTEXT("seed " << seed << (ties ? " with ties" : "")) {
        BOOST_CHECK_CLOSE(be::sparseness(r.data(), w, h), gini_pairs(r), 1e-9);
        BOOST_CHECK_CLOSE(be::complexity(r.data(), w, h), entropy_loop(r), 1e-9);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(complexity_metrics_are_invariant_to_scale_and_pixel_order) {
  const int w = 9, h = 6;
  const std::vector<double> r = random_map(w * h, 11, false);
  const double g = be::sparseness(r.data(), w, h), e = be::complexity(r.data(), w, h);
  BOOST_CHECK_GT(g, 0.0);
  BOOST_CHECK_LT(e, std::log(static_cast<double>(w * h)));
  for (double c : {3.7, -0.25, 1e-200, 1e300}) {
    const std::vector<double> s = scaled(r, c);
    BOOST_TEST_CONTEXT("scale " << c) {
      BOOST_CHECK_CLOSE(be::sparseness(s.data(), w, h), g, 1e-9);
      BOOST_CHECK_CLOSE(be::complexity(s.data(), w, h), e, 1e-9);
    }
  }
  std::vector<double> p = r;
  std::reverse(p.begin(), p.end());
  std::rotate(p.begin(), p.begin() + 7, p.end());
  BOOST_CHECK_CLOSE(be::sparseness(p.data(), h, w), g, 1e-9);  // also transposed size
  BOOST_CHECK_CLOSE(be::complexity(p.data(), h, w), e, 1e-9);
  // Values whose plain sum overflows: |R| = M, M, 0, 0 gives G = 4M / (4 * 2M) = 1/2, H = ln 2.
  const double big = std::numeric_limits<double>::max();
  const std::vector<double> huge{big, -big, 0.0, 0.0};
  BOOST_CHECK_CLOSE(be::sparseness(huge.data(), 2, 2), 0.5, 1e-12);
  BOOST_CHECK_CLOSE(be::complexity(huge.data(), 2, 2), std::log(2.0), 1e-12);
}

BOOST_AUTO_TEST_CASE(complexity_metrics_of_the_all_zero_map_and_one_pixel) {
  const std::vector<double> zero(12, 0.0);
  BOOST_CHECK_EQUAL(be::sparseness(zero.data(), 4, 3), 0.0);
  BOOST_CHECK_CLOSE(be::complexity(zero.data(), 4, 3), std::log(12.0), 1e-12);
  for (double v : {0.0, -2.5, 7.0}) {
    BOOST_CHECK_EQUAL(be::sparseness(&v, 1, 1), 0.0);
    BOOST_CHECK_EQUAL(be::complexity(&v, 1, 1), 0.0);
  }
  bowlrp::decompose::PixelRelevance pr;
  pr.width = 2;
  pr.height = 2;
  pr.R = {-1.0, 2.0, -3.0, 4.0};
  BOOST_CHECK_CLOSE(be::sparseness(pr), 0.25, 1e-12);
  BOOST_CHECK_CLOSE(be::complexity(pr), entropy_loop(pr.R), 1e-12);
}

BOOST_AUTO_TEST_CASE(localisation_metrics_by_hand) {
  // 2 x 2, the top row inside: positive mass 3 of 4 inside.
  const std::vector<double> r{3.0, -1.0, 1.0, 0.0};
  const be::RegionMask top = make_mask(2, 2, {1, 1, 0, 0});
  BOOST_CHECK_CLOSE(be::relevance_mass_accuracy(r.data(), 2, 2, top), 0.75, 1e-12);
  // K = 2, top two values 3 (in) and 1 (out).
  BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(r.data(), 2, 2, top), 0.5, 1e-12);
  // Inside {3, -1} vs outside {1, 0}: 3 > 1, 3 > 0, -1 < 1, -1 < 0 -> 2 of 4.
  BOOST_CHECK_CLOSE(be::mask_auc(r.data(), 2, 2, top), 0.5, 1e-12);

  // 4 x 1: inside {4, 2} vs outside {3, 1}: 3 wins of 4.
  const std::vector<double> s{4.0, 3.0, 2.0, 1.0};
  const be::RegionMask alt = make_mask(4, 1, {1, 0, 1, 0});
  BOOST_CHECK_CLOSE(be::mask_auc(s.data(), 4, 1, alt), 0.75, 1e-12);
  BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(s.data(), 4, 1, alt), 0.5, 1e-12);
  BOOST_CHECK_CLOSE(be::relevance_mass_accuracy(s.data(), 4, 1, alt), 0.6, 1e-12);
  // Ties count half: inside {1, 2} vs outside {1, 0}: 0.5 + 1 + 1 + 1 of 4.
  const std::vector<double> t{1.0, 1.0, 0.0, 2.0};
  BOOST_CHECK_CLOSE(be::mask_auc(t.data(), 4, 1, make_mask(4, 1, {1, 0, 0, 1})), 0.875, 1e-12);
  // Rank ties split evenly: K = 1 among three tied maxima, one of them inside -> 1/3.
  const std::vector<double> u{2.0, 2.0, 2.0, 0.0};
  BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(u.data(), 4, 1, make_mask(4, 1, {1, 0, 0, 0})), 1.0 / 3.0, 1e-12);
  // K = 2: 3 (outside) is in the top 2, then one of three tied 1s (one inside): (0 + 1/3) / 2.
  const std::vector<double> v{3.0, 1.0, 1.0, 1.0, 0.0};
  BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(v.data(), 5, 1, make_mask(5, 1, {0, 1, 0, 0, 1})), 1.0 / 6.0, 1e-12);
  // Void pixels leave every sum, count and ranking: voiding the outside 3 of r.
  const be::RegionMask top_void = make_mask(2, 2, {1, 1, 0, 255});
  const std::vector<double> r2{3.0, -1.0, 5.0, 0.0};
  BOOST_CHECK_CLOSE(be::relevance_mass_accuracy(r2.data(), 2, 2, top_void), 3.0 / 8.0, 1e-12);
  const be::RegionMask voided = make_mask(2, 2, {1, 1, 255, 0});
  BOOST_CHECK_EQUAL(be::relevance_mass_accuracy(r2.data(), 2, 2, voided), 1.0);
  BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(r2.data(), 2, 2, voided), 0.5, 1e-12);  // top 2 of {3 in, -1 in, 0 out}: 3, 0
  BOOST_CHECK_CLOSE(be::mask_auc(r2.data(), 2, 2, voided), 0.5, 1e-12);                  // 3 > 0, -1 < 0
}

BOOST_AUTO_TEST_CASE(localisation_metrics_match_the_naive_definitions) {
  for (unsigned seed = 1; seed <= 8; ++seed) {
    for (bool ties : {false, true}) {
      const int w = 6 + static_cast<int>(seed % 4), h = 5 + static_cast<int>(seed % 3);
      const std::vector<double> r = random_map(static_cast<std::size_t>(w) * h, 100 + seed, ties);
      const be::RegionMask m = random_mask(w, h, 200 + seed, seed % 2 == 0);
      BOOST_TEST_CONTEXT("seed " << seed << (ties ? " with ties" : "")) {
        BOOST_CHECK_CLOSE(be::relevance_mass_accuracy(r.data(), w, h, m), mass_ref(r, m), 1e-9);
        BOOST_CHECK_CLOSE(be::mask_auc(r.data(), w, h, m), auc_pairs(r, m), 1e-9);
        if (!ties) {  // no ties: any order is the order
          std::vector<std::size_t> valid, priority;
          for (std::size_t i = 0; i < r.size(); ++i)
            if (m.values[i] != 255) valid.push_back(i);
          priority.assign(valid.size(), 0);
          BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(r.data(), w, h, m), rank_with_order(r, m, valid, priority), 1e-9);
        }
        // The mass accuracy is localise()'s relevance share.
        BOOST_CHECK_CLOSE(be::relevance_mass_accuracy(r.data(), w, h, m), be::localise(r.data(), w, h, m).relevance_share, 1e-9);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(rank_accuracy_is_the_mean_over_every_tie_breaking_order) {
  // 7 non-void pixels (5040 orders) with heavy ties, several masks.
  for (unsigned seed = 1; seed <= 6; ++seed) {
    std::vector<double> r = random_map(8, 300 + seed, true);
    for (double& v : r) v = std::round(v / 2.0);  // values in {-2 .. 2}: more ties
    be::RegionMask m = random_mask(4, 2, 400 + seed, false);
    m.values[seed % 8] = 255;
    if (std::count(m.values.begin(), m.values.end(), 1) == 0) m.values[(seed + 1) % 8] = 1;
    BOOST_TEST_CONTEXT("seed " << seed) {
      BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(r.data(), 4, 2, m), rank_all_orders(r, m), 1e-9);
    }
  }
}

BOOST_AUTO_TEST_CASE(localisation_metrics_are_invariant_to_positive_scale) {
  const int w = 11, h = 7;
  const std::vector<double> r = random_map(w * h, 21, false);
  const be::RegionMask m = random_mask(w, h, 22, true);
  const double mass = be::relevance_mass_accuracy(r.data(), w, h, m), rank = be::relevance_rank_accuracy(r.data(), w, h, m),
               auc = be::mask_auc(r.data(), w, h, m);
  for (double c : {0.01, 42.0, 1e300}) {
    const std::vector<double> s = scaled(r, c);
    BOOST_TEST_CONTEXT("scale " << c) {
      BOOST_CHECK_CLOSE(be::relevance_mass_accuracy(s.data(), w, h, m), mass, 1e-9);
      BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(s.data(), w, h, m), rank, 1e-9);
      BOOST_CHECK_CLOSE(be::mask_auc(s.data(), w, h, m), auc, 1e-9);
    }
  }
  // A negative scale reverses the ranking: AUC -> 1 - AUC.
  const std::vector<double> neg = scaled(r, -2.0);
  BOOST_CHECK_CLOSE(be::mask_auc(neg.data(), w, h, m), 1.0 - auc, 1e-9);
  // AUC depends on the order only: any strictly increasing transform keeps it.
  std::vector<double> e = r;
  for (double& v : e) v = std::exp(v);
  BOOST_CHECK_CLOSE(be::mask_auc(e.data(), w, h, m), auc, 1e-9);
}

BOOST_AUTO_TEST_CASE(localisation_metrics_of_constant_maps_and_full_masks) {
  const int w = 5, h = 4;
  const be::RegionMask m = make_mask(w, h, {1, 1, 0, 0, 0,  //
                                            1, 1, 0, 0, 0,  //
                                            0, 0, 0, 0, 0,  //
                                            0, 0, 0, 255, 255});
  for (double c : {0.0, 2.0, -1.0}) {
    const std::vector<double> r(w * h, c);
    BOOST_TEST_CONTEXT("constant " << c) {
      BOOST_CHECK_CLOSE(be::relevance_mass_accuracy(r.data(), w, h, m), c > 0 ? 4.0 / 18.0 : 0.0, 1e-12);
      BOOST_CHECK_CLOSE(be::relevance_rank_accuracy(r.data(), w, h, m), 4.0 / 18.0, 1e-12);  // the area share
      BOOST_CHECK_EQUAL(be::mask_auc(r.data(), w, h, m), 0.5);
      const be::PointingResult p = be::pointing_game(r.data(), w, h, m);
      BOOST_CHECK(p.constant_map);
      BOOST_CHECK_EQUAL(p.x, 0);
      BOOST_CHECK_EQUAL(p.y, 0);
      BOOST_CHECK(p.hit);  // (0, 0) is inside
    }
  }
  // Every non-void pixel inside: mass 1 (0 without positive relevance), rank 1, AUC 0.5, hit.
  const be::RegionMask full = make_mask(3, 2, {1, 1, 1, 255, 1, 1});
  const std::vector<double> r{0.5, -2.0, 3.0, 9.0, 0.0, 1.0};
  BOOST_CHECK_EQUAL(be::relevance_mass_accuracy(r.data(), 3, 2, full), 1.0);
  BOOST_CHECK_EQUAL(be::relevance_rank_accuracy(r.data(), 3, 2, full), 1.0);
  BOOST_CHECK_EQUAL(be::mask_auc(r.data(), 3, 2, full), 0.5);
  const be::PointingResult p = be::pointing_game(r.data(), 3, 2, full);
  BOOST_CHECK_EQUAL(p.x, 0);  // the maximum 9 is a void pixel: still the point (the map's maximum)
  BOOST_CHECK_EQUAL(p.y, 1);
  BOOST_CHECK(p.hit);  // (0, 0) is inside, distance 1 < 15
  const std::vector<double> negative{-1.0, -2.0, -3.0, -4.0, -5.0, -6.0};
  BOOST_CHECK_EQUAL(be::relevance_mass_accuracy(negative.data(), 3, 2, full), 0.0);
  // One pixel.
  const be::RegionMask one = make_mask(1, 1, {1});
  for (double v : {-1.0, 0.0, 4.0}) {
    BOOST_CHECK_EQUAL(be::relevance_mass_accuracy(&v, 1, 1, one), v > 0 ? 1.0 : 0.0);
    BOOST_CHECK_EQUAL(be::relevance_rank_accuracy(&v, 1, 1, one), 1.0);
    BOOST_CHECK_EQUAL(be::mask_auc(&v, 1, 1, one), 0.5);
    BOOST_CHECK(be::pointing_game(&v, 1, 1, one).hit);
  }
}

BOOST_AUTO_TEST_CASE(pointing_game_tolerance_is_strict_and_ties_take_the_first_maximum) {
  const int w = 80, h = 60;
  const be::RegionMask box = be::mask_from_boxes(w, h, {bowlrp::bow::Box{50, 10, 60, 20}});
  std::vector<double> r(w * h, 0.0);
  r[15 * w + 35] = 1.0;  // nearest box pixel (50, 15) at distance exactly 15: TorchRay's test is strict
  be::PointingResult p = be::pointing_game(r.data(), w, h, box);
  BOOST_CHECK_EQUAL(p.x, 35);
  BOOST_CHECK_EQUAL(p.y, 15);
  BOOST_CHECK(!p.hit);
  BOOST_CHECK(!p.constant_map);
  be::PointingGameOptions o;
  o.tolerance = 15.001;
  BOOST_CHECK(be::pointing_game(r.data(), w, h, box, o).hit);
  r.assign(w * h, 0.0);
  r[15 * w + 36] = 1.0;  // distance 14
  BOOST_CHECK(be::pointing_game(r.data(), w, h, box).hit);
  r.assign(w * h, 0.0);
  r[30 * w + 39] = 1.0;  // nearest (50, 19): 11^2 + 11^2 = 242 >= 225
  BOOST_CHECK(!be::pointing_game(r.data(), w, h, box).hit);
  o.tolerance = 16;  // 242 < 256
  BOOST_CHECK(be::pointing_game(r.data(), w, h, box, o).hit);
  // Tolerance 1: only the point itself counts.
  o.tolerance = 1;
  r.assign(w * h, 0.0);
  r[10 * w + 49] = 1.0;  // next to the box
  BOOST_CHECK(!be::pointing_game(r.data(), w, h, box, o).hit);
  r[10 * w + 49] = 0.0;
  r[10 * w + 50] = 1.0;
  BOOST_CHECK(be::pointing_game(r.data(), w, h, box, o).hit);
  // Ties of the maximum: the first in row-major order (smallest y, then smallest x).
  r.assign(w * h, -1.0);
  r[7 * w + 2] = 4.0;
  r[3 * w + 5] = 4.0;
  r[3 * w + 70] = 4.0;
  p = be::pointing_game(r.data(), w, h, box);
  BOOST_CHECK_EQUAL(p.x, 5);
  BOOST_CHECK_EQUAL(p.y, 3);
  // The map is not smoothed: a lone spike beats a broad blob on the object (localise() with sigma would not).
  r.assign(w * h, 0.0);
  for (int y = 10; y < 20; ++y)
    for (int x = 50; x < 60; ++x) r[y * w + x] = 1.0;
  r[50 * w + 5] = 1.5;
  p = be::pointing_game(r.data(), w, h, box);
  BOOST_CHECK(!p.hit);
  BOOST_CHECK_EQUAL(p.x, 5);
  // Huge tolerance: every point hits.
  o.tolerance = 1e300;
  BOOST_CHECK(be::pointing_game(r.data(), w, h, box, o).hit);
}

BOOST_AUTO_TEST_CASE(pointing_game_matches_a_scan_of_all_mask_pixels) {
  for (unsigned seed = 1; seed <= 10; ++seed) {
    const int w = 40, h = 30;
    const std::vector<double> r = random_map(w * h, 500 + seed, seed % 2 == 0);
    // A small box somewhere, so that hits and misses both occur.
    std::mt19937 rng(600 + seed);
    const int x0 = static_cast<int>(rng() % 36), y0 = static_cast<int>(rng() % 26);
    be::RegionMask m = be::mask_from_boxes(w, h, {bowlrp::bow::Box{x0, y0, x0 + 4, y0 + 4}});
    for (double tol : {1.0, 5.0, 7.5, 15.0}) {
      be::PointingGameOptions o;
      o.tolerance = tol;
      const be::PointingResult got = be::pointing_game(r.data(), w, h, m, o), want = pointing_ref(r, w, h, m, tol);
      BOOST_TEST_CONTEXT("seed " << seed << " tolerance " << tol) {
        BOOST_CHECK_EQUAL(got.x, want.x);
        BOOST_CHECK_EQUAL(got.y, want.y);
        BOOST_CHECK_EQUAL(got.hit, want.hit);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(lerf_morf_area_by_hand) {
  // d = 0, 0.8, 0.5 at 0, 0.5, 1: 0.5 (0 + 0.8) / 2 + 0.5 (0.8 + 0.5) / 2 = 0.525 over a range of 1.
  const std::vector<double> x{0.0, 0.5, 1.0}, lerf{1.0, 1.0, 0.5}, morf{1.0, 0.2, 0.0};
  BOOST_CHECK_CLOSE(be::lerf_morf_area(x, lerf, morf), 0.525, 1e-12);
  BOOST_CHECK_CLOSE(be::lerf_morf_area(x, morf, lerf), -0.525, 1e-12);
  // Uneven fractions 0.1, 0.2, 0.5: (0.1 * 0.4 + 0.3 * 0.65) / 0.4.
  BOOST_CHECK_CLOSE(be::lerf_morf_area({0.1, 0.2, 0.5}, lerf, morf), 0.5875, 1e-12);
  // Equal curves: 0. A repeated fraction adds a zero-width step.
  BOOST_CHECK_EQUAL(be::lerf_morf_area(x, lerf, lerf), 0.0);
  BOOST_CHECK_CLOSE(be::lerf_morf_area({0.0, 0.5, 0.5, 1.0}, {1.0, 1.0, 1.0, 0.5}, {1.0, 0.2, 0.2, 0.0}), 0.525, 1e-12);
  // Against the difference of the two curves' own areas (a separate computation), on random curves.
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 2.0);
  std::vector<double> fx{0.0}, a, b;
  for (int k = 0; k < 20; ++k) fx.push_back(fx.back() + 0.01 + 0.1 * std::abs(u(rng)));
  for (std::size_t k = 0; k < fx.size(); ++k) {
    a.push_back(u(rng));
    b.push_back(u(rng));
  }
  const auto area = [&](const std::vector<double>& f) {
    double s = 0.0;
    for (std::size_t k = 1; k < fx.size(); ++k) s += (fx[k] - fx[k - 1]) * (f[k] + f[k - 1]);
    return s / 2.0;
  };
  BOOST_CHECK_CLOSE(be::lerf_morf_area(fx, a, b), (area(a) - area(b)) / (fx.back() - fx.front()), 1e-9);
}

BOOST_AUTO_TEST_CASE(bad_input_is_refused_with_a_message) {
  const std::vector<double> r{1.0, 2.0, 3.0, 4.0};
  const be::RegionMask m = make_mask(2, 2, {1, 0, 0, 0});
  // Empty maps.
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::sparseness(nullptr, 2, 2); }, {"sparseness", "empty"})));
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::complexity(r.data(), 0, 4); }, {"complexity", "0x4", "empty"})));
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::mask_auc(r.data(), 2, -1, m); }, {"mask_auc", "empty"})));
  // Non-finite values name the pixel.
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    std::vector<double> b = r;
    b[3] = bad;
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::sparseness(b.data(), 2, 2); }, {"(x 1, y 1)", "finite"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::complexity(b.data(), 2, 2); }, {"finite"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::relevance_mass_accuracy(b.data(), 2, 2, m); }, {"finite"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::relevance_rank_accuracy(b.data(), 2, 2, m); }, {"finite"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::mask_auc(b.data(), 2, 2, m); }, {"finite"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::pointing_game(b.data(), 2, 2, m); }, {"finite"})));
  }
  // Mask size mismatch, bad values, nothing inside.
  const be::RegionMask wide = make_mask(4, 1, {1, 0, 0, 0});
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::relevance_mass_accuracy(r.data(), 2, 2, wide); }, {"4x1", "2x2", "size"})));
  const be::RegionMask short_values = make_mask(2, 2, {1, 0, 0});
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::mask_auc(r.data(), 2, 2, short_values); }, {"3 values"})));
  const be::RegionMask odd = make_mask(2, 2, {1, 0, 2, 0});
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::relevance_rank_accuracy(r.data(), 2, 2, odd); }, {"mask value 2", "(x 0, y 1)", "255"})));
  const be::RegionMask empty = make_mask(2, 2, {0, 0, 255, 0});
  const be::RegionMask all_void = make_mask(2, 2, {255, 255, 255, 255});
  for (const be::RegionMask* e : {&empty, &all_void}) {
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::relevance_mass_accuracy(r.data(), 2, 2, *e); }, {"no inside pixel"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::relevance_rank_accuracy(r.data(), 2, 2, *e); }, {"no inside pixel"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::mask_auc(r.data(), 2, 2, *e); }, {"no inside pixel"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::pointing_game(r.data(), 2, 2, *e); }, {"no inside pixel"})));
  }
  // Tolerance.
  for (double t : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity()}) {
    be::PointingGameOptions o;
    o.tolerance = t;
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { o.validate(); }, {"PointingGameOptions.tolerance", "> 0"})));
    BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::pointing_game(r.data(), 2, 2, m, o); }, {"tolerance"})));
  }
  // A PixelRelevance whose values do not fill its size.
  bowlrp::decompose::PixelRelevance pr;
  pr.width = 3;
  pr.height = 2;
  pr.R = {1.0, 2.0};
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::sparseness(pr); }, {"2 values", "3x2"})));
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([&] { be::pointing_game(pr, m); }, {"2 values"})));
  // Curves.
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([] { be::lerf_morf_area({0.0, 1.0}, {1.0, 0.5}, {1.0}); }, {"1 MoRF", "same number"})));
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([] { be::lerf_morf_area({0.0}, {1.0}, {1.0}); }, {">= 2"})));
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([] { be::lerf_morf_area({0.0, 0.6, 0.5}, {1, 1, 1}, {1, 1, 1}); }, {"fractions[2]", "non-decreasing"})));
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([] { be::lerf_morf_area({0.5, 0.5}, {1, 1}, {1, 1}); }, {"no range"})));
  BOOST_TEST((bowlrp::test::throws_with<std::invalid_argument>([] { be::lerf_morf_area({0.0, 1.0}, {1, std::nan("")}, {1, 1}); }, {"lerf[1]", "finite"})));
}

// mean_interval against the plain formulas: {1, 2, 3, 4} has mean 2.5, sd sqrt(5/3) and the 95% t
// quantile with 3 degrees of freedom is 3.182446305284263 (tables); one value has no spread.
BOOST_AUTO_TEST_CASE(mean_interval_is_the_student_t_interval) {
  const be::MeanInterval m = be::mean_interval({1.0, 2.0, 3.0, 4.0});
  BOOST_TEST(m.n == 4u);
  BOOST_TEST(m.mean == 2.5);
  BOOST_TEST(m.sd == std::sqrt(5.0 / 3.0), boost::test_tools::tolerance(1e-15));
  BOOST_TEST(m.half_width == 3.182446305284263 * std::sqrt(5.0 / 3.0) / 2.0, boost::test_tools::tolerance(1e-12));
  const be::MeanInterval wide = be::mean_interval({1.0, 2.0, 3.0, 4.0}, 0.99);  // t = 5.840909309733
  BOOST_TEST(wide.half_width == 5.840909309733 * std::sqrt(5.0 / 3.0) / 2.0, boost::test_tools::tolerance(1e-11));
  const be::MeanInterval one = be::mean_interval({7.0});
  BOOST_TEST(one.mean == 7.0);
  BOOST_TEST(std::isnan(one.half_width));
  BOOST_TEST(std::isnan(be::mean_interval({}).mean));
  BOOST_CHECK_THROW(be::mean_interval({1.0, std::nan("")}), std::invalid_argument);
  BOOST_CHECK_THROW(be::mean_interval({1.0, 2.0}, 1.0), std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
