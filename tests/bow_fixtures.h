// Fixtures of the bow module shared by the suites above it (model/feature_cache, evaluation/flipping):
// a random codebook.
#pragma once

#include <bowlrp/bow/codebook.h>

#include <random>
#include <utility>
#include <vector>

namespace bowlrp::test {

/// A codebook of `words` random 128-dimensional centres in [0, 0.2), seeded.
inline bowlrp::bow::Codebook random_codebook(int words, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0f, 0.2f);
  std::vector<float> c(static_cast<std::size_t>(words) * 128);
  for (float& v : c) v = u(rng);
  return bowlrp::bow::Codebook(128, std::move(c));
}

}  // namespace bowlrp::test
