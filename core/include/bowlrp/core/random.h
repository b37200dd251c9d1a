// Seeded permutations that are the same on every platform and standard library.
//
// random_permutation(n, seed): Fisher-Yates over 0 .. n-1 driven by std::mt19937_64 seeded with
// mix_seed(seed) (digest.h); step i (from n down to 2) swaps element i-1 with element r mod i, r the
// first engine output <= 2^64 - 1 - (2^64 mod i) (rejection of the biased tail, so every index is
// exactly equally likely). std::shuffle and std::uniform_int_distribution are not used: their
// mappings differ between standard libraries, and results must not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bowlrp::core {

/// A uniformly random permutation of 0 .. n-1 from the seed (header note: portable bits).
std::vector<std::size_t> random_permutation(std::size_t n, std::uint64_t seed);

/// A seed for the index-th of many independent draws from one seed: mix_seed(seed ^ mix_seed(index)).
std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t index);

/// values[perm[i]] for i = 0 .. n-1, perm = random_permutation(values.size(), seed).
template <class T>
std::vector<T> shuffled(const std::vector<T>& values, std::uint64_t seed) {
  const std::vector<std::size_t> perm = random_permutation(values.size(), seed);
  std::vector<T> out(values.size());
  for (std::size_t i = 0; i < perm.size(); ++i) out[i] = values[perm[i]];
  return out;
}

}  // namespace bowlrp::core
