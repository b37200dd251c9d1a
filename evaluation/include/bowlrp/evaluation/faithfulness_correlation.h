// Faithfulness correlation (Bhatt, Weller & Moura 2020, "Evaluating and aggregating feature-based model
// explanations", IJCAI; Quantus FaithfulnessCorrelation): does removing what the map calls relevant
// lower the score by as much as the map says?
//
// On the flipping grid of the working image (pixel_flipping.h: square regions of region_size px, the
// same uniform-noise fill), draw N subsets S_1 .. S_N of k regions each, uniformly without
// replacement (subset s: the first k entries of random_order(regions, derived_seed(seed, s)),
// core/random.h). For each, the score drop
//   d_s = f(x) - f(x with the regions of S_s replaced by the noise)
// (the incremental flipper: one step of k regions), and for a map R the relevance it assigns there,
//   r_s = sum_{q: the working pixel under q's centre lies in S_s} R_q   (RegionGrid::aggregate).
// The metric is the Pearson correlation of (r_s) and (d_s) over the N subsets, in [-1, 1]: 1 when the
// drops are an increasing affine function of the map's sums; 0 when either is constant (nothing to
// correlate). The drops do not depend on the map, so every method of one image shares them.
#pragma once

#include <bowlrp/bow/image.h>
#include <bowlrp/bow/trace.h>
#include <bowlrp/evaluation/pixel_flipping.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bowlrp::evaluation {

/// Options of the faithfulness correlation.
struct FaithfulnessOptions {
  int subsets = 20;      ///< N, random subsets (>= 2)
  int regions = 16;      ///< k, regions per subset (>= 1; at most the grid's regions)
  std::uint64_t seed = 0;  ///< seeds the subsets
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// The random subsets of one image's grid and the score drop of removing each.
struct SubsetDrops {
  std::vector<std::vector<int>> subsets;  ///< N subsets of k region indices
  std::vector<double> drops;              ///< d_s = f(x) - f(x without S_s)
};

/// Draws the subsets on the grid of `flip` (region size, noise seed) and measures each drop with the
/// incremental flipper, in parallel, independent of the thread count; throws std::invalid_argument
/// for more regions per subset than the grid has.
SubsetDrops subset_drops(const IncrementalFlipper& flipper, const bow::GrayImage& image, const bow::Trace& trace,
                         const PixelFlipOptions& flip, const FaithfulnessOptions& options);
/// Same through full re-runs of a score callback (the reference).
SubsetDrops subset_drops(const ImageScore& score, const bow::GrayImage& image, const PixelFlipOptions& flip,
                         const FaithfulnessOptions& options);

/// Pearson correlation of each subset's summed relevance of a W x H map and its drop (0 when either
/// is constant); `grid` must be the grid the subsets were drawn on.
double faithfulness_correlation(const SubsetDrops& drops, const RegionGrid& grid, const double* relevance,
                                int width, int height);

/// Pearson correlation of two equally long series (0 when either is constant); throws
/// std::invalid_argument for fewer than 2 values, different lengths or a non-finite value.
double pearson_correlation(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace bowlrp::evaluation
