// Internal to bow: what ImageLoader::decode needs before (and instead of) cv::imdecode.
//
// The declared size of every accepted format is read from its header, so that an image whose
// pixels would not fit the memory bound is refused before a byte is allocated for them; JPEGs
// are decoded by libjpeg directly, with its warnings (corrupt entropy data, premature end, ...)
// turned into errors, into the same 8-bit pixels cv::imdecode(IMREAD_UNCHANGED) gives.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>

namespace bowlrp::bow::detail {

/// Width and height as a file's header declares them, and the format's name.
struct DeclaredSize {
  std::int64_t width = 0;   ///< pixels
  std::int64_t height = 0;  ///< pixels
  const char* format = "";  ///< "JPEG", "PNG", ...; empty when the format is not recognised
};

/// The size declared by a PNG, BMP, TIFF, WebP, PNM/PAM/PFM or Sun raster header; format empty
/// for any other content (JPEG included: decode_jpeg reads its own header). Throws
/// std::runtime_error naming `path` when a recognised header is cut short or malformed.
DeclaredSize declared_size(const std::string& bytes, const std::string& path);

/// Whether the bytes start with a JPEG start-of-image marker.
bool is_jpeg(const std::string& bytes);

/// Decodes a JPEG as cv::imdecode(IMREAD_UNCHANGED) would: 8-bit grey for one component, BGR
/// for three, BGR from CMYK for four. Refuses (std::runtime_error naming `path`) a declared size
/// above max_pixels (0 = no limit) before decoding, and any libjpeg warning but the two about
/// unused metadata (unknown JFIF revision, bad ICC marker).
cv::Mat decode_jpeg(const std::string& bytes, std::int64_t max_pixels, const std::string& path);

/// Throws std::runtime_error naming `path`, its format and size when width * height > max_pixels
/// (0 = no limit) or a side is not positive.
void check_declared_size(const DeclaredSize& size, std::int64_t max_pixels, const std::string& path);

}  // namespace bowlrp::bow::detail
