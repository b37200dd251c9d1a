#include "image_codecs.h"

#include <cctype>
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE
#include <cstring>
#include <stdexcept>
#include <vector>

extern "C" {
#include <jerror.h>
#include <jpeglib.h>
}

namespace bowlrp::bow::detail {

namespace {

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}
std::uint32_t le32(const unsigned char* p) {
  return (std::uint32_t(p[3]) << 24) | (std::uint32_t(p[2]) << 16) | (std::uint32_t(p[1]) << 8) | p[0];
}
std::uint16_t le16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }

bool starts_with(const std::string& bytes, const char* magic, std::size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

[[noreturn]] void malformed(const std::string& path, const char* format, const std::string& what) {
  throw std::runtime_error("'" + path + "' is a malformed " + format + " file: " + what);
}

// PNM (P1-P6), PFM (PF, Pf): magic, then whitespace-separated width and height, '#' comments.
DeclaredSize pnm_size(const std::string& b, const std::string& path, const char* format) {
  std::size_t i = 2;
  std::int64_t v[2] = {0, 0};
  for (auto& x : v) {
    while (i < b.size() && (std::isspace(static_cast<unsigned char>(b[i])) || b[i] == '#')) {
      if (b[i] == '#')
        while (i < b.size() && b[i] != '\n' && b[i] != '\r') ++i;
      else
        ++i;
    }
    const std::size_t start = i;
    while (i < b.size() && b[i] >= '0' && b[i] <= '9' && i - start < 10) x = x * 10 + (b[i++] - '0');
    if (i == start || (i < b.size() && b[i] >= '0' && b[i] <= '9'))
      malformed(path, format, "no valid width and height in the header");
  }
  return {v[0], v[1], format};
}

// PAM (P7): "WIDTH n" and "HEIGHT n" lines before "ENDHDR".
DeclaredSize pam_size(const std::string& b, const std::string& path) {
  const std::size_t end = b.find("ENDHDR");
  if (end == std::string::npos) malformed(path, "PAM", "no ENDHDR line");
  const std::string head = b.substr(0, end);
  auto field = [&](const char* key) {
    const std::size_t k = head.find(std::string("\n") + key);
    if (k == std::string::npos) malformed(path, "PAM", std::string("no ") + key + " line");
    std::size_t i = k + 1 + std::strlen(key);
    while (i < head.size() && (head[i] == ' ' || head[i] == '\t')) ++i;
    std::int64_t x = 0;
    const std::size_t start = i;
    while (i < head.size() && head[i] >= '0' && head[i] <= '9' && i - start < 10) x = x * 10 + (head[i++] - '0');
    if (i == start) malformed(path, "PAM", std::string("no number after ") + key);
    return x;
  };
  return {field("WIDTH"), field("HEIGHT"), "PAM"};
}

// TIFF and BigTIFF: ImageWidth (256) and ImageLength (257) of the first directory, the page
// OpenCV decodes.
DeclaredSize tiff_size(const std::string& s, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const bool le = b[0] == 'I';
  const bool big = (le ? le16(b + 2) : static_cast<std::uint16_t>(b[2] << 8 | b[3])) == 43;
  auto u16 = [&](std::uint64_t o) { return le ? le16(b + o) : static_cast<std::uint16_t>(b[o] << 8 | b[o + 1]); };
  auto u32 = [&](std::uint64_t o) { return le ? le32(b + o) : be32(b + o); };
  auto u64 = [&](std::uint64_t o) {
    return le ? (std::uint64_t(u32(o + 4)) << 32 | u32(o)) : (std::uint64_t(u32(o)) << 32 | u32(o + 4));
  };
  const std::uint64_t n = s.size();
  if (n < (big ? 16u : 8u)) malformed(path, "TIFF", "header cut short");
  const std::uint64_t ifd = big ? u64(8) : u32(4);
  const std::uint64_t count_size = big ? 8 : 2, entry_size = big ? 20 : 12;
  if (ifd > n || n - ifd < count_size) malformed(path, "TIFF", "first directory outside the file");
  const std::uint64_t count = big ? u64(ifd) : u16(ifd);
  if (count > (n - ifd - count_size) / entry_size) malformed(path, "TIFF", "first directory cut short");
  std::int64_t w = -1, h = -1;
  for (std::uint64_t e = 0; e < count; ++e) {
    const std::uint64_t o = ifd + count_size + e * entry_size;
    const std::uint16_t tag = u16(o), type = u16(o + 2);
    if (tag != 256 && tag != 257) continue;
    const std::uint64_t value = big ? o + 12 : o + 8;
    std::int64_t v;
    if (type == 3) v = u16(value);       // SHORT
    else if (type == 4) v = u32(value);  // LONG
    else if (type == 16 && big) v = static_cast<std::int64_t>(u64(value) & 0x7fffffffffffULL);  // LONG8
    else malformed(path, "TIFF", "image width/length of type " + std::to_string(type));
    (tag == 256 ? w : h) = v;
  }
  if (w < 0 || h < 0) malformed(path, "TIFF", "no image width or length in the first directory");
  return {w, h, "TIFF"};
}

// WebP: simple lossy (VP8), lossless (VP8L) or extended (VP8X canvas).
DeclaredSize webp_size(const std::string& s, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  if (s.size() < 30) malformed(path, "WebP", "header cut short");
  if (std::memcmp(b + 12, "VP8X", 4) == 0)
    return {1 + std::int64_t(b[24] | b[25] << 8 | b[26] << 16), 1 + std::int64_t(b[27] | b[28] << 8 | b[29] << 16),
            "WebP"};
  if (std::memcmp(b + 12, "VP8L", 4) == 0) {
    if (b[20] != 0x2f) malformed(path, "WebP", "bad lossless signature");
    const std::uint32_t bits = le32(b + 21);
    return {1 + std::int64_t(bits & 0x3fff), 1 + std::int64_t((bits >> 14) & 0x3fff), "WebP"};
  }
  if (std::memcmp(b + 12, "VP8 ", 4) == 0) {
    if (b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a) malformed(path, "WebP", "bad lossy start code");
    return {std::int64_t(le16(b + 26) & 0x3fff), std::int64_t(le16(b + 28) & 0x3fff), "WebP"};
  }
  malformed(path, "WebP", "first chunk is neither VP8, VP8L nor VP8X");
}

// libjpeg's errors, and its warnings, end the decode by a jump back to the setjmp in decode_jpeg.
struct JpegError {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// libjpeg reports corrupt entropy data, a premature end, extraneous bytes and the like as
// warnings (msg_level -1) and goes on, filling what it could not decode with grey: those are
// errors here. The two warnings about metadata the pixels do not depend on stay warnings.
void jpeg_message(j_common_ptr cinfo, int msg_level) {
  if (msg_level >= 0) return;  // trace messages
  const int code = cinfo->err->msg_code;
  if (code == JWRN_JFIF_MAJOR || code == JWRN_BOGUS_ICC) return;
  jpeg_fail(cinfo);
}

// Owns the libjpeg state, so that a thrown error still frees it.
struct JpegDecompressor {
  jpeg_decompress_struct cinfo;
  JpegError err;
  JpegDecompressor() {
    std::memset(&cinfo, 0, sizeof cinfo);
    std::memset(&err, 0, sizeof err);
    cinfo.err = jpeg_std_error(&err.pub);
    err.pub.error_exit = jpeg_fail;
    err.pub.emit_message = jpeg_message;
  }
  ~JpegDecompressor() { jpeg_destroy_decompress(&cinfo); }
  JpegDecompressor(const JpegDecompressor&) = delete;
  JpegDecompressor& operator=(const JpegDecompressor&) = delete;
};

// The libjpeg calls, each in a function whose frame holds no object with a destructor, as
// longjmp requires. Return false after an error, with the message in d.err.message.
bool jpeg_read_header_from(JpegDecompressor& d, const std::string& bytes) {
  if (setjmp(d.err.jump)) return false;
  jpeg_create_decompress(&d.cinfo);
  jpeg_mem_src(&d.cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&d.cinfo, TRUE);
  return true;
}

// Fills `out` (allocated by the caller at the header's size) row by row the way OpenCV's JPEG
// decoder does: RGB output swapped to BGR, CMYK converted by its formula.
bool jpeg_read_pixels(JpegDecompressor& d, cv::Mat& out, unsigned char* row) {
  if (setjmp(d.err.jump)) return false;
  j_decompress_ptr c = &d.cinfo;
  const bool cmyk = c->num_components == 4;
  c->out_color_space = cmyk ? JCS_CMYK : out.channels() == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_start_decompress(c);
  if (static_cast<int>(c->output_width) != out.cols || static_cast<int>(c->output_height) != out.rows ||
      c->output_components != (cmyk ? 4 : out.channels())) {
    std::snprintf(d.err.message, sizeof d.err.message, "decoder output %ux%u with %d components, expected %dx%d",
                  c->output_width, c->output_height, c->output_components, out.cols, out.rows);
    return false;
  }
  JSAMPROW rows[1] = {row};
  const int w = out.cols;
  while (c->output_scanline < c->output_height) {
    unsigned char* dst = out.ptr<unsigned char>(static_cast<int>(c->output_scanline));
    if (jpeg_read_scanlines(c, rows, 1) != 1) {
      std::snprintf(d.err.message, sizeof d.err.message, "no scanline returned at row %u", c->output_scanline);
      return false;
    }
    if (cmyk && out.channels() == 3) {
      for (int x = 0; x < w; ++x) {
        const int k = row[4 * x + 3];
        dst[3 * x + 2] = static_cast<unsigned char>(k - ((255 - row[4 * x]) * k >> 8));
        dst[3 * x + 1] = static_cast<unsigned char>(k - ((255 - row[4 * x + 1]) * k >> 8));
        dst[3 * x + 0] = static_cast<unsigned char>(k - ((255 - row[4 * x + 2]) * k >> 8));
      }
    } else if (out.channels() == 3) {
      for (int x = 0; x < w; ++x) {
        dst[3 * x] = row[3 * x + 2];
        dst[3 * x + 1] = row[3 * x + 1];
        dst[3 * x + 2] = row[3 * x];
      }
    } else {
      std::memcpy(dst, row, static_cast<std::size_t>(w));
    }
  }
  jpeg_finish_decompress(c);
  return true;
}

}  // namespace

bool is_jpeg(const std::string& bytes) { return starts_with(bytes, "\xFF\xD8\xFF", 3); }

DeclaredSize declared_size(const std::string& s, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  if (starts_with(s, "\x89PNG\r\n\x1a\n", 8)) {
    if (s.size() < 24 || std::memcmp(b + 12, "IHDR", 4) != 0) malformed(path, "PNG", "no IHDR chunk first");
    return {be32(b + 16), be32(b + 20), "PNG"};
  }
  if (starts_with(s, "BM", 2)) {
    if (s.size() < 26) malformed(path, "BMP", "header cut short");
    if (le32(b + 14) == 12) return {le16(b + 18), le16(b + 20), "BMP"};  // OS/2 core header
    const auto h = static_cast<std::int32_t>(le32(b + 22));
    return {static_cast<std::int32_t>(le32(b + 18)), h < 0 ? -std::int64_t(h) : h, "BMP"};
  }
  if (starts_with(s, "II*\0", 4) || starts_with(s, "MM\0*", 4) || starts_with(s, "II+\0", 4) ||
      starts_with(s, "MM\0+", 4))
    return tiff_size(s, path);
  if (s.size() >= 12 && starts_with(s, "RIFF", 4) && std::memcmp(b + 8, "WEBP", 4) == 0) return webp_size(s, path);
  if (s.size() >= 3 && s[0] == 'P' && s[1] >= '1' && s[1] <= '6' && std::isspace(static_cast<unsigned char>(s[2])))
    return pnm_size(s, path, "PNM");
  if (s.size() >= 3 && s[0] == 'P' && (s[1] == 'F' || s[1] == 'f') && std::isspace(static_cast<unsigned char>(s[2])))
    return pnm_size(s, path, "PFM");
  if (starts_with(s, "P7", 2)) return pam_size(s, path);
  if (starts_with(s, "\x59\xA6\x6A\x95", 4)) {
    if (s.size() < 12) malformed(path, "Sun raster", "header cut short");
    return {be32(b + 4), be32(b + 8), "Sun raster"};
  }
  return {};
}

void check_declared_size(const DeclaredSize& size, std::int64_t max_pixels, const std::string& path) {
  const std::string dims = std::to_string(size.width) + "x" + std::to_string(size.height);
  if (size.width < 1 || size.height < 1)
    throw std::runtime_error("'" + path + "' declares a " + dims + " " + size.format +
                             " image: expected a positive width and height");
  // Each side is below 2^32, so the product cannot overflow.
  const std::int64_t pixels = size.width * size.height;
  if (max_pixels > 0 && pixels > max_pixels)
    throw std::runtime_error("'" + path + "' declares a " + dims + " " + size.format + " image (" +
                             std::to_string(pixels) + " pixels): more than the limit of " +
                             std::to_string(max_pixels) +
                             " pixels (ImageOptions::max_pixels), refused before decoding");
}

cv::Mat decode_jpeg(const std::string& bytes, std::int64_t max_pixels, const std::string& path) {
  JpegDecompressor d;
  if (!jpeg_read_header_from(d, bytes))
    throw std::runtime_error("'" + path + "' is not a readable JPEG: " + d.err.message);
  check_declared_size({d.cinfo.image_width, d.cinfo.image_height, "JPEG"}, max_pixels, path);
  // As cv::imdecode(IMREAD_UNCHANGED): colour for any JPEG with more than one component.
  cv::Mat out(static_cast<int>(d.cinfo.image_height), static_cast<int>(d.cinfo.image_width),
              d.cinfo.num_components > 1 ? CV_8UC3 : CV_8UC1);
  std::vector<unsigned char> row(static_cast<std::size_t>(d.cinfo.image_width) * 4);
  if (!jpeg_read_pixels(d, out, row.data()))
    throw std::runtime_error("'" + path + "' is a corrupt or unsupported JPEG: " + d.err.message);
  return out;
}

}  // namespace bowlrp::bow::detail
