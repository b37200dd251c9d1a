// Relevance of pixels from the relevance of local features (the paper's Eq 8 backwards).
//
// Each feature spreads its relevance over its support (clipped to the image, original pixels) in
// proportion to how much of each pixel the support covers:
//   R_q = sum_{l : q in support(l)} R_l w_l(q) / A_l,   w_l(q) = w_x(x) w_y(y),   A_l = sum_q w_l(q),
// where w_x is 1 on the support's interior columns and its coverage (in (0, 1]) on the first and
// last column (rows alike; see bow/dsift.h: at scale 1 and even bin size the boundary rows and
// columns count half, which centres the support on the frame centre at every resolution). The
// separable weights go into a 2-D difference array as the outer product of two 1-D difference
// sequences (4 x 4 corner updates per feature; 4 for a plain box) and are integrated by one running
// sum per row and one per column, so the cost is O(L + W H) whatever the supports' sizes;
// everything is in double precision and sum_q R_q = sum_l R_l up to rounding. A feature with an
// empty support cannot be placed and its relevance is reported as `unassigned`.
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
/// size mismatch, a support outside the image or a coverage outside (0, 1].
PixelRelevance relevance_pixels(const bow::FeatureTrace& features, const std::vector<double>& R_l);

}  // namespace bowlrp::decompose
