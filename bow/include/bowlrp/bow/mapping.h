// Mapping of local features to visual words, m_d(l) >= 0.
//
// hard: m_d(l) = 1 for the exact nearest word (squared Euclidean distance), 0 elsewhere.
// soft: kernel codebook over the r nearest words: m_d(l) = exp(-beta * dist2_d / mean_dist2) / Z,
//       normalised so that sum_d m_d(l) = 1 (mean_dist2 = mean of the r squared distances of l).
// rank: over the r nearest words, m_d(l) = decay^rank(d) / Z with rank 0 for the nearest,
//       normalised to sum 1 (the rank mapping of the paper's figures).
// The result is sparse: each feature keeps at most r (word, weight) pairs, zero weights dropped.
#pragma once

#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/dsift.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::bow {

/// Kind of feature-to-word mapping.
enum class MappingKind { hard, soft, rank };
/// "hard", "soft" or "rank".
std::string to_string(MappingKind kind);
/// Parses "hard", "soft" or "rank"; throws std::invalid_argument otherwise.
MappingKind mapping_kind_from_string(const std::string& name);

/// Options of the mapping.
struct MappingOptions {
  MappingKind kind = MappingKind::hard;  ///< hard, soft or rank
  int neighbours = 5;                    ///< r, words kept per feature (soft and rank)
  double beta = 1.0;                     ///< soft: kernel sharpness (> 0)
  double rank_decay = 0.5;               ///< rank: weight ratio between ranks, in (0, 1]
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// Sparse feature x word weights in compressed-row form: feature l owns entries
/// [offsets[l], offsets[l+1]) of words/weights.
struct Assignment {
  std::vector<std::uint32_t> offsets{0};  ///< size features + 1
  std::vector<std::int32_t> words;        ///< word index d of each entry
  std::vector<float> weights;             ///< m_d(l) of each entry, > 0
  /// Number of features.
  std::size_t features() const { return offsets.size() - 1; }
};

/// Maps descriptors to words; immutable and thread-safe.
class Mapper {
 public:
  /// Validates the options; throws std::invalid_argument for an empty codebook.
  Mapper(Codebook codebook, MappingOptions options = {});
  /// Maps n descriptors (row-major, codebook().dim() each).
  Assignment assign(const float* descriptors, std::size_t n) const;
  /// Maps all features of a trace.
  Assignment assign(const FeatureTrace& features) const { return assign(features.descriptors.data(), features.size()); }
  /// Index of the nearest word of each of n descriptors (exact).
  std::vector<std::int32_t> nearest(const float* descriptors, std::size_t n) const;
  /// The codebook.
  const Codebook& codebook() const { return codebook_; }
  /// The options in use.
  const MappingOptions& options() const { return options_; }

 private:
  Codebook codebook_;
  MappingOptions options_;
  std::vector<float> centre_norms_;  // ||c_k||^2, for the GEMM form of the distance
};

}  // namespace bowlrp::bow
