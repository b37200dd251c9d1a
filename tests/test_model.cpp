// The model suite: the whole model (encoding + head) and its file format (model_file.h): exact
// round trips of every encoding with every head (format_version 1 for Bag-of-Words + kernel SVM,
// byte for byte as before version 2, and 2 for the rest), every refusal of the strict loader,
// crafted and fuzzed files of both versions, and the model API.
// Tests of the svm module: kernels and Gram matrices against naive formulas, decisions against
// libsvm's own svm_predict_values, the fast intersection evaluator, and the model file.
#include <bowlrp/core/io.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>
#include <bowlrp/model/model_file.h>

#include <functional>
#include <optional>
#include <bowlrp/svm/fast_intersection.h>
#include <bowlrp/svm/kernel.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include "svm_fixtures.h"
#include "test_util.h"

#include <libsvm/svm.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <sys/mount.h>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace bowlrp;
using namespace bowlrp::svm;

using namespace bowlrp::test;
using bowlrp::model::kModelMagic;

namespace {

// The parts of a model as the file stores them, so the file tests can edit any field.
struct Classifier {
  bow::PipelineOptions options;
  bow::Codebook codebook;
  KernelSvm svm;
};

void save_classifier(const std::string& path, const Classifier& cl) {
  bowlrp::model::save_model(path, bowlrp::model::Model(bow::Pipeline(cl.options, cl.codebook), cl.svm));
}

Classifier load_classifier(const std::string& path) {
  const bowlrp::model::Model m = bowlrp::model::load_model(path);
  return Classifier{m.encoding_as<bowlrp::bow::Pipeline>().options(), m.encoding_as<bowlrp::bow::Pipeline>().codebook(), m.head_as<bowlrp::svm::KernelSvm>()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model)

// Every option of the fit schema reads back as itself, from the defaults and from values chosen
// away from them, and each option has a keyword, help and (where it is a flag) a -- flag of its own.
BOOST_AUTO_TEST_CASE(fit_option_schema_round_trips_every_option) {
  const auto& schema = bowlrp::model::FitOptions::schema();
  std::set<std::string> names, flags;
  bowlrp::model::FitOptions o;
  for (const auto& spec : schema) {
    BOOST_TEST(names.insert(spec.name).second, spec.name);
    if (!spec.flag.empty()) BOOST_TEST(flags.insert(spec.flag).second, spec.flag);
    BOOST_TEST(!spec.help.empty(), spec.name);
    const std::optional<std::string> before = spec.get(o);
    spec.set(o, before, spec.name);
    BOOST_TEST((spec.get(o) == before), spec.name);
  }
  const std::vector<std::pair<std::string, std::string>> chosen = {
      {"encoding", "fisher"}, {"head", "mlp"},          {"seed", "12345678901234567890"}, {"bin_sizes", "3,5"},
      {"pyramid", "1x1,3x1"}, {"pooling", "pmean:2.5"}, {"magnif", "0.1"},               {"hidden", "none"},
      {"class_C", "1.5,2"},   {"mirror_training", "false"}, {"kernel", "expchi2"},        {"rule", "epsilon:0.5"}};
  for (const auto& [name, text] : chosen) {
    const auto* spec = bowlrp::core::find_option(schema, name);
    if (!spec) continue;  // "rule" is not a fit option
    spec->set(o, text, name);
    const std::optional<std::string> got = spec->get(o);
    bowlrp::model::FitOptions again;
    spec->set(again, got, name);
    BOOST_TEST((spec->get(again) == got), name);
  }
  BOOST_TEST(o.encoding == "fisher-vector");  // aliases read as the kind name
  BOOST_TEST(o.head.value() == "mlp");
  BOOST_TEST(o.fisher.seed == 12345678901234567890ull);  // the seed seeds every random choice
  BOOST_TEST(o.network.seed == o.pipeline.kmeans.seed);
  BOOST_TEST(o.pipeline.pooling.p == 2.5);
  BOOST_TEST(o.network.hidden.empty());
  BOOST_TEST(o.mirror_training.value() == false);
  bowlrp::core::find_option(schema, "head")->set(o, std::nullopt, "head");
  BOOST_TEST(!o.head.has_value());
  BOOST_TEST(!core::find_option(schema, "head")->get(o).has_value());
}

namespace {

Classifier sample_classifier(KernelType t) {
  Classifier cl;
  cl.options.image.max_side = 321;
  cl.options.dsift.bin_sizes = {4, 8};
  cl.options.dsift.step = 3;
  cl.options.dsift.magnif = 5.5;
  cl.options.dsift.contrast_threshold = 0.0123456789012345;
  cl.options.dsift.window_size = 2.0;
  cl.options.dsift.fast = false;
  cl.options.kmeans.words = 6;
  cl.options.kmeans.samples = 123457;
  cl.options.kmeans.max_iterations = 17;
  cl.options.kmeans.seed = (std::uint64_t{1} << 63) + 5;
  cl.options.mapping.kind = bow::MappingKind::soft;
  cl.options.mapping.neighbours = 3;
  cl.options.mapping.beta = 0.1;
  cl.options.mapping.rank_decay = 0.3;
  cl.options.pooling.p = std::numeric_limits<double>::infinity();
  cl.options.pooling.pyramid = {{1, 1}, {2, 2}};
  cl.options.pooling.normalisation = bow::Normalisation::l2;
  cl.options.pooling.hellinger = true;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> centres(6 * 128);
  for (float& c : centres) c = u(rng);
  cl.codebook = bow::Codebook(128, std::move(centres));
  const std::size_t n = 40, dim = 6 * 5;
  std::vector<int> labels;
  std::vector<double> X = class_data(n, dim, 3, labels, 111);
  for (double& x : X) x /= 1.4;  // into [0, 1], as the pipeline's histograms are
  cl.svm = train_one_vs_rest(X.data(), n, dim, labels, {"aeroplane", "bicycle", "naïve ünïcode"},
                             make_kernel(t, 0.3, {{0, 6, 1.0}, {6, 30, 0.25}}), {});
  return cl;
}

std::string error_of(const std::string& path) {
  try {
    load_classifier(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(model_file_round_trip_is_exact) {
  test::TempDir tmp;
  for (KernelType t : {KernelType::intersection, KernelType::rbf}) {
    const Classifier cl = sample_classifier(t);
    const std::string path = tmp / ("model_" + to_string(t) + ".bowlrp");
    save_classifier(path, cl);
    const Classifier back = load_classifier(path);
    // Options, field by field.
    const bow::PipelineOptions &a = cl.options, &b = back.options;
    BOOST_TEST(b.image.max_side == a.image.max_side);
    BOOST_TEST(b.dsift.bin_sizes == a.dsift.bin_sizes);
    BOOST_TEST(b.dsift.step == a.dsift.step);
    BOOST_TEST(b.dsift.magnif == a.dsift.magnif);
    BOOST_TEST(b.dsift.contrast_threshold == a.dsift.contrast_threshold);
    BOOST_TEST(b.dsift.window_size == a.dsift.window_size);
    BOOST_TEST(b.dsift.fast == a.dsift.fast);
    BOOST_TEST(b.kmeans.words == a.kmeans.words);
    BOOST_TEST(b.kmeans.samples == a.kmeans.samples);
    BOOST_TEST(b.kmeans.max_iterations == a.kmeans.max_iterations);
    BOOST_TEST(b.kmeans.seed == a.kmeans.seed);
    BOOST_TEST((b.mapping.kind == a.mapping.kind));
    BOOST_TEST(b.mapping.neighbours == a.mapping.neighbours);
    BOOST_TEST(b.mapping.beta == a.mapping.beta);
    BOOST_TEST(b.mapping.rank_decay == a.mapping.rank_decay);
    BOOST_TEST(b.pooling.is_max());
    BOOST_TEST(b.pooling.pyramid.size() == 2u);
    BOOST_TEST(b.pooling.pyramid[1].cols == 2);
    BOOST_TEST(b.pooling.pyramid[1].rows == 2);
    BOOST_TEST((b.pooling.normalisation == a.pooling.normalisation));
    BOOST_TEST(b.pooling.hellinger == a.pooling.hellinger);
    BOOST_TEST(back.codebook.dim() == 128);
    BOOST_TEST(back.codebook.centres() == cl.codebook.centres());
    // The SVMs, bit for bit.
    BOOST_TEST((back.svm.kernel().type == t));
    BOOST_TEST(back.svm.kernel().gamma == cl.svm.kernel().gamma);
    BOOST_TEST(back.svm.kernel().blocks.size() == 2u);
    BOOST_TEST(back.svm.kernel().blocks[1].weight == 0.25);
    BOOST_TEST(bitwise_equal(back.svm.support(), cl.svm.support()));
    for (std::size_t c = 0; c < 3; ++c) {
      BOOST_TEST(back.svm.classes()[c].name == cl.svm.classes()[c].name);
      BOOST_TEST(back.svm.classes()[c].bias == cl.svm.classes()[c].bias);
      BOOST_TEST(bitwise_equal(back.svm.classes()[c].coef, cl.svm.classes()[c].coef));
    }
    const std::vector<double> T = random_histograms(8, 30, 112);
    for (std::size_t r = 0; r < 8; ++r)
      BOOST_TEST(bitwise_equal(back.svm.decision(&T[r * 30]), cl.svm.decision(&T[r * 30])));
    // The documented layout, read by hand.
    const std::string buf = core::read_file(path);
    BOOST_TEST(buf.compare(0, 13, "BOWLRP-MODEL\n") == 0);
    std::uint64_t N = 0;
    for (int k = 0; k < 8; ++k) N |= std::uint64_t(static_cast<unsigned char>(buf[13 + k])) << (8 * k);
    BOOST_TEST((21 + N) % 8 == 0u);
    const std::string json = buf.substr(21, N);
    BOOST_TEST(json.find("\"format_version\":1") != std::string::npos);
    BOOST_TEST(json.find("\"p\":\"inf\"") != std::string::npos);
    std::uint64_t stored = 0;
    for (int k = 0; k < 8; ++k) stored |= std::uint64_t(static_cast<unsigned char>(buf[buf.size() - 8 + k])) << (8 * k);
    BOOST_TEST(stored == naive_crc32(buf, buf.size() - 8));
    // Support vectors sit at their descriptor's offset as raw little-endian doubles.
    const std::size_t key = json.find("\"support_vectors\"");
    BOOST_TEST_REQUIRE(key != std::string::npos);
    const std::size_t obj = json.rfind('{', key);
    const std::size_t off_at = json.find("\"offset\":", obj);
    const std::size_t offset = std::stoull(json.substr(off_at + 9));
    double first = 0;
    std::memcpy(&first, buf.data() + 21 + N + offset, 8);
    BOOST_TEST(first == cl.svm.support()[0]);
  }
}

BOOST_AUTO_TEST_CASE(bad_model_files_are_rejected) {
  test::TempDir tmp;
  const std::string good = tmp / "good.bowlrp";
  save_classifier(good, sample_classifier(KernelType::intersection));
  const std::string buf = core::read_file(good);
  std::uint64_t N = 0;
  for (int k = 0; k < 8; ++k) N |= std::uint64_t(static_cast<unsigned char>(buf[13 + k])) << (8 * k);
  auto check = [&](const std::string& name, const std::string& bytes, const std::string& expected) {
    const std::string path = tmp / name;
    core::write_file_atomic(path, bytes);
    const std::string err = error_of(path);
    BOOST_TEST(err.find(path) != std::string::npos, name << ": " << err);
    BOOST_TEST(err.find(expected) != std::string::npos, name << ": '" << err << "' lacks '" << expected << "'");
  };
  BOOST_TEST(error_of(good).empty());
  check("empty", "", "empty");
  for (std::size_t cut : {std::size_t{5}, std::size_t{17}, std::size_t{21 + N / 2}, std::size_t{21 + N + 40},
                          buf.size() / 2, buf.size() - 3})
    check("cut" + std::to_string(cut), buf.substr(0, cut), "truncated");
  std::string magic = buf;
  magic[3] = 'X';
  check("magic", magic, "not a bowlrp model file");
  check("text", "hello world, this is not a model at all", "not a bowlrp model file");
  std::string version = buf;
  const std::size_t at = version.find("\"format_version\":1");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  version[at + 17] = '3';
  check("version", version, "format_version 3; this build reads format_version 1 or 2");
  std::string flipped = buf;
  flipped[21 + N + 100] ^= 0x10;  // inside the codebook
  check("flip_data", flipped, "checksum");
  std::string flipped_json = buf;
  const std::size_t name_at = flipped_json.find("aeroplane");
  flipped_json[name_at] = 'b';
  check("flip_json", flipped_json, "checksum");
  std::string flipped_crc = buf;
  flipped_crc[buf.size() - 2] ^= 1;
  check("flip_crc", flipped_crc, "checksum");
  check("trailing", buf + "xx", "trailing");
  BOOST_CHECK_THROW(load_classifier(tmp / "missing.bowlrp"), std::runtime_error);
  // Saving refuses parts that do not fit together.
  Classifier wrong = sample_classifier(KernelType::intersection);
  wrong.options.pooling.pyramid = {{1, 1}};  // V would be 6, the SVM has 30
  BOOST_CHECK_THROW(save_classifier(tmp / "wrong.bowlrp", wrong), std::invalid_argument);
}

// ---- crafted model files: a valid checksum over bad content ----

namespace {

using nlohmann::json;

std::uint64_t le64(const std::string& b, std::size_t at) {
  std::uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v |= std::uint64_t(static_cast<unsigned char>(b[at + k])) << (8 * k);
  return v;
}

void append_le64(std::string& out, std::uint64_t v) {
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
}

/// CRC-32 (zlib) with a byte table: the fuzz test checksums thousands of files.
std::uint32_t table_crc32(const std::string& s, std::size_t n) {
  static const std::vector<std::uint32_t> table = [] {
    std::vector<std::uint32_t> t(256);
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ static_cast<unsigned char>(s[i])) & 0xFF] ^ (c >> 8);
  return ~c;
}

/// A model file taken apart: its JSON header and its data section.
struct ModelParts {
  json header;
  std::string data;
};

ModelParts split_model(const std::string& buf) {
  const std::uint64_t N = le64(buf, 13);
  return {json::parse(buf.substr(21, N)), buf.substr(21 + N, buf.size() - 21 - N - 8)};
}

/// Puts a header text and a data section together as the writer does (padding, length, checksum),
/// so that a crafted file passes the checksum and reaches the checks of its content.
std::string assemble_model(std::string text, const std::string& data) {
  text.append((8 - (21 + text.size()) % 8) % 8, ' ');
  std::string out = kModelMagic;
  append_le64(out, text.size());
  out += text;
  out += data;
  append_le64(out, table_crc32(out, out.size()));
  return out;
}
std::string assemble_model(const ModelParts& p) { return assemble_model(p.header.dump(), p.data); }

json& array_entry(json& header, const std::string& name) {
  for (json& a : header.at("arrays"))
    if (a.at("name") == name) return a;
  throw std::logic_error("the sample model has no array " + name);
}

std::size_t array_offset(const ModelParts& p, const std::string& name) {
  for (const json& a : p.header.at("arrays"))
    if (a.at("name") == name) return a.at("offset").get<std::size_t>();
  throw std::logic_error("the sample model has no array " + name);
}

void put_f8(std::string& data, std::size_t at, double v) { std::memcpy(data.data() + at, &v, 8); }
void put_f4(std::string& data, std::size_t at, float v) { std::memcpy(data.data() + at, &v, 4); }

/// The parts of a saved sample model (trained by libsvm), for crafting.
ModelParts sample_parts(const test::TempDir& tmp, KernelType t) {
  const std::string path = tmp / ("base_" + to_string(t) + ".bowlrp");
  save_classifier(path, sample_classifier(t));
  return split_model(core::read_file(path));
}

/// Loads crafted bytes and checks that the load fails with a std::runtime_error whose message names
/// the file and holds every expected fragment.
void expect_refused(const test::TempDir& tmp, const std::string& name, const std::string& bytes,
                    const std::vector<std::string>& expected) {
  const std::string path = tmp / (name + ".bowlrp");
  core::write_file_atomic(path, bytes);
  const std::string err = error_of(path);
  BOOST_TEST(!err.empty(), name << ": the crafted model was accepted");
  if (err.empty()) return;
  BOOST_TEST_MESSAGE(name << ": " << err);
  BOOST_TEST(err.find(path) != std::string::npos, name << ": '" << err << "' does not name the file");
  for (const std::string& e : expected)
    BOOST_TEST(err.find(e) != std::string::npos, name << ": '" << err << "' lacks '" << e << "'");
}

}  // namespace

BOOST_AUTO_TEST_CASE(crafted_model_helper_reproduces_the_writer) {
  test::TempDir tmp;
  const std::string path = tmp / "m.bowlrp";
  save_classifier(path, sample_classifier(KernelType::intersection));
  const std::string buf = core::read_file(path);
  BOOST_TEST(table_crc32(buf, buf.size() - 8) == naive_crc32(buf, buf.size() - 8));
  BOOST_TEST((assemble_model(split_model(buf)) == buf));
}

BOOST_AUTO_TEST_CASE(crafted_model_array_sizes_cannot_overflow) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  // S x V x 8 bytes wraps to exactly 0 in 64 bits for V = 2^61, 2^62, 2^63: the old size check divided by it.
  for (int e : {61, 62, 63}) {
    ModelParts p = base;
    const std::uint64_t V = std::uint64_t{1} << e;
    p.header["dim"] = V;
    array_entry(p.header, "support_vectors")["shape"][1] = V;
    expect_refused(tmp, "dim_2_" + std::to_string(e), assemble_model(p), {"dim", std::to_string(V)});
  }
  // Byte counts that wrap to the stored one.
  ModelParts p = base;
  const std::uint64_t S = base.header.at("support_size");
  p.header["support_size"] = S + (std::uint64_t{1} << 61);
  array_entry(p.header, "support_vectors")["shape"][0] = S + (std::uint64_t{1} << 61);
  array_entry(p.header, "coefficients")["shape"][1] = S + (std::uint64_t{1} << 61);
  expect_refused(tmp, "support_wraps", assemble_model(p), {"support_size"});
}

BOOST_AUTO_TEST_CASE(crafted_model_without_support_vectors_is_refused) {
  test::TempDir tmp;
  ModelParts p = sample_parts(tmp, KernelType::intersection);
  const std::uint64_t end = array_entry(p.header, "codebook_centres").at("nbytes");
  p.header["support_size"] = 0;
  for (const char* name : {"support_vectors", "coefficients"}) {
    json& a = array_entry(p.header, name);
    a["shape"][name == std::string("support_vectors") ? 0 : 1] = 0;
    a["nbytes"] = 0;
    a["offset"] = end;
  }
  p.header["data_bytes"] = end;
  p.data.resize(end);
  expect_refused(tmp, "support_size_0", assemble_model(p), {"support_size", "0", ">= 1"});
}

BOOST_AUTO_TEST_CASE(crafted_model_arrays_must_tile_the_data_section) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  {  // coefficients overlapping the support vectors (the tail of the data section then unused)
    ModelParts p = base;
    array_entry(p.header, "coefficients")["offset"] = array_offset(base, "support_vectors");
    expect_refused(tmp, "overlap", assemble_model(p), {"coefficients", "offset"});
  }
  {  // the same array listed twice
    ModelParts p = base;
    p.header["arrays"].push_back(array_entry(p.header, "coefficients"));
    expect_refused(tmp, "duplicate", assemble_model(p), {"coefficients", "twice"});
  }
  {  // a gap of 8 unlisted bytes before the coefficients
    ModelParts p = base;
    const std::size_t at = array_offset(base, "coefficients");
    array_entry(p.header, "coefficients")["offset"] = at + 8;
    p.header["data_bytes"] = base.data.size() + 8;
    p.data.insert(at, 8, '\0');
    expect_refused(tmp, "gap", assemble_model(p), {"coefficients", "offset"});
  }
  {  // an array this format does not define
    ModelParts p = base;
    p.header["arrays"].push_back({{"name", "extra"}, {"dtype", "<f8"}, {"shape", {1, 1}},
                                  {"offset", base.data.size()}, {"nbytes", 8}});
    p.header["data_bytes"] = base.data.size() + 8;
    p.data.append(8, '\0');
    expect_refused(tmp, "extra_array", assemble_model(p), {"extra"});
  }
}

BOOST_AUTO_TEST_CASE(crafted_model_integers_are_not_truncated) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::uint64_t two32 = std::uint64_t{1} << 32;
  struct Case {
    const char* pointer;
    json value;
    std::vector<std::string> expected;
  };
  const std::vector<Case> cases = {
      {"/pipeline/kmeans/words", two32 + 6, {"pipeline.kmeans.words", "4294967302"}},
      {"/pipeline/image/max_side", two32 + 321, {"pipeline.image.max_side", "4294967617"}},
      {"/pipeline/dsift/step", two32 + 3, {"pipeline.dsift.step"}},
      {"/pipeline/dsift/step", 3.5, {"pipeline.dsift.step", "3.5", "integer"}},
      {"/pipeline/dsift/bin_sizes/0", two32 + 4, {"pipeline.dsift.bin_sizes[0]"}},
      {"/pipeline/kmeans/samples", -1, {"pipeline.kmeans.samples", "-1"}},
      {"/pipeline/kmeans/max_iterations", two32 + 17, {"pipeline.kmeans.max_iterations"}},
      {"/pipeline/mapping/neighbours", two32 + 3, {"pipeline.mapping.neighbours"}},
      {"/pipeline/pooling/pyramid/1/cols", two32 + 2, {"pipeline.pooling.pyramid[1].cols"}},
      {"/kernel/blocks/0/end", 6.0, {"kernel.blocks[0].end", "integer"}},
  };
  int n = 0;
  for (const Case& c : cases) {
    ModelParts p = base;
    p.header[json::json_pointer(c.pointer)] = c.value;
    expect_refused(tmp, "int" + std::to_string(n++), assemble_model(p), c.expected);
  }
}

BOOST_AUTO_TEST_CASE(crafted_model_words_must_match_the_codebook) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  for (int words : {5, 7}) {
    ModelParts p = base;
    p.header["pipeline"]["kmeans"]["words"] = words;
    expect_refused(tmp, "words" + std::to_string(words), assemble_model(p),
                   {"pipeline.kmeans.words", std::to_string(words), "6"});
  }
  // A codebook of 7 words whose SVM still fits 6 words x 5 cells is refused too.
  ModelParts p = base;
  json& cb = array_entry(p.header, "codebook_centres");
  const std::size_t more = 128 * 4;
  cb["shape"][0] = 7;
  cb["nbytes"] = 7 * more;
  p.data.insert(6 * more, more, '\0');
  for (const char* name : {"support_vectors", "coefficients"})
    array_entry(p.header, name)["offset"] = array_offset(base, name) + more;
  p.header["data_bytes"] = base.data.size() + more;
  expect_refused(tmp, "codebook7", assemble_model(p), {"codebook_centres", "7"});
}

BOOST_AUTO_TEST_CASE(crafted_model_values_are_finite_and_bounded) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::size_t sv = array_offset(base, "support_vectors"), co = array_offset(base, "coefficients");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto header_edit = [&](const std::string& name, const char* pointer, const json& v,
                         const std::vector<std::string>& expected) {
    ModelParts p = base;
    p.header[json::json_pointer(pointer)] = v;
    expect_refused(tmp, name, assemble_model(p), expected);
  };
  header_edit("weight_huge", "/kernel/blocks/1/weight", 1e308, {"kernel.blocks[1].weight", "1e+308"});
  header_edit("bias_huge", "/classes/0/bias", 1e308, {"classes[0].bias", "1e+308"});
  header_edit("gamma_huge", "/kernel/gamma", 1e300, {"kernel.gamma", "1e+300"});
  header_edit("beta_huge", "/pipeline/mapping/beta", 1e300, {"pipeline.mapping.beta"});
  header_edit("window_huge", "/pipeline/dsift/window_size", 1e39, {"pipeline.dsift.window_size", "1e+39"});
  header_edit("window_tiny", "/pipeline/dsift/window_size", 1e-320, {"pipeline.dsift.window_size", "1e-320"});
  header_edit("magnif_tiny", "/pipeline/dsift/magnif", 1e-320, {"pipeline.dsift.magnif", "1e-320"});
  auto data_edit = [&](const std::string& name, std::size_t at, double v, const std::vector<std::string>& expected) {
    ModelParts p = base;
    put_f8(p.data, at, v);
    expect_refused(tmp, name, assemble_model(p), expected);
  };
  data_edit("coef_huge", co + 8, 1e308, {"coefficients", "1e+308"});
  data_edit("coef_nan", co, nan, {"coefficients", "nan"});
  data_edit("support_huge", sv + 16, 1e308, {"support_vectors", "1e+308"});
  data_edit("support_negative", sv, -0.5, {"support_vectors", "-0.5"});
  {
    ModelParts p = base;
    put_f4(p.data, 4 * 130, 1e30F);
    expect_refused(tmp, "centre_huge", assemble_model(p), {"codebook_centres"});
  }
  {  // every value below its own cap, but together a decision of ~1e170: refused by the decision bound
    ModelParts p = base;
    p.header["kernel"]["blocks"][0]["weight"] = 1e90;
    const std::size_t S = base.header.at("support_size");
    for (std::size_t i = 0; i < S; ++i) put_f8(p.data, co + 8 * i, 1e80);
    expect_refused(tmp, "decision_bound", assemble_model(p), {"decision", "classes[0]"});
  }
}

BOOST_AUTO_TEST_CASE(crafted_model_class_names_are_printable_and_unique) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"aero\x01plane", "U+0001"}, {"aero\nplane", "U+000A"}, {"aero\tplane", "U+0009"},
      {"aero\x7fplane", "U+007F"}, {"aero\xc2\x85plane", "U+0085"}, {"aero\xe2\x80\xa8plane", "U+2028"},
      {std::string("aero\0plane", 10), "U+0000"}, {"", "empty"}};
  int n = 0;
  for (const auto& [name, expected] : bad) {
    ModelParts p = base;
    p.header["classes"][0]["name"] = name;
    expect_refused(tmp, "name" + std::to_string(n++), assemble_model(p), {"classes[0].name", expected});
  }
  ModelParts p = base;
  p.header["classes"][2]["name"] = "aeroplane";
  expect_refused(tmp, "name_repeated", assemble_model(p), {"classes[2].name", "aeroplane", "repeat"});
}

BOOST_AUTO_TEST_CASE(crafted_model_header_keys_are_exact) {
  test::TempDir tmp;
  const ModelParts base = sample_parts(tmp, KernelType::intersection);
  const std::string text = base.header.dump();
  // A repeated key: JSON parsers disagree on which copy wins, so the file is ambiguous.
  std::string dup = text;
  dup.insert(1, "\"dim\":30,");
  expect_refused(tmp, "dup_top", assemble_model(dup, base.data), {"dim", "twice"});
  std::string dup_inner = text;
  const std::size_t at = dup_inner.find("\"step\":");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  dup_inner.insert(at, "\"step\":4,");
  expect_refused(tmp, "dup_inner", assemble_model(dup_inner, base.data), {"step", "twice"});
  // Unknown keys (a misspelt field would otherwise be silently ignored).
  ModelParts p = base;
  p.header["pipeline"]["dsift"]["stepp"] = 3;
  expect_refused(tmp, "unknown_inner", assemble_model(p), {"pipeline.dsift.stepp", "unknown"});
  ModelParts q = base;
  q.header["extra"] = 1;
  expect_refused(tmp, "unknown_top", assemble_model(q), {"extra", "unknown"});
  ModelParts r = base;
  r.header.erase("support_size");
  expect_refused(tmp, "missing", assemble_model(r), {"support_size", "missing"});
}

BOOST_AUTO_TEST_CASE(saving_refuses_what_loading_would_refuse) {
  test::TempDir tmp;
  const Classifier good = sample_classifier(KernelType::intersection);
  auto refused = [&](const Classifier& cl, const std::string& expected) {
    try {
      save_classifier(tmp / "m.bowlrp", cl);
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what() << " lacks " << expected);
      return;
    }
    BOOST_TEST(false, "saved a model the loader refuses (expected an error about " << expected << ")");
  };
  Classifier words = good;
  words.options.kmeans.words = 7;
  refused(words, "kmeans.words");
  const KernelSvm& m = good.svm;
  std::vector<BinarySvm> classes = m.classes();
  classes[1].name = "bi\ncycle";
  Classifier name = good;
  name.svm = KernelSvm(m.kernel(), m.dim(), m.support(), classes);
  refused(name, "classes[1].name");
  std::vector<double> support = m.support();
  support[3] = 1.5;
  Classifier big = good;
  big.svm = KernelSvm(m.kernel(), m.dim(), support, m.classes());
  refused(big, "support_vectors[0][3]");
  classes = m.classes();
  classes[2].coef[0] = 1e200;
  Classifier coef = good;
  coef.svm = KernelSvm(m.kernel(), m.dim(), m.support(), classes);
  refused(coef, "coefficients[2][0]");
}

namespace {

/// Serialises a JSON value as dump() does, with optional edits: the scalar numbered `leaf` (in
/// document order) is written as the text `raw`, the object member numbered `drop` is left out, the
/// member numbered `dup` is written twice (the second time with the value text `dup_raw` if set).
struct JsonEmitter {
  long leaf = -1, drop = -1, dup = -1;
  std::string raw, dup_raw;
  long leaves = 0, members = 0;
  std::string out;
  void value(const json& j) {
    if (j.is_object()) {
      out += '{';
      bool first = true;
      for (auto it = j.begin(); it != j.end(); ++it) {
        const long m = members++;
        const std::size_t mark = out.size();
        if (!first) out += ',';
        out += json(it.key()).dump() + ':';
        const std::size_t at = out.size();
        value(it.value());
        if (m == drop) {
          out.resize(mark);
          continue;
        }
        first = false;
        if (m == dup) out += ',' + json(it.key()).dump() + ':' + (dup_raw.empty() ? out.substr(at) : dup_raw);
      }
      out += '}';
    } else if (j.is_array()) {
      out += '[';
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (i) out += ',';
        value(j[i]);
      }
      out += ']';
    } else {
      out += leaves++ == leaf ? raw : j.dump();
    }
  }
};

}  // namespace

// Mutations of real trained models, each with a valid checksum: every load must either be refused
// with std::runtime_error / std::invalid_argument or give a model whose decisions are finite on
// histograms and whose options build a pipeline. Never a crash, never another exception.
BOOST_AUTO_TEST_CASE(fuzzed_model_files_are_refused_or_sound) {
  test::TempDir tmp;
  const std::string path = tmp / "fuzz.bowlrp";
  const std::vector<std::string> raws = {
      "0", "-1", "1", "3", "7", "255", "2147483647", "2147483648", "-2147483649", "4294967302",
      "2305843009213693952", "9223372036854775807", "9223372036854775808", "18446744073709551615",
      "18446744073709551616", "1e39", "1e308", "-1e308", "1e-320", "0.5", "-0.0", "1e999", "NaN", "Infinity", "true",
      "null", "\"\"", "\"inf\"", "\"hik\"", "\"rbf\"", "\"a\\u0001b\"", "\"x\\ny\"", "\"\\u0000\"", "\"\\u007f\"",
      "\"\\ud800\"", "[]", "{}", "[0]", "[1,1]", "{\"cols\":1,\"rows\":1}", "\"aeroplane\""};
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> doubles = {0.0, -0.0, -1.0, 1.0, 0.5, 2.0, 1e20, 1e100, 1e308, -1e308,
                                       1e-310, inf, -inf, std::numeric_limits<double>::quiet_NaN()};
  const float finf = std::numeric_limits<float>::infinity();
  const std::vector<float> floats = {0.0F, -0.0F, -1.0F, 1.0F, 0.5F, 1.5F, 1e20F, 3e38F, 1e-40F, finf, -finf,
                                     std::numeric_limits<float>::quiet_NaN()};
  const std::vector<std::uint64_t> sizes = {0, 1, 2, 5, 7, 31, std::uint64_t{1} << 31, std::uint64_t{1} << 32,
                                            std::uint64_t{1} << 61, std::uint64_t{1} << 62,
                                            std::uint64_t{1} << 63, ~std::uint64_t{0}, ~std::uint64_t{0} - 7};
  const std::vector<ModelParts> bases = {sample_parts(tmp, KernelType::intersection),
                                         sample_parts(tmp, KernelType::rbf),
                                         sample_parts(tmp, KernelType::hellinger)};
  bow::GrayImage image;  // a small textured image for the pipelines of accepted models
  image.width = image.original_width = 48;
  image.height = image.original_height = 40;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      image.pixels.push_back(0.5F + 0.25F * std::sin(0.4F * x) * std::cos(0.3F * y) + ((x / 8 + y / 8) % 2 ? 0.2F : -0.2F));
  std::mt19937_64 rng(20261201);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  constexpr int kMutations = 4000;
  // BOWLRP_FUZZ_TRACE=1 logs each mutation and refusal (with --log_level=message), to find the one
  // that crashes.
  const bool trace = std::getenv("BOWLRP_FUZZ_TRACE") != nullptr;
  int refused_runtime = 0, refused_invalid = 0, accepted = 0, bad = 0;
  std::vector<int> accepted_by_kind(10, 0);
  for (int it = 0; it < kMutations; ++it) {
    const ModelParts& base = bases[it % bases.size()];
    ModelParts p = base;
    JsonEmitter e;
    const int kind = static_cast<int>(pick(10));
    auto data_at = [&](std::size_t align) { return p.data.empty() ? 0 : pick(p.data.size() / align) * align; };
    auto emit_count = [&] {
      JsonEmitter c;
      c.value(p.header);
      return std::make_pair(c.leaves, c.members);
    };
    auto json_edit = [&](int k) {
      const auto [leaves, members] = emit_count();
      if (k == 0) {
        e.leaf = static_cast<long>(pick(leaves));
        e.raw = raws[pick(raws.size())];
      } else if (k == 1) {
        e.drop = static_cast<long>(pick(members));
      } else {
        e.dup = static_cast<long>(pick(members));
        if (rng() % 2) e.dup_raw = raws[pick(raws.size())];
      }
    };
    auto size_edit = [&] {  // one size or offset of the array table, or a pair that must agree
      json& a = p.header["arrays"][pick(3)];
      const char* field = std::array<const char*, 4>{"offset", "nbytes", "shape", "shape"}[pick(4)];
      std::uint64_t v = sizes[pick(sizes.size())];
      if (rng() % 2 && std::string(field) != "shape") v = a[field].get<std::uint64_t>() + 8 * (rng() % 2 ? 1 : -1);
      if (std::string(field) == "shape") {
        const std::size_t axis = pick(2);
        a["shape"][axis] = v;
        // keep the header's own count in step, so that only the byte ranges disagree
        const std::string name = a["name"];
        if (name == "support_vectors") p.header[axis ? "dim" : "support_size"] = v;
        if (name == "codebook_centres" && axis == 0) p.header["pipeline"]["kmeans"]["words"] = v;
        if (name == "coefficients" && axis == 1) p.header["support_size"] = v;
      } else {
        a[field] = v;
      }
    };
    switch (kind) {
      case 0: case 1: case 2: json_edit(kind); break;
      case 3: if (!p.data.empty()) p.data[data_at(1)] ^= static_cast<char>(1 + pick(255)); break;
      case 4: if (p.data.size() >= 8) put_f8(p.data, data_at(8), doubles[pick(doubles.size())]); break;
      case 5: put_f4(p.data, pick(6 * 128) * 4, floats[pick(floats.size())]); break;
      case 6: size_edit(); break;
      case 7:  // the data section grows or shrinks, with or without data_bytes
        if (rng() % 2) p.data.append(8 * (1 + pick(3)), '\0');
        else p.data.resize(p.data.size() - std::min(p.data.size(), std::size_t{8} * (1 + pick(3))));
        if (rng() % 2) p.header["data_bytes"] = p.data.size();
        break;
      case 8: json_edit(0); break;
      default:  // several at once
        size_edit();
        json_edit(static_cast<int>(pick(3)));
        if (p.data.size() >= 8) put_f8(p.data, data_at(8), doubles[pick(doubles.size())]);
        break;
    }
    e.value(p.header);
    std::string text = e.out;
    if (kind == 8 && !text.empty()) text[pick(text.size())] = static_cast<char>(rng() & 0xFF);  // plus a raw byte
    std::string bytes = assemble_model(text, p.data);
    if (kind == 9 && rng() % 4 == 0) {  // a wrong header length, checksum recomputed
      std::string re = bytes.substr(0, 13);
      append_le64(re, le64(bytes, 13) + 8 * (rng() % 2 ? 1 : -1));
      re += bytes.substr(21, bytes.size() - 29);
      append_le64(re, table_crc32(re, re.size()));
      bytes = re;
    }
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    if (trace) BOOST_TEST_MESSAGE("mutation " << it << " kind " << kind);
    Classifier cl;
    try {
      cl = load_classifier(path);
    } catch (const std::runtime_error& ex) {
      ++refused_runtime;
      if (trace) BOOST_TEST_MESSAGE("refused: " << ex.what());
      continue;
    } catch (const std::invalid_argument& ex) {
      ++refused_invalid;
      if (trace) BOOST_TEST_MESSAGE("refused: " << ex.what());
      continue;
    }
    ++accepted;
    ++accepted_by_kind[kind];
    // An accepted model must be sound: finite decisions on histograms, and the pipeline its options
    // describe runs on an image and gives a histogram in [0, 1]^V (the domain of the loader's bounds).
    std::string problem;
    try {
      const std::size_t V = cl.svm.dim();
      std::vector<double> x(V);
      for (int probe = 0; probe < 4 && problem.empty(); ++probe) {
        for (std::size_t d = 0; d < V; ++d) x[d] = probe == 0 ? 0.0 : probe == 1 ? 1.0 : (rng() % 1000) / 999.0;
        if (probe == 3) {  // an L1-normalised histogram
          double s = 0;
          for (double v : x) s += v;
          for (double& v : x) v = s > 0 ? v / s : 0.0;
        }
        for (double f : cl.svm.decision(x.data()))
          if (!std::isfinite(f)) problem = "a non-finite decision on a histogram";
      }
      const bow::Pipeline pipeline(cl.options, cl.codebook);
      const std::vector<double> h = pipeline.encode(image).histogram();
      if (h.size() != V || !std::all_of(h.begin(), h.end(), [](double v) { return v >= 0 && v <= 1 + 1e-6; }))
        problem = "an image histogram outside [0, 1]^V";
      for (double f : cl.svm.decision(h.data()))
        if (!std::isfinite(f)) problem = "a non-finite decision on an image";
    } catch (const std::exception& ex) {
      problem = std::string("an exception when used: ") + ex.what();
    }
    if (!problem.empty()) {
      ++bad;
      BOOST_TEST_MESSAGE("mutation " << it << " (kind " << kind << ") was accepted but gives " << problem);
    }
  }
  std::string by_kind;
  for (int n : accepted_by_kind) by_kind += " " + std::to_string(n);
  BOOST_TEST_MESSAGE("fuzzed model files: " << kMutations << " mutations, " << refused_runtime
                                            << " refused (runtime_error), " << refused_invalid
                                            << " refused (invalid_argument), " << accepted
                                            << " accepted (by mutation kind:" << by_kind << ")");
  BOOST_TEST(bad == 0);
  BOOST_TEST(refused_runtime + refused_invalid + accepted == kMutations);
  // Both outcomes must be exercised, or the fuzzer is not testing the checks.
  BOOST_TEST(accepted > 50);
  BOOST_TEST(refused_runtime > kMutations / 2);
}

BOOST_AUTO_TEST_CASE(default_pipeline_options_are_the_measured_ones) {
  const bow::PipelineOptions o;
  BOOST_TEST(o.pooling.pyramid.size() == 2u);
  BOOST_TEST(o.pooling.cells() == 5);
  BOOST_TEST(o.kmeans.words == 1024);
  BOOST_TEST((o.dsift.bin_sizes == std::vector<int>{4, 6, 8, 10}));
  // The stage struct alone keeps its own default (no pyramid).
  BOOST_TEST(bow::PoolingOptions{}.cells() == 1);
}

namespace {
// Twelve small in-memory images of two classes: a bright or a dark disc, off centre, on noise.
bowlrp::model::LabelledImages two_disc_images() {
  std::vector<bow::GrayImage> images;
  std::vector<std::string> labels;
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  const bow::ImageLoader loader(bow::ImageOptions{0});
  for (int i = 0; i < 12; ++i) {
    const int W = 48, H = 40;
    const double cx = W * (0.3 + 0.4 * u(rng)), cy = H * (0.3 + 0.4 * u(rng)), level = i % 2 ? 0.9 : 0.1;
    std::vector<float> px(static_cast<std::size_t>(W) * H);
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        px[static_cast<std::size_t>(y) * W + x] = static_cast<float>(
            (x - cx) * (x - cx) + (y - cy) * (y - cy) < 100 ? level : 0.5 + 0.3 * (u(rng) - 0.5));
    images.push_back(loader.from_gray(px.data(), W, H));
    labels.push_back(i % 2 ? "bright" : "dark");
  }
  return bowlrp::model::LabelledImages::from_images(std::move(images), labels);
}

// A tiny Fisher model with a linear head for those images.
bowlrp::model::FitOptions tiny_fisher_fit_options() {
  bowlrp::model::FitOptions o;
  o.encoding = "fisher-vector";
  o.pipeline.image.max_side = 0;
  o.pipeline.dsift.bin_sizes = {4};
  o.fisher.pca_dimension = 4;
  o.fisher.components = 2;
  o.fisher.samples = 2000;
  o.threads = 2;
  o.mirror_training = false;  // the tests that want mirrors say so
  return o;
}
}  // namespace

BOOST_AUTO_TEST_CASE(fit_without_keep_encoded_releases_the_training_rows_only) {
  // keep_encoded = false empties FitReport::encoded.histograms and changes nothing else (same head
  // bits, same ok flags and dimension).
  const bowlrp::model::LabelledImages data = two_disc_images();
  const std::vector<bow::GrayImage>& images = data.images.decoded();
  bowlrp::model::FitOptions o = tiny_fisher_fit_options();
  bowlrp::model::FitReport kept, released;
  const bowlrp::model::Model a = bowlrp::model::fit(data, o, {}, &kept);
  BOOST_TEST(o.keep_encoded);  // the default keeps them
  o.keep_encoded = false;
  const bowlrp::model::Model b = bowlrp::model::fit(data, o, {}, &released);
  const std::size_t V = a.head_as<bowlrp::svm::LinearSvm>().dim();
  BOOST_TEST(kept.encoded.histograms.size() == images.size() * V);
  BOOST_TEST(released.encoded.histograms.empty());
  BOOST_TEST(released.encoded.dim == V);
  BOOST_TEST(released.encoded.ok == kept.encoded.ok);
  BOOST_TEST(released.used == kept.used);
  BOOST_TEST(released.training_accuracy == kept.training_accuracy);
  for (std::size_t c = 0; c < 2; ++c) {
    BOOST_TEST(a.head_as<bowlrp::svm::LinearSvm>().classes()[c].bias == b.head_as<bowlrp::svm::LinearSvm>().classes()[c].bias);
    BOOST_TEST(a.head_as<bowlrp::svm::LinearSvm>().classes()[c].weights == b.head_as<bowlrp::svm::LinearSvm>().classes()[c].weights);
  }
}

BOOST_AUTO_TEST_CASE(mirror_left_right_reverses_every_row) {
  const bow::ImageLoader loader(bow::ImageOptions{0});
  std::vector<float> px(7 * 3);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>(i) / px.size();
  const bow::GrayImage g = loader.from_gray(px.data(), 7, 3);
  const bow::GrayImage m = bow::mirror_left_right(g);
  BOOST_TEST(m.width == 7);
  BOOST_TEST(m.height == 3);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 7; ++x) BOOST_TEST(m.at(x, y) == g.at(6 - x, y));
  BOOST_TEST(bow::mirror_left_right(m).pixels == g.pixels);
}

BOOST_AUTO_TEST_CASE(mirror_training_adds_each_images_mirror_with_its_labels) {
  // Rows n + i of the report are the encoding of image i's mirror, bit for bit; the head is the one
  // trained on all 2n rows with each image's labels repeated for its mirror; used and the training
  // accuracy count the images only. Without mirrors the head differs (the option is not ignored).
  const bowlrp::model::LabelledImages data = two_disc_images();
  const std::size_t n = data.images.size(), C = data.class_names.size();
  bowlrp::model::FitOptions o = tiny_fisher_fit_options();
  // The default: on for Fisher vectors, off for Bag-of-Words; an explicit value wins.
  bowlrp::model::FitOptions d;
  BOOST_TEST(!d.mirrors());
  d.encoding = "fisher-vector";
  BOOST_TEST(d.mirrors());
  BOOST_TEST(!o.mirrors());
  bowlrp::model::FitReport plain, mirrored;
  const bowlrp::model::Model a = bowlrp::model::fit(data, o, {}, &plain);
  o.mirror_training = true;
  const bowlrp::model::Model b = bowlrp::model::fit(data, o, {}, &mirrored);
  const std::size_t V = b.head_as<bowlrp::svm::LinearSvm>().dim();
  BOOST_TEST(mirrored.used == n);
  BOOST_TEST(mirrored.encoded.ok.size() == 2 * n);
  BOOST_TEST(mirrored.encoded.histograms.size() == 2 * n * V);
  BOOST_TEST(mirrored.skipped.empty());
  const auto& fisher = *std::get<std::shared_ptr<const bow::FisherPipeline>>(b.encoding());
  for (std::size_t i = 0; i < n; ++i) {
    const std::vector<double> original = fisher.encode(data.images.decoded()[i]).fisher;
    const std::vector<double> mirror = fisher.encode(bow::mirror_left_right(data.images.decoded()[i])).fisher;
    BOOST_TEST(std::equal(original.begin(), original.end(), mirrored.encoded.row(i)));
    BOOST_TEST(std::equal(mirror.begin(), mirror.end(), mirrored.encoded.row(n + i)));
    BOOST_TEST(mirror != original);
  }
  std::vector<int> labels(2 * n * C);
  for (std::size_t i = 0; i < 2 * n; ++i)
    std::copy(data.labels.begin() + (i % n) * C, data.labels.begin() + (i % n + 1) * C, labels.begin() + i * C);
  svm::TrainOptions t = o.svm;
  t.C = o.fisher_C;
  t.threads = 1;
  const svm::LinearSvm reference =
      svm::train_linear_one_vs_rest(mirrored.encoded.histograms.data(), 2 * n, V, labels, data.class_names, t);
  bool differs = false;
  for (std::size_t c = 0; c < C; ++c) {
    BOOST_TEST(b.head_as<bowlrp::svm::LinearSvm>().classes()[c].bias == reference.classes()[c].bias);
    BOOST_TEST(b.head_as<bowlrp::svm::LinearSvm>().classes()[c].weights == reference.classes()[c].weights);
    differs |= a.head_as<bowlrp::svm::LinearSvm>().classes()[c].weights != b.head_as<bowlrp::svm::LinearSvm>().classes()[c].weights;
  }
  BOOST_TEST(differs);
  const std::vector<double> F = b.scores_batch(mirrored.encoded.histograms.data(), n, 1);
  BOOST_TEST(mirrored.training_accuracy ==
             bowlrp::model::top1_accuracy(F, data.labels, std::vector<char>(n, 1), C));
}

BOOST_AUTO_TEST_CASE(mirrors_are_cached_under_keys_of_their_own_and_failures_named_once) {
  // Image files: the first pass computes n images + n mirrors (2n cache entries), the second reads
  // the same bits back; an unreadable file fails once, not once more for its mirror.
  TempDir tmp;
  const bowlrp::model::LabelledImages data = two_disc_images();
  const std::size_t n = data.images.size();
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < n; ++i) {
    const bow::GrayImage& g = data.images.decoded()[i];
    std::string pgm = "P5\n" + std::to_string(g.width) + " " + std::to_string(g.height) + "\n255\n";
    for (float v : g.pixels) pgm += static_cast<char>(static_cast<unsigned char>(std::lround(v * 255)));
    paths.push_back(tmp / ("img" + std::to_string(i) + ".pgm"));
    core::write_file_atomic(paths.back(), pgm);
  }
  bowlrp::model::FitOptions o = tiny_fisher_fit_options();
  const bowlrp::model::Model m = bowlrp::model::fit(data, o);
  const std::string cache = tmp / "cache";
  const bowlrp::model::EncodedSet first = bowlrp::model::encode_with_mirrors(m.encoding(), paths, 2, cache);
  std::size_t entries = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cache)) entries += e.is_regular_file();
  BOOST_TEST(entries == 2 * n);
  const bowlrp::model::EncodedSet again = bowlrp::model::encode_with_mirrors(m.encoding(), paths, 1, cache);
  BOOST_TEST(again.histograms == first.histograms);
  const bowlrp::model::EncodedSet uncached = bowlrp::model::encode_with_mirrors(m.encoding(), paths, 1);
  BOOST_TEST(uncached.histograms == first.histograms);
  const bowlrp::model::EncodedSet plain = bowlrp::model::encode_images(m.encoding(), paths, 1, cache);
  BOOST_TEST(std::equal(plain.histograms.begin(), plain.histograms.end(), first.histograms.begin()));

  core::write_file_atomic(paths[3], "P5\n48 40\n255\n");  // truncated
  const bowlrp::model::EncodedSet broken = bowlrp::model::encode_with_mirrors(m.encoding(), paths, 2);
  BOOST_TEST(!broken.ok[3]);
  BOOST_TEST(!broken.ok[n + 3]);
  BOOST_REQUIRE(broken.failures.size() == 1u);
  BOOST_TEST(broken.failures[0].path == paths[3]);
}

namespace {

// The images of two_disc_images() as PGM files in dir, and the same set naming them.
bowlrp::model::LabelledImages two_disc_files(const TempDir& dir) {
  bowlrp::model::LabelledImages data = two_disc_images();
  std::vector<std::string> paths(data.images.size());
  for (std::size_t i = 0; i < data.images.size(); ++i) {
    const bow::GrayImage& g = data.images.decoded()[i];
    std::string pgm = "P5\n" + std::to_string(g.width) + " " + std::to_string(g.height) + "\n255\n";
    for (float v : g.pixels) pgm += static_cast<char>(static_cast<unsigned char>(std::lround(v * 255)));
    paths[i] = dir / ("img" + std::to_string(i) + ".pgm");
    core::write_file_atomic(paths[i], pgm);
  }
  data.images = paths;
  return data;
}

// Fits with a cache that cannot be written: no image may be left out, the model is the one trained
// without a cache, and the failure is noted once per stage, naming the cache file and the reason.
void expect_unwritable_cache_changes_nothing(const bowlrp::model::LabelledImages& data, const std::string& cache,
                                             const std::string& reason) {
  TempDir out;
  bowlrp::model::FitOptions o = tiny_fisher_fit_options();
  o.mirror_training = true;  // mirrors too have entries of their own
  const bowlrp::model::Model plain = bowlrp::model::fit(data, o);
  plain.save(out / "plain.bowlrp");
  o.cache_dir = cache;
  std::vector<std::string> notes;
  const core::ProgressFn progress = [&](const core::ProgressEvent& e) {
    if (e.kind == core::ProgressEvent::Kind::note && e.text.find("cache not written") != std::string::npos)
      notes.push_back(e.text);
  };
  bowlrp::model::FitReport report;
  const bowlrp::model::Model cached = bowlrp::model::fit(data, o, progress, &report);
  BOOST_TEST(report.skipped.empty(), report.skipped.size() << " images skipped, the first: "
                                                          << (report.skipped.empty() ? "" : report.skipped[0].reason));
  BOOST_TEST(report.used == data.images.size());
  cached.save(out / "cached.bowlrp");
  BOOST_TEST((core::read_file(out / "cached.bowlrp") == core::read_file(out / "plain.bowlrp")));
  BOOST_TEST(notes.size() == 2u);  // the mixture's stage and the encoding's, once each
  for (const std::string& n : notes) {
    BOOST_TEST(n.find(cache) != std::string::npos, n);
    BOOST_TEST(n.find(reason) != std::string::npos, n);
    BOOST_TEST(n.find("going on without caching") != std::string::npos, n);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_cache_that_cannot_be_written_never_removes_an_image_from_training) {
  TempDir tmp;
  const bowlrp::model::LabelledImages data = two_disc_files(tmp);
  // A cache folder under a regular file: every entry fails to be created.
  core::write_file_atomic(tmp / "not_a_folder", "x");
  expect_unwritable_cache_changes_nothing(data, tmp / "not_a_folder/cache", "is a file, not a folder");
}

BOOST_AUTO_TEST_CASE(a_full_cache_disk_never_removes_an_image_from_training) {
  // A 420 KB tmpfs filled to the last byte (CI runs as root and can mount one).
  TempDir tmp;
  const bowlrp::model::LabelledImages data = two_disc_files(tmp);
  const std::string disk = tmp / "disk";
  std::filesystem::create_directories(disk);
  if (::mount("tmpfs", disk.c_str(), "tmpfs", 0, "size=420k") != 0) {
    std::cerr << "\n*** SKIPPED: cannot mount a tmpfs (" << std::strerror(errno)
              << "; needs root): the full-disk cache case is not tested ***\n\n";
    return;
  }
  struct Unmount {
    std::string dir;
    ~Unmount() { ::umount2(dir.c_str(), MNT_DETACH); }
  } unmount{disk};
  {
    std::ofstream fill(disk + "/filler", std::ios::binary);
    const std::string block(4096, 'x');
    for (int i = 0; i < 200 && fill.write(block.data(), block.size()).flush(); ++i) {
    }
  }
  expect_unwritable_cache_changes_nothing(data, disk + "/cache", "No space left on device");
}

BOOST_AUTO_TEST_CASE(explainers_keep_their_model_alive) {  // flippers: the evaluation suite
  const Classifier cl = sample_classifier(KernelType::intersection);
  std::optional<decompose::Explainer> explainer;
  bow::EncodeTrace trace;
  std::vector<float> px(64 * 48, 0.25f);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>((i * 37 % 101) / 101.0);
  {
    // The model is a temporary of this scope: what is built from it must not point into it.
    const bowlrp::model::Model m(bow::Pipeline(cl.options, cl.codebook), cl.svm);
    explainer.emplace(m.explainer());
    trace = std::get<bow::EncodeTrace>(m.encode(m.encoding_as<bowlrp::bow::Pipeline>().loader().from_gray(px.data(), 64, 48)));
  }
  const decompose::Explanation e = explainer->explain(trace, 1);
  BOOST_TEST(std::isfinite(e.dimensions.f));
  BOOST_TEST(std::abs(e.dimensions.f - decompose::head_decision(explainer->head(), 1, trace.histogram().data())) < 1e-12);
}

BOOST_AUTO_TEST_CASE(a_trace_of_another_codebook_is_refused) {
  const Classifier cl = sample_classifier(KernelType::intersection);
  const bowlrp::model::Model a(bow::Pipeline(cl.options, cl.codebook), cl.svm);
  // Same options, same number of words, other words: the histograms have the right size but mean
  // something else.
  std::vector<float> centres = cl.codebook.centres();
  std::reverse(centres.begin(), centres.end());
  const bowlrp::model::Model b(bow::Pipeline(cl.options, bow::Codebook(128, centres)), cl.svm);
  BOOST_TEST(a.fingerprint().hex() != b.fingerprint().hex());
  std::vector<float> px(64 * 48);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>((i * 53 % 97) / 97.0);
  const bowlrp::model::Trace tb = b.encode(b.encoding_as<bowlrp::bow::Pipeline>().loader().from_gray(px.data(), 64, 48));
  BOOST_TEST(bowlrp::model::head_input(tb).size() == a.dimension());
  auto message = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  BOOST_TEST(message([&] { a.explainer().explain(std::get<bow::EncodeTrace>(tb), 0); }).find("another pipeline") !=
             std::string::npos);
  BOOST_TEST(message([&] { a.scores(tb); }).find("another encoding") != std::string::npos);
  BOOST_CHECK_NO_THROW(b.explainer().explain(std::get<bow::EncodeTrace>(tb), 0));
  // The loaded model has the fingerprint of the saved one.
  test::TempDir tmp;
  a.save(tmp / "a.bowlrp");
  BOOST_TEST(bowlrp::model::Model::load(tmp / "a.bowlrp").fingerprint().hex() == a.fingerprint().hex());
}

BOOST_AUTO_TEST_CASE(model_scores_and_batches_agree_with_the_head) {
  const Classifier cl = sample_classifier(KernelType::intersection);
  const bowlrp::model::Model m(bow::Pipeline(cl.options, cl.codebook), cl.svm);
  BOOST_TEST(m.classes() == 3u);
  BOOST_TEST(m.class_index("bicycle") == 1u);
  BOOST_CHECK_THROW(m.class_index("boat"), std::invalid_argument);
  BOOST_TEST(std::string(m.encoding_kind()) == "bag-of-words");
  BOOST_TEST(std::string(m.head_kind()) == "kernel-svm");
  const std::vector<double> X = random_histograms(7, m.dimension(), 3);
  const std::vector<double> F = m.scores_batch(X.data(), 7, 2);
  for (std::size_t i = 0; i < 7; ++i) {
    const std::vector<double> f = m.scores(X.data() + i * m.dimension());
    for (std::size_t c = 0; c < 3; ++c) BOOST_TEST(F[i * 3 + c] == f[c]);
    BOOST_TEST(bowlrp::model::top_class(f) == static_cast<std::size_t>(std::max_element(f.begin(), f.end()) - f.begin()));
  }
  BOOST_CHECK_THROW(m.scores_batch(X.data(), 7, 100000), std::invalid_argument);
  BOOST_CHECK_THROW(bowlrp::model::top_class(nullptr, 0), std::invalid_argument);
  // A head whose dimension differs from the encoding's is refused.
  bow::PipelineOptions other = cl.options;
  other.pooling.pyramid = {{1, 1}};
  BOOST_CHECK_THROW(bowlrp::model::Model(bow::Pipeline(other, cl.codebook), cl.svm), std::invalid_argument);
}

// ---- format_version 2: every encoding with every head ----

namespace {

using EncodingKind = std::string;  // a kind name (model/kinds.h)
using HeadKind = std::string;
using bowlrp::model::Model;

/// Uniform values in [0, 1) from the raw engine output: std distributions differ between standard
/// libraries, and the golden file below must not.
struct Uniform {
  std::mt19937_64 rng;
  explicit Uniform(std::uint64_t seed) : rng(seed) {}
  double operator()() { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
};

const std::vector<std::string> kTinyClasses = {"aeroplane", "naïve ünïcode", "cat"};

/// Bag-of-Words over 4 words and a 1x1 + 2x2 pyramid: V = 20.
bow::Pipeline tiny_bag_of_words(Uniform& u) {
  bow::PipelineOptions o;
  o.image.max_side = 200;
  o.dsift.bin_sizes = {4, 6};
  o.dsift.step = 5;
  o.kmeans.words = 4;
  o.kmeans.seed = 9;
  o.mapping.kind = bow::MappingKind::soft;
  o.mapping.neighbours = 2;
  o.pooling.pyramid = {{1, 1}, {2, 2}};
  std::vector<float> centres(4 * 128);
  for (float& c : centres) c = static_cast<float>(0.25 * u());
  return bow::Pipeline(o, bow::Codebook(128, std::move(centres)));
}

/// Fisher vectors with D = 4 principal components, xy appended (G = 6), K = 3 components and a
/// 1x1 + 1x2 pyramid: V = 2 x 3 x 6 x 3 = 108.
bow::FisherPipelineOptions tiny_fisher_options() {
  bow::FisherPipelineOptions o;
  o.image.max_side = 200;
  o.dsift.bin_sizes = {4, 6};
  o.dsift.step = 5;
  o.dsift.magnif = 5.5;
  o.dsift.contrast_threshold = 0.0123456789012345;
  o.dsift.fast = false;
  o.fisher.pca_dimension = 4;
  o.fisher.root_sift = true;
  o.fisher.append_xy = true;
  o.fisher.components = 3;
  o.fisher.samples = 12345;
  o.fisher.max_iterations = 17;
  o.fisher.seed = (std::uint64_t{1} << 63) + 5;
  o.fisher.posterior_threshold = 1e-3;
  o.fisher.pyramid = {{1, 1}, {1, 2}};
  o.fisher.skip_zeroed = false;  // files of this fixture keep the bytes of files written before the option
  return o;
}

bow::FisherParameters tiny_fisher_parameters(Uniform& u) {
  bow::FisherParameters p;
  for (int j = 0; j < 128; ++j) p.mean.push_back(0.2 * u());
  for (int r = 0; r < 4; ++r) {  // unit rows, as principal axes are
    std::vector<double> row(128);
    double norm = 0;
    for (double& v : row) {
      v = u() - 0.5;
      norm += v * v;
    }
    for (double v : row) p.projection.push_back(v / std::sqrt(norm));
  }
  for (int i = 0; i < 3 * 6; ++i) p.means.push_back(u() - 0.5);
  for (int i = 0; i < 3 * 6; ++i) p.variances.push_back(0.05 + u());
  p.priors = {0.25, 0.25, 0.5};
  return p;
}

/// Dense layers of the given sizes n_0 .. n_L, weights in [-1, 1) and biases in [-0.5, 0.5).
std::vector<nn::DenseLayer> tiny_layers(Uniform& u, const std::vector<std::size_t>& sizes) {
  std::vector<nn::DenseLayer> layers;
  for (std::size_t l = 1; l < sizes.size(); ++l) {
    nn::DenseLayer d;
    d.inputs = sizes[l - 1];
    d.outputs = sizes[l];
    for (std::size_t k = 0; k < d.inputs * d.outputs; ++k) d.weights.push_back(2 * u() - 1);
    for (std::size_t j = 0; j < d.outputs; ++j) d.biases.push_back(u() - 0.5);
    layers.push_back(std::move(d));
  }
  return layers;
}

/// A model of each kind built by hand (no training), its values drawn from `seed`; the mlp head has
/// sizes [V, 6, 4, 3].
Model tiny_model(EncodingKind encoding, HeadKind head, std::uint64_t seed = 1) {
  Uniform u(seed);
  bowlrp::model::Encoding e;
  std::size_t V = 0;
  if (encoding == "bag-of-words") {
    e = std::make_shared<const bow::Pipeline>(tiny_bag_of_words(u));
    V = 20;
  } else {
    bow::FisherParameters p = tiny_fisher_parameters(u);
    e = std::make_shared<const bow::FisherPipeline>(tiny_fisher_options(), std::move(p));
    V = 108;
  }
  const bool fisher = encoding == "fisher-vector";
  bowlrp::model::Head h;
  if (head == "kernel-svm") {
    const std::size_t S = 5;
    std::vector<double> support(S * V);
    for (double& s : support) s = fisher ? (2 * u() - 1) / std::sqrt(static_cast<double>(V)) : u();
    std::vector<BinarySvm> classes;
    for (const std::string& name : kTinyClasses) {
      BinarySvm c{name, u() - 0.5, {}};
      for (std::size_t i = 0; i < S; ++i) c.coef.push_back(2 * u() - 1);
      classes.push_back(c);
    }
    const Kernel kernel = fisher ? make_kernel(KernelType::rbf, 0.7)
                                 : make_kernel(KernelType::intersection, 0, {{0, 4, 1.0}, {4, 20, 0.25}});
    h = std::make_shared<const KernelSvm>(kernel, V, std::move(support), std::move(classes));
  } else if (head == "linear-svm") {
    std::vector<LinearClass> classes;
    for (const std::string& name : kTinyClasses) {
      LinearClass c{name, u() - 0.5, {}};
      for (std::size_t d = 0; d < V; ++d) c.weights.push_back(2 * u() - 1);
      classes.push_back(c);
    }
    h = std::make_shared<const LinearSvm>(V, std::move(classes));
  } else {
    h = std::make_shared<const nn::Network>(tiny_layers(u, {V, 6, 4, kTinyClasses.size()}), kTinyClasses);
  }
  return Model(std::move(e), std::move(h));
}

/// n random inputs of an encoding's domain: histograms in [0, 1]^V or Fisher vectors in [-1, 1]^V.
std::vector<double> random_inputs(EncodingKind encoding, std::size_t n, std::size_t V, std::uint64_t seed) {
  if (encoding == "bag-of-words") return random_histograms(n, V, seed);
  Uniform u(seed);
  std::vector<double> X(n * V);
  for (double& x : X) x = 2 * u() - 1;
  return X;
}

/// A small textured grey image, for encoding.
bow::GrayImage textured_image() {
  bow::GrayImage image;
  image.width = image.original_width = 64;
  image.height = image.original_height = 56;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      image.pixels.push_back(0.5F + 0.25F * std::sin(0.4F * x) * std::cos(0.3F * y) + ((x / 8 + y / 8) % 2 ? 0.2F : -0.2F));
  return image;
}

std::string kinds_label(EncodingKind e, HeadKind h) {
  return std::string(e) + "_" + std::string(h);
}

/// The parts of a saved tiny model, for crafting.
ModelParts tiny_parts(const test::TempDir& tmp, EncodingKind e, HeadKind h) {
  const std::string path = tmp / ("tiny_" + kinds_label(e, h) + ".bowlrp");
  tiny_model(e, h).save(path);
  return split_model(core::read_file(path));
}

/// A string as the loader's messages quote it.
std::string escaped_json(const std::string& s) { return json(s).dump(); }

/// Loads crafted bytes as a model of any kind; the message of the refusal, or "" when accepted.
std::string model_error_of(const std::string& path) {
  try {
    bowlrp::model::load_model(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

/// As expect_refused, for files of any kind.
void expect_model_refused(const test::TempDir& tmp, const std::string& name, const std::string& bytes,
                          const std::vector<std::string>& expected) {
  const std::string path = tmp / (name + ".bowlrp");
  core::write_file_atomic(path, bytes);
  const std::string err = model_error_of(path);
  BOOST_TEST(!err.empty(), name << ": the crafted model was accepted");
  if (err.empty()) return;
  BOOST_TEST_MESSAGE(name << ": " << err);
  BOOST_TEST(err.find(path) != std::string::npos, name << ": '" << err << "' does not name the file");
  for (const std::string& e : expected)
    BOOST_TEST(err.find(e) != std::string::npos, name << ": '" << err << "' lacks '" << e << "'");
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_encoding_with_every_head_round_trips_bit_for_bit) {
  test::TempDir tmp;
  const bow::GrayImage image = textured_image();
  for (EncodingKind e : {"bag-of-words", "fisher-vector"})
    for (HeadKind h : {"kernel-svm", "linear-svm", "mlp"}) {
      const std::string label = kinds_label(e, h);
      BOOST_TEST_CONTEXT(label) {
        const Model m = tiny_model(e, h);
        const std::string path = tmp / (label + ".bowlrp");
        m.save(path);
        const Model back = Model::load(path);
        BOOST_TEST((back.encoding_kind() == e));
        BOOST_TEST((back.head_kind() == h));
        BOOST_TEST(back.class_names() == kTinyClasses);
        BOOST_TEST(back.dimension() == m.dimension());
        BOOST_TEST(back.fingerprint().hex() == m.fingerprint().hex());
        // Decisions on random inputs of the encoding's domain, bit for bit, one by one and batched.
        const std::size_t V = m.dimension(), n = 9;
        const std::vector<double> X = random_inputs(e, n, V, 77);
        BOOST_TEST(bitwise_equal(back.scores_batch(X.data(), n, 2), m.scores_batch(X.data(), n, 2)));
        for (std::size_t r = 0; r < n; ++r) BOOST_TEST(bitwise_equal(back.scores(&X[r * V]), m.scores(&X[r * V])));
        // An image through the whole loaded model: the same vector and scores.
        const bowlrp::model::Trace t0 = m.encode(image), t1 = back.encode(image);
        BOOST_TEST(bitwise_equal(bowlrp::model::head_input(t1), bowlrp::model::head_input(t0)));
        BOOST_TEST(bitwise_equal(back.scores(t1), m.scores(t0)));
        // The stored stages, field by field and bit for bit.
        if (e == "fisher-vector") {
          const bow::FisherPipelineOptions &a = m.encoding_as<bowlrp::bow::FisherPipeline>().options(), &b = back.encoding_as<bowlrp::bow::FisherPipeline>().options();
          BOOST_TEST(b.image.max_side == a.image.max_side);
          BOOST_TEST(b.dsift.bin_sizes == a.dsift.bin_sizes);
          BOOST_TEST(b.dsift.contrast_threshold == a.dsift.contrast_threshold);
          BOOST_TEST(b.dsift.fast == a.dsift.fast);
          BOOST_TEST(b.fisher.pca_dimension == 4);
          BOOST_TEST(b.fisher.root_sift);
          BOOST_TEST(b.fisher.append_xy);
          BOOST_TEST(b.fisher.components == 3);
          BOOST_TEST(b.fisher.samples == a.fisher.samples);  // training records, outside the fingerprint
          BOOST_TEST(b.fisher.max_iterations == a.fisher.max_iterations);
          BOOST_TEST(b.fisher.seed == a.fisher.seed);
          BOOST_TEST(b.fisher.posterior_threshold == a.fisher.posterior_threshold);
          BOOST_TEST(b.fisher.cells() == 3);
          const bow::FisherParameters &p = m.encoding_as<bowlrp::bow::FisherPipeline>().parameters(), &q = back.encoding_as<bowlrp::bow::FisherPipeline>().parameters();
          BOOST_TEST(bitwise_equal(q.mean, p.mean));
          BOOST_TEST(bitwise_equal(q.projection, p.projection));
          BOOST_TEST(bitwise_equal(q.means, p.means));
          BOOST_TEST(bitwise_equal(q.variances, p.variances));
          BOOST_TEST(bitwise_equal(q.priors, p.priors));
        } else {
          BOOST_TEST(back.encoding_as<bowlrp::bow::Pipeline>().codebook().centres() == m.encoding_as<bowlrp::bow::Pipeline>().codebook().centres());
          BOOST_TEST((back.encoding_as<bowlrp::bow::Pipeline>().options().mapping.kind == bow::MappingKind::soft));
        }
        if (h == "kernel-svm") {
          const KernelSvm &a = m.head_as<bowlrp::svm::KernelSvm>(), &b = back.head_as<bowlrp::svm::KernelSvm>();
          BOOST_TEST((b.kernel().type == a.kernel().type));
          BOOST_TEST(b.kernel().gamma == a.kernel().gamma);
          BOOST_TEST(b.kernel().blocks.size() == a.kernel().blocks.size());
          BOOST_TEST(bitwise_equal(b.support(), a.support()));
          for (std::size_t c = 0; c < 3; ++c) {
            BOOST_TEST(b.classes()[c].bias == a.classes()[c].bias);
            BOOST_TEST(bitwise_equal(b.classes()[c].coef, a.classes()[c].coef));
          }
        } else if (h == "linear-svm") {
          const LinearSvm &a = m.head_as<bowlrp::svm::LinearSvm>(), &b = back.head_as<bowlrp::svm::LinearSvm>();
          for (std::size_t c = 0; c < 3; ++c) {
            BOOST_TEST(b.classes()[c].bias == a.classes()[c].bias);
            BOOST_TEST(bitwise_equal(b.classes()[c].weights, a.classes()[c].weights));
          }
        } else {
          const nn::Network &a = m.head_as<bowlrp::nn::Network>(), &b = back.head_as<bowlrp::nn::Network>();
          BOOST_TEST(b.class_names() == a.class_names());
          BOOST_TEST_REQUIRE(b.layers().size() == a.layers().size());
          for (std::size_t l = 0; l < a.layers().size(); ++l) {
            BOOST_TEST(b.layers()[l].inputs == a.layers()[l].inputs);
            BOOST_TEST(b.layers()[l].outputs == a.layers()[l].outputs);
            BOOST_TEST(bitwise_equal(b.layers()[l].weights, a.layers()[l].weights));
            BOOST_TEST(bitwise_equal(b.layers()[l].biases, a.layers()[l].biases));
          }
          // Saved again, the same bytes.
          back.save(tmp / (label + "_again.bowlrp"));
          BOOST_TEST(core::read_file(tmp / (label + "_again.bowlrp")) == core::read_file(path));
        }
        // The version written: 1 for what version 1 holds, 2 for the rest.
        const json header = split_model(core::read_file(path)).header;
        const bool v1 = e == "bag-of-words" && h == "kernel-svm";
        BOOST_TEST(header.at("format_version").get<int>() == (v1 ? 1 : 2));
        if (!v1) {
          BOOST_TEST(header.at("encoding").at("kind") == std::string(e));
          BOOST_TEST(header.at("head").at("kind") == std::string(h));
        }
      }
    }
}

BOOST_AUTO_TEST_CASE(bag_of_words_kernel_models_are_still_written_as_format_version_1) {
  test::TempDir tmp;
  const std::string path = tmp / "v1.bowlrp";
  tiny_model("bag-of-words", "kernel-svm").save(path);
  const std::string buf = core::read_file(path);
  const json header = split_model(buf).header;
  BOOST_TEST(header.at("format_version").get<int>() == 1);
  for (const char* key : {"pipeline", "kernel", "support_size"}) BOOST_TEST(header.contains(key), key);
  for (const char* key : {"encoding", "head"}) BOOST_TEST(!header.contains(key), key);
  std::vector<std::string> names;
  for (const json& a : header.at("arrays")) names.push_back(a.at("name"));
  BOOST_TEST((names == std::vector<std::string>{"codebook_centres", "support_vectors", "coefficients"}));
  // Byte for byte what the writer of format_version 1 alone (commit 30f2687) wrote for this model.
  BOOST_TEST(buf.size() == 4032u);
  BOOST_TEST(naive_crc32(buf, buf.size()) == 0x6522DF69u);
  // The CRC of a file with its own checksum appended is the same for every file (0x6522DF69): the
  // stored checksum, the CRC of the bytes before it, is what pins the content.
  BOOST_TEST(naive_crc32(buf, buf.size() - 8) == 0x941C8E7Fu);
}

BOOST_AUTO_TEST_CASE(version_2_files_keep_their_bytes) {
  // Byte for byte what the writer wrote for these models before the mlp head was stored, and the
  // mlp files as first written (so that any change of their bytes is deliberate).
  test::TempDir tmp;
  struct Golden {
    EncodingKind e;
    HeadKind h;
    std::size_t size;
    std::uint32_t crc;
  };
  for (const Golden& g : {Golden{"bag-of-words", "linear-svm", 3432, 0xAF915FCEu},
                          Golden{"fisher-vector", "kernel-svm", 11176, 0xDE4A60C7u},
                          Golden{"fisher-vector", "linear-svm", 9184, 0x971DA474u},
                          Golden{"bag-of-words", "mlp", 4616, 0x1A7FE6EEu},
                          Golden{"fisher-vector", "mlp", 12480, 0x6A667E51u}}) {
    const std::string path = tmp / (kinds_label(g.e, g.h) + ".bowlrp");
    tiny_model(g.e, g.h).save(path);
    const std::string buf = core::read_file(path);
    BOOST_TEST_CONTEXT(kinds_label(g.e, g.h)) {
      BOOST_TEST(buf.size() == g.size);
      BOOST_TEST(naive_crc32(buf, buf.size() - 8) == g.crc);  // the stored checksum
    }
  }
}

BOOST_AUTO_TEST_CASE(skip_zeroed_is_written_when_on_and_read_as_off_when_absent) {
  // On: the header's fisher object says "skip_zeroed": true and the option comes back; off (and every
  // file written before the option): no such field, read as off. Either way the same bytes again.
  test::TempDir tmp;
  const Model off = tiny_model("fisher-vector", "linear-svm");
  BOOST_TEST_REQUIRE(!off.encoding_as<bowlrp::bow::FisherPipeline>().options().fisher.skip_zeroed);
  bow::FisherPipelineOptions o = off.encoding_as<bowlrp::bow::FisherPipeline>().options();
  o.fisher.skip_zeroed = true;
  const Model on(std::make_shared<const bow::FisherPipeline>(o, off.encoding_as<bowlrp::bow::FisherPipeline>().parameters()), off.head());
  BOOST_TEST((on.encoding_as<bowlrp::bow::FisherPipeline>().fingerprint() != off.encoding_as<bowlrp::bow::FisherPipeline>().fingerprint()));
  for (const Model* m : {&off, &on}) {
    const bool skip = m == &on;
    const std::string path = tmp / (skip ? "on.bowlrp" : "off.bowlrp");
    m->save(path);
    const std::string bytes = core::read_file(path);
    BOOST_TEST((bytes.find("skip_zeroed") != std::string::npos) == skip);
    const Model back = Model::load(path);
    BOOST_TEST(back.encoding_as<bowlrp::bow::FisherPipeline>().options().fisher.skip_zeroed == skip);
    BOOST_TEST((back.encoding_as<bowlrp::bow::FisherPipeline>().fingerprint() == m->encoding_as<bowlrp::bow::FisherPipeline>().fingerprint()));
    back.save(path + ".again");
    BOOST_TEST(core::read_file(path + ".again") == bytes);
  }
}

BOOST_AUTO_TEST_CASE(a_version_2_header_of_a_bag_of_words_kernel_model_is_read_too) {
  // No writer produces it (such models are written as version 1), but version 2 can hold it.
  test::TempDir tmp;
  const Model m = tiny_model("bag-of-words", "kernel-svm");
  const std::string v1 = tmp / "v1.bowlrp";
  m.save(v1);
  ModelParts p = split_model(core::read_file(v1));
  json& h = p.header;
  h["format_version"] = 2;
  h["encoding"] = {{"kind", "bag-of-words"}, {"pipeline", h.at("pipeline")}};
  h["head"] = {{"kind", "kernel-svm"}, {"kernel", h.at("kernel")}, {"support_size", h.at("support_size")}};
  for (const char* key : {"pipeline", "kernel", "support_size"}) h.erase(key);
  const std::string v2 = tmp / "v2.bowlrp";
  core::write_file_atomic(v2, assemble_model(p));
  const Model back = Model::load(v2);
  BOOST_TEST(back.fingerprint().hex() == m.fingerprint().hex());
  const std::vector<double> X = random_inputs("bag-of-words", 5, 20, 4);
  BOOST_TEST(bitwise_equal(back.scores_batch(X.data(), 5, 1), m.scores_batch(X.data(), 5, 1)));
  // Saved again, it is version 1 as before.
  back.save(tmp / "again.bowlrp");
  BOOST_TEST(core::read_file(tmp / "again.bowlrp") == core::read_file(v1));
}

BOOST_AUTO_TEST_CASE(truncated_and_corrupt_version_2_files_are_refused) {
  test::TempDir tmp;
  for (HeadKind h : {"kernel-svm", "linear-svm", "mlp"}) {
    const std::string good = tmp / "good.bowlrp";
    tiny_model("fisher-vector", h).save(good);
    const std::string buf = core::read_file(good);
    BOOST_TEST(model_error_of(good).empty());
    const std::uint64_t N = le64(buf, 13);
    const std::string label = std::string(h);
    for (std::size_t cut : {std::size_t{17}, std::size_t{21 + N / 2}, std::size_t{21 + N + 40}, buf.size() / 2,
                            buf.size() - 3})
      expect_model_refused(tmp, label + "_cut" + std::to_string(cut), buf.substr(0, cut), {"truncated"});
    const ModelParts parts = split_model(buf);
    const std::string array = h == "kernel-svm" ? "coefficients" : h == "linear-svm" ? "weights" : "weights_2";
    for (const char* name : {"pca_projection", "gmm_variances", array.c_str()}) {
      std::string flipped = buf;
      flipped[21 + N + array_offset(parts, name) + 5] ^= 0x10;
      expect_model_refused(tmp, label + "_flip_" + name, flipped, {"checksum"});
    }
    std::string flipped_json = buf;
    flipped_json[flipped_json.find("fisher-vector")] = 'F';
    expect_model_refused(tmp, label + "_flip_json", flipped_json, {"checksum"});
    expect_model_refused(tmp, label + "_trailing", buf + "xxxxxxxx", {"trailing"});
  }
}

BOOST_AUTO_TEST_CASE(a_gmm_variance_at_or_below_zero_is_refused_with_the_fisher_parameters_message) {
  test::TempDir tmp;
  const ModelParts base = tiny_parts(tmp, "fisher-vector", "linear-svm");
  const std::size_t at = array_offset(base, "gmm_variances");
  for (double v : {0.0, -0.0, -0.25}) {
    ModelParts p = base;
    put_f8(p.data, at + 8 * 7, v);  // gmm_variances[1][1], FisherParameters::variances[7]
    expect_model_refused(tmp, "variance" + std::to_string(v), assemble_model(p),
                         {"the array gmm_variances", "FisherParameters::variances[7]", "expected a finite value > 0"});
  }
  // Above zero but below the floor of training, where the float log-likelihoods lose range.
  ModelParts p = base;
  put_f8(p.data, at + 8 * 7, 1e-30);
  expect_model_refused(tmp, "variance_tiny", assemble_model(p), {"gmm_variances[1][1]", "1e-30", "1e-12"});
}

BOOST_AUTO_TEST_CASE(an_unknown_encoding_or_head_kind_is_refused) {
  test::TempDir tmp;
  const ModelParts base = tiny_parts(tmp, "fisher-vector", "kernel-svm");
  // The command line's aliases ("fisher", "bow", "linear") are not file spellings.
  for (const char* kind : {"super-vector", "fisher", "bow", "Fisher-Vector", ""}) {
    ModelParts p = base;
    p.header["encoding"]["kind"] = kind;
    expect_model_refused(tmp, std::string("encoding_") + kind, assemble_model(p),
                         {"encoding.kind", escaped_json(kind), "expected \"bag-of-words\", \"fisher-vector\" or \"vlad\""});
  }
  {
    ModelParts p = base;
    p.header["encoding"]["kind"] = 7;
    expect_model_refused(tmp, "encoding_number", assemble_model(p), {"encoding.kind = 7", "string"});
  }
  for (const char* kind : {"tree", "linear", "kernel", "network", "MLP"}) {
    ModelParts p = base;
    p.header["head"]["kind"] = kind;
    expect_model_refused(tmp, std::string("head_") + kind, assemble_model(p),
                         {"head.kind", escaped_json(kind), "expected \"kernel-svm\", \"linear-svm\", \"mlp\" or \"explicit-map-svm\""});
  }
  ModelParts p = base;
  p.header["head"].erase("kind");
  expect_model_refused(tmp, "head_without_kind", assemble_model(p), {"head.kind", "missing"});
}

BOOST_AUTO_TEST_CASE(linear_weights_of_another_shape_are_refused) {
  test::TempDir tmp;
  for (EncodingKind e : {"bag-of-words", "fisher-vector"}) {
    const ModelParts base = tiny_parts(tmp, e, "linear-svm");
    const std::uint64_t V = base.header.at("dim");
    const std::string label = std::string(e);
    struct Case {
      std::uint64_t rows, cols;
      bool resize;  // nbytes, data_bytes and the data section follow the shape
    };
    for (const Case& c : {Case{3, V + 1, false}, Case{3, V - 1, true}, Case{4, V, true}, Case{2, V, true},
                          Case{V, 3, false}}) {
      ModelParts p = base;
      json& w = array_entry(p.header, "weights");
      w["shape"] = {c.rows, c.cols};
      if (c.resize) {
        w["nbytes"] = c.rows * c.cols * 8;
        p.data.resize(array_offset(base, "weights") + c.rows * c.cols * 8);
        p.header["data_bytes"] = p.data.size();
      }
      const std::string name = label + "_weights_" + std::to_string(c.rows) + "x" + std::to_string(c.cols);
      expect_model_refused(tmp, name, assemble_model(p),
                           {"weights", "[" + std::to_string(c.rows) + ", " + std::to_string(c.cols) + "]",
                            "[3, " + std::to_string(V) + "] = [number of classes, dim]"});
    }
    ModelParts p = base;
    array_entry(p.header, "weights")["shape"] = {3 * V};
    expect_model_refused(tmp, label + "_weights_flat", assemble_model(p), {"shape", "[rows, columns]"});
  }
}

BOOST_AUTO_TEST_CASE(crafted_version_2_files_are_refused_field_by_field) {
  test::TempDir tmp;
  const ModelParts fk = tiny_parts(tmp, "fisher-vector", "kernel-svm");
  const ModelParts fl = tiny_parts(tmp, "fisher-vector", "linear-svm");
  const ModelParts bl = tiny_parts(tmp, "bag-of-words", "linear-svm");
  struct Edit {
    const char* name;
    const ModelParts* base;
    std::function<void(ModelParts&)> edit;
    std::vector<std::string> expected;
  };
  auto set = [](const char* pointer, json v) {
    return [pointer, v](ModelParts& p) { p.header[json::json_pointer(pointer)] = v; };
  };
  auto put = [](const char* array, std::size_t i, double v) {
    return [array, i, v](ModelParts& p) { put_f8(p.data, array_offset(p, array) + 8 * i, v); };
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<Edit> edits = {
      // keys: version-1 fields, fields of the other head, misspellings, missing fields
      {"v1_field", &fk, set("/pipeline", json::object()), {"unknown field pipeline", "format_version 2"}},
      {"v1_kernel", &fl, set("/kernel", json::object()), {"unknown field kernel", "format_version 2"}},
      {"linear_support_size", &fl, set("/head/support_size", 5), {"head.support_size", "linear-svm"}},
      {"linear_kernel", &fl, set("/head/kernel", fk.header.at("head").at("kernel")), {"head.kernel", "linear-svm"}},
      {"fisher_kmeans", &fk, set("/encoding/pipeline/kmeans", json::object()), {"encoding.pipeline.kmeans", "unknown"}},
      {"fisher_misspelt", &fk, set("/encoding/pipeline/fisher/component", 3), {"encoding.pipeline.fisher.component", "unknown"}},
      {"fisher_missing", &fk, [](ModelParts& p) { p.header["encoding"]["pipeline"]["fisher"].erase("components"); },
       {"encoding.pipeline.fisher.components", "missing"}},
      {"support_missing", &fk, [](ModelParts& p) { p.header["head"].erase("support_size"); },
       {"head.support_size", "missing"}},
      {"as_version_1", &fk, set("/format_version", 1), {"unknown field encoding", "format_version 1"}},
      // options
      {"pca_dimension_0", &fk, set("/encoding/pipeline/fisher/pca_dimension", 0), {"encoding.pipeline.fisher.pca_dimension", "0"}},
      {"pca_dimension_129", &fk, set("/encoding/pipeline/fisher/pca_dimension", 129), {"pca_dimension", "129", "1 .. 128"}},
      {"components_huge", &fk, set("/encoding/pipeline/fisher/components", std::uint64_t{1} << 32),
       {"encoding.pipeline.fisher.components", "4294967296"}},
      {"threshold_1", &fl, set("/encoding/pipeline/fisher/posterior_threshold", 1.0), {"posterior_threshold", "[0, 1)"}},
      {"root_sift_number", &fl, set("/encoding/pipeline/fisher/root_sift", 1), {"encoding.pipeline.fisher.root_sift", "true or false"}},
      {"pyramid_empty", &fl, set("/encoding/pipeline/fisher/pyramid", json::array()), {"encoding.pipeline.fisher.pyramid"}},
      {"dsift_magnif", &fl, set("/encoding/pipeline/dsift/magnif", 1e-3), {"encoding.pipeline.dsift.magnif", "0.001"}},
      {"bow_words", &bl, set("/encoding/pipeline/kmeans/words", 5), {"encoding.pipeline.kmeans.words", "[5, 128]"}},
      // sizes
      {"fisher_dim", &fl, set("/dim", 107), {"dim = 107", "2 x 3 x 6 x 3 = 108"}},
      {"fisher_components", &fl, set("/encoding/pipeline/fisher/components", 4), {"dim = 108", "= 144"}},
      {"append_xy", &fk, set("/encoding/pipeline/fisher/append_xy", false), {"dim = 108", "= 72"}},
      {"bow_dim", &bl, set("/dim", 21), {"dim = 21", "4 x 5 = 20"}},
      {"gmm_shape", &fk, [](ModelParts& p) { array_entry(p.header, "gmm_means")["shape"] = {6, 3}; },
       {"gmm_means", "[6, 3]", "[3, 6]", "encoding.pipeline.fisher.components"}},
      {"priors_rank", &fk, [](ModelParts& p) { array_entry(p.header, "gmm_priors")["shape"] = {3, 1}; },
       {"shape", "[length]"}},
      {"priors_dtype", &fk, [](ModelParts& p) { array_entry(p.header, "gmm_priors")["dtype"] = "<f4"; },
       {"gmm_priors", "<f4", "<f8"}},
      {"priors_missing", &fk,
       [](ModelParts& p) {
         json& a = p.header["arrays"];
         for (std::size_t i = 0; i < a.size(); ++i)
           if (a[i]["name"] == "gmm_priors") a.erase(i);
       },
       {"no array 'gmm_priors'"}},
      {"codebook_in_fisher", &fl, [](ModelParts& p) { array_entry(p.header, "pca_mean")["name"] = "codebook_centres"; },
       {"codebook_centres", "expected pca_mean, pca_projection, gmm_means, gmm_variances, gmm_priors or weights"}},
      {"mean_overlaps", &fk, [](ModelParts& p) { array_entry(p.header, "pca_projection")["offset"] = 0; },
       {"offset", "tile"}},
      {"too_many_classes", &fl,
       [](ModelParts& p) {  // 40 rows of weights cannot fit in the data section
         for (int c = 3; c < 40; ++c) p.header["classes"].push_back({{"name", "c" + std::to_string(c)}, {"bias", 0}});
       },
       {"40 classes", "40 x dim 108 weights cannot fit in the data section"}},
      // values
      {"variance_nan", &fk, put("gmm_variances", 2, nan), {"array gmm_variances", "FisherParameters::variances[2]"}},
      {"mean_nan", &fk, put("pca_mean", 3, nan), {"array pca_mean", "FisherParameters::mean[3] is not finite"}},
      {"prior_zero", &fl, put("gmm_priors", 1, 0.0), {"array gmm_priors", "FisherParameters::priors[1]", "> 0"}},
      {"priors_sum", &fl, put("gmm_priors", 2, 0.4), {"FisherParameters::priors sum to 0.9", "expected 1"}},
      {"projection_big", &fk, put("pca_projection", 130, 1.5), {"pca_projection[1][2] = 1.5", "[-1, 1]"}},
      {"pca_mean_negative", &fl, put("pca_mean", 5, -0.1), {"pca_mean[5] = -0.1", "[0, 1]"}},
      {"gmm_mean_far", &fl, put("gmm_means", 8, 1e5), {"gmm_means[1][2] = 100000.0", "[-1000, 1000]"}},
      {"variance_huge", &fl, put("gmm_variances", 0, 1e200), {"gmm_variances[0][0] = 1e+200"}},
      {"support_outside", &fk, put("support_vectors", 4, 1.5), {"support_vectors[0][4] = 1.5", "Fisher-vector value in [-1, 1]"}},
      {"coef_huge", &fk, put("coefficients", 1, 1e200), {"coefficients[0][1] = 1e+200"}},
      {"weight_huge", &fl, put("weights", 108 + 2, -1e200), {"weights[1][2] = -1e+200", "[-1e+100, 1e+100]"}},
      {"weight_nan", &bl, put("weights", 3, nan), {"weights[0][3] = nan"}},
      {"weight_inf", &bl, put("weights", 3, std::numeric_limits<double>::infinity()), {"weights[0][3] = inf"}},
      {"bias_huge", &bl, set("/classes/1/bias", 1e101), {"classes[1].bias", "1e+101"}},
      {"chi2_over_fisher", &fk, set("/head/kernel/type", "chi2"), {"head.kernel.type = \"chi2\"", "Fisher vectors are signed"}},
      {"hellinger_over_fisher", &fk, set("/head/kernel/type", "hellinger"), {"head.kernel.type = \"hellinger\""}},
      {"gamma_huge", &fk, set("/head/kernel/gamma", 1e200), {"head.kernel.gamma", "1e+200"}},
      {"name_control", &fl, set("/classes/1/name", "na\x01me"), {"classes[1].name", "U+0001"}},
      {"name_repeated", &fl, set("/classes/2/name", "aeroplane"), {"classes[2].name", "repeat"}},
  };
  for (const Edit& e : edits) {
    ModelParts p = *e.base;
    e.edit(p);
    expect_model_refused(tmp, e.name, assemble_model(p), e.expected);
  }
  // A class name that is not UTF-8 makes the header invalid JSON (the writer refuses such names).
  std::string text = bl.header.dump();
  const std::size_t at = text.find("\"cat\"");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  text[at + 2] = '\xff';
  expect_model_refused(tmp, "name_not_utf8", assemble_model(text, bl.data), {"not valid JSON", "UTF-8"});
  // A key repeated within a version-2 object.
  std::string dup = fk.header.dump();
  const std::size_t k = dup.find("\"pca_dimension\":");
  BOOST_TEST_REQUIRE(k != std::string::npos);
  dup.insert(k, "\"pca_dimension\":4,");
  expect_model_refused(tmp, "dup_fisher", assemble_model(dup, fk.data), {"pca_dimension", "twice"});
}

BOOST_AUTO_TEST_CASE(saving_refuses_version_2_models_loading_would_refuse) {
  test::TempDir tmp;
  auto refused = [&](const Model& m, const std::string& expected) {
    try {
      m.save(tmp / "m.bowlrp");
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what() << " lacks " << expected);
      return;
    }
    BOOST_TEST(false, "saved a model the loader refuses (expected an error about " << expected << ")");
  };
  const Model fk = tiny_model("fisher-vector", "kernel-svm");
  const Model fl = tiny_model("fisher-vector", "linear-svm");
  const KernelSvm& svm = fk.head_as<bowlrp::svm::KernelSvm>();
  for (KernelType t : {KernelType::chi2, KernelType::hellinger, KernelType::expchi2}) {
    auto chi2 = std::make_shared<const KernelSvm>(make_kernel(t), svm.dim(), svm.support(), svm.classes());
    refused(Model(fk.encoding(), chi2), "head.kernel.type = \"" + to_string(t) + "\"");
  }
  std::vector<LinearClass> classes = fl.head_as<bowlrp::svm::LinearSvm>().classes();
  classes[1].weights[5] = 1e200;
  refused(Model(fl.encoding(), std::make_shared<const LinearSvm>(108, classes)), "weights[1][5]");
  classes = fl.head_as<bowlrp::svm::LinearSvm>().classes();
  classes[0].name = "aero\nplane";
  refused(Model(fl.encoding(), std::make_shared<const LinearSvm>(108, classes)), "classes[0].name");
  classes = fl.head_as<bowlrp::svm::LinearSvm>().classes();
  classes[2].name = "c\xfft";
  refused(Model(fl.encoding(), std::make_shared<const LinearSvm>(108, classes)), "not valid UTF-8");
  // Parameters FisherPipeline accepts but outside the bounds that keep every encoding finite.
  bow::FisherParameters p = fl.encoding_as<bowlrp::bow::FisherPipeline>().parameters();
  p.variances[4] = 1e-20;
  refused(Model(std::make_shared<const bow::FisherPipeline>(tiny_fisher_options(), p), fl.head()), "gmm_variances[0][4]");
  p = fl.encoding_as<bowlrp::bow::FisherPipeline>().parameters();
  p.means[0] = 5e3;
  refused(Model(std::make_shared<const bow::FisherPipeline>(tiny_fisher_options(), p), fl.head()), "gmm_means[0][0]");
  // Options the reader bounds beyond FisherOptions::validate.
  bow::FisherPipelineOptions o = tiny_fisher_options();
  o.dsift.window_size = 1e-39;  // below the smallest normal float
  refused(Model(std::make_shared<const bow::FisherPipeline>(o, fl.encoding_as<bowlrp::bow::FisherPipeline>().parameters()), fl.head()),
          "encoding.pipeline.dsift.window_size");
  // Nothing was written by any refusal.
  BOOST_TEST(!std::filesystem::exists(tmp / "m.bowlrp"));
}

// ---- format_version 2 with an mlp head ----

BOOST_AUTO_TEST_CASE(an_mlp_file_reads_as_numpy_would) {
  // The file alone, read as the header's Python recipe says (no bowlrp reader), gives the layers
  // and, by an independent forward pass, the scores of the loaded model.
  test::TempDir tmp;
  for (EncodingKind e : {"bag-of-words", "fisher-vector"}) {
    const std::string label = kinds_label(e, "mlp");
    BOOST_TEST_CONTEXT(label) {
      const Model m = tiny_model(e, "mlp");
      const std::string path = tmp / (label + ".bowlrp");
      m.save(path);
      const std::string buf = core::read_file(path);
      // h = json.loads(buf[21:21+N]); zlib.crc32(buf[:-8]) == int.from_bytes(buf[-8:], "little")
      const std::uint64_t N = le64(buf, 13);
      const json h = json::parse(buf.substr(21, N));
      const std::size_t D = 21 + N;
      BOOST_TEST(D % 8 == 0);
      BOOST_TEST(le64(buf, buf.size() - 8) == naive_crc32(buf, buf.size() - 8));
      BOOST_TEST(buf.size() == D + h.at("data_bytes").get<std::size_t>() + 8);
      BOOST_TEST(h.at("format_version") == 2);
      const std::size_t V = m.dimension();
      const std::vector<std::size_t> sizes = {V, 6, 4, 3};
      BOOST_TEST(h.at("dim") == V);
      BOOST_TEST(h.at("head") == json({{"kind", "mlp"}, {"layers", 3}, {"sizes", sizes}}));
      BOOST_TEST_REQUIRE(h.at("classes").size() == 3u);
      for (std::size_t c = 0; c < 3; ++c) BOOST_TEST(h.at("classes")[c] == json({{"name", kTinyClasses[c]}}));
      // The encoding's arrays, then weights_1, biases_1, ..., weights_3, biases_3.
      std::vector<std::string> names;
      for (const json& a : h.at("arrays")) names.push_back(a.at("name"));
      const std::size_t first = e == "bag-of-words" ? 1 : 5;
      BOOST_TEST_REQUIRE(names.size() == first + 6);
      BOOST_TEST((std::vector<std::string>(names.begin() + static_cast<std::ptrdiff_t>(first), names.end()) ==
                  std::vector<std::string>{"weights_1", "biases_1", "weights_2", "biases_2", "weights_3", "biases_3"}));
      // a = np.frombuffer(buf, "<f8", count=prod(shape), offset=21+N+offset).reshape(shape)
      auto array = [&](const std::string& name, const std::vector<std::size_t>& shape) {
        std::vector<double> v;
        for (const json& a : h.at("arrays"))
          if (a.at("name") == name) {
            std::size_t count = 1;
            for (std::size_t d : shape) count *= d;
            BOOST_TEST(a.at("dtype") == "<f8");
            BOOST_TEST(a.at("shape") == json(shape));
            BOOST_TEST(a.at("nbytes") == 8 * count);
            v.resize(count);
            std::memcpy(v.data(), buf.data() + D + a.at("offset").get<std::size_t>(), 8 * count);
          }
        return v;
      };
      std::vector<std::vector<double>> W, B;
      for (std::size_t l = 1; l <= 3; ++l) {
        W.push_back(array("weights_" + std::to_string(l), {sizes[l], sizes[l - 1]}));
        B.push_back(array("biases_" + std::to_string(l), {sizes[l]}));
        BOOST_TEST(bitwise_equal(W.back(), m.head_as<bowlrp::nn::Network>().layers()[l - 1].weights));
        BOOST_TEST(bitwise_equal(B.back(), m.head_as<bowlrp::nn::Network>().layers()[l - 1].biases));
      }
      // f = z_3, z_l = W_l a_{l-1} + b_l, a_l = max(0, z_l): in long double, in plain order.
      const Model back = Model::load(path);
      const std::size_t n = 7;
      const std::vector<double> X = random_inputs(e, n, V, 5);
      for (std::size_t r = 0; r < n; ++r) {
        std::vector<long double> a(X.begin() + static_cast<std::ptrdiff_t>(r * V),
                                   X.begin() + static_cast<std::ptrdiff_t>((r + 1) * V));
        for (std::size_t l = 0; l < 3; ++l) {
          std::vector<long double> z(sizes[l + 1]);
          for (std::size_t j = 0; j < z.size(); ++j) {
            z[j] = B[l][j];
            for (std::size_t i = 0; i < a.size(); ++i) z[j] += static_cast<long double>(W[l][j * a.size() + i]) * a[i];
            if (l < 2) z[j] = std::max(z[j], 0.0L);
          }
          a = z;
        }
        const std::vector<double> f = back.scores(&X[r * V]);
        for (std::size_t c = 0; c < 3; ++c)
          BOOST_TEST(std::abs(f[c] - static_cast<double>(a[c])) <= 1e-12 * (1 + std::abs(f[c])),
                     "row " << r << " class " << c << ": " << f[c] << " vs " << static_cast<double>(a[c]));
      }
    }
  }
}

namespace {

/// Sets `cols` consecutive doubles of an array, from entry `first`.
std::function<void(ModelParts&)> fill_f8(const char* array, std::size_t first, std::size_t cols, double v) {
  return [=](ModelParts& p) {
    for (std::size_t i = 0; i < cols; ++i) put_f8(p.data, array_offset(p, array) + 8 * (first + i), v);
  };
}

/// Runs every edit in turn.
std::function<void(ModelParts&)> edits_of(std::vector<std::function<void(ModelParts&)>> edits) {
  return [edits](ModelParts& p) {
    for (const auto& e : edits) e(p);
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(crafted_mlp_files_are_refused_field_by_field) {
  test::TempDir tmp;
  const ModelParts bn = tiny_parts(tmp, "bag-of-words", "mlp");   // sizes [20, 6, 4, 3]
  const ModelParts fn = tiny_parts(tmp, "fisher-vector", "mlp");  // sizes [108, 6, 4, 3]
  for (const ModelParts* base : {&bn, &fn}) {
    core::write_file_atomic(tmp / "base.bowlrp", assemble_model(*base));
    BOOST_TEST(model_error_of(tmp / "base.bowlrp").empty());
  }
  struct Edit {
    const char* name;
    const ModelParts* base;
    std::function<void(ModelParts&)> edit;
    std::vector<std::string> expected;
  };
  auto set = [](const char* pointer, json v) {
    return [pointer, v](ModelParts& p) { p.header[json::json_pointer(pointer)] = v; };
  };
  auto erase = [](const char* object, const char* key) {
    return [object, key](ModelParts& p) { p.header[json::json_pointer(object)].erase(key); };
  };
  auto put = [](const char* array, std::size_t i, double v) {
    return [array, i, v](ModelParts& p) { put_f8(p.data, array_offset(p, array) + 8 * i, v); };
  };
  auto entry_set = [](const char* array, const char* field, json v) {
    return [array, field, v](ModelParts& p) { array_entry(p.header, array)[field] = v; };
  };
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  const std::vector<Edit> edits = {
      // keys: an mlp's classes carry names only; no fields of other heads; none missing
      {"class_bias", &bn, set("/classes/0/bias", 0.25), {"unknown field classes[0].bias", "format_version 2 with an mlp head"}},
      {"class_bias_last", &fn, set("/classes/2/bias", 0), {"unknown field classes[2].bias", "mlp head"}},
      {"head_kernel", &fn, set("/head/kernel", json::object()), {"unknown field head.kernel", "mlp head"}},
      {"head_support_size", &bn, set("/head/support_size", 5), {"unknown field head.support_size", "mlp head"}},
      {"head_hidden", &bn, set("/head/hidden", json::array({6, 4})), {"unknown field head.hidden", "mlp head"}},
      {"no_sizes", &bn, erase("/head", "sizes"), {"head.sizes", "missing"}},
      {"no_layers", &fn, erase("/head", "layers"), {"head.layers", "missing"}},
      {"class_no_name", &bn, erase("/classes/1", "name"), {"classes[1].name", "missing"}},
      // sizes
      {"layers_0", &bn, set("/head/layers", 0), {"head.layers = 0", "[1, 64]"}},
      {"layers_65", &bn, set("/head/layers", 65), {"head.layers = 65", "[1, 64]"}},
      {"layers_negative", &fn, set("/head/layers", -3), {"head.layers = -3", "[1, 64]"}},
      {"layers_string", &fn, set("/head/layers", "3"), {"head.layers = \"3\"", "[1, 64]"}},
      {"layers_2", &bn, set("/head/layers", 2), {"head.sizes = an array of 4 values", "head.layers + 1 = 3"}},
      {"layers_4", &fn, set("/head/layers", 4), {"head.sizes = an array of 4 values", "head.layers + 1 = 5"}},
      {"sizes_number", &bn, set("/head/sizes", 20), {"head.sizes = 20", "expected an array of head.layers + 1 = 4"}},
      {"sizes0_dim", &bn, set("/head/sizes/0", 21), {"head.sizes[0] = 21", "expected dim = 20"}},
      {"sizes0_fisher", &fn, set("/head/sizes/0", 20), {"head.sizes[0] = 20", "expected dim = 108"}},
      {"sizes0_zero", &fn, set("/head/sizes/0", 0), {"head.sizes[0] = 0", "expected an integer in [1, "}},
      {"sizesL_classes", &fn, set("/head/sizes/3", 4), {"head.sizes[3] = 4", "expected the number of classes, 3"}},
      {"size_0", &bn, set("/head/sizes/1", 0), {"head.sizes[1] = 0", "[1, 1048576]"}},
      {"size_huge", &bn, set("/head/sizes/2", std::uint64_t{1} << 21), {"head.sizes[2] = 2097152", "[1, 1048576]"}},
      {"size_max", &fn, set("/head/sizes/1", std::uint64_t{1} << 63), {"head.sizes[1] = 9223372036854775808"}},
      {"size_fraction", &bn, set("/head/sizes/1", 6.5), {"head.sizes[1] = 6.5", "integer"}},
      {"size_string", &bn, set("/head/sizes/1", "6"), {"head.sizes[1] = \"6\"", "integer"}},
      {"size_cannot_fit", &bn, set("/head/sizes/1", std::uint64_t{1} << 20),
       {"head.sizes[1] = 1048576", "layer 1's 1048576 x 20 weights", "cannot fit in the data section"}},
      {"size_2_cannot_fit", &fn, set("/head/sizes/2", std::uint64_t{1} << 20),
       {"head.sizes[2] = 1048576", "layer 2's 1048576 x 6 weights", "cannot fit in the data section"}},
      {"size_other", &bn, set("/head/sizes/1", 5), {"weights_1", "[6, 20]", "[5, 20] = [head.sizes[1], head.sizes[0]]"}},
      // arrays
      {"weights_transposed", &bn, entry_set("weights_2", "shape", {6, 4}),
       {"weights_2", "[6, 4]", "[4, 6] = [head.sizes[2], head.sizes[1]]"}},
      {"biases_rank", &fn, entry_set("biases_1", "shape", {6, 1}), {"arrays[6].shape", "[length]"}},
      {"biases_dtype", &bn, entry_set("biases_3", "dtype", "<f4"), {"biases_3", "<f4", "<f8"}},
      {"biases_missing", &bn,
       [](ModelParts& p) {
         json& a = p.header["arrays"];
         for (std::size_t i = 0; i < a.size(); ++i)
           if (a[i]["name"] == "biases_3") a.erase(i);
       },
       {"no array 'biases_3'"}},
      {"weights_4", &bn, entry_set("weights_3", "name", "weights_4"),
       {"weights_4", "expected codebook_centres, weights_1, biases_1, weights_2, biases_2, weights_3 or biases_3"}},
      {"weights_linear", &fn, entry_set("weights_1", "name", "weights"), {"\"weights\"", "expected pca_mean"}},
      {"weights_twice", &bn, entry_set("biases_1", "name", "weights_1"), {"'weights_1' listed twice"}},
      {"biases_overlap", &bn, entry_set("biases_1", "offset", 0), {"offset", "tile"}},
      // values
      {"weight_nan", &bn, put("weights_2", 3, nan), {"weights_2[0][3] = nan", "[-1e+100, 1e+100]"}},
      {"weight_inf", &fn, put("weights_1", 108 + 2, -inf), {"weights_1[1][2] = -inf", "[-1e+100, 1e+100]"}},
      {"weight_huge", &fn, put("weights_3", 4 + 1, 1e101), {"weights_3[1][1] = 1e+101", "[-1e+100, 1e+100]"}},
      {"bias_nan", &bn, put("biases_1", 5, nan), {"biases_1[5] = nan", "[-1e+100, 1e+100]"}},
      {"bias_huge", &fn, put("biases_3", 2, -1e101), {"biases_3[2] = -1e+101", "[-1e+100, 1e+100]"}},
      // bounds: each value within 1e100, but a neuron beyond 1e150
      {"hidden_blowup", &bn, edits_of({fill_f8("weights_1", 0, 20, 1e100), put("weights_2", 0, 1e100)}),
       {"neuron 0 of layer 2 (weights_2[0], biases_2[0])", "pre-activation of magnitude 2",
        "on histograms in [0, 1]^dim", "interval arithmetic through layer 1)", "expected at most 1e+150"}},
      {"output_blowup", &fn,
       edits_of({fill_f8("weights_1", 0, 108, 1e50), put("weights_2", 0, 1e50), put("weights_2", 6, 1e50),
                 put("weights_2", 12, 1e50), put("weights_2", 18, 1e50), fill_f8("weights_3", 4, 4, 1e60)}),
       {"classes[1]", "can reach a decision of magnitude", "on Fisher vectors in [-1, 1]^dim",
        "|biases_3[1]| + sum_i |weights_3[1][i]|", "through layers 1 .. 2", "expected at most 1e+150"}},
  };
  for (const Edit& e : edits) {
    ModelParts p = *e.base;
    e.edit(p);
    expect_model_refused(tmp, e.name, assemble_model(p), e.expected);
  }
}

BOOST_AUTO_TEST_CASE(mlp_bounds_follow_the_relu_intervals) {
  // A hidden unit that no histogram activates (every weight into it -1e100, its bias -1) may pass on
  // weights up to 1e100: interval arithmetic knows its activation is 0 on [0, 1]^dim. Over Fisher
  // vectors (signed) the same unit reaches 1e102, and the same weights out of it are refused.
  test::TempDir tmp;
  for (EncodingKind e : {"bag-of-words", "fisher-vector"}) {
    const bool histograms = e == "bag-of-words";
    const std::size_t V = histograms ? 20 : 108;
    ModelParts p = tiny_parts(tmp, e, "mlp");
    edits_of({fill_f8("weights_1", 0, V, -1e100), fill_f8("biases_1", 0, 1, -1.0),
              [](ModelParts& q) {
                for (std::size_t j = 0; j < 4; ++j) put_f8(q.data, array_offset(q, "weights_2") + 8 * (6 * j), 1e100);
              }})(p);
    const std::string label = "dead_unit_" + std::string(e);
    if (!histograms) {
      expect_model_refused(tmp, label, assemble_model(p), {"neuron 0 of layer 2", "Fisher vectors in [-1, 1]^dim"});
      continue;
    }
    const std::string path = tmp / (label + ".bowlrp");
    core::write_file_atomic(path, assemble_model(p));
    BOOST_TEST_REQUIRE(model_error_of(path).empty(), model_error_of(path));
    const Model m = Model::load(path);
    const std::vector<double> X = random_inputs(e, 5, V, 3), ones(V, 1.0);
    for (const double* x : {X.data(), X.data() + V, X.data() + 4 * V, ones.data()})
      for (double f : m.scores(x)) BOOST_TEST(std::isfinite(f));
  }
  // A unit that some histograms do activate (weight +1e100 from input 0, -1e100 from the others):
  // the one-hot histogram e_0 gives it 1e100, so weights of 1e100 out of it would make scores of 1e200.
  ModelParts p = tiny_parts(tmp, "bag-of-words", "mlp");
  edits_of({fill_f8("weights_1", 0, 1, 1e100), fill_f8("weights_1", 1, 19, -1e100), fill_f8("biases_1", 0, 1, 0.0),
            [](ModelParts& q) {
              for (std::size_t j = 0; j < 4; ++j) put_f8(q.data, array_offset(q, "weights_2") + 8 * (6 * j), 1e100);
            }})(p);
  expect_model_refused(tmp, "live_unit", assemble_model(p),
                       {"neuron 0 of layer 2", "magnitude 1.00000", "e+200", "histograms in [0, 1]^dim"});
}

BOOST_AUTO_TEST_CASE(saving_refuses_mlp_models_loading_would_refuse) {
  test::TempDir tmp;
  auto refused = [&](const std::vector<nn::DenseLayer>& layers, const std::vector<std::string>& names,
                     const std::string& expected) {
    const Model m(tiny_model("bag-of-words", "mlp").encoding(),
                  std::make_shared<const nn::Network>(layers, names));
    try {
      m.save(tmp / "m.bowlrp");
    } catch (const std::invalid_argument& e) {
      BOOST_TEST(std::string(e.what()).find(expected) != std::string::npos, e.what() << " lacks " << expected);
      return;
    }
    BOOST_TEST(false, "saved a model the loader refuses (expected an error about " << expected << ")");
  };
  const std::vector<nn::DenseLayer> base = tiny_model("bag-of-words", "mlp").head_as<bowlrp::nn::Network>().layers();
  std::vector<nn::DenseLayer> layers = base;
  layers[1].weights[7] = 1e200;
  refused(layers, kTinyClasses, "weights_2[1][1] = 1e+200");
  layers = base;
  layers[2].biases[0] = -1e101;
  refused(layers, kTinyClasses, "biases_3[0] = -1e+101");
  layers = base;
  std::fill(layers[0].weights.begin(), layers[0].weights.begin() + 20, 1e100);
  layers[1].weights[0] = 1e100;
  refused(layers, kTinyClasses, "neuron 0 of layer 2");
  refused(base, {"aero\nplane", "b", "c"}, "classes[0].name");
  // 65 layers are refused, 64 saved and read back bit for bit.
  Uniform u(8);
  std::vector<std::size_t> sizes = {20};
  for (int l = 0; l < 65; ++l) sizes.push_back(3);
  refused(tiny_layers(u, sizes), kTinyClasses, "head.layers = 65: expected 1 .. 64");
  BOOST_TEST(!std::filesystem::exists(tmp / "m.bowlrp"));  // nothing was written by any refusal
  sizes.pop_back();
  const Model deep(tiny_model("bag-of-words", "mlp").encoding(),
                   std::make_shared<const nn::Network>(tiny_layers(u, sizes), kTinyClasses));
  deep.save(tmp / "deep.bowlrp");
  const Model back = Model::load(tmp / "deep.bowlrp");
  BOOST_TEST(back.head_as<bowlrp::nn::Network>().layers().size() == 64u);
  const std::vector<double> X = random_inputs("bag-of-words", 4, 20, 6);
  BOOST_TEST(bitwise_equal(back.scores_batch(X.data(), 4, 1), deep.scores_batch(X.data(), 4, 1)));
}

// Mutations of version-2 files of every kind, each with a valid checksum: every load must either be
// refused with std::runtime_error or give a model whose decisions are finite on its encoding's
// vectors and whose encoding turns an image into such a vector. Never a crash, never another exception.
BOOST_AUTO_TEST_CASE(fuzzed_version_2_files_are_refused_or_sound) {
  test::TempDir tmp;
  const std::string path = tmp / "fuzz2.bowlrp";
  const std::vector<std::string> raws = {
      "0", "-1", "1", "2", "3", "4", "6", "7", "107", "108", "128", "129", "4096", "2147483648", "4294967302",
      "18446744073709551615", "1e39", "1e308", "-1e308", "1e-320", "0.5", "-0.0", "0.999", "1e999", "NaN", "true",
      "false", "null", "\"\"", "\"inf\"", "\"rbf\"", "\"chi2\"", "\"linear\"", "\"hik\"", "\"bag-of-words\"",
      "\"fisher-vector\"", "\"kernel-svm\"", "\"linear-svm\"", "\"mlp\"", "\"x\\ny\"", "[]", "{}", "[0]", "[1,1]",
      "5", "20", "64", "65", "1048576", "1048577", "[20,6,4,3]", "[108,3]",
      "{\"cols\":1,\"rows\":1}", "\"aeroplane\""};
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> doubles = {0.0, -0.0, -1.0, 1.0, 0.5, 2.0, 1e-12, 1e-13, 1e3, 1e4, 1e20, 1e100, 1e308,
                                       -1e308, 1e-310, inf, -inf, std::numeric_limits<double>::quiet_NaN()};
  const std::vector<ModelParts> bases = {tiny_parts(tmp, "fisher-vector", "kernel-svm"),
                                         tiny_parts(tmp, "fisher-vector", "linear-svm"),
                                         tiny_parts(tmp, "bag-of-words", "linear-svm"),
                                         tiny_parts(tmp, "fisher-vector", "mlp"),
                                         tiny_parts(tmp, "bag-of-words", "mlp")};
  const bow::GrayImage image = textured_image();
  std::mt19937_64 rng(20261202);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  constexpr int kMutations = 2500;
  int refused = 0, accepted = 0, bad = 0;
  for (int it = 0; it < kMutations; ++it) {
    ModelParts p = bases[it % bases.size()];
    JsonEmitter e;
    JsonEmitter count;
    count.value(p.header);
    const int kind = static_cast<int>(pick(5));
    if (kind == 0 || kind == 4) {
      e.leaf = static_cast<long>(pick(count.leaves));
      e.raw = raws[pick(raws.size())];
    } else if (kind == 1) {
      e.drop = static_cast<long>(pick(count.members));
    } else if (kind == 2) {
      e.dup = static_cast<long>(pick(count.members));
    }
    if (kind >= 3 && p.data.size() >= 8) put_f8(p.data, pick(p.data.size() / 8) * 8, doubles[pick(doubles.size())]);
    e.value(p.header);
    {
      const std::string bytes = assemble_model(e.out, p.data);
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    std::optional<Model> m;
    try {
      m.emplace(bowlrp::model::load_model(path));
    } catch (const std::runtime_error&) {
      ++refused;
      continue;
    }
    ++accepted;
    std::string problem;
    try {
      const EncodingKind enc = m->encoding_kind();
      const std::size_t V = m->dimension();
      const std::vector<double> X = random_inputs(enc, 3, V, static_cast<std::uint64_t>(it));
      const std::vector<double> ones(V, enc == "bag-of-words" ? 1.0 : -1.0);
      for (const double* x : {X.data(), X.data() + V, X.data() + 2 * V, ones.data()})
        for (double f : m->scores(x))
          if (!std::isfinite(f)) problem = "a non-finite decision on an input of the encoding's domain";
      std::optional<bowlrp::model::Trace> trace;
      try {
        trace.emplace(m->encode(image));
      } catch (const std::invalid_argument& ex) {
        // A mutated bin size can outgrow the test image: dense SIFT refuses such an image, soundly.
        if (std::string(ex.what()).find("too small for one descriptor") == std::string::npos) throw;
      }
      if (trace) {
        const std::vector<double>& h = bowlrp::model::head_input(*trace);
        const double lo = enc == "bag-of-words" ? 0.0 : -1 - 1e-6;
        if (h.size() != V || !std::all_of(h.begin(), h.end(), [&](double v) { return v >= lo && v <= 1 + 1e-6; }))
          problem = "an image's vector outside the encoding's domain";
        for (double f : m->scores(*trace))
          if (!std::isfinite(f)) problem = "a non-finite decision on an image";
      }
    } catch (const std::exception& ex) {
      problem = std::string("an exception when used: ") + ex.what();
    }
    if (!problem.empty()) {
      ++bad;
      BOOST_TEST_MESSAGE("mutation " << it << " (kind " << kind << ") was accepted but gives " << problem);
    }
  }
  BOOST_TEST_MESSAGE("fuzzed version-2 files: " << kMutations << " mutations, " << refused << " refused, " << accepted
                                                << " accepted");
  BOOST_TEST(bad == 0);
  BOOST_TEST(refused + accepted == kMutations);
  BOOST_TEST(accepted > 50);
  BOOST_TEST(refused > kMutations / 3);
}

// Kernels defined only for inputs >= 0 cannot read Fisher vectors (signed): refused by validate(),
// before any encoding (chi2 and hellinger failed after encoding with "non-finite bias or coefficient").
BOOST_AUTO_TEST_CASE(kernels_that_need_non_negative_inputs_are_refused_over_fisher_vectors) {
  for (const KernelType type : {KernelType::linear, KernelType::intersection, KernelType::chi2, KernelType::hellinger,
                                KernelType::rbf, KernelType::expchi2}) {
    BOOST_TEST_CONTEXT(to_string(type)) {
      bowlrp::model::FitOptions o;
      o.kernel.type = type;
      BOOST_CHECK_NO_THROW(o.validate());  // Bag-of-Words histograms are >= 0
      o.encoding = "fisher-vector";
      BOOST_CHECK_NO_THROW(o.validate());  // the default head over Fisher vectors is linear: the kernel is unused
      o.head = "kernel-svm";
      if (needs_non_negative_inputs(type)) {
        try {
          o.validate();
          BOOST_ERROR("no exception");
        } catch (const std::invalid_argument& e) {
          BOOST_TEST(std::string(e.what()).find("FitOptions.kernel = " + to_string(type)) != std::string::npos, e.what());
          BOOST_TEST(std::string(e.what()).find("the fisher-vector encoding's are signed") != std::string::npos, e.what());
        }
      } else {
        BOOST_CHECK_NO_THROW(o.validate());
      }
    }
  }
  BOOST_TEST(needs_non_negative_inputs(KernelType::chi2));
  BOOST_TEST(needs_non_negative_inputs(KernelType::hellinger));
  BOOST_TEST(needs_non_negative_inputs(KernelType::expchi2));
  BOOST_TEST(!needs_non_negative_inputs(KernelType::intersection));
  // The network head's sizes are the model file's: refused by FitOptions::validate too.
  bowlrp::model::FitOptions n;
  n.head = "mlp";
  n.network.hidden = {std::size_t{1} << 21};
  BOOST_CHECK_THROW(n.validate(), std::invalid_argument);
}

// ---- the reader's framing (issue 25): one JSON value, bounded reads ----

BOOST_AUTO_TEST_CASE(a_header_with_a_nul_byte_is_refused_even_with_a_valid_checksum) {
  // The JSON parser stops at a NUL as at the end of its input: whatever followed was accepted.
  test::TempDir tmp;
  for (const ModelParts& p : {sample_parts(tmp, KernelType::intersection),
                              tiny_parts(tmp, "fisher-vector", "linear-svm")}) {
    const std::string text = p.header.dump();
    expect_model_refused(tmp, "nul_garbage", assemble_model(text + std::string(1, '\0') + "garbage{", p.data),
                         {"NUL byte in its header", "exactly one JSON value"});
    expect_model_refused(tmp, "nul_end", assemble_model(text + std::string(1, '\0'), p.data), {"NUL byte"});
    // Inside a string: raw, it is refused too (JSON spells it \u0000).
    std::string inside = text;
    inside[inside.find("\"classes\"") + 2] = '\0';
    expect_model_refused(tmp, "nul_inside", assemble_model(inside, p.data), {"NUL byte"});
    // Text after the value is refused as before.
    expect_model_refused(tmp, "two_values", assemble_model(text + "{}", p.data), {"not valid JSON"});
  }
}

BOOST_AUTO_TEST_CASE(a_huge_file_is_refused_from_its_first_bytes) {
  // Sparse files of 1 TiB: the reader used to read (and first reserve) the whole file before it
  // looked at the magic, so these ended in std::bad_alloc without the file's name, or in minutes.
  test::TempDir tmp;
  constexpr std::uint64_t kTiB = std::uint64_t{1} << 40;
  const auto sparse = [&](const std::string& name, const std::string& head) {
    const std::string path = tmp / name;
    {
      std::ofstream out(path, std::ios::binary);
      out << head;
    }
    std::error_code ec;
    std::filesystem::resize_file(path, kTiB, ec);
    return ec ? std::string() : path;
  };
  const std::string zeros = sparse("zeros.bowlrp", "");
  if (zeros.empty()) {
    std::cerr << "\n*** SKIPPED: this file system cannot hold a sparse 1 TiB file ***\n\n";
    return;
  }
  const std::string z = model_error_of(zeros);
  BOOST_TEST(z.find(zeros) != std::string::npos, z);
  BOOST_TEST(z.find("not a bowlrp model file") != std::string::npos, z);
  // The magic, then a header length of 0 and zeros: an empty header.
  std::string head = kModelMagic;
  append_le64(head, 0);
  const std::string empty_header = sparse("empty_header.bowlrp", head);
  BOOST_TEST(model_error_of(empty_header).find("not valid JSON") != std::string::npos, model_error_of(empty_header));
  // A real model's header, then 1 TiB: data_bytes disagrees with the size, nothing more is read.
  const ModelParts p = sample_parts(tmp, KernelType::intersection);
  const std::string model = assemble_model(p);
  const std::string long_tail = sparse("long_tail.bowlrp", model.substr(0, 21 + le64(model, 13)));
  const std::string e = model_error_of(long_tail);
  BOOST_TEST(e.find(long_tail) != std::string::npos, e);
  BOOST_TEST(e.find("unexpected trailing bytes") != std::string::npos, e);
  // A header length beyond the file.
  std::string big_n = kModelMagic;
  append_le64(big_n, ~std::uint64_t{0} - 3);
  const std::string big = tmp / "big_n.bowlrp";
  core::write_file_atomic(big, big_n + std::string(64, ' '));
  BOOST_TEST(model_error_of(big).find("truncated") != std::string::npos, model_error_of(big));
}

namespace {

/// Whether `text` is exactly one JSON value: no raw control byte but whitespace (JSON has none, a
/// string escapes them) and a strict parse of the whole text.
bool one_json_value(const std::string& text) {
  for (const char ch : text) {
    const auto b = static_cast<unsigned char>(ch);
    if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') return false;
  }
  return json::accept(text);
}

}  // namespace

// Seeded mutations of the framing of version-1 and version-2 files: truncations, byte flips with
// and without a recomputed checksum, edits of the header text, of its length and of data_bytes,
// NUL bytes in the header. Every load must either be refused with std::runtime_error or read a
// file whose header is exactly one JSON value. Never a crash (run under the sanitizers by CI).
BOOST_AUTO_TEST_CASE(fuzzed_framing_never_crashes_nor_accepts_a_header_that_is_not_one_json_value) {
  test::TempDir tmp;
  const std::string path = tmp / "framing.bowlrp";
  const std::vector<ModelParts> bases = {sample_parts(tmp, KernelType::intersection),
                                         tiny_parts(tmp, "fisher-vector", "kernel-svm"),
                                         tiny_parts(tmp, "fisher-vector", "linear-svm"),
                                         tiny_parts(tmp, "bag-of-words", "mlp")};
  const std::vector<std::string> tails = {std::string(1, '\0'), std::string(1, '\0') + "garbage{", "{}", "x", " 1",
                                          "]", "\"", std::string("\0\0\0\0", 4), "\n\t", "/*", "\xff"};
  std::mt19937_64 rng(20261207);
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  constexpr int kMutations = 3000;
  int refused = 0, accepted = 0, nul_accepted = 0;
  std::vector<int> accepted_by_kind(9, 0);
  for (int it = 0; it < kMutations; ++it) {
    const ModelParts& base = bases[it % bases.size()];
    std::string text = base.header.dump();
    std::string data = base.data;
    const int kind = static_cast<int>(pick(9));
    std::string bytes;
    bool nul = false;
    switch (kind) {
      case 0:  // truncated anywhere
        bytes = assemble_model(text, data);
        bytes.resize(pick(bytes.size()));
        break;
      case 1: {  // 1..4 bytes flipped anywhere, checksum as it was
        bytes = assemble_model(text, data);
        for (std::size_t k = 1 + pick(4); k > 0; --k) bytes[pick(bytes.size())] ^= static_cast<char>(1 + pick(255));
        break;
      }
      case 2:  // a byte of the header text replaced, checksum recomputed
        text[pick(text.size())] = static_cast<char>(rng() & 0xFF);
        bytes = assemble_model(text, data);
        break;
      case 3: {  // a NUL in the header text (replacing or inserted), checksum recomputed
        const std::size_t at = pick(text.size());
        if (rng() % 2) text[at] = '\0';
        else text.insert(at, 1, '\0');
        nul = true;
        bytes = assemble_model(text, data);
        break;
      }
      case 4:  // text after the header's value, checksum recomputed
        text += tails[pick(tails.size())];
        nul = text.find('\0') != std::string::npos;
        bytes = assemble_model(text, data);
        break;
      case 5:  // the header cut short, checksum recomputed
        text.resize(pick(text.size()));
        bytes = assemble_model(text, data);
        break;
      case 6: {  // the header length field edited, checksum recomputed
        bytes = assemble_model(text, data);
        const std::uint64_t n = le64(bytes, 13);
        const std::uint64_t edits[] = {n + 8, n - 8, n + 1, n - 1, 0, n / 2, bytes.size(), ~std::uint64_t{0},
                                       ~std::uint64_t{0} - 20, std::uint64_t{1} << 63};
        std::string re = bytes.substr(0, 13);
        append_le64(re, edits[pick(std::size(edits))]);
        re += bytes.substr(21, bytes.size() - 29);
        append_le64(re, table_crc32(re, re.size()));
        bytes = re;
        break;
      }
      case 7: {  // data_bytes edited, checksum recomputed
        json h = base.header;
        const std::uint64_t d = h.at("data_bytes").get<std::uint64_t>();
        const std::uint64_t edits[] = {d + 8, d - 8, 0, d * 2, ~std::uint64_t{0}, ~std::uint64_t{0} - 7,
                                       std::uint64_t{1} << 62};
        h["data_bytes"] = edits[pick(std::size(edits))];
        bytes = assemble_model(h.dump(), data);
        break;
      }
      default:  // bytes appended after the checksum, or the data section grown with a fixed checksum
        bytes = assemble_model(text, data);
        if (rng() % 2) bytes.append(1 + pick(16), static_cast<char>(rng() & 0xFF));
        else bytes = assemble_model(text, data + std::string(8 * (1 + pick(4)), '\0'));
        break;
    }
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    try {
      bowlrp::model::load_model(path);
    } catch (const std::runtime_error&) {
      ++refused;
      continue;
    }
    ++accepted;
    ++accepted_by_kind[kind];
    if (nul) ++nul_accepted;
    const std::uint64_t N = le64(bytes, 13);
    BOOST_TEST(one_json_value(bytes.substr(21, N)), "mutation " << it << " (kind " << kind
                                                                << ") was accepted with a header that is not one JSON value");
  }
  std::string by_kind;
  for (int n : accepted_by_kind) by_kind += " " + std::to_string(n);
  BOOST_TEST_MESSAGE("fuzzed framing: " << kMutations << " mutations, " << refused << " refused, " << accepted
                                        << " accepted (by kind:" << by_kind << ")");
  BOOST_TEST(nul_accepted == 0);
  BOOST_TEST(refused + accepted == kMutations);
  // Harmless edits (a space in the padding, a byte flipped in a class name) are read: both outcomes occur.
  BOOST_TEST(accepted > 0);
  BOOST_TEST(refused > kMutations / 2);
}

BOOST_AUTO_TEST_SUITE_END()
