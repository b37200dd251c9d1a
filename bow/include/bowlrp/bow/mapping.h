// Mapping of local features to visual words, m_d(l) >= 0.
//
// hard: m_d(l) = 1 for the nearest word (squared Euclidean distance), 0 elsewhere.
// soft: kernel codebook over the r nearest words: m_d(l) = exp(-beta * dist2_d / mean_dist2) / Z,
//       normalised so that sum_d m_d(l) = 1 (mean_dist2 = mean of the r squared distances of l).
// rank: over the r nearest words, m_d(l) = decay^rank(d) / Z with rank 0 for the nearest,
//       normalised to sum 1 (the rank mapping of the paper's figures).
// The result is sparse: each feature keeps at most r (word, weight) pairs, zero weights dropped.
//
// Determinism. The mapping of a feature is a pure function of (descriptor, codebook, options):
// independent of how many descriptors are mapped together, of their position in the batch and
// of the BLAS thread count, so that re-mapping a subset (pixel flipping) reproduces a full
// encode bit for bit. SGEMM cannot give that (its summation order follows shape and threading),
// so it only SELECTS candidates and exact distances DECIDE:
//   dist2(x, c) = sum_j (x_j - c_j)^2, evaluated in double as 8 interleaved partial sums
//   (lane j mod 8, each step a fused multiply-add) combined pairwise in a fixed order; ties in
//   dist2 go to the lowest word index. Weights are computed from these distances.
// Candidate bound. Let v_k = fl(fl(-2 x.c_k) + fl(|c_k|^2)) be the SGEMM score of word k and
// D_k = |c_k|^2 - 2 x.c_k = dist2(x, c_k) - |x|^2. With u = 2^-24 and m = dim, a float dot product
// in ANY summation order (blocked, threaded, FMA or not) errs by at most g_m sum_j |x_j c_kj| <=
// g_m |x||c_k|, g_m = m u / (1 - m u); the factor -2 is exact. Rounding the norm and the sum adds
// u|c_k|^2 + u|v_k|, with |v_k| <= (1 + g_m)(2|x||c_k| + |c_k|^2). So with C = max_k |c_k|,
//   |v_k - D_k| <= e = 2(g_m + u(1 + g_m)) |x| C + (2 + g_m) u C^2 ~= FLT_EPSILON ((m+1)|x|C + C^2).
// If t is the r-th smallest v (r = 1 for hard), r words have D <= t + e, so the r-th smallest D
// is <= t + e and every word among the r nearest has v <= t + 2e. The candidates are the words
// with v <= t + eps, eps = 4 FLT_EPSILON ((m+2)|x|C + C^2) + 4 m FLT_MIN: 2e with a safety factor
// 2 (which also covers the ~1e-15 relative error of the double distances) plus underflow slack.
// For SIFT (|x| = |c| = 1, m = 128) eps ~ 6e-5: the r nearest and rarely one or two more. |x|^2
// is not in v, so it does not enter e. A zero descriptor (VLFeat's low-contrast features) has
// dist2 = |c_k|^2 for every word, often nearly equal, so its words are precomputed exactly once
// per Mapper; rows whose scores could overflow a float are decided over all K words.
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
  /// Every option, described once, each recorded under its field's name.
  static const core::OptionSchema<MappingOptions>& schema();
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
  /// Maps n descriptors (row-major, codebook().dim() each); throws std::invalid_argument naming a
  /// descriptor with a non-finite value.
  Assignment assign(const float* descriptors, std::size_t n) const;
  /// Maps all features of a trace.
  Assignment assign(const FeatureTrace& features) const { return assign(features.descriptors.data(), features.size()); }
  /// Index of the nearest word of each of n descriptors (exact dist2, lowest index on ties).
  std::vector<std::int32_t> nearest(const float* descriptors, std::size_t n) const;
  /// The codebook.
  const Codebook& codebook() const { return codebook_; }
  /// The options in use.
  const MappingOptions& options() const { return options_; }

 private:
  Codebook codebook_;
  MappingOptions options_;
  std::vector<float> centre_norms_;  // |c_k|^2, for the GEMM form of the candidate scores
  double max_centre_norm_ = 0;       // max_k |c_k|, for the candidate bound
  std::vector<std::int32_t> zero_words_;  // the min(r, K) nearest words of a zero descriptor
  std::vector<double> zero_dist2_;        // and their exact dist2 (= |c_k|^2)
};

}  // namespace bowlrp::bow
