// On-disk cache of per-image histograms and of codebooks, so that interrupted or repeated runs
// (fit, predict or the VOC protocol with a cache folder) resume instead of recomputing.
//
// An entry is addressed by a 128-bit digest of everything its value depends on:
//   histogram:  H(canonical pipeline options, digest of the codebook's centres, the image file's bytes
//               [, "mirrored" for the image's left-right mirror])
//   codebook:   H(canonical pipeline options incl. k-means, the training image paths and sizes)
// so a changed option, codebook or image gives a new address and stale entries are simply never
// read. The digest is core::Hasher's (digest.h): fast and portable, not cryptographic.
// Entry file = magic | key (16 bytes) | payload size | payload | 64-bit checksum of all before it.
// A reader trusts an entry only if its size, magic, key and checksum all agree; anything else
// (truncated, bit-flipped, another key) counts as corrupt and the caller recomputes and overwrites.
// Entries are written atomically (core::write_file_atomic), so concurrent writers of the same key
// (same value) are harmless.
#pragma once

#include <bowlrp/bow/codebook.h>
#include <bowlrp/core/digest.h>
#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/pipeline.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bowlrp::model {

using core::Digest;
using core::Hasher;

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
  /// Cache in dir for Fisher vectors of length dim made by the pipeline of this fingerprint
  /// (bow::FisherPipeline::fingerprint: options and learned parameters).
  HistogramCache(const std::string& dir, const Digest& fisher_pipeline, std::size_t dim);
  /// Key of an image from its file's bytes; `mirrored` keys its left-right mirror (bow::mirror_left_right).
  Digest key(const std::string& file_bytes, bool mirrored = false) const;
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

/// Key of Fisher parameters trained with these options on these images (paths and file sizes).
Digest fisher_parameters_key(const bow::FisherPipelineOptions& options, const std::vector<std::string>& paths);
/// Cached Fisher parameters (nullopt when absent, corrupt or not valid for the options).
std::optional<bow::FisherParameters> load_cached_fisher_parameters(const std::string& dir, const Digest& key,
                                                                   const bow::FisherOptions& options);
/// Stores Fisher parameters atomically.
void store_cached_fisher_parameters(const std::string& dir, const Digest& key, const bow::FisherParameters& parameters);
/// Key of a codebook trained with these options on these images (paths and file sizes).
Digest codebook_key(const bow::PipelineOptions& options, const std::vector<std::string>& paths);
/// A cached codebook (nullopt when absent or corrupt).
std::optional<bow::Codebook> load_cached_codebook(const std::string& dir, const Digest& key);
/// Stores a codebook atomically.
void store_cached_codebook(const std::string& dir, const Digest& key, const bow::Codebook& codebook);

}  // namespace bowlrp::model
