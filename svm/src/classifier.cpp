#include <bowlrp/svm/classifier.h>

#include <bowlrp/bow/io.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/bow/pooling.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the model file stores little-endian arrays as raw bytes");

namespace bowlrp::svm {

namespace {

using nlohmann::json;

constexpr std::size_t kMagicSize = sizeof(kClassifierMagic) - 1;  // 13
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

bow::PipelineOptions pipeline_from_json(const json& j) {
  bow::PipelineOptions o;
  o.image.max_side = j.at("image").at("max_side").get<int>();
  const json& d = j.at("dsift");
  o.dsift.bin_sizes = d.at("bin_sizes").get<std::vector<int>>();
  o.dsift.step = d.at("step").get<int>();
  o.dsift.magnif = d.at("magnif").get<double>();
  o.dsift.contrast_threshold = d.at("contrast_threshold").get<double>();
  o.dsift.window_size = d.at("window_size").get<double>();
  o.dsift.fast = d.at("fast").get<bool>();
  const json& k = j.at("kmeans");
  o.kmeans.words = k.at("words").get<int>();
  o.kmeans.samples = k.at("samples").get<std::size_t>();
  o.kmeans.max_iterations = k.at("max_iterations").get<int>();
  o.kmeans.seed = k.at("seed").get<std::uint64_t>();
  // How the codebook was trained is a record, not needed to use it: files written before these
  // fields existed read as the defaults.
  if (k.contains("algorithm")) o.kmeans.algorithm = bow::kmeans_algorithm_from_string(k.at("algorithm").get<std::string>());
  if (k.contains("tolerance")) o.kmeans.tolerance = k.at("tolerance").get<double>();
  const json& m = j.at("mapping");
  o.mapping.kind = bow::mapping_kind_from_string(m.at("kind").get<std::string>());
  o.mapping.neighbours = m.at("neighbours").get<int>();
  o.mapping.beta = m.at("beta").get<double>();
  o.mapping.rank_decay = m.at("rank_decay").get<double>();
  const json& p = j.at("pooling");
  const json& pj = p.at("p");
  if (pj.is_string()) {
    if (pj.get<std::string>() != "inf")
      throw std::invalid_argument("pooling.p is the string '" + pj.get<std::string>() + "', expected a number or \"inf\"");
    o.pooling.p = std::numeric_limits<double>::infinity();
  } else {
    o.pooling.p = pj.get<double>();
  }
  o.pooling.pyramid.clear();
  for (const json& l : p.at("pyramid")) o.pooling.pyramid.push_back({l.at("cols").get<int>(), l.at("rows").get<int>()});
  o.pooling.normalisation = bow::normalisation_from_string(p.at("normalisation").get<std::string>());
  o.pooling.hellinger = p.at("hellinger").get<bool>();
  return o;
}

struct ArrayDesc {
  std::string name, dtype;
  std::vector<std::size_t> shape;
  std::size_t offset = 0, nbytes = 0;
};

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error("model file '" + path + "' " + problem);
}

}  // namespace

void Classifier::validate() const {
  options.validate();
  if (codebook.size() == 0) throw std::invalid_argument("Classifier: the codebook is empty");
  if (codebook.dim() != bow::FeatureTrace::kDim)
    throw std::invalid_argument("Classifier: the codebook has " + std::to_string(codebook.dim()) +
                                "-dimensional words, expected " + std::to_string(bow::FeatureTrace::kDim) + " (SIFT)");
  const std::size_t expected = static_cast<std::size_t>(codebook.size()) * options.pooling.cells();
  if (svm.dim() != expected)
    throw std::invalid_argument("Classifier: SVM dimension " + std::to_string(svm.dim()) + " != codebook size " +
                                std::to_string(codebook.size()) + " x pyramid cells " +
                                std::to_string(options.pooling.cells()) + " = " + std::to_string(expected));
}

void save_classifier(const std::string& path, const Classifier& cl) {
  cl.validate();
  const SvmModel& svm = cl.svm;
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
  header["format_version"] = kClassifierFormatVersion;
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
  out.append(kClassifierMagic, kMagicSize);
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

Classifier load_classifier(const std::string& path) {
  const std::string buf = bow::read_file(path);
  const std::size_t size = buf.size();
  if (size == 0) fail(path, "is empty (not a bowlrp model file)");
  if (buf.compare(0, std::min(size, kMagicSize), kClassifierMagic, std::min(size, kMagicSize)) != 0)
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
  try {
    header = json::parse(buf.begin() + kPrefix, buf.begin() + D);
  } catch (const json::exception& e) {
    if (!checksum_ok()) fail(path, "is corrupt: checksum mismatch (and its header is not valid JSON)");
    fail(path, "has a header that is not valid JSON: " + std::string(e.what()));
  }
  std::uint64_t data_bytes = 0;
  try {
    const json& v = header.at("format_version");
    if (!v.is_number_unsigned() || v.get<std::uint64_t>() != kClassifierFormatVersion)
      fail(path, "has format_version " + v.dump() + "; this build reads format_version " +
                     std::to_string(kClassifierFormatVersion));
    data_bytes = header.at("data_bytes").get<std::uint64_t>();
  } catch (const json::exception& e) {
    fail(path, "has a bad header: " + std::string(e.what()));
  }
  if (data_bytes > size || D + data_bytes + kTrailer != size) {
    const std::uint64_t expected = D + data_bytes + kTrailer;
    if (data_bytes > size || expected > size)
      fail(path, "is truncated: expected " + std::to_string(expected) + " bytes, found " + std::to_string(size));
    fail(path, "has " + std::to_string(size - expected) + " unexpected trailing bytes (expected " +
                   std::to_string(expected) + " bytes)");
  }
  if (!checksum_ok()) fail(path, "is corrupt: checksum mismatch");

  try {
    Classifier cl;
    cl.options = pipeline_from_json(header.at("pipeline"));
    const json& jk = header.at("kernel");
    Kernel kernel;
    kernel.type = kernel_type_from_string(jk.at("type").get<std::string>());
    kernel.gamma = jk.at("gamma").get<double>();
    for (const json& b : jk.at("blocks"))
      kernel.blocks.push_back({b.at("begin").get<std::size_t>(), b.at("end").get<std::size_t>(), b.at("weight").get<double>()});
    const std::size_t V = header.at("dim").get<std::size_t>();
    const std::size_t S = header.at("support_size").get<std::size_t>();
    std::vector<BinarySvm> classes;
    for (const json& c : header.at("classes")) classes.push_back({c.at("name").get<std::string>(), c.at("bias").get<double>(), {}});
    const std::size_t C = classes.size();

    auto array = [&](const std::string& name, const std::string& dtype, const std::vector<std::size_t>& shape) -> const char* {
      for (const json& a : header.at("arrays")) {
        if (a.at("name").get<std::string>() != name) continue;
        const std::string dt = a.at("dtype").get<std::string>();
        const auto sh = a.at("shape").get<std::vector<std::size_t>>();
        const std::size_t offset = a.at("offset").get<std::size_t>(), nbytes = a.at("nbytes").get<std::size_t>();
        if (dt != dtype) fail(path, "has array '" + name + "' of dtype " + dt + ", expected " + dtype);
        if (sh != shape) fail(path, "has array '" + name + "' of shape " + json(sh).dump() + ", expected " + json(shape).dump());
        const std::size_t item = dtype == "<f4" ? 4 : 8;
        const bool fits = shape[1] == 0 || shape[0] <= data_bytes / (shape[1] * item);  // no overflow below
        if (!fits || nbytes != shape[0] * shape[1] * item || offset > data_bytes || nbytes > data_bytes - offset)
          fail(path, "has array '" + name + "' whose byte range [" + std::to_string(offset) + ", +" +
                         std::to_string(nbytes) + ") does not fit its shape or the data section");
        return buf.data() + D + offset;
      }
      fail(path, "lacks the array '" + name + "'");
    };

    // The codebook's shape comes from the file itself ([K, descriptor length]).
    const json* centres_desc = nullptr;
    for (const json& a : header.at("arrays"))
      if (a.at("name").get<std::string>() == "codebook_centres") centres_desc = &a;
    if (!centres_desc) fail(path, "lacks the array 'codebook_centres'");
    const auto cshape = centres_desc->at("shape").get<std::vector<std::size_t>>();
    if (cshape.size() != 2 || cshape[1] == 0 || cshape[1] > 1u << 20)
      fail(path, "has codebook_centres of shape " + json(cshape).dump() + ", expected [K, descriptor length]");
    const char* pc = array("codebook_centres", "<f4", cshape);
    std::vector<float> centres(cshape[0] * cshape[1]);
    std::memcpy(centres.data(), pc, centres.size() * sizeof(float));
    cl.codebook = bow::Codebook(static_cast<int>(cshape[1]), std::move(centres));

    const char* ps = array("support_vectors", "<f8", {S, V});
    std::vector<double> support(S * V);
    std::memcpy(support.data(), ps, support.size() * sizeof(double));
    const char* pk = array("coefficients", "<f8", {C, S});
    for (std::size_t c = 0; c < C; ++c) {
      classes[c].coef.resize(S);
      std::memcpy(classes[c].coef.data(), pk + c * S * sizeof(double), S * sizeof(double));
    }
    cl.svm = SvmModel(std::move(kernel), V, std::move(support), std::move(classes));
    cl.validate();
    return cl;
  } catch (const json::exception& e) {
    fail(path, "has a bad header: " + std::string(e.what()));
  } catch (const std::invalid_argument& e) {
    fail(path, "holds an inconsistent model: " + std::string(e.what()));
  }
}

}  // namespace bowlrp::svm
