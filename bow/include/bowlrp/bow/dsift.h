// Dense multi-scale SIFT (VLFeat dsift arithmetic, evaluated locally) with the pixel support of every
// local feature.
//
// For each bin size s in DsiftOptions::bin_sizes (PHOW-like: 4, 6, 8, 10 px) the working image is
// smoothed by a Gaussian of sigma = s / magnif (vl_imsmooth_f) and dsift samples 4x4-bin, 8-orientation
// descriptors (128 floats, L2-normalised, clamped at 0.2, renormalised) on a grid of `step`
// pixels. Descriptors whose gradient norm falls below contrast_threshold are zeroed, as VLFeat's
// PHOW does. A frame's support is the 4s x 4s square covered by its bins, centred on the frame
// centre c: [c - 2s, c + 2s] in working pixel-centre coordinates, i.e. edges [c - 2s + 1/2,
// c + 2s + 1/2) with pixel i spanning [i, i + 1). It is mapped back to original pixels (edges
// divided by GrayImage::scale_x / scale_y) and clipped to the image, and kept exactly: as the
// box of the pixels it touches plus the covered fraction of the box's first and last column and
// row (at scale 1 and even s the edges fall on pixel centres, so the boundary rows and columns
// count half; at odd s they fall on pixel edges and count fully). The pixel weight
// w_l(q) = (covered fraction of q) is then symmetric about the frame centre at any scale, and the
// relevance of a feature is spread as R_q = sum_l R_l w_l(q) / sum_q' w_l(q').
// As in vl_phow, scale s uses frame bounds starting at floor(3/2 (max_s - s)), so all scales share
// the same frame centres.
//
// The arithmetic is VLFeat's dsift (same gradient, fast atan2, orientation split, triangular bin
// kernel (1 - |d|/s), window weights, 0.2-clamped L2 normalisation, keypoint norm = descriptor
// mass / (3s+1)^2), but the bin convolutions are evaluated directly at the sampled positions
// instead of vl_dsift's running (integral) sums. Running float sums make every value depend on
// its whole image column in the last bits; direct sums make a descriptor an exact function of
// its receptive field (support widened by s/2 + the 3-sigma smoothing radius + 1 gradient px).
// That locality is what lets extract_region() recompute only the features a pixel change can
// reach and still be bit-identical to a full extraction (pixel flipping). Against vl_dsift the
// descriptors agree to float rounding (~1e-6), frames exactly.
#pragma once

#include <bowlrp/bow/image.h>

#include <cstddef>
#include <utility>
#include <vector>

namespace bowlrp::bow {

/// Options of dense SIFT extraction.
struct DsiftOptions {
  std::vector<int> bin_sizes{4, 6, 8, 10};  ///< bin side in working px, one scale each
  int step = 4;                             ///< grid step in working px
  double magnif = 6.0;                      ///< Gaussian pre-smoothing sigma = bin_size / magnif
  double contrast_threshold = 0.005;        ///< descriptors of smaller norm are zeroed
  double window_size = 1.5;                 ///< VLFeat's Gaussian window, in bins
  bool fast = true;                         ///< flat-window approximation (vl_dsift_set_flat_window)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
  /// Every option, described once, each recorded under its field's name.
  static const core::OptionSchema<DsiftOptions>& schema();
};

/// Axis-aligned pixel box, half-open [x0, x1) x [y0, y1), in original image pixels.
struct Box {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  /// Number of pixels covered (0 for empty boxes).
  long long area() const { return x1 > x0 && y1 > y0 ? static_cast<long long>(x1 - x0) * (y1 - y0) : 0; }
  /// Whether the two boxes share at least one pixel.
  bool intersects(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

/// Fraction of the first and last column and row of a support box that the support covers, each
/// in (0, 1]; interior pixels are covered fully. A one-pixel-wide box covers x0 + x1 - 1 of its column.
struct Coverage {
  float x0 = 1, y0 = 1, x1 = 1, y1 = 1;  ///< first column, first row, last column, last row
};

/// Geometry of one local feature.
struct Frame {
  float x = 0, y = 0;   ///< centre in original pixels ((x_working + 0.5) / scale_x - 0.5)
  float size = 0;       ///< support side in original pixels (4 * bin_size / scale)
  int bin_size = 0;     ///< bin size in working pixels (the scale it was extracted at)
  Box support;          ///< pixels the support touches, original px, clipped to the image (never empty)
  Coverage cover;       ///< covered fraction of the boundary pixels of `support` (all 1 = plain box)
  /// Covered area sum_q w(q) in original px^2, w(x, y) = w_x(x) w_y(y) with w_x 1 on the interior
  /// columns of `support` and the coverage on its first and last (rows alike); 0 for an empty support.
  double weighted_area() const;
};

/// Output of DenseSift: frames and their descriptors, the trace the pixel relevance step needs.
struct FeatureTrace {
  static constexpr int kDim = 128;  ///< descriptor length
  int width = 0, height = 0;        ///< original image size
  int work_width = 0, work_height = 0;  ///< working image size
  double scale = 1.0;               ///< GrayImage::scale (cap factor of the longer side)
  double scale_x = 1.0;             ///< GrayImage::scale_x, working / original width
  double scale_y = 1.0;             ///< GrayImage::scale_y, working / original height
  std::vector<Frame> frames;        ///< one per local feature, ordered by scale then row-major grid
  std::vector<float> descriptors;   ///< frames.size() * 128 values, row-major
  /// Number of local features.
  std::size_t size() const { return frames.size(); }
  /// Descriptor of feature l.
  const float* descriptor(std::size_t l) const { return descriptors.data() + l * kDim; }
};

/// Dense SIFT extractor; immutable and thread-safe (each call makes its own VLFeat filter).
class DenseSift {
 public:
  /// Validates the options (throws std::invalid_argument).
  explicit DenseSift(DsiftOptions options = {});
  /// Extracts all frames; throws std::invalid_argument naming the image if it is smaller than
  /// one descriptor support at the smallest bin size.
  FeatureTrace extract(const GrayImage& image) const;
  /// Recomputes only the features whose descriptor can depend on a pixel of `changed` (original
  /// px): their receptive field meets it, a superset of the supports meeting it. Returns those
  /// frames and descriptors (same order as extract()) and, in *indices if non-null, their indices
  /// in the full frame list. Bit-identical to the same rows of extract(image).
  FeatureTrace extract_region(const GrayImage& image, const Box& changed,
                              std::vector<std::size_t>* indices) const;
  /// Frames of each scale (grid columns x rows) that extract() returns for an image of this
  /// working size; empty scales have 0 columns or rows.
  std::vector<std::pair<int, int>> grid(int work_width, int work_height) const;
  /// The options in use.
  const DsiftOptions& options() const { return options_; }

 private:
  DsiftOptions options_;
};

}  // namespace bowlrp::bow
