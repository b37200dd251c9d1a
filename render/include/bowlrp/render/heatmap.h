// Rendering and storing pixel relevance maps.
//
// A map R_q is scaled to v_q = clip(R_q / s, -1, 1), s = max_q |R_q| (or a percentile of |R_q|,
// which keeps a few extreme pixels from washing the rest out), and coloured by a diverging map that
// is centred on 0: v = 0 gives the map's neutral colour exactly (0 is a stop of every map), v > 0
// reds, v < 0 blues, with equal strength for equal |v| (seismic darkens its two ends as matplotlib
// does, red to 0.5 and blue to 0.3, beyond |v| = 0.5).
// Views: "heatmap" (the colours alone), "edges" (Canny edges of the grey image drawn over the
// heatmap, dark on light maps and light on dark ones, so the relevance can be related to image
// structure), "mask" (the image where relevance is among the top q% positive pixels, dimmed
// elsewhere). Output is 8-bit BGR at the map's size (= original image size). PNG and NPY files
// are written atomically (core::write_file_atomic), so non-ASCII paths work.
#pragma once

#include <bowlrp/core/option_schema.h>
#include <bowlrp/decompose/pixel_relevance.h>

#include <array>
#include <string>
#include <vector>

namespace bowlrp::render {

/// An 8-bit interleaved BGR image.
struct Bgr8Image {
  int width = 0;                    ///< pixels across
  int height = 0;                   ///< pixels down
  std::vector<unsigned char> data;  ///< width * height * 3, row-major BGR
  /// Pointer to pixel (x, y)'s 3 bytes.
  const unsigned char* at(int x, int y) const { return data.data() + (static_cast<std::size_t>(y) * width + x) * 3; }
};

/// How the map is scaled to [-1, 1].
enum class HeatmapScaling { max_abs, percentile };
/// What is drawn.
enum class HeatmapView { heatmap, edges, mask };
/// "max_abs" / "percentile".
std::string to_string(HeatmapScaling s);
/// "heatmap" / "edges" / "mask".
std::string to_string(HeatmapView v);
/// Parses "max_abs" or "percentile"; throws std::invalid_argument listing them.
HeatmapScaling heatmap_scaling_from_string(const std::string& name);
/// Parses "heatmap", "edges" or "mask"; throws std::invalid_argument listing them.
HeatmapView heatmap_view_from_string(const std::string& name);
/// Names of the colour maps: "bwr", "seismic", "hot-cold".
std::vector<std::string> colormap_names();
/// Colour of v in [-1, 1] under a named map, as {B, G, R}; throws std::invalid_argument for an
/// unknown name (listing the known ones).
std::array<unsigned char, 3> colormap_bgr(const std::string& name, double v);

/// Options of rendering.
struct HeatmapOptions {
  std::string colormap = "bwr";                     ///< one of colormap_names()
  HeatmapScaling scaling = HeatmapScaling::max_abs; ///< divisor s: max |R| or a percentile of |R|
  double percentile = 99.5;                         ///< percentile of |R| used as s, in (0, 100]
  HeatmapView view = HeatmapView::heatmap;          ///< what is drawn
  double mask_top_percent = 20.0;                   ///< mask: keep the top q% pixels if R > 0, (0, 100]
  double mask_dim = 0.15;                           ///< mask: brightness kept elsewhere, [0, 1]
  double edge_low = 50.0;                           ///< edges: Canny low threshold (>= 0)
  double edge_high = 150.0;                         ///< edges: Canny high threshold (>= edge_low)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
  /// Every option above, described once (core/option_schema.h): the keywords of Python's
  /// HeatmapOptions and, but for view, the flags of `bowlrp explain`.
  static const core::OptionSchema<HeatmapOptions>& schema();
};

/// The heatmap files of one explained image: one PNG per view, all drawn with the same options.
struct HeatmapFileOptions {
  std::vector<HeatmapView> views{HeatmapView::heatmap};  ///< one PNG each, in this order, no view twice
  HeatmapOptions heatmap;  ///< how they are drawn (its view is replaced by each of views)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
  /// views (--view: a list of views, or all of them as "all"), then heatmap's options but view.
  static const core::OptionSchema<HeatmapFileOptions>& schema();
};

/// Writes <base>.<view>.png for each of options.views (the image is needed by the edges and mask
/// views) and the map itself as <base>.relevance.npy, each atomically; every view is drawn before
/// the first file is written.
void write_heatmap_files(const std::string& base, const decompose::PixelRelevance& relevance,
                         const HeatmapFileOptions& options, const Bgr8Image* image);

/// Renders a relevance map; the edges and mask views need the image (same size as the map),
/// otherwise std::invalid_argument says what is missing or mismatched.
Bgr8Image render_heatmap(const decompose::PixelRelevance& relevance, const HeatmapOptions& options = {},
                         const Bgr8Image* image = nullptr);

/// Reads any OpenCV-readable image file as 8-bit BGR (non-ASCII paths supported); throws
/// std::runtime_error naming the path if it cannot be decoded.
Bgr8Image load_bgr8(const std::string& path);

/// Decodes a file's bytes already in memory as 8-bit BGR, so that a caller that also needs the grey
/// pipeline image (bow::ImageLoader::decode) reads the file once; `path` names it in errors.
Bgr8Image decode_bgr8(const std::string& bytes, const std::string& path);

/// Wraps 1 (grey), 3 (BGR) or 4 (BGRA) channel 8-bit interleaved pixels as BGR.
Bgr8Image bgr8_from_pixels(const unsigned char* data, int width, int height, int channels);

/// Writes an image as PNG atomically; throws std::runtime_error naming the path on failure.
void write_png(const std::string& path, const Bgr8Image& image);

/// Renders and writes a relevance map as PNG.
void write_png(const std::string& path, const decompose::PixelRelevance& relevance, const HeatmapOptions& options = {},
               const Bgr8Image* image = nullptr);

/// Writes R as float32 H x W little-endian NPY v1.0 ({'descr': '<f4', 'fortran_order': False,
/// 'shape': (H, W), }), atomically; throws std::runtime_error naming the path on failure.
void write_npy(const std::string& path, const decompose::PixelRelevance& relevance);

}  // namespace bowlrp::render
