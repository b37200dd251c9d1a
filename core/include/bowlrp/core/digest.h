// Content digests: the 128-bit fingerprints that tie a trace to the pipeline that made it and key
// the on-disk feature cache.
//
// Two independent 64-bit multiply-xorshift lanes over 8-byte words, finalised with a murmur-style
// mix (fast, portable, not cryptographic: fingerprints and cache keys guard against accidents -
// a trace explained with another model, a stale cache entry - not against adversaries). The digest
// depends only on the bytes added, not on how update() calls split them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace bowlrp::core {

/// A 128-bit content digest.
struct Digest {
  std::uint64_t hi = 0, lo = 0;  ///< the two lanes
  /// 32 lowercase hex digits.
  std::string hex() const;
  /// Equality of both lanes.
  bool operator==(const Digest& o) const { return hi == o.hi && lo == o.lo; }
  /// Inequality.
  bool operator!=(const Digest& o) const { return !(*this == o); }
};

/// Streaming 128-bit hash; update() calls concatenate.
class Hasher {
 public:
  /// Adds bytes.
  void update(const void* data, std::size_t n);
  /// Adds a string's bytes preceded by its length (so field boundaries cannot alias).
  void field(const std::string& text);
  /// Adds a digest's two lanes.
  void digest_field(const Digest& d);
  /// The digest of everything added so far (the hasher stays usable).
  Digest digest() const;

 private:
  void block(std::uint64_t w);
  std::uint64_t a_ = 0x243f6a8885a308d3ULL, b_ = 0x13198a2e03707344ULL;
  std::uint64_t total_ = 0;
  unsigned char tail_[8] = {};
  std::size_t tail_n_ = 0;
};

/// splitmix64's finaliser: derives independent seeds (per image, per purpose, per stream) from one
/// run seed, so that what an image draws does not depend on the order in which threads reach it.
inline std::uint64_t mix_seed(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// Digest of one byte string.
Digest digest_of(const std::string& bytes);

}  // namespace bowlrp::core
