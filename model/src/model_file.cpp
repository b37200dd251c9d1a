#include <bowlrp/model/model_file.h>

#include <bowlrp/core/io.h>
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
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the model file stores little-endian arrays as raw bytes");

namespace bowlrp::model {

namespace {

using nlohmann::json;
using namespace bowlrp::svm;

constexpr std::size_t kMagicSize = sizeof(kModelMagic) - 1;  // 13
constexpr std::size_t kPrefix = kMagicSize + 8;                   // magic + JSON length
constexpr std::size_t kTrailer = 8;                               // checksum
constexpr std::size_t kSift = bow::FeatureTrace::kDim;            // 128

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
// The kinds by their names (model/kinds.h). This codec still holds every kind's fields; cutting it
// into one codec per kind, in the kind's own files, is what remains of issue 22 here.
namespace EncodingKind {
constexpr const char* bag_of_words = EncodingTraits<bow::Pipeline>::name;
constexpr const char* fisher_vector = EncodingTraits<bow::FisherPipeline>::name;
}  // namespace EncodingKind
namespace HeadKind {
constexpr const char* kernel_svm = HeadTraits<svm::KernelSvm>::name;
constexpr const char* linear_svm = HeadTraits<svm::LinearSvm>::name;
constexpr const char* network = HeadTraits<nn::Network>::name;
}  // namespace HeadKind
const std::string& file_name(const std::string& kind) { return kind; }

// Where a model's fields sit in its file: format_version 1 (Bag-of-Words + kernel SVM only) keeps
// "pipeline", "kernel" and "support_size" at the top; format_version 2 nests them under "encoding"
// and "head". Every message names the field as the file spells it.
struct Fields {
  std::uint64_t version = 1;
  std::string pipeline = "pipeline";          // the encoding's options
  std::string kernel = "kernel";              // the kernel of a kernel-SVM head
  std::string support_size = "support_size";  // S of a kernel-SVM head
  static Fields of(std::uint64_t version) {
    if (version == 1) return {};
    return {version, "encoding.pipeline", "head.kernel", "head.support_size"};
  }
};

// ---- writing the header ----

json pyramid_to_json(const std::vector<core::PyramidLevel>& levels) {
  json pyramid = json::array();
  for (const core::PyramidLevel& l : levels) pyramid.push_back({{"cols", l.cols}, {"rows", l.rows}});
  return pyramid;
}

json image_to_json(const bow::ImageOptions& o) { return {{"max_side", o.max_side}}; }

json dsift_to_json(const bow::DsiftOptions& o) {
  return {{"bin_sizes", o.bin_sizes},
          {"step", o.step},
          {"magnif", o.magnif},
          {"contrast_threshold", o.contrast_threshold},
          {"window_size", o.window_size},
          {"fast", o.fast}};
}

json pipeline_to_json(const bow::PipelineOptions& o) {
  return {
      {"image", image_to_json(o.image)},
      {"dsift", dsift_to_json(o.dsift)},
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
        {"pyramid", pyramid_to_json(o.pooling.pyramid)},
        {"normalisation", bow::to_string(o.pooling.normalisation)},
        {"hellinger", o.pooling.hellinger}}},
  };
}

json fisher_pipeline_to_json(const bow::FisherPipelineOptions& o) {
  const bow::FisherOptions& f = o.fisher;
  json j = {
      {"image", image_to_json(o.image)},
      {"dsift", dsift_to_json(o.dsift)},
      {"fisher",
       {{"pca_dimension", f.pca_dimension},
        {"root_sift", f.root_sift},
        {"append_xy", f.append_xy},
        {"components", f.components},
        {"samples", f.samples},
        {"max_iterations", f.max_iterations},
        {"seed", f.seed},
        {"posterior_threshold", f.posterior_threshold},
        {"pyramid", pyramid_to_json(f.pyramid)}}},
  };
  // Written only when on: files of the earlier behaviour keep their bytes, and a file without the
  // field reads as off.
  if (f.skip_zeroed) j["fisher"]["skip_zeroed"] = true;
  return j;
}

json kernel_to_json(const Kernel& k) {
  json blocks = json::array();
  for (const KernelBlock& b : k.blocks) blocks.push_back({{"begin", b.begin}, {"end", b.end}, {"weight", b.weight}});
  return {{"type", to_string(k.type)}, {"gamma", k.gamma}, {"blocks", blocks}};
}

// An array as the writer lays it out: its table entry and its bytes, as contiguous pieces in order.
struct OutArray {
  std::string name, dtype;
  std::vector<std::size_t> shape;
  std::vector<std::pair<const void*, std::size_t>> pieces;
  std::size_t nbytes() const {
    std::size_t n = 0;
    for (const auto& p : pieces) n += p.second;
    return n;
  }
};

template <class T>
OutArray out_array(std::string name, std::vector<std::size_t> shape, const std::vector<T>& values) {
  return {std::move(name), sizeof(T) == 4 ? "<f4" : "<f8", std::move(shape), {{values.data(), values.size() * sizeof(T)}}};
}

// The rows of one value per class (coefficients, weights) as one C x n array.
template <class Class, class Member>
OutArray class_rows(std::string name, std::size_t n, const std::vector<Class>& classes, Member member) {
  OutArray a{std::move(name), "<f8", {classes.size(), n}, {}};
  for (const Class& c : classes) a.pieces.emplace_back((c.*member).data(), n * sizeof(double));
  return a;
}

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

// ---- bounds on the stored values ----
// Inputs of the heads are the encodings' vectors. A Bag-of-Words histogram entry is a mean of
// mapping weights in [0, 1], then optionally square-rooted and L1/L2-normalised, so x lies in
// [0, 1]^V (up to a few roundings). A Fisher vector has unit L2 norm (or is 0), so x lies in
// [-1, 1]^V. Support vectors are such vectors too. For x, s in [0, 1]^V (or, for the kernels allowed
// over Fisher vectors, linear, hik and rbf, in [-1, 1]^V) a kernel is at most
//   k_max = sum_u w_u |u|   (linear, hik, chi2 as 2ab/(a+b) <= sqrt(ab), hellinger; |u| = block length)
//   k_max = sum_u w_u       (rbf, expchi2),
// so |f_c(x)| <= |b_c| + k_max sum_i |coef_ci| for a kernel head and |f_c(x)| <= |b_c| + sum_d |w_cd|
// for a linear one. A model is refused unless this bound is at most kMaxDecision = 1e150 for every
// class: then f_c, f_c^2 and sums of them over any number of images and classes stay far below
// DBL_MAX (~1.8e308) whatever the rounding. Every stored value is first capped at kMaxValue = 1e100,
// so that the product of any two is finite as well.
constexpr double kMaxValue = 1e100;
constexpr double kMaxDecision = 1e150;
// A histogram or Fisher-vector entry may exceed 1 in magnitude by a few roundings.
constexpr double kMaxHistogram = 1 + 1e-6;
// SIFT descriptors are non-negative with unit L2 norm (RootSIFT ones too), so a visual word or the
// PCA mean, their mean, lies in [0, 1], and so does every entry of a unit principal axis in magnitude.
constexpr double kMaxCentre = 1 + 1e-6;
// A local Fisher descriptor x_l = [P (s - m); xy] has |x_lj| <= |s - m| <= 2, so the trained
// mixture's means (convex combinations of them) do too; kMaxGmmMean leaves room for any rounding.
// Variances are floored at kMinVariance by training; with both bounds the float log-likelihood
// weights -1/(2 sigma^2), mu/sigma^2 and the Fisher sums of any image stay finite.
constexpr double kMaxGmmMean = 1e3;
constexpr double kMinVariance = 1e-12;
// A network head has 1 .. kMaxLayers dense layers of 1 .. kMaxWidth neurons each (n_1 .. n_L; n_0 is
// dim), far beyond any trained one: with them every layer's weight count n_l n_{l-1} fits 64 bits.
constexpr std::uint64_t kMaxLayers = nn::kMaxLayers;
constexpr std::uint64_t kMaxWidth = nn::kMaxWidth;

// The vectors a head reads, by encoding.
struct InputDomain {
  double lo, hi;
  const char* vectors;  // for messages: the vectors, then the box they lie in
  const char* value;    // what a support value is expected to be
};
constexpr InputDomain kHistograms{0, kMaxHistogram, "histograms in [0, 1]^dim", "a histogram value in [0, 1]"};
constexpr InputDomain kFisherVectors{-kMaxHistogram, kMaxHistogram, "Fisher vectors in [-1, 1]^dim",
                                     "a Fisher-vector value in [-1, 1]"};
const InputDomain& domain_of(const std::string& kind) { return kind == EncodingKind::bag_of_words ? kHistograms : kFisherVectors; }

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return json(v).dump();  // shortest round-trip form
}

// A string as JSON text, with control and non-ASCII characters escaped: safe in any message.
std::string escaped(const std::string& s) { return json(s).dump(-1, ' ', true, json::error_handler_t::replace); }

[[noreturn]] void out_of(const std::string& field, double v, const std::string& expected) {
  throw std::invalid_argument(field + " = " + number_text(v) + ": expected " + expected);
}

// Entry i of an array of rows of `cols` values (cols 0: a vector), as the file names it.
std::string entry(const std::string& array, std::size_t i, std::size_t cols) {
  if (cols == 0) return array + "[" + std::to_string(i) + "]";
  return array + "[" + std::to_string(i / cols) + "][" + std::to_string(i % cols) + "]";
}

// Every value of an array in [lo, hi] (false for NaN).
template <class T>
void check_range(const std::vector<T>& values, const std::string& array, std::size_t cols, double lo, double hi,
                 const std::string& expected) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!(values[i] >= lo && values[i] <= hi)) out_of(entry(array, i, cols), values[i], expected);
}

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

// Printable, unique names, one per class.
void check_class_names(const std::vector<std::string>& names) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t c = 0; c < names.size(); ++c) {
    check_class_name(names[c], c);
    if (const auto [it, fresh] = seen.emplace(names[c], c); !fresh)
      throw std::invalid_argument("classes[" + std::to_string(c) + "].name " + escaped(names[c]) + " repeats classes[" +
                                  std::to_string(it->second) + "].name: expected unique names");
  }
}

template <class Class>
std::vector<std::string> names_of(const std::vector<Class>& classes) {
  std::vector<std::string> names;
  for (const Class& c : classes) names.push_back(c.name);
  return names;
}

void check_bias(double bias, std::size_t c) {
  if (!(std::abs(bias) <= kMaxValue))
    out_of("classes[" + std::to_string(c) + "].bias", bias, "a value in [-1e+100, 1e+100]");
}

[[noreturn]] void decision_too_large(std::size_t c, const std::string& name, double bound, const InputDomain& domain,
                                     const std::string& how) {
  throw std::invalid_argument("classes[" + std::to_string(c) + "] (" + escaped(name) + ") can reach a decision of magnitude " +
                              number_text(bound) + " on " + domain.vectors + " (" + how + "): expected at most 1e+150");
}

// The values of a kernel head (support vectors, coefficients, biases, kernel parameters) against
// the bounds above, over the inputs of its encoding. Fields are named as the file spells them.
void check_kernel_head(const Kernel& kernel, std::size_t V, const std::vector<double>& support,
                       const std::vector<BinarySvm>& classes, const std::string& encoding, const Fields& fields) {
  const std::string& kf = fields.kernel;
  if (!(kernel.gamma >= 0 && kernel.gamma <= kMaxValue)) out_of(kf + ".gamma", kernel.gamma, "a value in [0, 1e+100]");
  for (std::size_t u = 0; u < kernel.blocks.size(); ++u)
    if (!(kernel.blocks[u].weight >= 0 && kernel.blocks[u].weight <= kMaxValue))
      out_of(kf + ".blocks[" + std::to_string(u) + "].weight", kernel.blocks[u].weight, "a value in [0, 1e+100]");
  // chi2, hellinger and expchi2 take square roots of, or divide by, sums of inputs, which Fisher
  // vectors (signed) can make negative or zero: no bound holds, a decision may be NaN.
  if (encoding == EncodingKind::fisher_vector && kernel.type != KernelType::linear &&
      kernel.type != KernelType::intersection && kernel.type != KernelType::rbf)
    throw std::invalid_argument(kf + ".type = \"" + to_string(kernel.type) +
                                "\": expected linear, hik or rbf over a fisher-vector encoding (chi2, hellinger and "
                                "expchi2 assume non-negative inputs; Fisher vectors are signed)");
  kernel.validate(V);
  const InputDomain& domain = domain_of(encoding);
  check_range(support, "support_vectors", V, domain.lo, domain.hi, domain.value);
  const std::size_t S = support.size() / V;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (classes[c].coef.size() != S)
      throw std::invalid_argument("classes[" + std::to_string(c) + "] has " + std::to_string(classes[c].coef.size()) +
                                  " coefficients: expected one per support vector (" + std::to_string(S) + ")");
    check_bias(classes[c].bias, c);
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
      decision_too_large(c, classes[c].name, bound, domain,
                         "|bias| + sum |coefficients| x max kernel value " + number_text(k_max));
  }
}

// The same for a linear head: weights and biases, and |b_c| + sum_d |w_cd| max |x_d|.
void check_linear_head(std::size_t V, const std::vector<LinearClass>& classes, const std::string& encoding) {
  const InputDomain& domain = domain_of(encoding);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (classes[c].weights.size() != V)
      throw std::invalid_argument("classes[" + std::to_string(c) + "] has " + std::to_string(classes[c].weights.size()) +
                                  " weights: expected one per dimension (dim " + std::to_string(V) + ")");
    check_bias(classes[c].bias, c);
    double sum = 0;
    for (std::size_t d = 0; d < V; ++d) {
      const double w = classes[c].weights[d];
      if (!(std::abs(w) <= kMaxValue))
        out_of("weights[" + std::to_string(c) + "][" + std::to_string(d) + "]", w, "a value in [-1e+100, 1e+100]");
      sum += std::abs(w);
    }
    const double bound = std::abs(classes[c].bias) + sum * kMaxHistogram;
    if (!(bound <= kMaxDecision)) decision_too_large(c, classes[c].name, bound, domain, "|bias| + sum |weights|");
  }
}

// The same for a network head: its sizes (1 .. 64 layers, n_0 = dim, n_1 .. n_L in [1, 2^20], n_L =
// one output per class), every weight and bias within 1e100, and for every neuron j of every layer l
//   m_lj = |b_lj| + sum_i |w_lji| max |a_{l-1,i}|  <=  1e150,
// where a_0 = x ranges over the encoding's box ([0, 1]^dim or [-1, 1]^dim) and the ranges of the
// hidden activations follow by interval arithmetic: z_lj lies in [b_lj + sum_i min(w_lji lo_i, w_lji hi_i),
// b_lj + sum_i max(w_lji lo_i, w_lji hi_i)] for a_{l-1,i} in [lo_i, hi_i], and a_lj = max(0, z_lj) in
// [max(0, lo), max(0, hi)]. m_lj bounds |z_lj|, every partial sum of it and the sums of its positive
// and of its negative terms apart (as the alpha-beta rule forms them), so the forward pass and the
// relevance of every layer stay finite; for L = 1 it is the linear head's bound.
void check_network_head(const std::vector<nn::DenseLayer>& layers, std::size_t V, const std::vector<std::string>& names,
                        const std::string& encoding) {
  const std::size_t L = layers.size();
  if (L == 0 || L > kMaxLayers)
    throw std::invalid_argument("head.layers = " + std::to_string(L) + ": expected 1 .. " + std::to_string(kMaxLayers) +
                                " dense layers");
  if (layers.front().inputs != V)
    throw std::invalid_argument("head.sizes[0] = " + std::to_string(layers.front().inputs) + ": expected dim = " +
                                std::to_string(V));
  if (layers.back().outputs != names.size())
    throw std::invalid_argument("head.sizes[" + std::to_string(L) + "] = " + std::to_string(layers.back().outputs) +
                                ": expected the number of classes, " + std::to_string(names.size()));
  for (std::size_t l = 0; l < L; ++l) {
    const nn::DenseLayer& layer = layers[l];
    if (layer.outputs == 0 || layer.outputs > kMaxWidth)
      throw std::invalid_argument("head.sizes[" + std::to_string(l + 1) + "] = " + std::to_string(layer.outputs) +
                                  ": expected an integer in [1, " + std::to_string(kMaxWidth) + "]");
    if ((l > 0 && layer.inputs != layers[l - 1].outputs) || layer.weights.size() != layer.outputs * layer.inputs ||
        layer.biases.size() != layer.outputs)
      throw std::invalid_argument("layer " + std::to_string(l + 1) + " of the network has " +
                                  std::to_string(layer.weights.size()) + " weights and " +
                                  std::to_string(layer.biases.size()) + " biases for " + std::to_string(layer.inputs) +
                                  " inputs and " + std::to_string(layer.outputs) + " outputs: expected head.sizes[" +
                                  std::to_string(l + 1) + "] x head.sizes[" + std::to_string(l) + "] and head.sizes[" +
                                  std::to_string(l + 1) + "]");
  }
  const InputDomain& domain = domain_of(encoding);
  std::vector<double> lo(V, domain.lo), hi(V, domain.hi);  // the range of each input of the layer
  for (std::size_t l = 0; l < L; ++l) {
    const nn::DenseLayer& layer = layers[l];
    const std::string wn = "weights_" + std::to_string(l + 1), bn = "biases_" + std::to_string(l + 1);
    check_range(layer.weights, wn, layer.inputs, -kMaxValue, kMaxValue, "a value in [-1e+100, 1e+100]");
    check_range(layer.biases, bn, 0, -kMaxValue, kMaxValue, "a value in [-1e+100, 1e+100]");
    const bool last = l + 1 == L;
    std::vector<double> reach(layer.inputs);  // max |a_{l-1,i}|
    for (std::size_t i = 0; i < layer.inputs; ++i) reach[i] = std::max(std::abs(lo[i]), std::abs(hi[i]));
    std::vector<double> next_lo(layer.outputs), next_hi(layer.outputs);
    for (std::size_t j = 0; j < layer.outputs; ++j) {
      const double b = layer.biases[j];
      const double* w = layer.weights.data() + j * layer.inputs;
      double z_lo = b, z_hi = b, m = std::abs(b);
      for (std::size_t i = 0; i < layer.inputs; ++i) {
        if (w[i] >= 0) {
          z_lo += w[i] * lo[i];
          z_hi += w[i] * hi[i];
        } else {
          z_lo += w[i] * hi[i];
          z_hi += w[i] * lo[i];
        }
        m += std::abs(w[i]) * reach[i];
      }
      if (!(m <= kMaxDecision)) {
        const std::string J = std::to_string(j);
        const std::string through = l == 1 ? "layer 1" : "layers 1 .. " + std::to_string(l);
        const std::string how = "|" + bn + "[" + J + "]| + sum_i |" + wn + "[" + J + "][i]| x max |input i|, " +
                                (l == 0 ? "over the encoding's range"
                                        : "the inputs' ranges by interval arithmetic through " + through);
        if (last) decision_too_large(j, names[j], m, domain, how);
        throw std::invalid_argument("neuron " + std::to_string(j) + " of layer " + std::to_string(l + 1) + " (" + wn +
                                    "[" + std::to_string(j) + "], " + bn + "[" + std::to_string(j) +
                                    "]) can reach a pre-activation of magnitude " + number_text(m) + " on " +
                                    domain.vectors + " (" + how + "): expected at most 1e+150");
      }
      next_lo[j] = std::max(0.0, z_lo);
      next_hi[j] = std::max(0.0, z_hi);
    }
    lo.swap(next_lo);
    hi.swap(next_hi);
  }
}

void check_codebook(const std::vector<float>& centres) {
  check_range(centres, "codebook_centres", kSift, 0, kMaxCentre,
              "a value in [0, 1] (visual words are means of non-negative unit-norm SIFT descriptors)");
}

// FisherParameters::validate (sizes, finite values, variances and priors > 0, priors summing to 1),
// then the bounds above.
void check_fisher(const bow::FisherOptions& options, const bow::FisherParameters& p) {
  try {
    p.validate(options);
  } catch (const std::invalid_argument& e) {
    // Its message names the FisherParameters field: say which array of the file holds it.
    const std::string what = e.what(), tag = "FisherParameters::";
    std::string field;
    if (const std::size_t at = what.find(tag); at != std::string::npos)
      for (std::size_t i = at + tag.size(); i < what.size() && std::islower(static_cast<unsigned char>(what[i])); ++i)
        field += what[i];
    const std::map<std::string, std::string> arrays = {{"mean", "pca_mean"},
                                                       {"projection", "pca_projection"},
                                                       {"means", "gmm_means"},
                                                       {"variances", "gmm_variances"},
                                                       {"priors", "gmm_priors"}};
    const auto it = arrays.find(field);
    throw std::invalid_argument(
        (it != arrays.end() ? "the array " + it->second + " holds"
                            : std::string("the arrays pca_mean, pca_projection, gmm_means, gmm_variances and gmm_priors hold")) +
        " invalid Fisher parameters: " + what);
  }
  const std::size_t G = static_cast<std::size_t>(options.descriptor_dimension());
  check_range(p.mean, "pca_mean", 0, 0, kMaxCentre,
              "a value in [0, 1] (the mean of non-negative unit-norm SIFT or RootSIFT descriptors)");
  check_range(p.projection, "pca_projection", kSift, -kMaxCentre, kMaxCentre,
              "a value in [-1, 1] (the rows are unit principal axes)");
  check_range(p.means, "gmm_means", G, -kMaxGmmMean, kMaxGmmMean,
              "a value in [-1000, 1000] (local descriptors lie within 2 of 0)");
  check_range(p.variances, "gmm_variances", G, kMinVariance, kMaxValue,
              "a value in [1e-12, 1e+100] (training floors variances at 1e-12)");
}

// The checks that do not read the arrays. Model's constructor checks the head's dimension against
// the encoding's; these name the file's fields.
void check_bag_of_words(const bow::PipelineOptions& options, const bow::Codebook& codebook, std::size_t V,
                        const Fields& fields) {
  options.validate();
  if (codebook.size() == 0) throw std::invalid_argument("Model: the codebook is empty");
  if (codebook.dim() != static_cast<int>(kSift))
    throw std::invalid_argument("Model: the codebook has " + std::to_string(codebook.dim()) + "-dimensional words, expected " +
                                std::to_string(kSift) + " (SIFT)");
  if (codebook.size() != options.kmeans.words)
    throw std::invalid_argument("Model: the codebook has " + std::to_string(codebook.size()) +
                                " words but " + fields.pipeline + ".kmeans.words = " + std::to_string(options.kmeans.words) +
                                ": expected equal");
  const std::size_t expected = static_cast<std::size_t>(codebook.size()) * options.pooling.cells();
  if (V != expected)
    throw std::invalid_argument("Model: SVM dimension " + std::to_string(V) + " != codebook size " +
                                std::to_string(codebook.size()) + " x pyramid cells " +
                                std::to_string(options.pooling.cells()) + " = " + std::to_string(expected));
}

void check_support_size(std::size_t S) {
  if (S == 0) throw std::invalid_argument("Model: the SVM has no support vectors (support_size 0): expected at least 1");
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

// Checks that j is an object with every required key and no key beyond the required and optional
// ones; `scope` says who defines the fields ("format_version 1", ...).
const json& object(const json& j, const std::string& name, const std::string& scope,
                   std::initializer_list<const char*> required, std::initializer_list<const char*> optional = {}) {
  const std::string prefix = name.empty() ? "" : name + ".";
  if (!j.is_object()) throw HeaderError((name.empty() ? "a header" : name) + " that is " + brief(j) + ": expected a JSON object");
  auto listed = [](std::initializer_list<const char*> keys, const std::string& k) {
    return std::any_of(keys.begin(), keys.end(), [&](const char* x) { return k == x; });
  };
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!listed(required, it.key()) && !listed(optional, it.key())) {
      const std::string key = escaped(it.key());
      throw HeaderError("an unknown field " + prefix + key.substr(1, key.size() - 2) + " (" + scope +
                        " defines no such field)");
    }
  for (const char* k : required)
    if (!j.contains(k)) throw HeaderError("the required field " + prefix + k + " missing");
  return j;
}

std::string scope_of(const Fields& f) { return "format_version " + std::to_string(f.version); }

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

// The "image" and "dsift" objects of a pipeline, shared by every encoding.
void read_image_dsift(const json& j, const std::string& name, const std::string& scope, bow::ImageOptions& image,
                      bow::DsiftOptions& dsift) {
  const json& im = object(j.at("image"), name + ".image", scope, {"max_side"});
  image.max_side = read_int(im.at("max_side"), name + ".image.max_side", 0);
  const std::string dn = name + ".dsift";
  const json& d = object(j.at("dsift"), dn, scope, {"bin_sizes", "step", "magnif", "contrast_threshold", "window_size", "fast"});
  const json& bins = read_array(d.at("bin_sizes"), dn + ".bin_sizes", 1);
  dsift.bin_sizes.clear();
  for (std::size_t i = 0; i < bins.size(); ++i) dsift.bin_sizes.push_back(read_int(bins[i], at(dn + ".bin_sizes", i), 1));
  dsift.step = read_int(d.at("step"), dn + ".step", 1);
  // The smoothing of dense SIFT has sigma = bin size / magnif <= 256 / magnif pixels and 2 ceil(3 sigma) + 1
  // taps: magnif >= 0.01 keeps it below 160k taps (and ceil(3 sigma) far inside an int).
  dsift.magnif = read_number(d.at("magnif"), dn + ".magnif", 0.01);
  // Dense SIFT converts these two to float: beyond FLT_MAX the conversion overflows, and a window below
  // the smallest normal float becomes a zero width, which makes descriptors NaN.
  constexpr double kFloatMax = std::numeric_limits<float>::max(), kFloatMin = std::numeric_limits<float>::min();
  dsift.contrast_threshold = read_number(d.at("contrast_threshold"), dn + ".contrast_threshold", 0, kFloatMax);
  dsift.window_size = read_number(d.at("window_size"), dn + ".window_size", kFloatMin, kFloatMax);
  dsift.fast = read_bool(d.at("fast"), dn + ".fast");
}

// A spatial pyramid, [{"cols", "rows"}], with its total cell count checked to fit an int (the
// options' cells() are ints; each level has at most 64 x 64 cells once validated, but not yet).
std::vector<core::PyramidLevel> read_pyramid(const json& j, const std::string& name, const std::string& scope) {
  const json& pyramid = read_array(j, name, 1);
  std::vector<core::PyramidLevel> levels;
  for (std::size_t i = 0; i < pyramid.size(); ++i) {
    const std::string level = at(name, i);
    const json& l = object(pyramid[i], level, scope, {"cols", "rows"});
    levels.push_back({read_int(l.at("cols"), level + ".cols", 1), read_int(l.at("rows"), level + ".rows", 1)});
  }
  return levels;
}

void check_cells(const std::vector<core::PyramidLevel>& levels, const std::string& name) {
  // Count in 64 bits (each level is validated to at most 64 x 64 cells before this runs).
  std::uint64_t cells = 0;
  for (const core::PyramidLevel& l : levels) cells += static_cast<std::uint64_t>(l.cols) * l.rows;
  if (cells > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
    throw HeaderError(name + " of " + std::to_string(cells) + " cells: expected at most " +
                      std::to_string(std::numeric_limits<int>::max()));
}

bow::PipelineOptions read_pipeline(const json& j, const Fields& f) {
  const std::string& pn = f.pipeline;
  const std::string scope = scope_of(f);
  object(j, pn, scope, {"image", "dsift", "kmeans", "mapping", "pooling"});
  bow::PipelineOptions o;
  read_image_dsift(j, pn, scope, o.image, o.dsift);
  // How the codebook was trained is a record, not needed to use it: files written before
  // algorithm and tolerance existed read as the defaults.
  const json& k = object(j.at("kmeans"), pn + ".kmeans", scope, {"words", "samples", "max_iterations", "seed"},
                         {"algorithm", "tolerance"});
  o.kmeans.words = read_int(k.at("words"), pn + ".kmeans.words", 1);
  o.kmeans.samples = read_uint(k.at("samples"), pn + ".kmeans.samples", 0, std::numeric_limits<std::size_t>::max());
  o.kmeans.max_iterations = read_int(k.at("max_iterations"), pn + ".kmeans.max_iterations", 1);
  o.kmeans.seed = read_uint(k.at("seed"), pn + ".kmeans.seed", 0, std::numeric_limits<std::uint64_t>::max());
  if (k.contains("algorithm"))
    o.kmeans.algorithm = read_enum(k.at("algorithm"), pn + ".kmeans.algorithm", bow::kmeans_algorithm_from_string);
  if (k.contains("tolerance")) o.kmeans.tolerance = read_number(k.at("tolerance"), pn + ".kmeans.tolerance", 0);
  const json& m = object(j.at("mapping"), pn + ".mapping", scope, {"kind", "neighbours", "beta", "rank_decay"});
  o.mapping.kind = read_enum(m.at("kind"), pn + ".mapping.kind", bow::mapping_kind_from_string);
  o.mapping.neighbours = read_int(m.at("neighbours"), pn + ".mapping.neighbours", 1);
  o.mapping.beta = read_number(m.at("beta"), pn + ".mapping.beta", 0);
  o.mapping.rank_decay = read_number(m.at("rank_decay"), pn + ".mapping.rank_decay", 0, 1);
  const json& p = object(j.at("pooling"), pn + ".pooling", scope, {"p", "pyramid", "normalisation", "hellinger"});
  const json& pj = p.at("p");
  if (pj.is_string()) {
    if (pj.get<std::string>() != "inf")
      throw HeaderError(pn + ".pooling.p = " + brief(pj) + ": expected a number or \"inf\"");
    o.pooling.p = std::numeric_limits<double>::infinity();
  } else {
    o.pooling.p = read_number(pj, pn + ".pooling.p", 0);
  }
  o.pooling.pyramid = read_pyramid(p.at("pyramid"), pn + ".pooling.pyramid", scope);
  o.pooling.normalisation = read_enum(p.at("normalisation"), pn + ".pooling.normalisation", bow::normalisation_from_string);
  o.pooling.hellinger = read_bool(p.at("hellinger"), pn + ".pooling.hellinger");
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    throw HeaderError(pn + " options that are invalid: " + std::string(e.what()));
  }
  check_cells(o.pooling.pyramid, pn + ".pooling.pyramid");
  return o;
}

bow::FisherPipelineOptions read_fisher_pipeline(const json& j, const Fields& f) {
  const std::string& pn = f.pipeline;
  const std::string scope = scope_of(f);
  object(j, pn, scope, {"image", "dsift", "fisher"});
  bow::FisherPipelineOptions o;
  read_image_dsift(j, pn, scope, o.image, o.dsift);
  const std::string fn = pn + ".fisher";
  const json& fj = object(j.at("fisher"), fn, scope,
                          {"pca_dimension", "root_sift", "append_xy", "components", "samples", "max_iterations", "seed",
                           "posterior_threshold", "pyramid"},
                          {"skip_zeroed"});
  bow::FisherOptions& fo = o.fisher;
  fo.pca_dimension = read_int(fj.at("pca_dimension"), fn + ".pca_dimension", 1);
  fo.root_sift = read_bool(fj.at("root_sift"), fn + ".root_sift");
  fo.append_xy = read_bool(fj.at("append_xy"), fn + ".append_xy");
  fo.components = read_int(fj.at("components"), fn + ".components", 1);
  fo.samples = read_uint(fj.at("samples"), fn + ".samples", 1, std::numeric_limits<std::size_t>::max());
  fo.max_iterations = read_int(fj.at("max_iterations"), fn + ".max_iterations", 1);
  fo.seed = read_uint(fj.at("seed"), fn + ".seed", 0, std::numeric_limits<std::uint64_t>::max());
  fo.posterior_threshold = read_number(fj.at("posterior_threshold"), fn + ".posterior_threshold", 0, 1);
  fo.pyramid = read_pyramid(fj.at("pyramid"), fn + ".pyramid", scope);
  fo.skip_zeroed = fj.contains("skip_zeroed") && read_bool(fj.at("skip_zeroed"), fn + ".skip_zeroed");
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    throw HeaderError(pn + " options that are invalid: " + std::string(e.what()));
  }
  check_cells(fo.pyramid, fn + ".pyramid");
  return o;
}

Kernel read_kernel(const json& j, const Fields& f) {
  const std::string& kn = f.kernel;
  object(j, kn, scope_of(f), {"type", "gamma", "blocks"});
  Kernel kernel;
  kernel.type = read_enum(j.at("type"), kn + ".type", kernel_type_from_string);
  kernel.gamma = read_number(j.at("gamma"), kn + ".gamma", 0);
  const json& blocks = read_array(j.at("blocks"), kn + ".blocks", 0);
  for (std::size_t u = 0; u < blocks.size(); ++u) {
    const std::string name = at(kn + ".blocks", u);
    const json& b = object(blocks[u], name, scope_of(f), {"begin", "end", "weight"});
    constexpr std::uint64_t kAny = std::numeric_limits<std::size_t>::max();
    kernel.blocks.push_back({read_uint(b.at("begin"), name + ".begin", 0, kAny), read_uint(b.at("end"), name + ".end", 0, kAny),
                             read_number(b.at("weight"), name + ".weight", 0)});
  }
  return kernel;
}

// What a header describes, before any array is read.
struct Layout {
  Fields fields;
  std::string encoding = EncodingKind::bag_of_words;
  bow::PipelineOptions bow;             // bag-of-words
  bow::FisherPipelineOptions fisher;    // fisher-vector
  std::string head = HeadKind::kernel_svm;
  Kernel kernel;                        // kernel-svm
  std::uint64_t V = 0, S = 0;           // dim; support_size (kernel-svm)
  std::vector<std::uint64_t> sizes;     // n_0 = dim, n_1, ..., n_L = classes (mlp)
  std::vector<std::string> names;       // classes, in row order
  std::vector<double> biases;           // kernel-svm and linear-svm (an mlp's are its biases_L)
};

constexpr std::uint64_t kAnySize = std::numeric_limits<std::uint64_t>::max();

void read_common(const json& h, Layout& l) {
  l.V = read_uint(h.at("dim"), "dim", 1, kAnySize);
  const json& jclasses = read_array(h.at("classes"), "classes", 1);
  // An mlp head's output biases are its array biases_L: its classes carry only their names.
  const bool network = l.head == HeadKind::network;
  for (std::size_t c = 0; c < jclasses.size(); ++c) {
    const std::string name = at("classes", c);
    const json& jc = network ? object(jclasses[c], name, scope_of(l.fields) + " with an mlp head", {"name"})
                             : object(jclasses[c], name, scope_of(l.fields), {"name", "bias"});
    l.names.push_back(read_string(jc.at("name"), name + ".name"));
    if (!network) l.biases.push_back(read_number(jc.at("bias"), name + ".bias"));
  }
}

Layout read_header_v1(const json& h) {
  Layout l;
  object(h, "", scope_of(l.fields), {"format_version", "pipeline", "kernel", "dim", "support_size", "classes", "data_bytes", "arrays"});
  l.bow = read_pipeline(h.at("pipeline"), l.fields);
  l.kernel = read_kernel(h.at("kernel"), l.fields);
  l.S = read_uint(h.at("support_size"), "support_size", 0, kAnySize);
  read_common(h, l);
  return l;
}

Layout read_header_v2(const json& h) {
  Layout l;
  l.fields = Fields::of(2);
  const std::string scope = scope_of(l.fields);
  object(h, "", scope, {"format_version", "encoding", "head", "dim", "classes", "data_bytes", "arrays"});
  const json& e = object(h.at("encoding"), "encoding", scope, {"kind", "pipeline"});
  const std::string encoding = read_string(e.at("kind"), "encoding.kind");
  if (encoding == file_name(EncodingKind::bag_of_words)) {
    l.encoding = EncodingKind::bag_of_words;
    l.bow = read_pipeline(e.at("pipeline"), l.fields);
  } else if (encoding == file_name(EncodingKind::fisher_vector)) {
    l.encoding = EncodingKind::fisher_vector;
    l.fisher = read_fisher_pipeline(e.at("pipeline"), l.fields);
  } else {
    throw HeaderError("encoding.kind = " + brief(e.at("kind")) + ": expected \"bag-of-words\" or \"fisher-vector\"");
  }
  const json& hd = h.at("head");
  if (!hd.is_object()) object(hd, "head", scope, {"kind"});  // refuses it, naming what it is
  if (!hd.contains("kind")) throw HeaderError("the required field head.kind missing");
  const std::string head = read_string(hd.at("kind"), "head.kind");
  if (head == file_name(HeadKind::kernel_svm)) {
    l.head = HeadKind::kernel_svm;
    object(hd, "head", scope + " with a kernel-svm head", {"kind", "kernel", "support_size"});
    l.kernel = read_kernel(hd.at("kernel"), l.fields);
    l.S = read_uint(hd.at("support_size"), "head.support_size", 0, kAnySize);
  } else if (head == file_name(HeadKind::linear_svm)) {
    l.head = HeadKind::linear_svm;
    object(hd, "head", scope + " with a linear-svm head", {"kind"});
  } else if (head == file_name(HeadKind::network)) {
    l.head = HeadKind::network;
    object(hd, "head", scope + " with an mlp head", {"kind", "layers", "sizes"});
    const std::uint64_t L = read_uint(hd.at("layers"), "head.layers", 1, kMaxLayers);
    const json& sizes = hd.at("sizes");
    if (!sizes.is_array() || sizes.size() != L + 1)
      throw HeaderError("head.sizes = " + brief(sizes) + ": expected an array of head.layers + 1 = " +
                        std::to_string(L + 1) + " integers [dim, n_1, ..., n_L = number of classes]");
    l.sizes.push_back(read_uint(sizes[0], "head.sizes[0]", 1, kAnySize));
    for (std::size_t k = 1; k <= L; ++k) l.sizes.push_back(read_uint(sizes[k], at("head.sizes", k), 1, kMaxWidth));
  } else {
    throw HeaderError("head.kind = " + brief(hd.at("kind")) + ": expected \"kernel-svm\", \"linear-svm\" or \"mlp\"");
  }
  read_common(h, l);
  if (l.head == HeadKind::network) {
    if (l.sizes.front() != l.V)
      throw HeaderError("head.sizes[0] = " + std::to_string(l.sizes.front()) + ": expected dim = " + std::to_string(l.V));
    if (l.sizes.back() != l.names.size())
      throw HeaderError(at("head.sizes", l.sizes.size() - 1) + " = " + std::to_string(l.sizes.back()) +
                        ": expected the number of classes, " + std::to_string(l.names.size()));
  }
  return l;
}

// One array a layout holds: the table entry it must have.
struct ArraySpec {
  std::string name;
  const char* dtype;
  std::vector<std::uint64_t> shape;
  std::string meaning;  // the shape in the header's terms
  std::uint64_t item() const { return dtype[2] == '4' ? 4 : 8; }
};

std::vector<ArraySpec> array_specs(const Layout& l) {
  const std::string& pn = l.fields.pipeline;
  const std::uint64_t C = l.names.size();
  std::vector<ArraySpec> s;
  if (l.encoding == EncodingKind::bag_of_words) {
    s.push_back({"codebook_centres", "<f4", {static_cast<std::uint64_t>(l.bow.kmeans.words), kSift},
                 "[" + pn + ".kmeans.words, 128]"});
  } else {
    const bow::FisherOptions& f = l.fisher.fisher;
    const auto K = static_cast<std::uint64_t>(f.components), D = static_cast<std::uint64_t>(f.pca_dimension),
               G = static_cast<std::uint64_t>(f.descriptor_dimension());
    const std::string fn = pn + ".fisher";
    const std::string g = "descriptor dimension = " + fn + ".pca_dimension" + (f.append_xy ? " + 2" : "");
    s.push_back({"pca_mean", "<f8", {kSift}, "[128]"});
    s.push_back({"pca_projection", "<f8", {D, kSift}, "[" + fn + ".pca_dimension, 128]"});
    s.push_back({"gmm_means", "<f8", {K, G}, "[" + fn + ".components, " + g + "]"});
    s.push_back({"gmm_variances", "<f8", {K, G}, "[" + fn + ".components, " + g + "]"});
    s.push_back({"gmm_priors", "<f8", {K}, "[" + fn + ".components]"});
  }
  const std::string& sn = l.fields.support_size;
  if (l.head == HeadKind::kernel_svm) {
    s.push_back({"support_vectors", "<f8", {l.S, l.V}, "[" + sn + ", dim]"});
    s.push_back({"coefficients", "<f8", {C, l.S}, "[number of classes, " + sn + "]"});
  } else if (l.head == HeadKind::linear_svm) {
    s.push_back({"weights", "<f8", {C, l.V}, "[number of classes, dim]"});
  } else {
    for (std::size_t k = 1; k < l.sizes.size(); ++k) {
      const std::string n = std::to_string(k), prev = std::to_string(k - 1);
      s.push_back({"weights_" + n, "<f8", {l.sizes[k], l.sizes[k - 1]}, "[head.sizes[" + n + "], head.sizes[" + prev + "]]"});
      s.push_back({"biases_" + n, "<f8", {l.sizes[k]}, "[head.sizes[" + n + "]]"});
    }
  }
  return s;
}

// One entry of the header's "arrays" table.
struct ArrayEntry {
  std::size_t index = 0;  // position in the table
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t offset = 0, nbytes = 0;
};

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
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
  const std::string& pn = l.fields.pipeline;
  const std::uint64_t V = l.V, C = l.names.size();
  if (l.encoding == EncodingKind::bag_of_words) {
    const std::uint64_t K = static_cast<std::uint64_t>(l.bow.kmeans.words);
    const std::uint64_t cells = static_cast<std::uint64_t>(l.bow.pooling.cells());
    const ArrayEntry& ac = arrays[0];
    if (ac.shape != specs[0].shape)
      throw HeaderError("the array 'codebook_centres' of shape " + shape_text(ac.shape) + ": expected " +
                        shape_text(specs[0].shape) + " = [" + pn + ".kmeans.words, SIFT descriptor length]");
    if (V != K * cells)
      throw HeaderError("dim = " + std::to_string(V) + ": expected " + pn + ".kmeans.words x pyramid cells = " +
                        std::to_string(K) + " x " + std::to_string(cells) + " = " + std::to_string(K * cells));
  } else {
    const bow::FisherOptions& f = l.fisher.fisher;
    const auto K = static_cast<std::uint64_t>(f.components), G = static_cast<std::uint64_t>(f.descriptor_dimension());
    const auto cells = static_cast<std::uint64_t>(f.cells());
    if (V != 2 * K * G * cells)
      throw HeaderError("dim = " + std::to_string(V) + ": expected 2 x " + pn + ".fisher.components x descriptor dimension x " +
                        "pyramid cells = 2 x " + std::to_string(K) + " x " + std::to_string(G) + " x " +
                        std::to_string(cells) + " = " + std::to_string(2 * K * G * cells));
  }
  const std::string& sn = l.fields.support_size;
  if (l.head == HeadKind::kernel_svm) {
    const std::uint64_t S = l.S;
    if (S == 0) throw HeaderError(sn + " = 0: expected >= 1 (an SVM needs support vectors)");
    if (S > data_bytes / 8 / V)
      throw HeaderError(sn + " = " + std::to_string(S) + ": " + std::to_string(S) + " x dim " + std::to_string(V) +
                        " doubles cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
    if (C > data_bytes / 8 / S)
      throw HeaderError(std::to_string(C) + " classes: " + std::to_string(C) + " x " + sn + " " + std::to_string(S) +
                        " coefficients cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
  } else if (l.head == HeadKind::linear_svm) {
    if (C > data_bytes / 8 / V)
      throw HeaderError(std::to_string(C) + " classes: " + std::to_string(C) + " x dim " + std::to_string(V) +
                        " weights cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
  } else {
    // The layers' doubles, counted against what the data section holds: n_l <= 2^20 and each count
    // is compared before it is formed, so nothing overflows.
    std::uint64_t room = data_bytes / 8;
    for (std::size_t k = 1; k < l.sizes.size(); ++k) {
      const std::uint64_t rows = l.sizes[k], cols = l.sizes[k - 1];
      if (rows > room || cols > (room - rows) / rows)
        throw HeaderError(at("head.sizes", k) + " = " + std::to_string(rows) + ": layer " + std::to_string(k) + "'s " +
                          std::to_string(rows) + " x " + std::to_string(cols) + " weights and " + std::to_string(rows) +
                          " biases cannot fit in the data section of " + std::to_string(data_bytes) +
                          " bytes (with the layers before it)");
      room -= rows * cols + rows;
    }
  }
  if (l.encoding == EncodingKind::bag_of_words) {
    const std::uint64_t K = static_cast<std::uint64_t>(l.bow.kmeans.words);
    if (K > data_bytes / 4 / kSift)
      throw HeaderError(pn + ".kmeans.words = " + std::to_string(K) + ": the codebook of " + std::to_string(K) + " x " +
                        std::to_string(kSift) + " floats cannot fit in the data section of " + std::to_string(data_bytes) +
                        " bytes");
  }
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

// The arrays' bytes, by name, once their sizes and places are checked.
struct DataSection {
  const char* data;
  const std::vector<ArraySpec>& specs;
  const std::vector<ArrayEntry>& arrays;
  const ArrayEntry& find(const std::string& name) const {
    for (std::size_t k = 0; k < specs.size(); ++k)
      if (specs[k].name == name) return arrays[k];
    throw std::logic_error("model file: no array " + name + " in this layout");
  }
  template <class T>
  std::vector<T> take(const std::string& name) const {
    const ArrayEntry& a = find(name);
    std::vector<T> v(a.nbytes / sizeof(T));
    if (a.nbytes) std::memcpy(v.data(), data + a.offset, a.nbytes);
    return v;
  }
  // Row r of a C x n array of doubles.
  std::vector<double> row(const char* name, std::size_t r, std::size_t n) const {
    std::vector<double> v(n);
    if (n) std::memcpy(v.data(), data + find(name).offset + r * n * sizeof(double), n * sizeof(double));
    return v;
  }
};

// Builds the model a checked layout and data section describe, running the value checks first so
// that a refusal names the file's fields.
Model build_model(Layout& l, const DataSection& data) {
  const std::size_t V = l.V, C = l.names.size();
  Encoding encoding;
  if (l.encoding == EncodingKind::bag_of_words) {
    std::vector<float> centres = data.take<float>("codebook_centres");
    check_codebook(centres);
    bow::Codebook codebook(static_cast<int>(kSift), std::move(centres));
    check_bag_of_words(l.bow, codebook, V, l.fields);
    encoding = std::make_shared<const bow::Pipeline>(std::move(l.bow), std::move(codebook));
  } else {
    bow::FisherParameters p;
    p.mean = data.take<double>("pca_mean");
    p.projection = data.take<double>("pca_projection");
    p.means = data.take<double>("gmm_means");
    p.variances = data.take<double>("gmm_variances");
    p.priors = data.take<double>("gmm_priors");
    check_fisher(l.fisher.fisher, p);
    encoding = std::make_shared<const bow::FisherPipeline>(std::move(l.fisher), std::move(p));
  }
  check_class_names(l.names);
  Head head;
  if (l.head == HeadKind::kernel_svm) {
    std::vector<double> support = data.take<double>("support_vectors");
    std::vector<BinarySvm> classes;
    for (std::size_t c = 0; c < C; ++c) classes.push_back({l.names[c], l.biases[c], data.row("coefficients", c, l.S)});
    check_kernel_head(l.kernel, V, support, classes, l.encoding, l.fields);
    check_support_size(l.S);
    head = std::make_shared<const KernelSvm>(std::move(l.kernel), V, std::move(support), std::move(classes));
  } else if (l.head == HeadKind::linear_svm) {
    std::vector<LinearClass> classes;
    for (std::size_t c = 0; c < C; ++c) classes.push_back({l.names[c], l.biases[c], data.row("weights", c, V)});
    check_linear_head(V, classes, l.encoding);
    head = std::make_shared<const LinearSvm>(V, std::move(classes));
  } else {
    std::vector<nn::DenseLayer> layers;
    for (std::size_t k = 1; k < l.sizes.size(); ++k) {
      nn::DenseLayer layer;
      layer.inputs = static_cast<std::size_t>(l.sizes[k - 1]);
      layer.outputs = static_cast<std::size_t>(l.sizes[k]);
      layer.weights = data.take<double>("weights_" + std::to_string(k));
      layer.biases = data.take<double>("biases_" + std::to_string(k));
      layers.push_back(std::move(layer));
    }
    check_network_head(layers, V, l.names, l.encoding);
    head = std::make_shared<const nn::Network>(std::move(layers), l.names);
  }
  return Model(std::move(encoding), std::move(head));
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

// Runs a header reader on the writer's own options, so that nothing is saved that loading refuses
// (the reader's bounds go beyond the options' validate(), e.g. dsift.magnif >= 0.01).
template <class Read>
void check_written_options(const json& pipeline, const Fields& fields, Read read) {
  try {
    read(pipeline, fields);
  } catch (const HeaderError& e) {
    throw std::invalid_argument(e.what());
  }
}

}  // namespace

void validate_class_names(const std::vector<std::string>& names) { check_class_names(names); }

void save_model(const std::string& path, const Model& model) {
  const std::string encoding = model.encoding_kind();
  const std::string head = model.head_kind();
  // Bag-of-Words + kernel SVM is what format_version 1 holds: written as it, byte for byte as
  // before version 2 existed, so that older readers keep reading such models.
  const Fields fields = Fields::of(encoding == EncodingKind::bag_of_words && head == HeadKind::kernel_svm
                                       ? kMinModelFormatVersion
                                       : kModelFormatVersion);
  const std::size_t V = model.dimension();
  std::vector<OutArray> arrays;
  json pipeline;
  if (encoding == EncodingKind::bag_of_words) {
    const bow::Pipeline& p = model.encoding_as<bowlrp::bow::Pipeline>();
    check_bag_of_words(p.options(), p.codebook(), V, fields);
    check_codebook(p.codebook().centres());
    const auto K = static_cast<std::size_t>(p.codebook().size()), cdim = static_cast<std::size_t>(p.codebook().dim());
    arrays.push_back(out_array("codebook_centres", {K, cdim}, p.codebook().centres()));
    pipeline = pipeline_to_json(p.options());
    check_written_options(pipeline, fields, read_pipeline);
  } else {
    const bow::FisherPipeline& p = model.encoding_as<bowlrp::bow::FisherPipeline>();
    const bow::FisherParameters& fp = p.parameters();
    check_fisher(p.options().fisher, fp);
    const auto K = static_cast<std::size_t>(fp.components()), D = static_cast<std::size_t>(fp.pca_dimension()),
               G = static_cast<std::size_t>(p.options().fisher.descriptor_dimension());
    arrays.push_back(out_array("pca_mean", {kSift}, fp.mean));
    arrays.push_back(out_array("pca_projection", {D, kSift}, fp.projection));
    arrays.push_back(out_array("gmm_means", {K, G}, fp.means));
    arrays.push_back(out_array("gmm_variances", {K, G}, fp.variances));
    arrays.push_back(out_array("gmm_priors", {K}, fp.priors));
    pipeline = fisher_pipeline_to_json(p.options());
    check_written_options(pipeline, fields, read_fisher_pipeline);
  }
  json classes = json::array();
  json jhead;
  if (head == HeadKind::kernel_svm) {
    const KernelSvm& svm = model.head_as<bowlrp::svm::KernelSvm>();
    check_support_size(svm.support_size());
    check_class_names(names_of(svm.classes()));
    check_kernel_head(svm.kernel(), V, svm.support(), svm.classes(), encoding, fields);
    const std::size_t S = svm.support_size();
    arrays.push_back(out_array("support_vectors", {S, V}, svm.support()));
    arrays.push_back(class_rows("coefficients", S, svm.classes(), &BinarySvm::coef));
    for (const BinarySvm& c : svm.classes()) classes.push_back({{"name", c.name}, {"bias", c.bias}});
    jhead = {{"kind", file_name(head)}, {"kernel", kernel_to_json(svm.kernel())}, {"support_size", S}};
  } else if (head == HeadKind::linear_svm) {
    const LinearSvm& svm = model.head_as<bowlrp::svm::LinearSvm>();
    check_class_names(names_of(svm.classes()));
    check_linear_head(V, svm.classes(), encoding);
    arrays.push_back(class_rows("weights", V, svm.classes(), &LinearClass::weights));
    for (const LinearClass& c : svm.classes()) classes.push_back({{"name", c.name}, {"bias", c.bias}});
    jhead = {{"kind", file_name(head)}};
  } else {
    // The output biases are stored once, as biases_L: the classes carry only their names.
    const nn::Network& net = model.head_as<bowlrp::nn::Network>();
    check_class_names(net.class_names());
    check_network_head(net.layers(), V, net.class_names(), encoding);
    std::vector<std::size_t> sizes = {V};
    for (std::size_t k = 0; k < net.layers().size(); ++k) {
      const nn::DenseLayer& layer = net.layers()[k];
      const std::string n = std::to_string(k + 1);
      arrays.push_back(out_array("weights_" + n, {layer.outputs, layer.inputs}, layer.weights));
      arrays.push_back(out_array("biases_" + n, {layer.outputs}, layer.biases));
      sizes.push_back(layer.outputs);
    }
    for (const std::string& name : net.class_names()) classes.push_back({{"name", name}});
    jhead = {{"kind", file_name(head)}, {"layers", net.layers().size()}, {"sizes", sizes}};
  }

  json header;
  header["format_version"] = fields.version;
  if (fields.version == 1) {
    header["pipeline"] = pipeline;
    header["kernel"] = jhead.at("kernel");
    header["support_size"] = jhead.at("support_size");
  } else {
    header["encoding"] = {{"kind", file_name(encoding)}, {"pipeline", pipeline}};
    header["head"] = jhead;
  }
  header["dim"] = V;
  header["classes"] = classes;
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
    return build_model(layout, DataSection{data, specs, arrays});
  } catch (const HeaderError& e) {
    fail(path, "has " + std::string(e.what()));
  } catch (const json::exception& e) {
    fail(path, "has a bad header: " + std::string(e.what()));
  } catch (const std::invalid_argument& e) {
    fail(path, "holds an invalid model: " + std::string(e.what()));
  }
}

}  // namespace bowlrp::model
