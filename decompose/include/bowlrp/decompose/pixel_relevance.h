// Relevance of pixels from the relevance of local features (the paper's Eq 8 backwards).
//
// Each feature spreads its relevance uniformly over its support (clipped to the image, original
// pixels): R_q = sum_{l : q in support(l)} R_l / area(l). The boxes are added to a 2-D difference
// array (four corner updates each) and integrated by one running sum per row and one per column,
// so the cost is O(L + W H) whatever the supports' sizes; everything is in double precision and
// sum_q R_q = sum_l R_l up to rounding. A feature with an empty support cannot be placed and
// its relevance is reported as `unassigned`.
#pragma once

#include <bowlrp/bow/dsift.h>

#include <vector>

namespace bowlrp::decompose {

/// Pixel-wise relevance map at the original image size.
struct PixelRelevance {
  int width = 0;              ///< original image width
  int height = 0;             ///< original image height
  std::vector<double> R;      ///< R_q row-major, width * height
  double unassigned = 0.0;    ///< relevance of features with an empty support
  /// Relevance of pixel (x, y).
  double at(int x, int y) const { return R[static_cast<std::size_t>(y) * width + x]; }
  /// sum_q R_q.
  double total() const;
};

/// Spreads R_l (one per feature of the trace) over the pixels; throws std::invalid_argument on a
/// size mismatch or a support outside the image.
PixelRelevance relevance_pixels(const bow::FeatureTrace& features, const std::vector<double>& R_l);

}  // namespace bowlrp::decompose
