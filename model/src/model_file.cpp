#include <bowlrp/model/model_file.h>

#include "kinds/codecs.h"
#include "model_file_format.h"

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

using namespace bowlrp::svm;
using namespace file_format;

using EncodingOptions = OptionsOf<Encoding>::type;

// The stage type whose codec reads options of type O.
template <class O, std::size_t I = 0>
struct StageOfOptionsImpl {
  using Stage = StageOf<std::variant_alternative_t<I, Encoding>>;
  using type = std::conditional_t<std::is_same_v<typename EncodingCodec<Stage>::Options, O>, Stage,
                                  typename StageOfOptionsImpl<O, I + 1>::type>;
};
template <class O>
struct StageOfOptionsImpl<O, std::variant_size_v<Encoding>> {
  using type = void;
};
template <class O>
using StageOfOptions = typename StageOfOptionsImpl<O>::type;

// The input box of the heads over an encoding kind.
const InputDomain& domain_of(const std::string& kind) {
  return visit_encoding_kind(kind, [](auto tag) -> const InputDomain& {
    return EncodingCodec<typename decltype(tag)::type>::domain();
  });
}

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
// The head kinds by their names (model/kinds.h). The heads' codecs are still here; each encoding's is
// its own (model/src/kinds/<kind>_codec.h).
namespace HeadKind {
constexpr const char* kernel_svm = HeadTraits<svm::KernelSvm>::name;
constexpr const char* linear_svm = HeadTraits<svm::LinearSvm>::name;
constexpr const char* network = HeadTraits<nn::Network>::name;
}  // namespace HeadKind
const std::string& file_name(const std::string& kind) { return kind; }

// ---- writing the header ----

json kernel_to_json(const Kernel& k) {
  json blocks = json::array();
  for (const KernelBlock& b : k.blocks) blocks.push_back({{"begin", b.begin}, {"end", b.end}, {"weight", b.weight}});
  return {{"type", to_string(k.type)}, {"gamma", k.gamma}, {"blocks", blocks}};
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
  const InputDomain& domain = domain_of(encoding);
  if (domain.signed_vectors && kernel.type != KernelType::linear && kernel.type != KernelType::intersection &&
      kernel.type != KernelType::rbf)
    throw std::invalid_argument(kf + ".type = \"" + to_string(kernel.type) + "\": expected linear, hik or rbf over a " +
                                encoding + " encoding (chi2, hellinger and expchi2 assume non-negative inputs; " +
                                domain.signed_vectors + " are signed)");
  kernel.validate(V);
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

void check_support_size(std::size_t S) {
  if (S == 0) throw std::invalid_argument("Model: the SVM has no support vectors (support_size 0): expected at least 1");
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
  std::string encoding;                 // the encoding kind
  EncodingOptions options;              // its options
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
  // format_version 1 is Bag-of-Words with a kernel SVM
  l.encoding = EncodingTraits<bow::Pipeline>::name;
  l.options = EncodingCodec<bow::Pipeline>::read_options(h.at("pipeline"), l.fields);
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

std::vector<ArraySpec> array_specs(const Layout& l) {
  const std::uint64_t C = l.names.size();
  std::vector<ArraySpec> s = std::visit(
      [&](const auto& o) { return EncodingCodec<StageOfOptions<std::decay_t<decltype(o)>>>::array_specs(o, l.fields); },
      l.options);
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
  const std::size_t V = l.V, C = l.names.size();
  Encoding encoding = std::visit(
      [&](auto& o) -> Encoding {
        return EncodingCodec<StageOfOptions<std::decay_t<decltype(o)>>>::read(std::move(o), data, V, l.fields);
      },
      l.options);
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

}  // namespace

void validate_class_names(const std::vector<std::string>& names) { check_class_names(names); }

void save_model(const std::string& path, const Model& model) {
  const std::string encoding = model.encoding_kind();
  const std::string head = model.head_kind();
  // Bag-of-Words + kernel SVM is what format_version 1 holds: written as it, byte for byte as
  // before version 2 existed, so that older readers keep reading such models.
  const bool version_1 = std::visit(
      [](const auto& e) { return EncodingCodec<StageOf<std::decay_t<decltype(e)>>>::format_version_1; },
      model.encoding());
  const Fields fields = Fields::of(version_1 && head == HeadKind::kernel_svm ? kMinModelFormatVersion
                                                                             : kModelFormatVersion);
  const std::size_t V = model.dimension();
  json pipeline;
  std::vector<OutArray> arrays = std::visit(
      [&](const auto& e) { return EncodingCodec<StageOf<std::decay_t<decltype(e)>>>::write(*e, V, fields, &pipeline); },
      model.encoding());
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
