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
  // Difference array of (W+1) x (H+1). A support's weight is separable, w(x, y) = w_x(x) w_y(y),
  // and w_x is a box with its two boundary columns scaled by their coverage: its first differences
  // are +c0 at x0, +(1 - c0) at x0 + 1, -(1 - c1) at x1 - 1 and -c1 at x1 (rows alike). The 2-D
  // differences of the product are the outer product of the two, 4 x 4 corner updates, and the 2-D
  // running sum below gives v w_x(x) w_y(y) exactly inside the box. A plain box (coverage 1)
  // reduces to the four classic corners.
  std::vector<double> diff(W1 * (H + 1), 0.0);
  for (std::size_t l = 0; l < L; ++l) {
    const bow::Frame& f = features.frames[l];
    const bow::Box& b = f.support;
    if (b.area() == 0) {
      out.unassigned += R_l[l];
      continue;
    }
    if (b.x0 < 0 || b.y0 < 0 || b.x1 > features.width || b.y1 > features.height)
      throw std::invalid_argument("relevance_pixels: support [" + std::to_string(b.x0) + ", " + std::to_string(b.x1) +
                                  ") x [" + std::to_string(b.y0) + ", " + std::to_string(b.y1) + ") of feature " +
                                  std::to_string(l) + " leaves the " + std::to_string(W) + " x " + std::to_string(H) +
                                  " image");
    const bow::Coverage& c = f.cover;
    auto in_unit = [](float v) { return v > 0.0F && v <= 1.0F; };
    const double area = f.weighted_area();
    if (!in_unit(c.x0) || !in_unit(c.x1) || !in_unit(c.y0) || !in_unit(c.y1) || !(area > 0))
      throw std::invalid_argument("relevance_pixels: support coverage (" + std::to_string(c.x0) + ", " +
                                  std::to_string(c.y0) + ", " + std::to_string(c.x1) + ", " + std::to_string(c.y1) +
                                  ") of feature " + std::to_string(l) +
                                  " is not in (0, 1] or leaves no positive covered area");
    const double v = R_l[l] / area;
    const std::size_t xs[4] = {static_cast<std::size_t>(b.x0), static_cast<std::size_t>(b.x0) + 1,
                               static_cast<std::size_t>(b.x1) - 1, static_cast<std::size_t>(b.x1)};
    const std::size_t ys[4] = {static_cast<std::size_t>(b.y0), static_cast<std::size_t>(b.y0) + 1,
                               static_cast<std::size_t>(b.y1) - 1, static_cast<std::size_t>(b.y1)};
    const double ax[4] = {c.x0, 1.0 - c.x0, -(1.0 - c.x1), -static_cast<double>(c.x1)};
    const double ay[4] = {c.y0, 1.0 - c.y0, -(1.0 - c.y1), -static_cast<double>(c.y1)};
    for (int j = 0; j < 4; ++j) {
      if (ay[j] == 0.0) continue;
      for (int i = 0; i < 4; ++i)
        if (ax[i] != 0.0) diff[ys[j] * W1 + xs[i]] += v * (ax[i] * ay[j]);
    }
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
