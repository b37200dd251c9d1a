#include <bowlrp/model/model_file.h>

#include "kinds/codecs.h"
#include "model_file_format.h"

#include <bowlrp/core/io.h>
#include <bowlrp/core/json_text.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/bow/pooling.h>
#include <bowlrp/nn/network.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the model file stores little-endian arrays as raw bytes");

namespace bowlrp::model {

namespace {

using namespace bowlrp::svm;
using namespace file_format;

using EncodingOptions = OptionsOf<Encoding>::type;

template <class S>
using OptionsPart = typename EncodingCodec<S>::Options;
template <class S>
using HeaderPart = typename HeadCodec<S>::Header;

// The stage type S of a list of shared stages whose codec part PartOf<S> is P (void if none).
template <class List, template <class> class PartOf, class P, std::size_t I = 0>
struct StageOfPartImpl {
  using Stage = StageOf<std::variant_alternative_t<I, List>>;
  using type = std::conditional_t<std::is_same_v<PartOf<Stage>, P>, Stage,
                                  typename StageOfPartImpl<List, PartOf, P, I + 1>::type>;
};
template <class List, template <class> class PartOf, class P>
struct StageOfPartImpl<List, PartOf, P, std::variant_size_v<List>> {
  using type = void;
};
/// The encoding whose codec reads options of type O.
template <class O>
using StageOfOptions = typename StageOfPartImpl<Encoding, OptionsPart, O>::type;
/// The head whose codec reads headers of type H.
template <class H>
using StageOfHeader = typename StageOfPartImpl<Head, HeaderPart, H>::type;

using HeadHeader = HeadersOf<Head>::type;

constexpr std::size_t kMagicSize = sizeof(kModelMagic) - 1;  // 13
constexpr std::size_t kPrefix = kMagicSize + 8;                   // magic + JSON length
constexpr std::size_t kTrailer = 8;                               // checksum

// CRC-32 (IEEE, reflected, as zlib.crc32), slicing by 8 so that large models check in milliseconds.
struct CrcTables {
  std::array<std::array<std::uint32_t, 256>, 8> t{};
  CrcTables() {
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};

std::uint32_t crc32(const unsigned char* p, std::size_t n) {
  static const CrcTables tables;
  const auto& t = tables.t;
  std::uint32_t c = 0xFFFFFFFFu;
  while (n >= 8) {
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^ t[3][hi & 0xFF] ^
        t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = t[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_u64(std::string& out, std::uint64_t v) {
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

std::uint64_t get_u64(const std::string& in, std::size_t at) {
  std::uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[at + k])) << (8 * k);
  return v;
}

std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("model file '" + path + "' " + problem);
}

// The names the file gives the kinds: exactly these, without the aliases the command line accepts.

// ---- writing the header ----

// The whole file of a header (without data_bytes and arrays, added here) and its arrays, which
// tile the data section in order, each at an 8-aligned offset, zero-padded.
std::string assemble(json header, const std::vector<OutArray>& arrays) {
  std::vector<std::size_t> offsets;
  std::size_t data_bytes = 0;
  for (const OutArray& a : arrays) {
    offsets.push_back(data_bytes);
    data_bytes = align8(data_bytes + a.nbytes());
  }
  header["data_bytes"] = data_bytes;
  json table = json::array();
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    const OutArray& a = arrays[i];
    table.push_back({{"name", a.name}, {"dtype", a.dtype}, {"shape", a.shape}, {"offset", offsets[i]}, {"nbytes", a.nbytes()}});
  }
  header["arrays"] = table;

  std::string text = header.dump();
  text.append(align8(kPrefix + text.size()) - kPrefix - text.size(), ' ');
  const std::size_t D = kPrefix + text.size();

  std::string out;
  out.reserve(D + data_bytes + kTrailer);
  out.append(kModelMagic, kMagicSize);
  put_u64(out, text.size());
  out += text;
  out.resize(D + data_bytes, '\0');
  for (std::size_t i = 0; i < arrays.size(); ++i) {
    char* at = out.data() + D + offsets[i];
    for (const auto& [bytes, n] : arrays[i].pieces) {
      if (n) std::memcpy(at, bytes, n);
      at += n;
    }
  }
  put_u64(out, crc32(reinterpret_cast<const unsigned char*>(out.data()), out.size()));
  return out;
}

// What a header describes, before any array is read.
struct Layout {
  Fields fields;
  std::string encoding;                 // the encoding kind
  EncodingOptions options;              // its options
  std::string head;                     // the head kind
  HeadHeader header;                    // what the header says of it
  std::uint64_t V = 0;                  // dim
  std::vector<std::string> names;       // classes, in row order
  std::vector<double> biases;           // kernel-svm and linear-svm (an mlp's are its biases_L)
};

constexpr std::uint64_t kAnySize = std::numeric_limits<std::uint64_t>::max();

void read_common(const json& h, Layout& l) {
  l.V = read_uint(h.at("dim"), "dim", 1, kAnySize);
  const json& jclasses = read_array(h.at("classes"), "classes", 1);
  // An mlp head's output biases are its array biases_L: its classes carry only their names.
  const bool with_bias = std::visit(
      [](const auto& h) { return HeadCodec<StageOfHeader<std::decay_t<decltype(h)>>>::classes_have_bias; }, l.header);
  for (std::size_t c = 0; c < jclasses.size(); ++c) {
    const std::string name = at("classes", c);
    const json& jc = with_bias ? object(jclasses[c], name, scope_of(l.fields), {"name", "bias"})
                               : object(jclasses[c], name, scope_of(l.fields) + " with an " + l.head + " head", {"name"});
    l.names.push_back(read_string(jc.at("name"), name + ".name"));
    if (with_bias) l.biases.push_back(read_number(jc.at("bias"), name + ".bias"));
  }
}

Layout read_header_v1(const json& h) {
  Layout l;
  object(h, "", scope_of(l.fields), {"format_version", "pipeline", "kernel", "dim", "support_size", "classes", "data_bytes", "arrays"},
         {"training_images", "artefact_projection"});
  // format_version 1 is Bag-of-Words with a kernel SVM
  l.encoding = EncodingTraits<bow::Pipeline>::name;
  l.options = EncodingCodec<bow::Pipeline>::read_options(h.at("pipeline"), l.fields);
  l.head = HeadTraits<svm::KernelSvm>::name;
  l.header = HeadCodec<svm::KernelSvm>::Header{HeadCodec<svm::KernelSvm>::read_kernel(h.at("kernel"), l.fields),
                                               read_uint(h.at("support_size"), "support_size", 0, kAnySize)};
  read_common(h, l);
  return l;
}

Layout read_header_v2(const json& h) {
  Layout l;
  l.fields = Fields::of(2);
  const std::string scope = scope_of(l.fields);
  object(h, "", scope, {"format_version", "encoding", "head", "dim", "classes", "data_bytes", "arrays"},
         {"training_images", "artefact_projection"});
  const json& e = object(h.at("encoding"), "encoding", scope, {"kind", "pipeline"});
  const std::string encoding = read_string(e.at("kind"), "encoding.kind");
  std::vector<std::string> kinds;
  for_each_kind<Encoding>([&](auto tag) {
    using S = typename decltype(tag)::type;
    kinds.push_back(std::string("\"") + EncodingTraits<S>::name + "\"");
    if (encoding != EncodingTraits<S>::name) return;
    l.encoding = encoding;
    l.options = EncodingCodec<S>::read_options(e.at("pipeline"), l.fields);
  });
  if (l.encoding.empty()) {
    std::string expected;
    for (std::size_t i = 0; i < kinds.size(); ++i)
      expected += (i == 0 ? "" : i + 1 == kinds.size() ? " or " : ", ") + kinds[i];
    throw HeaderError("encoding.kind = " + brief(e.at("kind")) + ": expected " + expected);
  }
  const json& hd = h.at("head");
  if (!hd.is_object()) object(hd, "head", scope, {"kind"});  // refuses it, naming what it is
  if (!hd.contains("kind")) throw HeaderError("the required field head.kind missing");
  const std::string head = read_string(hd.at("kind"), "head.kind");
  std::vector<std::string> heads;
  for_each_kind<Head>([&](auto tag) {
    using S = typename decltype(tag)::type;
    heads.push_back(std::string("\"") + HeadTraits<S>::name + "\"");
    if (head != HeadTraits<S>::name) return;
    l.head = head;
    l.header = HeadCodec<S>::read_header(hd, scope, l.fields);
  });
  if (l.head.empty()) {
    std::string expected;
    for (std::size_t i = 0; i < heads.size(); ++i)
      expected += (i == 0 ? "" : i + 1 == heads.size() ? " or " : ", ") + heads[i];
    throw HeaderError("head.kind = " + brief(hd.at("kind")) + ": expected " + expected);
  }
  read_common(h, l);
  std::visit(
      [&](const auto& hh) { HeadCodec<StageOfHeader<std::decay_t<decltype(hh)>>>::check_header(hh, l.V, l.names.size()); },
      l.header);
  return l;
}

std::vector<ArraySpec> array_specs(const Layout& l) {
  const std::uint64_t C = l.names.size();
  std::vector<ArraySpec> s = std::visit(
      [&](const auto& o) { return EncodingCodec<StageOfOptions<std::decay_t<decltype(o)>>>::array_specs(o, l.fields); },
      l.options);
  std::vector<ArraySpec> h = std::visit(
      [&](const auto& hh) {
        return HeadCodec<StageOfHeader<std::decay_t<decltype(hh)>>>::array_specs(hh, l.V, C, l.fields);
      },
      l.header);
  s.insert(s.end(), h.begin(), h.end());
  return s;
}

// The table's entries in the order of the specs: each spec's array exactly once, nothing else.
std::vector<ArrayEntry> read_arrays(const json& j, const std::vector<ArraySpec>& specs, const std::string& scope) {
  const json& table = read_array(j, "arrays", 0);
  std::vector<ArrayEntry> out(specs.size());
  std::vector<bool> seen(specs.size(), false);
  for (std::size_t i = 0; i < table.size(); ++i) {
    const std::string name = at("arrays", i);
    const json& a = object(table[i], name, scope, {"name", "dtype", "shape", "offset", "nbytes"});
    const std::string array_name = read_string(a.at("name"), name + ".name");
    std::size_t k = 0;
    while (k < specs.size() && array_name != specs[k].name) ++k;
    if (k == specs.size()) {
      std::string expected;
      for (std::size_t s = 0; s < specs.size(); ++s)
        expected += (s == 0 ? "" : s + 1 == specs.size() ? " or " : ", ") + specs[s].name;
      throw HeaderError(name + ".name = " + brief(a.at("name")) + ": expected " + expected);
    }
    if (seen[k])
      throw HeaderError("the array '" + array_name + "' listed twice (arrays[" + std::to_string(out[k].index) +
                        "] and arrays[" + std::to_string(i) + "])");
    seen[k] = true;
    ArrayEntry& e = out[k];
    e.index = i;
    e.dtype = read_string(a.at("dtype"), name + ".dtype");
    const json& shape = a.at("shape");
    const std::size_t rank = specs[k].shape.size();
    if (!shape.is_array() || shape.size() != rank)
      throw HeaderError(name + ".shape = " + brief(shape) + ": expected " + (rank == 1 ? "[length]" : "[rows, columns]"));
    for (std::size_t r = 0; r < rank; ++r) e.shape.push_back(read_uint(shape[r], at(name + ".shape", r), 0, kAnySize));
    e.offset = read_uint(a.at("offset"), name + ".offset", 0, kAnySize);
    e.nbytes = read_uint(a.at("nbytes"), name + ".nbytes", 0, kAnySize);
  }
  for (std::size_t k = 0; k < specs.size(); ++k)
    if (!seen[k]) throw HeaderError("no array '" + specs[k].name + "' in arrays");
  return out;
}

// The sizes a layout implies, in an order where each division or product below is known not to
// overflow: K and the cell counts are ints (so K x cells < 2^62; 2 K G x cells < 2^52 with K <= 4096
// and G <= 130), V, S >= 1, and every byte count is compared with the data section (smaller than
// the file) before it is formed.
void check_sizes(const Layout& l, const std::vector<ArraySpec>& specs, const std::vector<ArrayEntry>& arrays,
                 std::uint64_t data_bytes) {
  const std::uint64_t V = l.V, C = l.names.size();
  std::visit(
      [&](const auto& o) {
        EncodingCodec<StageOfOptions<std::decay_t<decltype(o)>>>::check_dimension(o, specs, arrays, V, l.fields);
      },
      l.options);
  std::visit(
      [&](const auto& hh) {
        HeadCodec<StageOfHeader<std::decay_t<decltype(hh)>>>::check_room(hh, V, C, data_bytes, l.fields);
      },
      l.header);
  std::visit(
      [&](const auto& o) {
        EncodingCodec<StageOfOptions<std::decay_t<decltype(o)>>>::check_room(o, data_bytes, l.fields);
      },
      l.options);
  for (std::size_t k = 0; k < specs.size(); ++k) {
    const ArraySpec& s = specs[k];
    const ArrayEntry& a = arrays[k];
    const std::string what = "the array '" + s.name + "'";
    if (a.dtype != s.dtype) throw HeaderError(what + " of dtype " + escaped(a.dtype) + ": expected \"" + s.dtype + "\"");
    if (a.shape != s.shape)
      throw HeaderError(what + " of shape " + shape_text(a.shape) + ": expected " + shape_text(s.shape) + " = " + s.meaning);
    // Every spec's byte count is bounded by the checks above; still, form it without overflow.
    std::uint64_t bytes = s.item();
    for (std::uint64_t d : s.shape) {
      if (d != 0 && bytes > data_bytes / d)
        throw HeaderError(what + " of shape " + shape_text(s.shape) + " cannot fit in the data section of " +
                          std::to_string(data_bytes) + " bytes");
      bytes *= d;
    }
    if (a.nbytes != bytes)
      throw HeaderError(what + " of " + std::to_string(a.nbytes) + " bytes (nbytes): expected " + std::to_string(bytes) +
                        " = shape x " + std::to_string(s.item()));
  }
}

// The arrays tile the data section: in offset order, the first at 0 and each next where the
// previous ends (rounded up to a multiple of 8, padded with zeros), the last ending the section.
// So no bytes overlap, repeat or hide in a gap.
void check_tiling(const std::vector<ArraySpec>& specs, const std::vector<ArrayEntry>& arrays, const char* data,
                  std::uint64_t data_bytes) {
  std::vector<std::size_t> order(arrays.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return arrays[x].offset < arrays[y].offset; });
  std::uint64_t expected = 0;
  for (std::size_t k : order) {
    const ArrayEntry& a = arrays[k];
    const std::string what = "the array '" + specs[k].name + "'";
    if (a.offset != expected)
      throw HeaderError(what + " at offset " + std::to_string(a.offset) + ": expected offset " + std::to_string(expected) +
                        " (the arrays tile the data section in offset order, each at the end of the previous one "
                        "rounded up to a multiple of 8, without overlap or gap)");
    if (a.offset > data_bytes || a.nbytes > data_bytes - a.offset)
      throw HeaderError(what + " at [" + std::to_string(a.offset) + ", +" + std::to_string(a.nbytes) +
                        ") runs past the data section of " + std::to_string(data_bytes) + " bytes");
    const std::uint64_t end = a.offset + a.nbytes;
    expected = (end + 7) & ~std::uint64_t{7};
    for (std::uint64_t b = end; b < expected && b < data_bytes; ++b)
      if (data[b] != '\0') throw HeaderError("a non-zero padding byte at data offset " + std::to_string(b) + " after " + what);
  }
  if (expected != data_bytes)
    throw HeaderError("data_bytes = " + std::to_string(data_bytes) + ": expected " + std::to_string(expected) +
                      ", where the last array ends");
}

// Builds the model a checked layout and data section describe, running the value checks first so
// that a refusal names the file's fields.
Model build_model(Layout& l, const DataSection& data) {
  const std::size_t V = l.V;
  Encoding encoding = std::visit(
      [&](auto& o) -> Encoding {
        return EncodingCodec<StageOfOptions<std::decay_t<decltype(o)>>>::read(std::move(o), data, V, l.fields);
      },
      l.options);
  check_class_names(l.names);
  Head head = std::visit(
      [&](auto& hh) -> Head {
        return HeadCodec<StageOfHeader<std::decay_t<decltype(hh)>>>::read(std::move(hh), l.names, l.biases, data, V,
                                                                         l.encoding, l.fields);
      },
      l.header);
  return Model(std::move(encoding), std::move(head));
}

// ---- the optional field "training_images": the provenance of a kernel head's support vectors ----
// [{"path": P, "mirrored": bool}] with one entry per support vector, in the order of the support set;
// a path that is not UTF-8 is written as its display form (U+FFFD for each bad byte) with its exact
// bytes in "path_hex" (core/json_text.h, as explain's "image_hex").

json training_images_json(const std::vector<TrainingImage>& images) {
  json out = json::array();
  for (const TrainingImage& t : images) {
    json e = {{"mirrored", t.mirrored}};
    core::set_path(e, "path", t.path);
    out.push_back(std::move(e));
  }
  return out;
}

// The bytes of lowercase hex text (two digits a byte), or nullopt when it is not such text.
std::optional<std::string> from_hex(const std::string& hex) {
  if (hex.size() % 2) return std::nullopt;
  const auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::vector<TrainingImage> read_training_images(const json& j, const Model& model, const Fields& fields) {
  const std::string name = "training_images";
  const std::size_t S = model.support_size();
  if (S == 0)
    throw HeaderError("a field " + name + " with a " + model.head_kind() +
                      " head: expected none (it has no support vectors for it to describe)");
  if (!j.is_array() || j.size() != S)
    throw HeaderError(name + " = " + brief(j) + ": expected an array of " + std::to_string(S) +
                      " values, one per support vector (" + fields.support_size + ")");
  std::vector<TrainingImage> out(S);
  for (std::size_t i = 0; i < S; ++i) {
    const std::string entry = at(name, i);
    const json& e = object(j[i], entry, scope_of(fields), {"path", "mirrored"}, {"path_hex"});
    out[i].path = read_string(e.at("path"), entry + ".path");
    out[i].mirrored = read_bool(e.at("mirrored"), entry + ".mirrored");
    if (e.contains("path_hex")) {
      const std::string hex = read_string(e.at("path_hex"), entry + ".path_hex");
      const std::optional<std::string> bytes = from_hex(hex);
      if (!bytes || core::is_utf8(*bytes) || core::utf8_display(*bytes) != out[i].path)
        throw HeaderError(entry + ".path_hex = " + brief(e.at("path_hex")) +
                          ": expected the lowercase hex bytes of a path that is not UTF-8, whose display form is " +
                          entry + ".path");
      out[i].path = *bytes;
    }
    if (out[i].path.empty() || out[i].path.find('\0') != std::string::npos)
      throw HeaderError(entry + ".path = " + brief(e.at("path")) + ": expected a file path (not empty, no NUL)");
  }
  return out;
}

// ---- the optional field "artefact_projection": P-ClArC's stage between the encoding and the head ----
// {"direction": [V numbers, unit length], "reference": [V numbers], "clamp": "none" | "non-negative"}

json artefact_projection_json(const bow::ArtefactProjection& p) {
  return {{"direction", p.direction()}, {"reference", p.reference()}, {"clamp", bow::to_string(p.clamp())}};
}

bow::ArtefactProjection read_artefact_projection(const json& j, const Model& model, const Fields& fields) {
  const std::string name = "artefact_projection";
  const json& o = object(j, name, scope_of(fields), {"direction", "reference", "clamp"});
  const std::size_t V = model.dimension();
  const auto numbers = [&](const char* field) {
    const std::string what = name + "." + field;
    const json& a = o.at(field);
    if (!a.is_array() || a.size() != V)
      throw HeaderError(what + " = " + brief(a) + ": expected an array of " + std::to_string(V) + " numbers (dim)");
    std::vector<double> out(V);
    for (std::size_t d = 0; d < V; ++d) out[d] = read_number(a[d], at(what, d));
    return out;
  };
  std::vector<double> v = numbers("direction"), z = numbers("reference");
  const bow::ProjectionClamp clamp = read_enum(o.at("clamp"), name + ".clamp", bow::projection_clamp_from_string);
  double norm = 0;
  for (double x : v) norm += x * x;
  if (!(std::abs(std::sqrt(norm) - 1.0) <= 1e-9))
    throw HeaderError(name + ".direction has length " + number_text(std::sqrt(norm)) + ": expected a unit vector");
  return bow::ArtefactProjection(std::move(v), std::move(z), clamp);
}

// Parses the header, refusing a key repeated within an object: JSON readers disagree on which copy
// counts, so such a file means different models to different readers.
json parse_header(const std::string& buf, std::size_t begin, std::size_t end, std::string& repeated) {
  std::vector<std::set<std::string>> open;  // keys of the objects being parsed, innermost last
  json::parser_callback_t note = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open.emplace_back();
    else if (event == json::parse_event_t::object_end && !open.empty()) open.pop_back();
    else if (event == json::parse_event_t::key && !open.empty() && !open.back().insert(parsed.get<std::string>()).second &&
             repeated.empty())
      repeated = parsed.get<std::string>();
    return true;
  };
  return json::parse(buf.begin() + static_cast<std::ptrdiff_t>(begin), buf.begin() + static_cast<std::ptrdiff_t>(end), note);
}

}  // namespace

const InputDomain& file_format::domain_of(const std::string& kind) {
  return visit_encoding_kind(kind, [](auto tag) -> const InputDomain& {
    return EncodingCodec<typename decltype(tag)::type>::domain();
  });
}

void validate_class_names(const std::vector<std::string>& names) { check_class_names(names); }

void save_model(const std::string& path, const Model& model) {
  const std::string encoding = model.encoding_kind();
  const std::string head = model.head_kind();
  // Bag-of-Words + kernel SVM is what format_version 1 holds: written as it, byte for byte as
  // before version 2 existed, so that older readers keep reading such models.
  const bool version_1 = std::visit(
      [](const auto& e) { return EncodingCodec<StageOf<std::decay_t<decltype(e)>>>::format_version_1; },
      model.encoding());
  const bool head_version_1 = std::visit(
      [](const auto& h) { return HeadCodec<StageOf<std::decay_t<decltype(h)>>>::format_version_1; }, model.head());
  const Fields fields = Fields::of(version_1 && head_version_1 ? kMinModelFormatVersion : kModelFormatVersion);
  const std::size_t V = model.dimension();
  json pipeline;
  std::vector<OutArray> arrays = std::visit(
      [&](const auto& e) { return EncodingCodec<StageOf<std::decay_t<decltype(e)>>>::write(*e, V, fields, &pipeline); },
      model.encoding());
  json classes = json::array();
  json jhead;
  std::vector<OutArray> head_arrays = std::visit(
      [&](const auto& h) {
        return HeadCodec<StageOf<std::decay_t<decltype(h)>>>::write(*h, V, encoding, fields, &jhead, &classes);
      },
      model.head());
  arrays.insert(arrays.end(), head_arrays.begin(), head_arrays.end());

  json header;
  header["format_version"] = fields.version;
  if (fields.version == 1) {
    header["pipeline"] = pipeline;
    header["kernel"] = jhead.at("kernel");
    header["support_size"] = jhead.at("support_size");
  } else {
    header["encoding"] = {{"kind", encoding}, {"pipeline", pipeline}};
    header["head"] = jhead;
  }
  header["dim"] = V;
  header["classes"] = classes;
  if (!model.training_images().empty()) header["training_images"] = training_images_json(model.training_images());
  if (model.artefact_projection()) header["artefact_projection"] = artefact_projection_json(*model.artefact_projection());
  core::write_file_atomic(path, assemble(std::move(header), arrays));
}

Model load_model(const std::string& path) {
  // The file is read in the order it is checked: magic and header length, then the header, then,
  // once the header's data_bytes agrees with the file's size, the rest. A file that is not a
  // model costs a few bytes of reading, whatever its size.
  const core::FileReader file(path);
  const std::uint64_t size = file.size();
  if (size == 0) fail(path, "is empty (not a bowlrp model file)");
  std::string buf = file.read(0, static_cast<std::size_t>(std::min<std::uint64_t>(size, kPrefix)));
  if (buf.compare(0, std::min(buf.size(), kMagicSize), kModelMagic, std::min(buf.size(), kMagicSize)) != 0)
    fail(path, "is not a bowlrp model file (it does not start with \"BOWLRP-MODEL\")");
  if (size < kPrefix)
    fail(path, "is truncated: expected at least " + std::to_string(kPrefix) + " bytes, found " + std::to_string(size));
  const std::uint64_t N = get_u64(buf, kMagicSize);
  if (N > size || kPrefix + N + kTrailer > size)
    fail(path, "is truncated: the header alone needs " + std::to_string(kPrefix + N + kTrailer) + " bytes, found " +
                   std::to_string(size));
  const std::size_t D = kPrefix + static_cast<std::size_t>(N);
  buf += file.read(kPrefix, static_cast<std::size_t>(N));
  // Until data_bytes agrees with the file's size only the prefix and the header are read, so a
  // header that is damaged or not JSON is refused for what it says, unchecked against the
  // checksum (which would need the whole file, whatever its size).
  // JSON text holds no NUL byte (a string spells it \u0000), but the parser stops at one as at the
  // end of its input: refused here, so that the header is exactly one JSON value.
  if (const std::size_t nul = buf.find('\0', kPrefix); nul != std::string::npos)
    fail(path, "has a NUL byte in its header (byte " + std::to_string(nul - kPrefix) + " of " + std::to_string(N) +
                   "): the header must be exactly one JSON value");

  json header;
  std::string repeated;
  try {
    header = parse_header(buf, kPrefix, D, repeated);
  } catch (const json::exception& e) {
    fail(path, "has a header that is not valid JSON: " + std::string(e.what()));
  }
  if (!header.is_object()) {
    fail(path, "has a header that is " + brief(header) + ", not a JSON object");
  }
  std::uint64_t version = 0, data_bytes = 0;
  try {
    if (!header.contains("format_version")) throw HeaderError("no format_version");
    const json& v = header.at("format_version");
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() < kMinModelFormatVersion ||
        v.get<std::uint64_t>() > kModelFormatVersion)
      fail(path, "has format_version " + brief(v) + "; this build reads format_version " +
                     std::to_string(kMinModelFormatVersion) + " or " + std::to_string(kModelFormatVersion));
    version = v.get<std::uint64_t>();
    if (!header.contains("data_bytes")) throw HeaderError("the required field data_bytes missing");
    data_bytes = read_uint(header.at("data_bytes"), "data_bytes", 0, std::numeric_limits<std::uint64_t>::max());
  } catch (const HeaderError& e) {
    fail(path, "has " + std::string(e.what()));
  }
  if (data_bytes > size || D + data_bytes + kTrailer != size) {
    const std::uint64_t expected = D + data_bytes + kTrailer;
    if (data_bytes > size || expected > size)
      fail(path, "is truncated: expected " + std::to_string(expected) + " bytes, found " + std::to_string(size));
    fail(path, "has " + std::to_string(size - expected) + " unexpected trailing bytes (expected " +
                   std::to_string(expected) + " bytes)");
  }
  buf += file.read(D, static_cast<std::size_t>(data_bytes + kTrailer));  // now the whole file, as declared
  if (crc32(reinterpret_cast<const unsigned char*>(buf.data()), size - kTrailer) != get_u64(buf, size - kTrailer))
    fail(path, "is corrupt: checksum mismatch");
  // Past the checksum, the bytes are as written: what follows refuses content no writer of this
  // format produces, so that nothing downstream meets a size that overflows, a range that overlaps,
  // a truncated integer or a value that makes a decision non-finite.
  if (!repeated.empty()) fail(path, "has the key " + escaped(repeated) + " twice in one object of its header");
  if (D % 8 != 0)
    fail(path, "has a header of " + std::to_string(N) + " bytes: expected 21 + header length to be a multiple of 8");

  try {
    Layout layout = version == 1 ? read_header_v1(header) : read_header_v2(header);
    const std::vector<ArraySpec> specs = array_specs(layout);
    const std::vector<ArrayEntry> arrays = read_arrays(header.at("arrays"), specs, scope_of(layout.fields));
    check_sizes(layout, specs, arrays, data_bytes);
    const char* data = buf.data() + D;
    check_tiling(specs, arrays, data, data_bytes);
    Model model = build_model(layout, DataSection{data, specs, arrays});
    if (header.contains("training_images"))
      model = model.with_training_images(read_training_images(header.at("training_images"), model, layout.fields));
    if (header.contains("artefact_projection"))
      model = model.with_artefact_projection(read_artefact_projection(header.at("artefact_projection"), model, layout.fields));
    return model;
  } catch (const HeaderError& e) {
    fail(path, "has " + std::string(e.what()));
  } catch (const json::exception& e) {
    fail(path, "has a bad header: " + std::string(e.what()));
  } catch (const std::invalid_argument& e) {
    fail(path, "holds an invalid model: " + std::string(e.what()));
  }
}

}  // namespace bowlrp::model
