// Image loading for the Bag-of-Words pipeline.
//
// A JPEG, PNG, BMP, TIFF, WebP, PNM/PAM/PFM or Sun raster file (8/16-bit, grey, RGB, RGBA)
// becomes a grey float image in [0, 1] (ITU-R 601 luma). The longer side is capped at ImageOptions::max_side by area resampling; the
// factors working px / original px are recorded so that every later geometry (frames, supports,
// relevance maps) maps back to the original pixels. The working size is round(original * cap),
// so the longer side gets exactly max_side but the shorter side's true ratio differs from the cap
// by rounding: scale_x = work_width / width and scale_y = work_height / height are kept apart
// and used for all mapping. Pixel edges map by division (e_original = e_working / scale_x), hence
// pixel centres map as x_original + 0.5 = (x_working + 0.5) / scale_x, as cv::resize samples.
//
// Memory is bounded before decoding: the width and height declared by the file's header are
// read first, and an image of more than ImageOptions::max_pixels pixels is refused (not decoded
// reduced, which would change the pixels and the geometry of what is accepted). Formats whose
// header is not read here (OpenEXR, JPEG 2000, Radiance HDR) are refused. Decoding then costs at
// most about 12 bytes a pixel (the decoded image, up to 8 bytes for 16-bit RGBA, plus the grey
// floats). JPEGs are decoded by libjpeg directly, into the same pixels as cv::imdecode, but any
// corrupt-data warning of libjpeg (bad Huffman code, premature end, extraneous bytes, ...) is an
// error instead of an image with grey blocks.
#pragma once

#include <bowlrp/core/option_schema.h>

#include <string>
#include <vector>

namespace bowlrp::bow {

/// Options of image loading.
struct ImageOptions {
  int max_side = 500;  ///< cap on the longer side in pixels (downscaling only); 0 = never resize
  /// Largest width * height a file may declare; larger files are refused before decoding. The
  /// default admits 8000 x 6000 photographs (48 MP); 0 = no limit.
  long long max_pixels = 50'000'000;
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
  /// Every option, described once (max_side recorded as "max_side"; max_pixels, a safety cap, not recorded).
  static const core::OptionSchema<ImageOptions>& schema();
};

/// A grey image in working resolution, with the geometry of the original file.
struct GrayImage {
  int width = 0;                ///< working width (after the cap)
  int height = 0;               ///< working height
  std::vector<float> pixels;    ///< row-major, width * height values in [0, 1]
  int original_width = 0;       ///< width of the file as stored
  int original_height = 0;      ///< height of the file as stored
  double scale = 1.0;           ///< cap factor: working / original length of the longer side (<= 1)
  double scale_x = 1.0;         ///< width / original_width, exact ratio used to map x
  double scale_y = 1.0;         ///< height / original_height, exact ratio used to map y
  std::string source;           ///< file path, or empty for in-memory images
  /// Pixel (x, y) of the working image.
  float at(int x, int y) const { return pixels[static_cast<size_t>(y) * width + x]; }
};

/// Loads images from files or memory and applies the size cap.
class ImageLoader {
 public:
  /// Validates the options (throws std::invalid_argument).
  explicit ImageLoader(ImageOptions options = {});
  /// Reads a file; throws std::runtime_error naming the path for unreadable, non-regular, empty,
  /// truncated, corrupt, too large (max_pixels) or non-image files. Non-ASCII paths are supported.
  GrayImage load(const std::string& path) const;
  /// Decodes a file's bytes already in memory; `path` names it in errors and in GrayImage::source.
  GrayImage decode(const std::string& bytes, const std::string& path) const;
  /// Wraps an in-memory grey image (row-major, values in [0, 1]) and applies the cap.
  GrayImage from_gray(const float* pixels, int width, int height) const;
  /// Wraps 8-bit interleaved pixels with 1, 3 (BGR) or 4 (BGRA) channels and applies the cap.
  GrayImage from_bgr8(const unsigned char* data, int width, int height, int channels) const;
  /// The options in use.
  const ImageOptions& options() const { return options_; }

 private:
  ImageOptions options_;
};

/// The image seen in a mirror: working column x becomes width - 1 - x (same size, scale and source).
/// Training on mirrored copies is the classic left-right augmentation of image classifiers.
GrayImage mirror_left_right(const GrayImage& image);

/// Throws std::runtime_error naming `path` when the header of a non-JPEG image file's bytes declares
/// more than max_pixels pixels (0: no limit), as ImageLoader::decode would: for decoders other than
/// ImageLoader (rendering), before they allocate. JPEGs and unknown formats pass (their decoders check).
void check_declared_pixels(const std::string& bytes, const std::string& path, long long max_pixels);

}  // namespace bowlrp::bow
