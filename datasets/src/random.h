// Portable seeded randomness: std::mt19937_64 is specified bit for bit by the standard, but the
// std:: distributions are not, so the mappings to integers and reals are written here.
#pragma once

#include <bowlrp/core/digest.h>

#include <cstdint>
#include <random>

namespace bowlrp::datasets::detail {

/// SplitMix64 finaliser: decorrelates (seed, stream) pairs before they seed the generator.
using core::mix_seed;

/// A generator for stream `stream` of seed `seed`; streams are independent of each other.
class Rng {
 public:
  Rng(std::uint64_t seed, std::uint64_t stream) : engine_(mix_seed(mix_seed(seed) ^ mix_seed(~stream))) {}
  /// 64 random bits.
  std::uint64_t bits() { return engine_(); }
  /// Uniform integer in [0, n) for n >= 1, exact (rejection of the biased tail).
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % n + 1) % n;  // multiple of n, minus 1
    std::uint64_t r;
    do r = engine_(); while (r > limit);
    return r % n;
  }
  /// Uniform double in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  /// Uniform double in [a, b).
  double uniform(double a, double b) { return a + (b - a) * uniform(); }

 private:
  std::mt19937_64 engine_;
};

}  // namespace bowlrp::datasets::detail
