#include <bowlrp/datasets/voc.h>

#include <bowlrp/core/io.h>

#include <png.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bowlrp::datasets {

namespace fs = std::filesystem;

namespace {

std::string join(const std::string& root, std::initializer_list<std::string> parts) {
  fs::path p = fs::u8path(root);
  for (const std::string& s : parts) p /= fs::u8path(s);
  return p.u8string();
}

bool file_exists(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(fs::u8path(path), ec);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

// Whitespace-separated tokens of each line, with 1-based line numbers; blank lines are skipped.
struct Line {
  int number;
  std::vector<std::string_view> tokens;
};
std::vector<Line> tokenize_lines(const std::string& text) {
  std::vector<Line> lines;
  int number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++number;
    Line line{number, {}};
    std::size_t i = pos;
    while (i < end) {
      while (i < end && is_space(text[i])) ++i;
      const std::size_t start = i;
      while (i < end && !is_space(text[i])) ++i;
      if (i > start) line.tokens.emplace_back(text.data() + start, i - start);
    }
    if (!line.tokens.empty()) lines.push_back(std::move(line));
    pos = end + 1;
  }
  return lines;
}

std::string read_list(const std::string& path, const std::string& what) {
  if (!file_exists(path)) throw std::runtime_error("VOC " + what + " '" + path + "' is missing");
  return core::read_file(path);
}

// Ids of a one-id-per-line list.
std::vector<std::string> read_id_list(const std::string& path, const std::string& what) {
  const std::string text = read_list(path, what);
  std::vector<std::string> ids;
  for (const Line& line : tokenize_lines(text)) {
    if (line.tokens.size() != 1) {
      throw std::runtime_error("VOC " + what + " '" + path + "', line " + std::to_string(line.number) +
                               ": expected one image id, found " + std::to_string(line.tokens.size()) +
                               " fields");
    }
    ids.emplace_back(line.tokens[0]);
  }
  return ids;
}

}  // namespace

const std::vector<std::string>& voc_classes() {
  static const std::vector<std::string> kClasses = {
      "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",         "car",
      "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",       "motorbike",
      "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};
  return kClasses;
}

VocSet VocSet::load(const std::string& root, const std::string& set, const std::vector<std::string>& classes,
                    bool check_images) {
  if (set.empty()) throw std::invalid_argument("VocSet::load: the set name is empty (expected e.g. train, val)");
  const std::vector<std::string>& all = voc_classes();
  std::vector<char> wanted(all.size(), classes.empty() ? 1 : 0);
  for (const std::string& c : classes) {
    const auto it = std::find(all.begin(), all.end(), c);
    if (it == all.end()) {
      throw std::runtime_error("VocSet::load: unknown VOC class '" + c +
                               "' (expected one of aeroplane, bicycle, ..., tvmonitor)");
    }
    wanted[static_cast<std::size_t>(it - all.begin())] = 1;
  }

  VocSet out;
  out.root = root;
  out.name = set;
  for (std::size_t c = 0; c < all.size(); ++c)
    if (wanted[c]) out.classes.push_back(all[c]);

  const std::string set_path = join(root, {"ImageSets", "Main", set + ".txt"});
  out.ids = read_id_list(set_path, "image list");
  std::unordered_map<std::string_view, std::size_t> index;
  index.reserve(out.ids.size() * 2);
  for (std::size_t i = 0; i < out.ids.size(); ++i) {
    if (!index.emplace(out.ids[i], i).second) {
      throw std::runtime_error("VOC image list '" + set_path + "' lists image '" + out.ids[i] + "' twice");
    }
  }

  const std::size_t n_classes = out.classes.size();
  out.labels.assign(out.ids.size() * n_classes, 2);  // 2 = not seen yet
  for (std::size_t c = 0; c < n_classes; ++c) {
    const std::string path = join(root, {"ImageSets", "Main", out.classes[c] + "_" + set + ".txt"});
    const std::string text = read_list(path, "label list");
    std::size_t seen = 0;
    for (const Line& line : tokenize_lines(text)) {
      const std::string where = "VOC label list '" + path + "', line " + std::to_string(line.number);
      if (line.tokens.size() != 2) {
        throw std::runtime_error(where + ": expected '<image id> <label>', found " +
                                 std::to_string(line.tokens.size()) + " fields");
      }
      const std::string_view label = line.tokens[1];
      int value;
      if (label == "1") value = 1;
      else if (label == "-1") value = -1;
      else if (label == "0") value = 0;
      else throw std::runtime_error(where + ": label '" + std::string(label) + "', expected 1, -1 or 0");
      const auto it = index.find(line.tokens[0]);
      if (it == index.end()) {
        throw std::runtime_error(where + ": image '" + std::string(line.tokens[0]) + "' is not in '" +
                                 set_path + "'");
      }
      int& slot = out.labels[it->second * n_classes + c];
      if (slot != 2) throw std::runtime_error(where + ": image '" + std::string(line.tokens[0]) + "' is listed twice");
      slot = value;
      ++seen;
    }
    if (seen != out.ids.size()) {
      for (std::size_t i = 0; i < out.ids.size(); ++i) {
        if (out.labels[i * n_classes + c] == 2) {
          throw std::runtime_error("VOC label list '" + path + "' has no label for image '" + out.ids[i] +
                                   "' (" + std::to_string(out.ids.size() - seen) + " of the " +
                                   std::to_string(out.ids.size()) + " images of '" + set_path + "' missing)");
        }
      }
    }
  }

  if (check_images) {
    std::size_t missing = 0;
    std::string first;
    for (const std::string& id : out.ids) {
      if (!file_exists(out.image_path(id))) {
        if (missing++ == 0) first = id;
      }
    }
    if (missing > 0) {
      throw std::runtime_error("VOC image '" + first + "' listed in '" + set_path + "' is missing: '" +
                               out.image_path(first) + "' does not exist" +
                               (missing > 1 ? " (" + std::to_string(missing) + " images missing)" : std::string()));
    }
  }
  return out;
}

std::string VocSet::image_path(const std::string& id) const { return join(root, {"JPEGImages", id + ".jpg"}); }

VocAnnotation load_voc_annotation(const std::string& root, const std::string& id) {
  namespace pt = boost::property_tree;
  const std::string path = join(root, {"Annotations", id + ".xml"});
  if (!file_exists(path)) throw std::runtime_error("VOC annotation '" + path + "' is missing");
  std::istringstream in(core::read_file(path));
  pt::ptree tree;
  try {
    pt::read_xml(in, tree, pt::xml_parser::trim_whitespace);
  } catch (const pt::xml_parser_error& e) {
    throw std::runtime_error("VOC annotation '" + path + "' is not valid XML: " + e.message() + " (line " +
                             std::to_string(e.line()) + ")");
  }
  const auto bad = [&](const std::string& what) {
    return std::runtime_error("VOC annotation '" + path + "': " + what);
  };
  const auto root_node = tree.get_child_optional("annotation");
  if (!root_node) throw bad("no <annotation> element");

  // Some VOC releases write coordinates as decimals ("273.0"), so numbers are read as reals
  // and must be whole.
  const auto integer = [&](const pt::ptree& node, const std::string& key, const std::string& context) {
    const auto text = node.get_optional<std::string>(key);
    if (!text) throw bad("missing <" + key + "> in " + context);
    char* end = nullptr;
    const double v = std::strtod(text->c_str(), &end);
    if (text->empty() || end != text->c_str() + text->size() || !std::isfinite(v) || v != std::round(v) ||
        std::fabs(v) > 1e9) {
      throw bad("<" + key + "> in " + context + " is '" + *text + "', expected a whole number");
    }
    return static_cast<int>(v);
  };

  VocAnnotation out;
  out.id = id;
  const auto size = root_node->get_child_optional("size");
  if (!size) throw bad("no <size> element");
  out.width = integer(*size, "width", "<size>");
  out.height = integer(*size, "height", "<size>");
  if (out.width <= 0 || out.height <= 0) {
    throw bad("image size " + std::to_string(out.width) + "x" + std::to_string(out.height) + ", expected positive");
  }
  int k = 0;
  for (const auto& child : *root_node) {
    if (child.first != "object") continue;
    ++k;
    const std::string context = "<object> #" + std::to_string(k);
    VocObject obj;
    const auto name = child.second.get_optional<std::string>("name");
    if (!name || name->empty()) throw bad("missing <name> in " + context);
    obj.name = *name;
    const auto box = child.second.get_child_optional("bndbox");
    if (!box) throw bad("missing <bndbox> in " + context + " ('" + obj.name + "')");
    obj.xmin = integer(*box, "xmin", context + " <bndbox>");
    obj.ymin = integer(*box, "ymin", context + " <bndbox>");
    obj.xmax = integer(*box, "xmax", context + " <bndbox>");
    obj.ymax = integer(*box, "ymax", context + " <bndbox>");
    if (obj.xmax < obj.xmin || obj.ymax < obj.ymin) {
      throw bad(context + " has an empty box (" + std::to_string(obj.xmin) + "," + std::to_string(obj.ymin) +
                ")-(" + std::to_string(obj.xmax) + "," + std::to_string(obj.ymax) + ")");
    }
    obj.difficult = child.second.get_optional<std::string>("difficult") ? integer(child.second, "difficult", context) != 0
                                                                          : false;
    out.objects.push_back(std::move(obj));
  }
  return out;
}

std::vector<std::string> voc_segmentation_ids(const std::string& root, const std::string& set) {
  const std::string path = join(root, {"ImageSets", "Segmentation", set + ".txt"});
  if (!file_exists(path)) return {};
  return read_id_list(path, "segmentation list");
}

namespace {

// The VOC colour map (bit-interleaved index -> RGB); lets a mask that was saved as RGB be read
// back as indices.
void voc_colour(int index, unsigned char rgb[3]) {
  int r = 0, g = 0, b = 0, c = index;
  for (int j = 0; j < 8; ++j) {
    r |= ((c >> 0) & 1) << (7 - j);
    g |= ((c >> 1) & 1) << (7 - j);
    b |= ((c >> 2) & 1) << (7 - j);
    c >>= 3;
  }
  rgb[0] = static_cast<unsigned char>(r);
  rgb[1] = static_cast<unsigned char>(g);
  rgb[2] = static_cast<unsigned char>(b);
}

struct PngSource {
  const unsigned char* data;
  std::size_t size;
  std::size_t pos;
};

struct PngError {
  char message[256];
};

extern "C" void png_read_memory(png_structp png, png_bytep out, png_size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > src->size - src->pos) png_error(png, "file truncated");
  std::memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

extern "C" void png_on_error(png_structp png, png_const_charp message) {
  auto* err = static_cast<PngError*>(png_get_error_ptr(png));
  std::snprintf(err->message, sizeof err->message, "%s", message);
  png_longjmp(png, 1);
}

extern "C" void png_on_warning(png_structp, png_const_charp) {}

enum class PngKind { kIndexed, kGray, kRgb };

// Decodes without colour expansion: palette PNGs give their indices. Only trivially destructible
// objects live in this frame, so libpng's longjmp skips no destructor; returns false on error.
bool decode_png(const std::string& bytes, std::vector<unsigned char>* pixels, int* width, int* height,
                int* channels, PngKind* kind, PngError* err) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, err, png_on_error, png_on_warning);
  if (png == nullptr) {
    std::snprintf(err->message, sizeof err->message, "out of memory");
    return false;
  }
  png_infop info = png_create_info_struct(png);
  PngSource src{reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), 0};
  png_bytep* volatile rows = nullptr;
  if (setjmp(png_jmpbuf(png))) {
    delete[] rows;
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  if (info == nullptr) png_error(png, "out of memory");
  png_set_read_fn(png, &src, png_read_memory);
  png_read_info(png, info);
  const int colour_type = png_get_color_type(png, info);
  const int depth = png_get_bit_depth(png, info);
  if (depth < 8) png_set_packing(png);  // 1, 2, 4-bit indices or grey -> one byte per pixel
  if (depth == 16) png_set_strip_16(png);
  if (colour_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  *width = static_cast<int>(png_get_image_width(png, info));
  *height = static_cast<int>(png_get_image_height(png, info));
  *channels = png_get_channels(png, info);
  *kind = colour_type == PNG_COLOR_TYPE_PALETTE                                           ? PngKind::kIndexed
          : (colour_type == PNG_COLOR_TYPE_GRAY || colour_type == PNG_COLOR_TYPE_GRAY_ALPHA) ? PngKind::kGray
                                                                                          : PngKind::kRgb;
  const std::size_t stride = png_get_rowbytes(png, info);
  if (stride != static_cast<std::size_t>(*width) * static_cast<std::size_t>(*channels)) {
    png_error(png, "unexpected row size");
  }
  pixels->resize(stride * static_cast<std::size_t>(*height));
  rows = new png_bytep[static_cast<std::size_t>(*height)];
  for (int y = 0; y < *height; ++y) rows[y] = pixels->data() + stride * static_cast<std::size_t>(y);
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  delete[] rows;
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

}  // namespace

ClassMask load_voc_class_mask(const std::string& root, const std::string& id) {
  const std::string path = join(root, {"SegmentationClass", id + ".png"});
  if (!file_exists(path)) throw std::runtime_error("VOC class mask '" + path + "' is missing");
  const std::string bytes = core::read_file(path);
  std::vector<unsigned char> pixels;
  int width = 0, height = 0, channels = 0;
  PngKind kind = PngKind::kIndexed;
  PngError err{};
  if (!decode_png(bytes, &pixels, &width, &height, &channels, &kind, &err)) {
    throw std::runtime_error("VOC class mask '" + path + "' is not a readable PNG: " + err.message);
  }
  ClassMask mask;
  mask.width = width;
  mask.height = height;
  const std::size_t n = static_cast<std::size_t>(width) * static_cast<std::size_t>(height);
  mask.labels.resize(n);
  if (kind != PngKind::kRgb) {  // palette indices or grey values are the labels themselves
    for (std::size_t i = 0; i < n; ++i) mask.labels[i] = pixels[i * static_cast<std::size_t>(channels)];
  } else {
    // A mask re-saved as colour: map the VOC colours back to their indices.
    std::unordered_map<std::uint32_t, unsigned char> lookup;
    for (int k : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 255}) {
      unsigned char rgb[3];
      voc_colour(k, rgb);
      lookup[(std::uint32_t{rgb[0]} << 16) | (std::uint32_t{rgb[1]} << 8) | rgb[2]] = static_cast<unsigned char>(k);
    }
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char* p = &pixels[i * static_cast<std::size_t>(channels)];
      const auto it = lookup.find((std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2]);
      if (it == lookup.end()) {
        throw std::runtime_error("VOC class mask '" + path + "' is an RGB image with colour (" +
                                 std::to_string(p[0]) + "," + std::to_string(p[1]) + "," + std::to_string(p[2]) +
                                 ") at pixel " + std::to_string(i % static_cast<std::size_t>(width)) + "," +
                                 std::to_string(i / static_cast<std::size_t>(width)) +
                                 ", which is not in the VOC colour map (expected a palette PNG)");
      }
      mask.labels[i] = it->second;
    }
  }
  return mask;
}

}  // namespace bowlrp::datasets
