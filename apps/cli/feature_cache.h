// On-disk cache of per-image histograms and of codebooks, so that interrupted or repeated runs
// (`bowlrp voc`, `bowlrp train` with a cache folder) resume instead of recomputing.
//
// An entry is addressed by a 128-bit digest of everything its value depends on:
//   histogram:  H(canonical pipeline options, digest of the codebook's centres, the image file's bytes)
//   codebook:   H(canonical pipeline options incl. k-means, the training image paths and sizes)
// so a changed option, codebook or image gives a new address and stale entries are simply never
// read. The digest is two independent 64-bit multiply-xorshift lanes over 8-byte words (fast,
// portable, not cryptographic: the cache guards against accidents, not adversaries).
// Entry file = magic | key (16 bytes) | payload size | payload | 64-bit checksum of all before it.
// A reader trusts an entry only if its size, magic, key and checksum all agree; anything else
// (truncated, bit-flipped, another key) counts as corrupt and the caller recomputes and overwrites.
// Entries are written atomically (bow::write_file_atomic), so concurrent writers of the same key
// (same value) are harmless.
#pragma once

#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/pipeline.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bowlrp::apps {

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

/// Streaming 128-bit hash; update() calls concatenate (the digest depends on the bytes only, not
/// on how they were split).
class Hasher {
 public:
  /// Adds bytes.
  void update(const void* data, std::size_t n);
  /// Adds a string's bytes preceded by its length (so field boundaries cannot alias).
  void field(const std::string& text);
  /// The digest of everything added so far (the hasher stays usable).
  Digest digest() const;

 private:
  void block(std::uint64_t w);
  std::uint64_t a_ = 0x243f6a8885a308d3ULL, b_ = 0x13198a2e03707344ULL;
  std::uint64_t total_ = 0;
  unsigned char tail_[8] = {};
  std::size_t tail_n_ = 0;
};

/// Digest of one byte string.
Digest digest_of(const std::string& bytes);

/// Text naming every option that changes a histogram (image cap, dense SIFT, mapping, pooling),
/// with round-trip number formatting; equal options give equal text.
std::string canonical_encoding_options(const bow::PipelineOptions& options);
/// Same plus the k-means options (what changes a trained codebook).
std::string canonical_codebook_options(const bow::PipelineOptions& options);
/// Digest of a codebook's size and centre bytes.
Digest codebook_digest(const bow::Codebook& codebook);

/// Hit/miss counters of a cache, safe to bump from many threads.
struct CacheStats {
  std::atomic<std::size_t> hits{0};     ///< entries read and trusted
  std::atomic<std::size_t> misses{0};   ///< entries absent
  std::atomic<std::size_t> corrupt{0};  ///< entries present but rejected (recomputed)
  std::atomic<std::size_t> stored{0};   ///< entries written
};

/// Generic entry store: <dir>/<kind>/<first two hex digits>/<hex>.bin.
class CacheStore {
 public:
  /// A store rooted at dir (created lazily on the first write); kind names the sub-folder.
  CacheStore(std::string dir, std::string kind);
  /// The file of a key.
  std::string path(const Digest& key) const;
  /// The payload of a valid entry; nullopt when absent or corrupt (counted in stats()).
  std::optional<std::string> load(const Digest& key) const;
  /// Writes an entry atomically; throws std::runtime_error naming the file on failure.
  void store(const Digest& key, const std::string& payload) const;
  /// Counters.
  CacheStats& stats() const { return stats_; }

 private:
  std::string dir_, kind_;
  mutable CacheStats stats_;
};

/// Histogram cache of one (pipeline options, codebook): keys come from image file bytes.
class HistogramCache {
 public:
  /// Cache in dir for histograms of length dim made by these options and codebook.
  HistogramCache(const std::string& dir, const bow::PipelineOptions& options, const bow::Codebook& codebook,
                 std::size_t dim);
  /// Key of an image from its file's bytes.
  Digest key(const std::string& file_bytes) const;
  /// Fills out[0, dim) from a valid entry and returns true; false when absent or corrupt (an entry of
  /// another length is corrupt).
  bool load(const Digest& key, double* out) const;
  /// Stores a histogram of length dim.
  void store(const Digest& key, const double* histogram) const;
  /// The entry file of a key.
  std::string path(const Digest& key) const { return store_.path(key); }
  /// Counters.
  CacheStats& stats() const { return store_.stats(); }

 private:
  CacheStore store_;
  Hasher prefix_;  // options + codebook, shared by every key
  std::size_t dim_;
};

/// Key of a codebook trained with these options on these images (paths and file sizes).
Digest codebook_key(const bow::PipelineOptions& options, const std::vector<std::string>& paths);
/// A cached codebook (nullopt when absent or corrupt).
std::optional<bow::Codebook> load_cached_codebook(const std::string& dir, const Digest& key);
/// Stores a codebook atomically.
void store_cached_codebook(const std::string& dir, const Digest& key, const bow::Codebook& codebook);

}  // namespace bowlrp::apps
