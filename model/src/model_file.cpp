#include <bowlrp/model/model_file.h>

#include <bowlrp/bow/io.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/bow/pooling.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the model file stores little-endian arrays as raw bytes");

namespace bowlrp::model {

namespace {

using nlohmann::json;
using namespace bowlrp::svm;

// The parts of a model as the file holds them.
struct Classifier {
  bow::PipelineOptions options;  // encoding options the codebook and SVMs were trained with
  bow::Codebook codebook;        // visual words
  KernelSvm svm;                 // one-vs-rest SVMs
  void validate() const;
};

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

json pipeline_to_json(const bow::PipelineOptions& o) {
  json pyramid = json::array();
  for (const bow::PyramidLevel& l : o.pooling.pyramid) pyramid.push_back({{"cols", l.cols}, {"rows", l.rows}});
  return {
      {"image", {{"max_side", o.image.max_side}}},
      {"dsift",
       {{"bin_sizes", o.dsift.bin_sizes},
        {"step", o.dsift.step},
        {"magnif", o.dsift.magnif},
        {"contrast_threshold", o.dsift.contrast_threshold},
        {"window_size", o.dsift.window_size},
        {"fast", o.dsift.fast}}},
      {"kmeans",
       {{"words", o.kmeans.words},
        {"samples", o.kmeans.samples},
        {"max_iterations", o.kmeans.max_iterations},
        {"seed", o.kmeans.seed},
        {"algorithm", bow::to_string(o.kmeans.algorithm)},
        {"tolerance", o.kmeans.tolerance}}},
      {"mapping",
       {{"kind", bow::to_string(o.mapping.kind)},
        {"neighbours", o.mapping.neighbours},
        {"beta", o.mapping.beta},
        {"rank_decay", o.mapping.rank_decay}}},
      {"pooling",
       {{"p", o.pooling.is_max() ? json("inf") : json(o.pooling.p)},
        {"pyramid", pyramid},
        {"normalisation", bow::to_string(o.pooling.normalisation)},
        {"hellinger", o.pooling.hellinger}}},
  };
}

struct ArrayDesc {
  std::string name, dtype;
  std::vector<std::size_t> shape;
  std::size_t offset = 0, nbytes = 0;
};

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("model file '" + path + "' " + problem);
}

// ---- bounds on the stored values ----
// Inputs of the SVMs are the pipeline's histograms: each entry is a mean of mapping weights in
// [0, 1], then optionally square-rooted and L1/L2-normalised, so x lies in [0, 1]^V (up to a few
// roundings); the support vectors are such histograms too. For x, s in [0, 1]^V a kernel is at most
//   k_max = sum_u w_u |u|   (linear, hik, chi2 as 2ab/(a+b) <= sqrt(ab), hellinger; |u| = block length)
//   k_max = sum_u w_u       (rbf, expchi2),
// so |f_c(x)| <= |b_c| + k_max sum_i |coef_ci|. A model is refused unless this bound is at most
// kMaxDecision = 1e150 for every class: then f_c, f_c^2 and sums of them over any number of images
// and classes stay far below DBL_MAX (~1.8e308) whatever the rounding. Every stored value is first
// capped at kMaxValue = 1e100, so that the product of any two is finite as well.
constexpr double kMaxValue = 1e100;
constexpr double kMaxDecision = 1e150;
// A histogram entry may exceed 1 by a few roundings (a mean computed as sum * (1/M)).
constexpr double kMaxHistogram = 1 + 1e-6;
// SIFT descriptors are non-negative with unit L2 norm, so a visual word, their mean, lies in [0, 1].
constexpr double kMaxCentre = 1 + 1e-6;

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return json(v).dump();  // shortest round-trip form
}

// A string as JSON text, with control and non-ASCII characters escaped: safe in any message.
std::string escaped(const std::string& s) { return json(s).dump(-1, ' ', true, json::error_handler_t::replace); }

// Class names end up in reports, file names and terminals: non-empty, valid UTF-8 (no overlong
// forms, surrogates or values past U+10FFFF), without control characters (C0, DEL, C1) or
// line/paragraph separators.
void check_class_name(const std::string& name, std::size_t c) {
  const std::string field = "classes[" + std::to_string(c) + "].name " + escaped(name);
  if (name.empty()) throw std::invalid_argument(field + " is empty: expected a printable name");
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  const std::size_t n = name.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char b = p[i];
    std::uint32_t cp = b;
    std::size_t len = 1;
    if (b >= 0xC2 && b <= 0xDF) cp = b & 0x1F, len = 2;
    else if (b >= 0xE0 && b <= 0xEF) cp = b & 0x0F, len = 3;
    else if (b >= 0xF0 && b <= 0xF4) cp = b & 0x07, len = 4;
    else if (b >= 0x80) len = 0;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (ok) ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) throw std::invalid_argument(field + " is not valid UTF-8 (at byte " + std::to_string(i) + ")");
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      throw std::invalid_argument(field + " contains the " + (cp >= 0x2028 ? "line separator " : "control character ") +
                                  hex + ": expected printable UTF-8");
    }
    i += len;
  }
}

// The value checks shared by Classifier::validate and the loader (which runs them on the raw arrays
// before building the objects, so that its messages name the file's fields). See the bounds above.
void check_values(const Kernel& kernel, std::size_t V, const std::vector<float>& centres,
                  const std::vector<double>& support, const std::vector<BinarySvm>& classes) {
  auto out_of = [](const std::string& field, double v, const std::string& expected) {
    throw std::invalid_argument(field + " = " + number_text(v) + ": expected " + expected);
  };
  if (!(kernel.gamma >= 0 && kernel.gamma <= kMaxValue)) out_of("kernel.gamma", kernel.gamma, "a value in [0, 1e+100]");
  for (std::size_t u = 0; u < kernel.blocks.size(); ++u)
    if (!(kernel.blocks[u].weight >= 0 && kernel.blocks[u].weight <= kMaxValue))
      out_of("kernel.blocks[" + std::to_string(u) + "].weight", kernel.blocks[u].weight, "a value in [0, 1e+100]");
  kernel.validate(V);
  const std::size_t cdim = bow::FeatureTrace::kDim;
  for (std::size_t i = 0; i < centres.size(); ++i)
    if (!(centres[i] >= 0 && centres[i] <= kMaxCentre))
      out_of("codebook_centres[" + std::to_string(i / cdim) + "][" + std::to_string(i % cdim) + "]", centres[i],
             "a value in [0, 1] (visual words are means of non-negative unit-norm SIFT descriptors)");
  for (std::size_t i = 0; i < support.size(); ++i)
    if (!(support[i] >= 0 && support[i] <= kMaxHistogram))
      out_of("support_vectors[" + std::to_string(i / V) + "][" + std::to_string(i % V) + "]", support[i],
             "a histogram value in [0, 1]");
  const std::size_t S = support.size() / V;
  std::map<std::string, std::size_t> names;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    check_class_name(classes[c].name, c);
    if (const auto [it, fresh] = names.emplace(classes[c].name, c); !fresh)
      throw std::invalid_argument("classes[" + std::to_string(c) + "].name " + escaped(classes[c].name) +
                                  " repeats classes[" + std::to_string(it->second) + "].name: expected unique names");
    if (classes[c].coef.size() != S)
      throw std::invalid_argument("classes[" + std::to_string(c) + "] has " + std::to_string(classes[c].coef.size()) +
                                  " coefficients: expected one per support vector (" + std::to_string(S) + ")");
    if (!(std::abs(classes[c].bias) <= kMaxValue))
      out_of("classes[" + std::to_string(c) + "].bias", classes[c].bias, "a value in [-1e+100, 1e+100]");
    for (std::size_t i = 0; i < S; ++i)
      if (!(std::abs(classes[c].coef[i]) <= kMaxValue))
        out_of("coefficients[" + std::to_string(c) + "][" + std::to_string(i) + "]", classes[c].coef[i],
               "a value in [-1e+100, 1e+100]");
  }
  // The decision bound. Every term is finite and non-negative, so the sums are at worst +inf, which
  // the comparison refuses.
  const bool exponential = kernel.type == KernelType::rbf || kernel.type == KernelType::expchi2;
  const double per_dim = kernel.type == KernelType::linear ? kMaxHistogram * kMaxHistogram : kMaxHistogram;
  auto block_max = [&](double weight, std::size_t length) {
    return weight * (exponential ? 1.0 : static_cast<double>(length) * per_dim);
  };
  double k_max = 0;
  if (kernel.blocks.empty()) k_max = block_max(1.0, V);
  for (const KernelBlock& b : kernel.blocks) k_max += block_max(b.weight, b.end - b.begin);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    double sum = 0;
    for (double a : classes[c].coef) sum += std::abs(a);
    const double bound = std::abs(classes[c].bias) + k_max * sum;
    if (!(bound <= kMaxDecision))
      throw std::invalid_argument("classes[" + std::to_string(c) + "] (" + escaped(classes[c].name) +
                                  ") can reach a decision of magnitude " + number_text(bound) +
                                  " on histograms in [0, 1]^dim (|bias| + sum |coefficients| x max kernel value " +
                                  number_text(k_max) + "): expected at most 1e+150");
  }
}

// The checks of Classifier::validate that do not read the arrays.
void check_structure(const Classifier& cl) {
  cl.options.validate();
  if (cl.codebook.size() == 0) throw std::invalid_argument("Model: the codebook is empty");
  if (cl.codebook.dim() != bow::FeatureTrace::kDim)
    throw std::invalid_argument("Model: the codebook has " + std::to_string(cl.codebook.dim()) +
                                "-dimensional words, expected " + std::to_string(bow::FeatureTrace::kDim) + " (SIFT)");
  if (cl.codebook.size() != cl.options.kmeans.words)
    throw std::invalid_argument("Model: the codebook has " + std::to_string(cl.codebook.size()) +
                                " words but pipeline.kmeans.words = " + std::to_string(cl.options.kmeans.words) +
                                ": expected equal");
  const std::size_t expected = static_cast<std::size_t>(cl.codebook.size()) * cl.options.pooling.cells();
  if (cl.svm.dim() != expected)
    throw std::invalid_argument("Model: SVM dimension " + std::to_string(cl.svm.dim()) + " != codebook size " +
                                std::to_string(cl.codebook.size()) + " x pyramid cells " +
                                std::to_string(cl.options.pooling.cells()) + " = " + std::to_string(expected));
  if (cl.svm.support_size() == 0)
    throw std::invalid_argument("Model: the SVM has no support vectors (support_size 0): expected at least 1");
}

// ---- strict reading of the header ----
// Every value is read through its dotted field name, so that a refusal names the field, the value
// found and what was expected. The loader prefixes "model file '<path>' has ".
struct HeaderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A value as the file spells it, shortened and escaped.
std::string brief(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array of " + std::to_string(v.size()) + " values";
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Checks that j is an object with every required key and no key beyond the required and optional ones.
const json& object(const json& j, const std::string& name, std::initializer_list<const char*> required,
                   std::initializer_list<const char*> optional = {}) {
  const std::string prefix = name.empty() ? "" : name + ".";
  if (!j.is_object()) throw HeaderError((name.empty() ? "a header" : name) + " that is " + brief(j) + ": expected a JSON object");
  auto listed = [](std::initializer_list<const char*> keys, const std::string& k) {
    return std::any_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; });
  };
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!listed(required, it.key()) && !listed(optional, it.key())) {
      const std::string key = escaped(it.key());
      throw HeaderError("an unknown field " + prefix + key.substr(1, key.size() - 2) +
                        " (format_version 1 defines no such field)");
    }
  for (const char* k : required)
    if (!j.contains(k)) throw HeaderError("the required field " + prefix + k + " missing");
  return j;
}

std::uint64_t read_uint(const json& v, const std::string& name, std::uint64_t lo, std::uint64_t hi) {
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
    const auto x = v.get<std::uint64_t>();
    if (x >= lo && x <= hi) return x;
  }
  throw HeaderError(name + " = " + brief(v) + ": expected an integer in [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
}

int read_int(const json& v, const std::string& name, int lo) {
  return static_cast<int>(read_uint(v, name, static_cast<std::uint64_t>(lo), std::numeric_limits<int>::max()));
}

double read_number(const json& v, const std::string& name, double lo = -kMaxValue, double hi = kMaxValue) {
  if (v.is_number()) {
    const double x = v.get<double>();
    if (x >= lo && x <= hi) return x;  // false for NaN and infinities
  }
  throw HeaderError(name + " = " + brief(v) + ": expected a number in [" + number_text(lo) + ", " + number_text(hi) + "]");
}

std::string read_string(const json& v, const std::string& name) {
  if (!v.is_string()) throw HeaderError(name + " = " + brief(v) + ": expected a string");
  return v.get<std::string>();
}

bool read_bool(const json& v, const std::string& name) {
  if (!v.is_boolean()) throw HeaderError(name + " = " + brief(v) + ": expected true or false");
  return v.get<bool>();
}

const json& read_array(const json& v, const std::string& name, std::size_t min_size) {
  if (!v.is_array() || v.size() < min_size)
    throw HeaderError(name + " = " + brief(v) + ": expected an array of at least " + std::to_string(min_size) + " values");
  return v;
}

// An enumeration spelt as a string, parsed by its module's from_string.
template <class F>
auto read_enum(const json& v, const std::string& name, F from_string) {
  const std::string s = read_string(v, name);
  try {
    return from_string(s);
  } catch (const std::invalid_argument& e) {
    throw HeaderError(name + " = " + brief(v) + ": " + e.what());
  }
}

std::string at(const std::string& name, std::size_t i) { return name + "[" + std::to_string(i) + "]"; }

bow::PipelineOptions read_pipeline(const json& j) {
  object(j, "pipeline", {"image", "dsift", "kmeans", "mapping", "pooling"});
  bow::PipelineOptions o;
  const json& im = object(j.at("image"), "pipeline.image", {"max_side"});
  o.image.max_side = read_int(im.at("max_side"), "pipeline.image.max_side", 0);
  const json& d = object(j.at("dsift"), "pipeline.dsift",
                         {"bin_sizes", "step", "magnif", "contrast_threshold", "window_size", "fast"});
  const json& bins = read_array(d.at("bin_sizes"), "pipeline.dsift.bin_sizes", 1);
  o.dsift.bin_sizes.clear();
  for (std::size_t i = 0; i < bins.size(); ++i)
    o.dsift.bin_sizes.push_back(read_int(bins[i], at("pipeline.dsift.bin_sizes", i), 1));
  o.dsift.step = read_int(d.at("step"), "pipeline.dsift.step", 1);
  // The smoothing of dense SIFT has sigma = bin size / magnif <= 256 / magnif pixels and 2 ceil(3 sigma) + 1
  // taps: magnif >= 0.01 keeps it below 160k taps (and ceil(3 sigma) far inside an int).
  o.dsift.magnif = read_number(d.at("magnif"), "pipeline.dsift.magnif", 0.01);
  // Dense SIFT converts these two to float: beyond FLT_MAX the conversion overflows, and a window below
  // the smallest normal float becomes a zero width, which makes descriptors NaN.
  constexpr double kFloatMax = std::numeric_limits<float>::max(), kFloatMin = std::numeric_limits<float>::min();
  o.dsift.contrast_threshold = read_number(d.at("contrast_threshold"), "pipeline.dsift.contrast_threshold", 0, kFloatMax);
  o.dsift.window_size = read_number(d.at("window_size"), "pipeline.dsift.window_size", kFloatMin, kFloatMax);
  o.dsift.fast = read_bool(d.at("fast"), "pipeline.dsift.fast");
  // How the codebook was trained is a record, not needed to use it: files written before
  // algorithm and tolerance existed read as the defaults.
  const json& k = object(j.at("kmeans"), "pipeline.kmeans", {"words", "samples", "max_iterations", "seed"},
                         {"algorithm", "tolerance"});
  o.kmeans.words = read_int(k.at("words"), "pipeline.kmeans.words", 1);
  o.kmeans.samples = read_uint(k.at("samples"), "pipeline.kmeans.samples", 0, std::numeric_limits<std::size_t>::max());
  o.kmeans.max_iterations = read_int(k.at("max_iterations"), "pipeline.kmeans.max_iterations", 1);
  o.kmeans.seed = read_uint(k.at("seed"), "pipeline.kmeans.seed", 0, std::numeric_limits<std::uint64_t>::max());
  if (k.contains("algorithm"))
    o.kmeans.algorithm = read_enum(k.at("algorithm"), "pipeline.kmeans.algorithm", bow::kmeans_algorithm_from_string);
  if (k.contains("tolerance")) o.kmeans.tolerance = read_number(k.at("tolerance"), "pipeline.kmeans.tolerance", 0);
  const json& m = object(j.at("mapping"), "pipeline.mapping", {"kind", "neighbours", "beta", "rank_decay"});
  o.mapping.kind = read_enum(m.at("kind"), "pipeline.mapping.kind", bow::mapping_kind_from_string);
  o.mapping.neighbours = read_int(m.at("neighbours"), "pipeline.mapping.neighbours", 1);
  o.mapping.beta = read_number(m.at("beta"), "pipeline.mapping.beta", 0);
  o.mapping.rank_decay = read_number(m.at("rank_decay"), "pipeline.mapping.rank_decay", 0, 1);
  const json& p = object(j.at("pooling"), "pipeline.pooling", {"p", "pyramid", "normalisation", "hellinger"});
  const json& pj = p.at("p");
  if (pj.is_string()) {
    if (pj.get<std::string>() != "inf")
      throw HeaderError("pipeline.pooling.p = " + brief(pj) + ": expected a number or \"inf\"");
    o.pooling.p = std::numeric_limits<double>::infinity();
  } else {
    o.pooling.p = read_number(pj, "pipeline.pooling.p", 0);
  }
  const json& pyramid = read_array(p.at("pyramid"), "pipeline.pooling.pyramid", 1);
  o.pooling.pyramid.clear();
  for (std::size_t i = 0; i < pyramid.size(); ++i) {
    const std::string name = at("pipeline.pooling.pyramid", i);
    const json& l = object(pyramid[i], name, {"cols", "rows"});
    o.pooling.pyramid.push_back({read_int(l.at("cols"), name + ".cols", 1), read_int(l.at("rows"), name + ".rows", 1)});
  }
  o.pooling.normalisation = read_enum(p.at("normalisation"), "pipeline.pooling.normalisation", bow::normalisation_from_string);
  o.pooling.hellinger = read_bool(p.at("hellinger"), "pipeline.pooling.hellinger");
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    throw HeaderError("pipeline options that are invalid: " + std::string(e.what()));
  }
  // PoolingOptions::cells() is an int: count in 64 bits first (each level has at most 64 x 64 cells).
  std::uint64_t cells = 0;
  for (const bow::PyramidLevel& l : o.pooling.pyramid) cells += static_cast<std::uint64_t>(l.cols) * l.rows;
  if (cells > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
    throw HeaderError("pipeline.pooling.pyramid of " + std::to_string(cells) + " cells: expected at most " +
                      std::to_string(std::numeric_limits<int>::max()));
  return o;
}

Kernel read_kernel(const json& j) {
  object(j, "kernel", {"type", "gamma", "blocks"});
  Kernel kernel;
  kernel.type = read_enum(j.at("type"), "kernel.type", kernel_type_from_string);
  kernel.gamma = read_number(j.at("gamma"), "kernel.gamma", 0);
  const json& blocks = read_array(j.at("blocks"), "kernel.blocks", 0);
  for (std::size_t u = 0; u < blocks.size(); ++u) {
    const std::string name = at("kernel.blocks", u);
    const json& b = object(blocks[u], name, {"begin", "end", "weight"});
    constexpr std::uint64_t kAny = std::numeric_limits<std::size_t>::max();
    kernel.blocks.push_back({read_uint(b.at("begin"), name + ".begin", 0, kAny), read_uint(b.at("end"), name + ".end", 0, kAny),
                             read_number(b.at("weight"), name + ".weight", 0)});
  }
  return kernel;
}

// One entry of the header's "arrays" table.
struct ArrayEntry {
  std::size_t index = 0;  // position in the table
  std::string dtype;
  std::uint64_t rows = 0, cols = 0, offset = 0, nbytes = 0;
};

constexpr const char* kArrayNames[3] = {"codebook_centres", "support_vectors", "coefficients"};

std::array<ArrayEntry, 3> read_arrays(const json& j) {
  const json& table = read_array(j, "arrays", 0);
  std::array<ArrayEntry, 3> out;
  std::array<bool, 3> seen{};
  constexpr std::uint64_t kAny = std::numeric_limits<std::uint64_t>::max();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const std::string name = at("arrays", i);
    const json& a = object(table[i], name, {"name", "dtype", "shape", "offset", "nbytes"});
    const std::string array_name = read_string(a.at("name"), name + ".name");
    const auto k = static_cast<std::size_t>(std::find(kArrayNames, kArrayNames + 3, array_name) - kArrayNames);
    if (k == 3)
      throw HeaderError(name + ".name = " + brief(a.at("name")) +
                        ": expected codebook_centres, support_vectors or coefficients");
    if (seen[k])
      throw HeaderError("the array '" + array_name + "' listed twice (arrays[" + std::to_string(out[k].index) +
                        "] and arrays[" + std::to_string(i) + "])");
    seen[k] = true;
    ArrayEntry& e = out[k];
    e.index = i;
    e.dtype = read_string(a.at("dtype"), name + ".dtype");
    const json& shape = a.at("shape");
    if (!shape.is_array() || shape.size() != 2)
      throw HeaderError(name + ".shape = " + brief(shape) + ": expected [rows, columns]");
    e.rows = read_uint(shape[0], name + ".shape[0]", 0, kAny);
    e.cols = read_uint(shape[1], name + ".shape[1]", 0, kAny);
    e.offset = read_uint(a.at("offset"), name + ".offset", 0, kAny);
    e.nbytes = read_uint(a.at("nbytes"), name + ".nbytes", 0, kAny);
  }
  for (std::size_t k = 0; k < 3; ++k)
    if (!seen[k]) throw HeaderError("no array '" + std::string(kArrayNames[k]) + "' in arrays");
  return out;
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

void Classifier::validate() const {
  check_structure(*this);
  check_values(svm.kernel(), svm.dim(), codebook.centres(), svm.support(), svm.classes());
}

void save_model(const std::string& path, const Model& model) {
  Classifier cl{model.bag_of_words().options(), model.bag_of_words().codebook(), model.kernel_svm()};
  cl.validate();
  const KernelSvm& svm = cl.svm;
  const std::size_t K = static_cast<std::size_t>(cl.codebook.size()), cdim = static_cast<std::size_t>(cl.codebook.dim());
  const std::size_t S = svm.support_size(), V = svm.dim(), C = svm.classes().size();

  std::vector<ArrayDesc> arrays = {
      {"codebook_centres", "<f4", {K, cdim}, 0, K * cdim * sizeof(float)},
      {"support_vectors", "<f8", {S, V}, 0, S * V * sizeof(double)},
      {"coefficients", "<f8", {C, S}, 0, C * S * sizeof(double)},
  };
  std::size_t data_bytes = 0;
  for (ArrayDesc& a : arrays) {
    a.offset = data_bytes;
    data_bytes = align8(data_bytes + a.nbytes);
  }

  json header;
  header["format_version"] = kModelFormatVersion;
  header["pipeline"] = pipeline_to_json(cl.options);
  json blocks = json::array();
  for (const KernelBlock& b : svm.kernel().blocks)
    blocks.push_back({{"begin", b.begin}, {"end", b.end}, {"weight", b.weight}});
  header["kernel"] = {{"type", to_string(svm.kernel().type)}, {"gamma", svm.kernel().gamma}, {"blocks", blocks}};
  header["dim"] = V;
  header["support_size"] = S;
  json classes = json::array();
  for (const BinarySvm& c : svm.classes()) classes.push_back({{"name", c.name}, {"bias", c.bias}});
  header["classes"] = classes;
  header["data_bytes"] = data_bytes;
  json jarrays = json::array();
  for (const ArrayDesc& a : arrays)
    jarrays.push_back({{"name", a.name}, {"dtype", a.dtype}, {"shape", a.shape}, {"offset", a.offset}, {"nbytes", a.nbytes}});
  header["arrays"] = jarrays;

  std::string text = header.dump();
  text.append(align8(kPrefix + text.size()) - kPrefix - text.size(), ' ');
  const std::size_t D = kPrefix + text.size();

  std::string out;
  out.reserve(D + data_bytes + kTrailer);
  out.append(kModelMagic, kMagicSize);
  put_u64(out, text.size());
  out += text;
  out.resize(D + data_bytes, '\0');
  char* data = out.data() + D;
  std::memcpy(data + arrays[0].offset, cl.codebook.centres().data(), arrays[0].nbytes);
  std::memcpy(data + arrays[1].offset, svm.support().data(), arrays[1].nbytes);
  for (std::size_t c = 0; c < C; ++c)
    std::memcpy(data + arrays[2].offset + c * S * sizeof(double), svm.classes()[c].coef.data(), S * sizeof(double));
  put_u64(out, crc32(reinterpret_cast<const unsigned char*>(out.data()), out.size()));
  bow::write_file_atomic(path, out);
}

Model load_model(const std::string& path) {
  const std::string buf = bow::read_file(path);
  const std::size_t size = buf.size();
  if (size == 0) fail(path, "is empty (not a bowlrp model file)");
  if (buf.compare(0, std::min(size, kMagicSize), kModelMagic, std::min(size, kMagicSize)) != 0)
    fail(path, "is not a bowlrp model file (it does not start with \"BOWLRP-MODEL\")");
  if (size < kPrefix)
    fail(path, "is truncated: expected at least " + std::to_string(kPrefix) + " bytes, found " + std::to_string(size));
  const std::uint64_t N = get_u64(buf, kMagicSize);
  if (N > size || kPrefix + N + kTrailer > size)
    fail(path, "is truncated: the header alone needs " + std::to_string(kPrefix + N + kTrailer) + " bytes, found " +
                   std::to_string(size));
  const std::size_t D = kPrefix + static_cast<std::size_t>(N);
  auto checksum_ok = [&] {
    return crc32(reinterpret_cast<const unsigned char*>(buf.data()), size - kTrailer) == get_u64(buf, size - kTrailer);
  };

  json header;
  std::string repeated;
  try {
    header = parse_header(buf, kPrefix, D, repeated);
  } catch (const json::exception& e) {
    if (!checksum_ok()) fail(path, "is corrupt: checksum mismatch (and its header is not valid JSON)");
    fail(path, "has a header that is not valid JSON: " + std::string(e.what()));
  }
  if (!header.is_object()) {
    if (!checksum_ok()) fail(path, "is corrupt: checksum mismatch (and its header is not a JSON object)");
    fail(path, "has a header that is " + brief(header) + ", not a JSON object");
  }
  std::uint64_t data_bytes = 0;
  try {
    if (!header.contains("format_version")) throw HeaderError("no format_version");
    const json& v = header.at("format_version");
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() != kModelFormatVersion)
      fail(path, "has format_version " + brief(v) + "; this build reads format_version " +
                     std::to_string(kModelFormatVersion));
    if (!header.contains("data_bytes")) throw HeaderError("the required field data_bytes missing");
    data_bytes = read_uint(header.at("data_bytes"), "data_bytes", 0, std::numeric_limits<std::uint64_t>::max());
  } catch (const HeaderError& e) {
    if (!checksum_ok()) fail(path, "is corrupt: checksum mismatch");
    fail(path, "has " + std::string(e.what()));
  }
  if (data_bytes > size || D + data_bytes + kTrailer != size) {
    const std::uint64_t expected = D + data_bytes + kTrailer;
    if (data_bytes > size || expected > size)
      fail(path, "is truncated: expected " + std::to_string(expected) + " bytes, found " + std::to_string(size));
    fail(path, "has " + std::to_string(size - expected) + " unexpected trailing bytes (expected " +
                   std::to_string(expected) + " bytes)");
  }
  if (!checksum_ok()) fail(path, "is corrupt: checksum mismatch");
  // Past the checksum, the bytes are as written: what follows refuses content no writer of this
  // format produces, so that nothing downstream meets a size that overflows, a range that overlaps,
  // a truncated integer or a value that makes a decision non-finite.
  if (!repeated.empty()) fail(path, "has the key " + escaped(repeated) + " twice in one object of its header");
  if (D % 8 != 0)
    fail(path, "has a header of " + std::to_string(N) + " bytes: expected 21 + header length to be a multiple of 8");

  try {
    object(header, "", {"format_version", "pipeline", "kernel", "dim", "support_size", "classes", "data_bytes", "arrays"});
    Classifier cl;
    cl.options = read_pipeline(header.at("pipeline"));
    Kernel kernel = read_kernel(header.at("kernel"));
    constexpr std::uint64_t kAny = std::numeric_limits<std::uint64_t>::max();
    const std::uint64_t V = read_uint(header.at("dim"), "dim", 1, kAny);
    const std::uint64_t S = read_uint(header.at("support_size"), "support_size", 0, kAny);
    const json& jclasses = read_array(header.at("classes"), "classes", 1);
    std::vector<BinarySvm> classes;
    for (std::size_t c = 0; c < jclasses.size(); ++c) {
      const std::string name = at("classes", c);
      const json& jc = object(jclasses[c], name, {"name", "bias"});
      classes.push_back({read_string(jc.at("name"), name + ".name"), read_number(jc.at("bias"), name + ".bias"), {}});
    }
    const std::uint64_t C = classes.size();
    const std::array<ArrayEntry, 3> arrays = read_arrays(header.at("arrays"));

    // Sizes, in an order where each division or product below is known not to overflow: K and the
    // cell count are ints (so K x cells < 2^62), V, S >= 1, and every byte count is compared with
    // the data section (smaller than the file) before it is formed.
    const std::uint64_t K = static_cast<std::uint64_t>(cl.options.kmeans.words);
    const std::uint64_t cells = static_cast<std::uint64_t>(cl.options.pooling.cells());
    const std::uint64_t cdim = bow::FeatureTrace::kDim;
    auto shape_text = [](std::uint64_t r, std::uint64_t c) { return "[" + std::to_string(r) + ", " + std::to_string(c) + "]"; };
    const ArrayEntry& ac = arrays[0];
    if (ac.rows != K || ac.cols != cdim)
      throw HeaderError("the array 'codebook_centres' of shape " + shape_text(ac.rows, ac.cols) + ": expected " +
                        shape_text(K, cdim) + " = [pipeline.kmeans.words, SIFT descriptor length]");
    if (V != K * cells)
      throw HeaderError("dim = " + std::to_string(V) + ": expected pipeline.kmeans.words x pyramid cells = " +
                        std::to_string(K) + " x " + std::to_string(cells) + " = " + std::to_string(K * cells));
    if (S == 0) throw HeaderError("support_size = 0: expected >= 1 (an SVM needs support vectors)");
    if (S > data_bytes / 8 / V)
      throw HeaderError("support_size = " + std::to_string(S) + ": " + std::to_string(S) + " x dim " + std::to_string(V) +
                        " doubles cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
    if (C > data_bytes / 8 / S)
      throw HeaderError(std::to_string(C) + " classes: " + std::to_string(C) + " x support_size " + std::to_string(S) +
                        " coefficients cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
    if (K > data_bytes / 4 / cdim)
      throw HeaderError("pipeline.kmeans.words = " + std::to_string(K) + ": the codebook of " + std::to_string(K) +
                        " x " + std::to_string(cdim) + " floats cannot fit in the data section of " +
                        std::to_string(data_bytes) + " bytes");
    const std::array<std::uint64_t, 3> rows = {K, S, C}, cols = {cdim, V, S}, item = {4, 8, 8};
    const std::array<const char*, 3> dtypes = {"<f4", "<f8", "<f8"};
    const std::array<const char*, 3> shape_names = {"[pipeline.kmeans.words, 128]", "[support_size, dim]",
                                                    "[number of classes, support_size]"};
    for (std::size_t k = 0; k < 3; ++k) {
      const ArrayEntry& a = arrays[k];
      const std::string what = "the array '" + std::string(kArrayNames[k]) + "'";
      if (a.dtype != dtypes[k]) throw HeaderError(what + " of dtype " + escaped(a.dtype) + ": expected \"" + dtypes[k] + "\"");
      if (a.rows != rows[k] || a.cols != cols[k])
        throw HeaderError(what + " of shape " + shape_text(a.rows, a.cols) + ": expected " + shape_text(rows[k], cols[k]) +
                          " = " + shape_names[k]);
      if (a.nbytes != rows[k] * cols[k] * item[k])
        throw HeaderError(what + " of " + std::to_string(a.nbytes) + " bytes (nbytes): expected " +
                          std::to_string(rows[k] * cols[k] * item[k]) + " = shape x " + std::to_string(item[k]));
    }
    // The arrays tile the data section: in offset order, the first at 0 and each next where the
    // previous ends (rounded up to a multiple of 8, padded with zeros), the last ending the section.
    // So no bytes overlap, repeat or hide in a gap.
    std::array<std::size_t, 3> order = {0, 1, 2};
    std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return arrays[x].offset < arrays[y].offset; });
    std::uint64_t expected = 0;
    const char* data = buf.data() + D;
    for (std::size_t k : order) {
      const ArrayEntry& a = arrays[k];
      const std::string what = "the array '" + std::string(kArrayNames[k]) + "'";
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

    std::vector<float> centres(K * cdim);
    std::memcpy(centres.data(), data + arrays[0].offset, arrays[0].nbytes);
    std::vector<double> support(S * V);
    std::memcpy(support.data(), data + arrays[1].offset, arrays[1].nbytes);
    for (std::size_t c = 0; c < C; ++c) {
      classes[c].coef.resize(S);
      std::memcpy(classes[c].coef.data(), data + arrays[2].offset + c * S * sizeof(double), S * sizeof(double));
    }
    check_values(kernel, V, centres, support, classes);
    cl.codebook = bow::Codebook(static_cast<int>(cdim), std::move(centres));
    cl.svm = KernelSvm(std::move(kernel), V, std::move(support), std::move(classes));
    check_structure(cl);
    return Model(bow::Pipeline(std::move(cl.options), std::move(cl.codebook)), std::move(cl.svm));
  } catch (const HeaderError& e) {
    fail(path, "has " + std::string(e.what()));
  } catch (const json::exception& e) {
    fail(path, "has a bad header: " + std::string(e.what()));
  } catch (const std::invalid_argument& e) {
    fail(path, "holds an invalid model: " + std::string(e.what()));
  }
}

}  // namespace bowlrp::model
