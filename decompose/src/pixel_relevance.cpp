#include <bowlrp/decompose/pixel_relevance.h>

#include <numeric>
#include <stdexcept>
#include <string>

namespace bowlrp::decompose {

double PixelRelevance::total() const { return std::accumulate(R.begin(), R.end(), 0.0); }

PixelRelevance relevance_pixels(const bow::FeatureTrace& features, const std::vector<double>& R_l) {
  const std::size_t L = features.size();
  if (R_l.size() != L)
    throw std::invalid_argument("relevance_pixels: " + std::to_string(R_l.size()) + " feature relevances for " +
                                std::to_string(L) + " features");
  if (features.width < 0 || features.height < 0 || (L > 0 && (features.width == 0 || features.height == 0)))
    throw std::invalid_argument("relevance_pixels: image size " + std::to_string(features.width) + " x " +
                                std::to_string(features.height) + " cannot hold " + std::to_string(L) + " features");
  const std::size_t W = features.width, H = features.height, W1 = W + 1;
  PixelRelevance out;
  out.width = features.width;
  out.height = features.height;
  // Difference array of (W+1) x (H+1): a box adds v at its top-left and bottom-right corners and
  // subtracts it at the other two, so the 2-D running sum is v exactly inside the box.
  std::vector<double> diff(W1 * (H + 1), 0.0);
  for (std::size_t l = 0; l < L; ++l) {
    const bow::Box& b = features.frames[l].support;
    const long long area = b.area();
    if (area == 0) {
      out.unassigned += R_l[l];
      continue;
    }
    if (b.x0 < 0 || b.y0 < 0 || b.x1 > features.width || b.y1 > features.height)
      throw std::invalid_argument("relevance_pixels: support [" + std::to_string(b.x0) + ", " + std::to_string(b.x1) +
                                  ") x [" + std::to_string(b.y0) + ", " + std::to_string(b.y1) + ") of feature " +
                                  std::to_string(l) + " leaves the " + std::to_string(W) + " x " + std::to_string(H) +
                                  " image");
    const double v = R_l[l] / static_cast<double>(area);
    diff[b.y0 * W1 + b.x0] += v;
    diff[b.y0 * W1 + b.x1] -= v;
    diff[b.y1 * W1 + b.x0] -= v;
    diff[b.y1 * W1 + b.x1] += v;
  }
  out.R.assign(W * H, 0.0);
  // Running sum along rows, then down columns (row by row, so memory is read in order).
  std::vector<double> column(W, 0.0);
  for (std::size_t y = 0; y < H; ++y) {
    double run = 0.0;
    const double* drow = diff.data() + y * W1;
    double* row = out.R.data() + y * W;
    for (std::size_t x = 0; x < W; ++x) {
      run += drow[x];
      column[x] += run;
      row[x] = column[x];
    }
  }
  return out;
}

}  // namespace bowlrp::decompose
