#include <bowlrp/model/feature_cache.h>

#include <bowlrp/core/io.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace bowlrp::model {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'B', 'W', 'L', 'C', 'A', 'C', 'H', '1'};
constexpr std::size_t kHeader = sizeof(kMagic) + 16 + 8;  // magic, key, payload size

void put_u64(std::string& s, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(const std::string& s, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

std::uint64_t checksum(const char* data, std::size_t n) {
  Hasher h;
  h.update(data, n);
  return h.digest().lo;
}

}  // namespace

CacheStore::CacheStore(std::string dir, std::string kind) : dir_(std::move(dir)), kind_(std::move(kind)) {
  if (dir_.empty()) throw std::invalid_argument("cache folder: empty path; expected a folder to keep entries in");
}

std::string CacheStore::path(const Digest& key) const {
  const std::string hex = key.hex();
  return (fs::u8path(dir_) / kind_ / hex.substr(0, 2) / (hex + ".bin")).u8string();
}

std::optional<std::string> CacheStore::load(const Digest& key) const {
  const std::string file = path(key);
  std::ifstream in(fs::u8path(file), std::ios::binary);
  if (!in) {
    ++stats_.misses;
    return std::nullopt;
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto bad = [&]() -> std::optional<std::string> {
    ++stats_.corrupt;
    return std::nullopt;
  };
  if (!in.good() && !in.eof()) return bad();
  if (bytes.size() < kHeader + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) return bad();
  if (get_u64(bytes, 8) != key.hi || get_u64(bytes, 16) != key.lo) return bad();
  const std::uint64_t n = get_u64(bytes, 24);
  if (n != bytes.size() - kHeader - 8) return bad();
  if (checksum(bytes.data(), bytes.size() - 8) != get_u64(bytes, bytes.size() - 8)) return bad();
  ++stats_.hits;
  return bytes.substr(kHeader, n);
}

void CacheStore::store(const Digest& key, const std::string& payload) const {
  std::string bytes(kMagic, sizeof kMagic);
  bytes.reserve(kHeader + payload.size() + 8);
  put_u64(bytes, key.hi);
  put_u64(bytes, key.lo);
  put_u64(bytes, payload.size());
  bytes += payload;
  put_u64(bytes, checksum(bytes.data(), bytes.size()));
  core::write_file_atomic(path(key), bytes);
  ++stats_.stored;
}

HistogramCache::HistogramCache(const std::string& dir, const bow::PipelineOptions& options,
                               const bow::Codebook& codebook, std::size_t dim)
    : store_(dir, "histograms"), dim_(dim) {
  prefix_.field("bowlrp-histogram-v1");
  prefix_.field(bow::canonical_encoding_options(options));
  const Digest cb = bow::codebook_digest(codebook);
  prefix_.update(&cb.hi, 8);
  prefix_.update(&cb.lo, 8);
  const std::uint64_t d = dim;
  prefix_.update(&d, 8);
}

HistogramCache::HistogramCache(const std::string& dir, const Digest& fisher_pipeline, std::size_t dim)
    : store_(dir, "histograms"), dim_(dim) {
  // v2: posteriors whose exp is not evaluated (bow/fisher.cpp kLogCut) can move a vector's last bits.
  prefix_.field("bowlrp-fisher-vector-v2");
  prefix_.digest_field(fisher_pipeline);
  const std::uint64_t d = dim;
  prefix_.update(&d, 8);
}

Digest HistogramCache::key(const std::string& file_bytes, bool mirrored) const {
  Hasher h = prefix_;
  h.field(file_bytes);
  if (mirrored) h.field("mirrored");  // after the bytes: the keys of unmirrored images are unchanged
  return h.digest();
}

bool HistogramCache::load(const Digest& key, double* out) const {
  const std::optional<std::string> payload = store_.load(key);
  if (!payload) return false;
  if (payload->size() != dim_ * sizeof(double)) {
    --store_.stats().hits;
    ++store_.stats().corrupt;
    return false;
  }
  std::memcpy(out, payload->data(), payload->size());
  return true;
}

void HistogramCache::store(const Digest& key, const double* histogram) const {
  store_.store(key, std::string(reinterpret_cast<const char*>(histogram), dim_ * sizeof(double)));
}

namespace {
void hash_paths(Hasher& h, const std::vector<std::string>& paths) {
  for (const std::string& p : paths) {
    h.field(p);
    std::error_code ec;
    const std::uint64_t size = fs::file_size(fs::u8path(p), ec);
    const std::uint64_t v = ec ? ~std::uint64_t(0) : size;
    h.update(&v, 8);
  }
}
}  // namespace

Digest fisher_parameters_key(const bow::FisherPipelineOptions& options, const std::vector<std::string>& paths) {
  Hasher h;
  h.field("bowlrp-fisher-parameters-v1");
  h.field(bow::canonical_training_options(options));
  hash_paths(h, paths);
  return h.digest();
}

std::optional<bow::FisherParameters> load_cached_fisher_parameters(const std::string& dir, const Digest& key,
                                                                   const bow::FisherOptions& options) {
  const std::optional<std::string> payload = CacheStore(dir, "fisher").load(key);
  if (!payload) return std::nullopt;
  bow::FisherParameters p;
  std::size_t at = 0;
  for (std::vector<double>* v : {&p.mean, &p.projection, &p.means, &p.variances, &p.priors}) {
    std::uint64_t n = 0;
    if (at + 8 > payload->size()) return std::nullopt;
    std::memcpy(&n, payload->data() + at, 8);
    at += 8;
    if (n > (payload->size() - at) / sizeof(double)) return std::nullopt;
    v->resize(n);
    std::memcpy(v->data(), payload->data() + at, n * sizeof(double));
    at += n * sizeof(double);
  }
  if (at != payload->size()) return std::nullopt;
  try {
    p.validate(options);
  } catch (const std::invalid_argument&) {
    return std::nullopt;
  }
  return p;
}

void store_cached_fisher_parameters(const std::string& dir, const Digest& key, const bow::FisherParameters& p) {
  std::string payload;
  for (const std::vector<double>* v : {&p.mean, &p.projection, &p.means, &p.variances, &p.priors}) {
    const std::uint64_t n = v->size();
    payload.append(reinterpret_cast<const char*>(&n), 8);
    payload.append(reinterpret_cast<const char*>(v->data()), v->size() * sizeof(double));
  }
  CacheStore(dir, "fisher").store(key, payload);
}

Digest codebook_key(const bow::PipelineOptions& options, const std::vector<std::string>& paths) {
  Hasher h;
  h.field("bowlrp-codebook-v1");
  h.field(bow::canonical_codebook_options(options));
  hash_paths(h, paths);
  return h.digest();
}

std::optional<bow::Codebook> load_cached_codebook(const std::string& dir, const Digest& key) {
  const CacheStore store(dir, "codebooks");
  const std::optional<std::string> payload = store.load(key);
  if (!payload || payload->size() < 8) return std::nullopt;
  const std::uint64_t dim = get_u64(*payload, 0);
  const std::size_t floats = (payload->size() - 8) / sizeof(float);
  if (dim == 0 || dim > 4096 || (payload->size() - 8) % sizeof(float) != 0 || floats % dim != 0 || floats == 0)
    return std::nullopt;
  std::vector<float> centres(floats);
  std::memcpy(centres.data(), payload->data() + 8, floats * sizeof(float));
  return bow::Codebook(static_cast<int>(dim), std::move(centres));
}

void store_cached_codebook(const std::string& dir, const Digest& key, const bow::Codebook& codebook) {
  std::string payload;
  put_u64(payload, static_cast<std::uint64_t>(codebook.dim()));
  payload.append(reinterpret_cast<const char*>(codebook.centres().data()), codebook.centres().size() * sizeof(float));
  CacheStore(dir, "codebooks").store(key, payload);
}

}  // namespace bowlrp::model
