#include <bowlrp/bow/image.h>
#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>

#include "image_codecs.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace bowlrp::bow {

const core::OptionSchema<ImageOptions>& ImageOptions::schema() {
  using O = ImageOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::record_as(
        core::integer_option<O>("max_side", "--max-side", "cap on the longer image side in px (0: never resize)",
                                [](O& o) -> int& { return o.max_side; }, OptionRange::at_least(0)),
        "max_side", core::Recorded::encoding));
    s.push_back(core::integer_option<O>("max_pixels", "--max-pixels",
                                        "largest width x height an image file may declare (0: no limit)",
                                        [](O& o) -> long long& { return o.max_pixels; }, OptionRange::at_least(0)));
    return s;
  }();
  return schema;
}

void ImageOptions::validate() const {
  if (max_side < 0)
    throw std::invalid_argument("ImageOptions::max_side = " + std::to_string(max_side) +
                                ": expected 0 (no cap) or a positive number of pixels");
  if (max_side > 0 && max_side < 16)
    throw std::invalid_argument("ImageOptions::max_side = " + std::to_string(max_side) +
                                ": expected 0 or at least 16 pixels (smaller leaves no room for a descriptor)");
  if (max_pixels < 0)
    throw std::invalid_argument("ImageOptions::max_pixels = " + std::to_string(max_pixels) +
                                ": expected 0 (no limit) or a positive number of pixels");
}

ImageLoader::ImageLoader(ImageOptions options) : options_(std::move(options)) { options_.validate(); }

namespace {

// A truncated JPEG is recognised on the bytes, for a clearer message than libjpeg's "premature
// end": the main image's end-of-image marker (FF D9) must follow its last start-of-scan marker
// (FF DA). Entropy-coded data stuffs every FF as FF 00, so neither marker can appear inside it;
// an EXIF thumbnail's markers come before the main scan.
void check_jpeg_complete(const std::string& bytes, const std::string& path) {
  std::size_t last_sos = std::string::npos, last_eoi = std::string::npos;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    if (static_cast<unsigned char>(bytes[i]) != 0xFF) continue;
    const unsigned char m = static_cast<unsigned char>(bytes[i + 1]);
    if (m == 0xDA) last_sos = i;
    else if (m == 0xD9) last_eoi = i;
  }
  if (last_sos == std::string::npos)
    throw std::runtime_error("'" + path + "' is a JPEG without image data (no start-of-scan marker)");
  if (last_eoi == std::string::npos || last_eoi < last_sos)
    throw std::runtime_error("'" + path + "' is a truncated JPEG (" + std::to_string(bytes.size()) +
                             " bytes, no end-of-image marker after the image data)");
}

// Any depth / channel layout -> single-channel float in [0, 1] (ITU-R 601 luma, alpha ignored).
// Converted a band of rows at a time so that the only full-size buffers are the decoded image and
// the grey result (a whole-image float copy would cost 12-16 bytes a pixel). convertTo and
// cvtColor work element by element, and cvtColor row by row, so the values are those of one
// whole-image call.
cv::Mat to_gray_float(const cv::Mat& in, const std::string& what) {
  double div = 1.0;
  switch (in.depth()) {
    case CV_8U: div = 255.0; break;
    case CV_16U: div = 65535.0; break;
    case CV_32F: case CV_64F: div = 1.0; break;
    default:
      throw std::runtime_error(what + " has an unsupported pixel depth (expected 8-bit, 16-bit or float)");
  }
  const int channels = in.channels();
  if (channels < 1 || channels > 4)
    throw std::runtime_error(what + " has " + std::to_string(channels) + " channels (expected 1, 3 or 4)");
  cv::Mat g(in.rows, in.cols, CV_32F);
  constexpr int band = 64;
  cv::Mat f, part;
  for (int y0 = 0; y0 < in.rows; y0 += band) {
    const cv::Range rows(y0, std::min(in.rows, y0 + band));
    cv::Mat dst = g.rowRange(rows);
    in.rowRange(rows).convertTo(f, CV_32F, 1.0 / div);
    switch (channels) {
      case 1: f.copyTo(dst); break;
      case 2: cv::extractChannel(f, dst, 0); break;  // grey + alpha
      case 3: cv::cvtColor(f, part, cv::COLOR_BGR2GRAY); part.copyTo(dst); break;
      case 4: cv::cvtColor(f, part, cv::COLOR_BGRA2GRAY); part.copyTo(dst); break;
    }
  }
  if (in.depth() == CV_32F || in.depth() == CV_64F) cv::min(cv::max(g, 0.0), 1.0, g);
  return g;
}

}  // namespace

// Shared by every entry point: cap the size, record the exact per-axis ratios, copy out.
static GrayImage finish(const cv::Mat& gray, int max_side, std::string source) {
  GrayImage out;
  out.original_width = gray.cols;
  out.original_height = gray.rows;
  out.source = std::move(source);
  cv::Mat work = gray;
  const int longer = std::max(gray.cols, gray.rows);
  if (max_side > 0 && longer > max_side) {
    const double f = static_cast<double>(max_side) / longer;
    const int w = std::max(1, static_cast<int>(std::lround(gray.cols * f)));
    const int h = std::max(1, static_cast<int>(std::lround(gray.rows * f)));
    cv::resize(gray, work, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  }
  out.width = work.cols;
  out.height = work.rows;
  out.scale = static_cast<double>(std::max(work.cols, work.rows)) / longer;
  out.scale_x = static_cast<double>(work.cols) / gray.cols;
  out.scale_y = static_cast<double>(work.rows) / gray.rows;
  out.pixels.resize(static_cast<std::size_t>(out.width) * out.height);
  for (int y = 0; y < out.height; ++y) {
    const float* row = work.ptr<float>(y);
    std::copy(row, row + out.width, out.pixels.begin() + static_cast<std::size_t>(y) * out.width);
  }
  return out;
}

GrayImage ImageLoader::load(const std::string& path) const { return decode(core::read_file(path), path); }

GrayImage ImageLoader::decode(const std::string& bytes, const std::string& path) const {
  if (bytes.empty()) throw std::runtime_error("'" + path + "' is empty (0 bytes), expected an image file");
  cv::Mat decoded;
  if (detail::is_jpeg(bytes)) {
    check_jpeg_complete(bytes, path);
    decoded = detail::decode_jpeg(bytes, options_.max_pixels, path);
  } else {
    // Only formats whose header gives the size are handed to OpenCV, once that size is known to
    // fit: OpenCV's own limit (2^30 pixels) would let a forged header allocate gigabytes.
    const detail::DeclaredSize size = detail::declared_size(bytes, path);
    if (!*size.format)
      throw std::runtime_error("'" + path + "' (" + std::to_string(bytes.size()) +
                               " bytes) is not a readable image (unknown format; expected JPEG, PNG, BMP, TIFF, "
                               "WebP, PNM/PAM/PFM or Sun raster)");
    detail::check_declared_size(size, options_.max_pixels, path);
    try {
      const cv::Mat buf(1, static_cast<int>(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
      decoded = bow::imdecode(buf, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception& e) {
      throw std::runtime_error("'" + path + "' could not be decoded as an image: " + e.what());
    }
    if (decoded.empty())
      throw std::runtime_error("'" + path + "' (" + std::to_string(bytes.size()) + " bytes) is not a readable image (" +
                               size.format + " header, but truncated or corrupt data)");
  }
  if (decoded.dims != 2 || decoded.cols < 1 || decoded.rows < 1)
    throw std::runtime_error("'" + path + "' decodes to an image without pixels");
  return finish(to_gray_float(decoded, "'" + path + "'"), options_.max_side, path);
}

GrayImage mirror_left_right(const GrayImage& image) {
  GrayImage out = image;
  const std::size_t w = static_cast<std::size_t>(image.width);
  for (std::size_t y = 0; y < static_cast<std::size_t>(image.height); ++y)
    std::reverse(out.pixels.begin() + y * w, out.pixels.begin() + (y + 1) * w);
  return out;
}

GrayImage ImageLoader::from_gray(const float* pixels, int width, int height) const {
  if (!pixels || width < 1 || height < 1)
    throw std::invalid_argument("ImageLoader::from_gray: expected a non-null buffer and a positive size, got " +
                                std::to_string(width) + "x" + std::to_string(height));
  const cv::Mat m(height, width, CV_32F, const_cast<float*>(pixels));
  return finish(m, options_.max_side, "");
}

GrayImage ImageLoader::from_bgr8(const unsigned char* data, int width, int height, int channels) const {
  if (!data || width < 1 || height < 1)
    throw std::invalid_argument("ImageLoader::from_bgr8: expected a non-null buffer and a positive size, got " +
                                std::to_string(width) + "x" + std::to_string(height));
  if (channels != 1 && channels != 3 && channels != 4)
    throw std::invalid_argument("ImageLoader::from_bgr8: channels = " + std::to_string(channels) +
                                ", expected 1, 3 or 4");
  const cv::Mat m(height, width, CV_8UC(channels), const_cast<unsigned char*>(data));
  return finish(to_gray_float(m, "in-memory image"), options_.max_side, "");
}

void check_declared_pixels(const std::string& bytes, const std::string& path, long long max_pixels) {
  if (bytes.empty() || detail::is_jpeg(bytes)) return;
  const detail::DeclaredSize size = detail::declared_size(bytes, path);
  if (*size.format) detail::check_declared_size(size, max_pixels, path);
}

}  // namespace bowlrp::bow
