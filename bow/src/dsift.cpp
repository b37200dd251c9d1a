#include <bowlrp/bow/dsift.h>

extern "C" {
#include <vl/imopv.h>
#include <vl/mathop.h>
}

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

namespace bowlrp::bow {

namespace {

constexpr int kBins = 4;    // spatial bins per side
constexpr int kOrient = 8;  // orientation bins

// Per-scale geometry shared by extract() and extract_region().
struct ScaleGeometry {
  int bin = 0;       // s, working px
  int offset = 0;    // first frame's left/top bin centre (vl_phow's aligned bound, 0-based)
  int cols = 0;      // frames across
  int rows = 0;      // frames down
  int radius = 0;    // Gaussian pre-smoothing radius, as vl_imsmooth_f: ceil(3 sigma)
  double sigma = 0;  // pre-smoothing sigma
};

ScaleGeometry geometry(const DsiftOptions& o, int max_bin, int s, int w, int h) {
  ScaleGeometry g;
  g.bin = s;
  g.offset = static_cast<int>(std::floor(1.5 * (max_bin - s)));
  // vl_dsift: frames while framex <= boundMaxX - frameSize + 1, frameSize = 3s + 1, boundMax = w-1.
  const int range_x = (w - 1) - g.offset - 3 * s;
  const int range_y = (h - 1) - g.offset - 3 * s;
  g.cols = range_x >= 0 ? range_x / o.step + 1 : 0;
  g.rows = range_y >= 0 ? range_y / o.step + 1 : 0;
  g.sigma = s / o.magnif;
  g.radius = static_cast<int>(std::ceil(g.sigma * 3.0));
  return g;
}

// The 2s-1 taps of the bin kernel along one axis for spatial bin b (VLFeat's _vl_dsift_new_kernel
// with the flat window folded to the unit-height triangle), and the flat window's bin weight
// (_vl_dsift_get_bin_window_mean). vl_imconvcol convolves (tap at offset d uses ker[-d]); we
// correlate, so the kernel is stored reversed: k[d + s - 1] = ker[-d]. That matters for the
// Gaussian window, which is off-centre for every bin.
std::vector<float> bin_kernel(int s, int b, double window_size, bool flat) {
  std::vector<float> k(2 * s - 1);
  const float delta = s * (b - 0.5F * (kBins - 1));
  const float sigma = static_cast<float>(s) * static_cast<float>(window_size);
  for (int x = -s + 1; x <= s - 1; ++x) {
    const float z = (x - delta) / sigma;
    k[s - 1 - x] = (1.0F - std::fabs(static_cast<float>(x)) / s) * (flat ? 1.0F : std::exp(-0.5F * z * z));
  }
  return k;
}

float window_mean(int s, int b, double window_size) {
  const float delta = s * (b - 0.5F * (kBins - 1));
  const float sigma = static_cast<float>(s) * static_cast<float>(window_size);
  float acc = 0.0F;
  for (int x = -s + 1; x <= s - 1; ++x) {
    const float z = (x - delta) / sigma;
    acc += std::exp(-0.5F * z * z);
  }
  return acc / (2 * s - 1);
}

// VLFeat's _vl_dsift_normalize_histogram.
void normalise(float* d, int n) {
  float norm = 0.0F;
  for (int i = 0; i < n; ++i) norm += d[i] * d[i];
  norm = vl_fast_sqrt_f(norm) + VL_EPSILON_F;
  for (int i = 0; i < n; ++i) d[i] /= norm;
}

struct Range {
  int i0, i1, j0, j1;  // frame columns [i0, i1), rows [j0, j1)
  bool empty() const { return i1 <= i0 || j1 <= j0; }
};

// Computes frames [i0,i1) x [j0,j1) of one scale into frames/descrs (row-major over the range).
// Every value is a fixed-order sum over the frame's receptive field only, so any crop holding
// that field (or reaching the true image border) gives the same bits.
void run_scale(const GrayImage& img, const DsiftOptions& o, const ScaleGeometry& g, const Range& r,
               Frame* frames, float* descrs) {
  const int s = g.bin, W = img.width, H = img.height, step = o.step;
  const int reach = (s - 1) + 1 + g.radius;  // bin kernel + gradient + smoothing
  // Sample positions (bin centres) span [first frame, last frame + 3s] along each axis.
  const int sx0 = g.offset + r.i0 * step, sx1 = g.offset + (r.i1 - 1) * step + 3 * s;
  const int sy0 = g.offset + r.j0 * step, sy1 = g.offset + (r.j1 - 1) * step + 3 * s;
  const int X0 = std::max(0, sx0 - reach), X1 = std::min(W, sx1 + reach + 1);
  const int Y0 = std::max(0, sy0 - reach), Y1 = std::min(H, sy1 + reach + 1);
  const int cw = X1 - X0, ch = Y1 - Y0;

  // 1. Gaussian pre-smoothing of the crop (VLFeat, direct convolution, padding by continuity).
  std::vector<float> sm(static_cast<std::size_t>(cw) * ch);
  vl_imsmooth_f(sm.data(), cw, img.pixels.data() + static_cast<std::size_t>(Y0) * W + X0, cw, ch, W,
                g.sigma, g.sigma);

  // 2. Gradient, split between the two nearest of 8 orientations (vl_dsift_process), stored
  //    interleaved [y][x][t] so the bin convolutions below run over contiguous memory.
  std::vector<float> grad(static_cast<std::size_t>(cw) * ch * kOrient, 0.0F);
  auto at = [&](int x, int y) { return sm[static_cast<std::size_t>(y) * cw + x]; };
  for (int y = 0; y < ch; ++y) {
    for (int x = 0; x < cw; ++x) {
      float gx, gy;
      if (ch == 1) gy = 0.0F;
      else if (y == 0) gy = at(x, y + 1) - at(x, y);
      else if (y == ch - 1) gy = at(x, y) - at(x, y - 1);
      else gy = 0.5F * (at(x, y + 1) - at(x, y - 1));
      if (cw == 1) gx = 0.0F;
      else if (x == 0) gx = at(x + 1, y) - at(x, y);
      else if (x == cw - 1) gx = at(x, y) - at(x - 1, y);
      else gx = 0.5F * (at(x + 1, y) - at(x - 1, y));
      const float angle = vl_fast_atan2_f(gy, gx);
      const float mod = vl_fast_sqrt_f(gx * gx + gy * gy);
      const float nt = vl_mod_2pi_f(angle) * static_cast<float>(kOrient / (2 * VL_PI));
      const int bint = static_cast<int>(vl_floor_f(nt));
      const float rbint = nt - bint;
      float* p = grad.data() + (static_cast<std::size_t>(y) * cw + x) * kOrient;
      p[bint % kOrient] = (1 - rbint) * mod;
      p[(bint + 1) % kOrient] = rbint * mod;
    }
  }

  // 3. Bin kernels: one shared triangle (flat window, then a weight per bin) or one per bin.
  const bool flat = o.fast;
  const int nk = flat ? 1 : kBins;
  std::vector<std::vector<float>> ker(nk);
  for (int b = 0; b < nk; ++b) ker[b] = bin_kernel(s, flat ? -1 : b, o.window_size, flat);
  float weight[kBins][kBins];
  for (int by = 0; by < kBins; ++by)
    for (int bx = 0; bx < kBins; ++bx)
      weight[by][bx] = flat ? window_mean(s, bx, o.window_size) * window_mean(s, by, o.window_size) : 1.0F;
  const int taps = 2 * s - 1;

  // 4. Vertical pass at the sampled rows only: V[slot][x][t] = sum_dy k[dy] G[clamp(y+dy)][x][t].
  std::vector<int> row_slot(static_cast<std::size_t>(nk) * ch, -1);
  std::vector<std::pair<int, int>> rows;  // (crop row, kernel)
  for (int j = r.j0; j < r.j1; ++j)
    for (int by = 0; by < kBins; ++by) {
      const int y = g.offset + j * step + by * s - Y0, k = flat ? 0 : by;
      int& slot = row_slot[static_cast<std::size_t>(k) * ch + y];
      if (slot < 0) { slot = static_cast<int>(rows.size()); rows.emplace_back(y, k); }
    }
  const std::size_t row_len = static_cast<std::size_t>(cw) * kOrient;
  std::vector<float> vert(rows.size() * row_len, 0.0F);
  for (std::size_t rs = 0; rs < rows.size(); ++rs) {
    const auto [y, k] = rows[rs];
    float* acc = vert.data() + rs * row_len;
    const float* kk = ker[k].data();
    for (int d = 0; d < taps; ++d) {
      const int yy = std::clamp(y + d - (s - 1), 0, ch - 1);
      const float c = kk[d];
      const float* src = grad.data() + static_cast<std::size_t>(yy) * row_len;
      for (std::size_t i = 0; i < row_len; ++i) acc[i] += c * src[i];
    }
  }

  // 5. Horizontal pass at the sampled columns: Hz[row slot][col slot][t].
  std::vector<int> col_slot(static_cast<std::size_t>(nk) * cw, -1);
  std::vector<std::pair<int, int>> cols;
  for (int i = r.i0; i < r.i1; ++i)
    for (int bx = 0; bx < kBins; ++bx) {
      const int x = g.offset + i * step + bx * s - X0, k = flat ? 0 : bx;
      int& slot = col_slot[static_cast<std::size_t>(k) * cw + x];
      if (slot < 0) { slot = static_cast<int>(cols.size()); cols.emplace_back(x, k); }
    }
  std::vector<float> horiz(rows.size() * cols.size() * kOrient, 0.0F);
  for (std::size_t rs = 0; rs < rows.size(); ++rs) {
    const float* v = vert.data() + rs * row_len;
    for (std::size_t cs = 0; cs < cols.size(); ++cs) {
      const auto [x, k] = cols[cs];
      const float* kk = ker[k].data();
      float acc[kOrient] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int d = 0; d < taps; ++d) {
        const int xx = std::clamp(x + d - (s - 1), 0, cw - 1);
        const float c = kk[d];
        const float* src = v + static_cast<std::size_t>(xx) * kOrient;
        for (int t = 0; t < kOrient; ++t) acc[t] += c * src[t];
      }
      std::copy(acc, acc + kOrient, horiz.data() + (rs * cols.size() + cs) * kOrient);
    }
  }

  // 6. Assemble, normalise as vl_dsift, zero low-contrast descriptors as vl_phow, map geometry.
  const float norm_const = static_cast<float>(3 * s + 1) * static_cast<float>(3 * s + 1);
  const float thr = static_cast<float>(o.contrast_threshold);
  std::size_t n = 0;
  for (int j = r.j0; j < r.j1; ++j) {
    const int fy = g.offset + j * step;
    for (int i = r.i0; i < r.i1; ++i, ++n) {
      const int fx = g.offset + i * step;
      float* d = descrs + n * FeatureTrace::kDim;
      for (int by = 0; by < kBins; ++by) {
        const int rs = row_slot[static_cast<std::size_t>(flat ? 0 : by) * ch + (fy + by * s - Y0)];
        for (int bx = 0; bx < kBins; ++bx) {
          const int cs = col_slot[static_cast<std::size_t>(flat ? 0 : bx) * cw + (fx + bx * s - X0)];
          const float* h = horiz.data() + (static_cast<std::size_t>(rs) * cols.size() + cs) * kOrient;
          float* dst = d + (by * kBins + bx) * kOrient;
          for (int t = 0; t < kOrient; ++t) dst[t] = weight[by][bx] * h[t];
        }
      }
      float mass = 0.0F;
      for (int b = 0; b < FeatureTrace::kDim; ++b) mass += d[b];
      mass /= norm_const;
      if (mass < thr) {
        std::fill(d, d + FeatureTrace::kDim, 0.0F);
      } else {
        normalise(d, FeatureTrace::kDim);
        for (int b = 0; b < FeatureTrace::kDim; ++b) d[b] = std::min(d[b], 0.2F);
        normalise(d, FeatureTrace::kDim);
      }

      Frame& f = frames[n];
      const double cx = fx + 1.5 * s, cy = fy + 1.5 * s;  // working px
      f.bin_size = s;
      f.size = static_cast<float>(4.0 * s / img.scale);
      f.x = static_cast<float>((cx + 0.5) / img.scale_x - 0.5);
      f.y = static_cast<float>((cy + 0.5) / img.scale_y - 0.5);
      // Support: working edges [c - 2s + 1/2, c + 2s + 1/2) -> original edges, clipped, kept
      // exactly as the touched pixels plus the covered fraction of the first and last one, so
      // it stays symmetric about the centre (rounding to whole pixels shifted it by 1/2 px).
      auto span = [](double c, double half, double sc, int n_orig, int& a, int& b, float& ca, float& cb) {
        // An edge within 1e-9 px of a pixel edge is on it: the division only adds rounding there.
        auto snap = [](double e) {
          const double r = std::round(e);
          return std::fabs(e - r) < 1e-9 ? r : e;
        };
        const double e0 = std::clamp(snap((c - half + 0.5) / sc), 0.0, static_cast<double>(n_orig));
        const double e1 = std::clamp(snap((c + half + 0.5) / sc), e0, static_cast<double>(n_orig));
        a = std::clamp(static_cast<int>(std::floor(e0)), 0, n_orig - 1);
        b = std::clamp(static_cast<int>(std::ceil(e1)), a + 1, n_orig);
        ca = static_cast<float>(a + 1 - e0);
        cb = static_cast<float>(e1 - (b - 1));
      };
      span(cx, 2.0 * s, img.scale_x, img.original_width, f.support.x0, f.support.x1, f.cover.x0, f.cover.x1);
      span(cy, 2.0 * s, img.scale_y, img.original_height, f.support.y0, f.support.y1, f.cover.y0, f.cover.y1);
    }
  }
}

void check_image(const GrayImage& img) {
  if (img.width < 1 || img.height < 1 ||
      img.pixels.size() != static_cast<std::size_t>(img.width) * img.height)
    throw std::invalid_argument("dense SIFT: image '" + img.source + "' is malformed (" +
                                std::to_string(img.width) + "x" + std::to_string(img.height) + ", " +
                                std::to_string(img.pixels.size()) + " pixels)");
  if (img.original_width < 1 || img.original_height < 1 || !(img.scale_x > 0) || !(img.scale_y > 0))
    throw std::invalid_argument("dense SIFT: image '" + img.source +
                                "' lacks its original geometry (original size and scale_x/scale_y)");
}

}  // namespace

double Frame::weighted_area() const {
  if (support.area() == 0) return 0.0;
  const double wx = (support.x1 - support.x0) - (1.0 - cover.x0) - (1.0 - cover.x1);
  const double wy = (support.y1 - support.y0) - (1.0 - cover.y0) - (1.0 - cover.y1);
  return wx * wy;
}

const core::OptionSchema<DsiftOptions>& DsiftOptions::schema() {
  using O = DsiftOptions;
  using core::OptionRange;
  using core::Recorded;
  // Dense SIFT converts contrast_threshold and window_size to float: beyond FLT_MAX the conversion
  // overflows, and a window below the smallest normal float becomes a zero width (NaN descriptors).
  // The smoothing has sigma = bin size / magnif <= 256 / magnif px and 2 ceil(3 sigma) + 1 taps:
  // magnif >= 0.01 keeps it below 160k taps.
  static const core::OptionSchema<O> schema = [] {
    constexpr double kFloatMax = std::numeric_limits<float>::max(), kFloatMin = std::numeric_limits<float>::min();
    core::OptionSchema<O> s;
    s.push_back(core::record_as(
        core::int_list_option<O>("bin_sizes", "--bin-sizes", "dense SIFT bin sizes in working px, one scale each",
                                 [](O& o) -> std::vector<int>& { return o.bin_sizes; }, OptionRange::closed(1, 256), false),
        "bin_sizes", Recorded::encoding));
    s.push_back(core::record_as(core::integer_option<O>("step", "--step", "dense SIFT grid step in working px",
                                                        [](O& o) -> int& { return o.step; }, OptionRange::at_least(1)),
                                "step", Recorded::encoding));
    s.push_back(core::record_as(core::real_option<O>("magnif", "--magnif", "dense SIFT pre-smoothing sigma = bin size / magnif",
                                                     [](O& o) -> double& { return o.magnif; }, OptionRange::at_least(0.01)),
                                "magnif", Recorded::encoding));
    s.push_back(core::record_as(
        core::real_option<O>("contrast_threshold", "--contrast-threshold", "dense SIFT descriptors of smaller norm are zeroed",
                             [](O& o) -> double& { return o.contrast_threshold; }, OptionRange::closed(0, kFloatMax)),
        "contrast_threshold", Recorded::encoding));
    s.push_back(core::record_as(
        core::real_option<O>("window_size", "--window-size", "dense SIFT: VLFeat's Gaussian window, in bins",
                             [](O& o) -> double& { return o.window_size; }, OptionRange::closed(kFloatMin, kFloatMax)),
        "window_size", Recorded::encoding));
    s.push_back(core::record_as(core::bool_option<O>("fast", "--fast", "flat-window approximation of dense SIFT",
                                                     [](O& o) -> bool& { return o.fast; }),
                                "fast", Recorded::encoding));
    return s;
  }();
  return schema;
}

void DsiftOptions::validate() const {
  if (bin_sizes.empty())
    throw std::invalid_argument("DsiftOptions::bin_sizes is empty: expected at least one bin size, e.g. {4, 6, 8, 10}");
  for (int s : bin_sizes)
    if (s < 1 || s > 256)
      throw std::invalid_argument("DsiftOptions::bin_sizes contains " + std::to_string(s) +
                                  ": expected bin sizes in [1, 256] working pixels");
  if (step < 1) throw std::invalid_argument("DsiftOptions::step = " + std::to_string(step) + ": expected >= 1");
  // sigma = bin size / magnif and the smoothing kernel has 2 ceil(3 sigma) + 1 taps: below 0.01 a
  // 256-pixel bin would need a kernel of over 150k taps per row (the model loader has the same bound).
  if (!(magnif >= 0.01) || !std::isfinite(magnif))
    throw std::invalid_argument("DsiftOptions::magnif = " + std::to_string(magnif) +
                                ": expected a finite value >= 0.01");
  if (!(contrast_threshold >= 0) || !std::isfinite(contrast_threshold))
    throw std::invalid_argument("DsiftOptions::contrast_threshold = " + std::to_string(contrast_threshold) +
                                ": expected a finite value >= 0");
  if (!(window_size > 0) || !std::isfinite(window_size))
    throw std::invalid_argument("DsiftOptions::window_size = " + std::to_string(window_size) +
                                ": expected a finite value > 0");
}

DenseSift::DenseSift(DsiftOptions options) : options_(std::move(options)) { options_.validate(); }

std::vector<std::pair<int, int>> DenseSift::grid(int work_width, int work_height) const {
  const int max_bin = *std::max_element(options_.bin_sizes.begin(), options_.bin_sizes.end());
  std::vector<std::pair<int, int>> out;
  for (int s : options_.bin_sizes) {
    const ScaleGeometry g = geometry(options_, max_bin, s, work_width, work_height);
    out.emplace_back(g.cols, g.rows);
  }
  return out;
}

namespace {
FeatureTrace empty_trace(const GrayImage& img) {
  FeatureTrace t;
  t.width = img.original_width;
  t.height = img.original_height;
  t.work_width = img.width;
  t.work_height = img.height;
  t.scale = img.scale;
  t.scale_x = img.scale_x;
  t.scale_y = img.scale_y;
  return t;
}
}  // namespace

FeatureTrace DenseSift::extract(const GrayImage& image) const {
  check_image(image);
  const auto& o = options_;
  const int max_bin = *std::max_element(o.bin_sizes.begin(), o.bin_sizes.end());
  std::vector<ScaleGeometry> geo;
  std::size_t total = 0;
  for (int s : o.bin_sizes) {
    geo.push_back(geometry(o, max_bin, s, image.width, image.height));
    total += static_cast<std::size_t>(geo.back().cols) * geo.back().rows;
  }
  if (total == 0) {
    const int min_bin = *std::min_element(o.bin_sizes.begin(), o.bin_sizes.end());
    throw std::invalid_argument(
        "dense SIFT: image '" + (image.source.empty() ? std::string("<memory>") : image.source) + "' is " +
        std::to_string(image.width) + "x" + std::to_string(image.height) +
        " working px, too small for one descriptor: bin size " + std::to_string(min_bin) + " needs at least " +
        std::to_string(geometry(o, max_bin, min_bin, 0, 0).offset + 3 * min_bin + 1) + " px per side (4x4 bins, " +
        "scales aligned to bin size " + std::to_string(max_bin) + ")");
  }
  FeatureTrace t = empty_trace(image);
  t.frames.resize(total);
  t.descriptors.resize(total * FeatureTrace::kDim);
  std::size_t at = 0;
  for (const ScaleGeometry& g : geo) {
    const Range r{0, g.cols, 0, g.rows};
    if (r.empty()) continue;
    run_scale(image, o, g, r, t.frames.data() + at, t.descriptors.data() + at * FeatureTrace::kDim);
    at += static_cast<std::size_t>(g.cols) * g.rows;
  }
  return t;
}

FeatureTrace DenseSift::extract_region(const GrayImage& image, const Box& changed,
                                       std::vector<std::size_t>* indices) const {
  check_image(image);
  const auto& o = options_;
  if (indices) indices->clear();
  FeatureTrace t = empty_trace(image);
  // Changed original pixels -> working pixels they can influence (area resampling is local; one
  // pixel of slack absorbs rounding of the fractional ratios).
  const bool resized = image.width != image.original_width || image.height != image.original_height;
  const int slack = resized ? 1 : 0;
  const int wx0 = std::max(0, static_cast<int>(std::floor(changed.x0 * image.scale_x)) - slack);
  const int wx1 = std::min(image.width, static_cast<int>(std::ceil(changed.x1 * image.scale_x)) + slack);
  const int wy0 = std::max(0, static_cast<int>(std::floor(changed.y0 * image.scale_y)) - slack);
  const int wy1 = std::min(image.height, static_cast<int>(std::ceil(changed.y1 * image.scale_y)) + slack);
  if (changed.area() == 0 || wx1 <= wx0 || wy1 <= wy0) return t;

  const int max_bin = *std::max_element(o.bin_sizes.begin(), o.bin_sizes.end());
  std::size_t base = 0;
  for (int s : o.bin_sizes) {
    const ScaleGeometry g = geometry(o, max_bin, s, image.width, image.height);
    // Frame at f reads working px [f - s - radius, f + 4s + radius] (bins at f .. f + 3s).
    const int reach = s + g.radius;
    auto first = [&](int lo) {  // smallest index with f + 3s + reach >= lo
      const int v = lo - 3 * s - reach - g.offset;
      return v <= 0 ? 0 : (v + o.step - 1) / o.step;
    };
    auto last = [&](int hi) {  // one past the largest index with f - reach <= hi - 1
      const int v = hi - 1 + reach - g.offset;
      return v < 0 ? 0 : v / o.step + 1;
    };
    Range r{first(wx0), std::min(g.cols, last(wx1)), first(wy0), std::min(g.rows, last(wy1))};
    if (!r.empty()) {
      const std::size_t n = static_cast<std::size_t>(r.i1 - r.i0) * (r.j1 - r.j0);
      const std::size_t at = t.frames.size();
      t.frames.resize(at + n);
      t.descriptors.resize((at + n) * FeatureTrace::kDim);
      run_scale(image, o, g, r, t.frames.data() + at, t.descriptors.data() + at * FeatureTrace::kDim);
      if (indices)
        for (int j = r.j0; j < r.j1; ++j)
          for (int i = r.i0; i < r.i1; ++i)
            indices->push_back(base + static_cast<std::size_t>(j) * g.cols + i);
    }
    base += static_cast<std::size_t>(g.cols) * g.rows;
  }
  return t;
}

}  // namespace bowlrp::bow
