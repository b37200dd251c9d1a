#include "cli/feature_cache.h"

#include <bowlrp/bow/io.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'B', 'W', 'L', 'C', 'A', 'C', 'H', '1'};
constexpr std::size_t kHeader = sizeof(kMagic) + 16 + 8;  // magic, key, payload size

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t fmix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

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

// Round-trip text of a double (17 significant digits).
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string Digest::hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

void Hasher::block(std::uint64_t w) {
  a_ = rotl(a_ ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
  b_ = rotl(b_ + (w ^ 0x52dce729da3ed7b5ULL), 27) * 0x9e3779b97f4a7c15ULL + a_;
}

void Hasher::update(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += n;
  while (n > 0 && tail_n_ > 0 && tail_n_ < 8) {
    tail_[tail_n_++] = *p++;
    --n;
    if (tail_n_ == 8) {
      std::uint64_t w;
      std::memcpy(&w, tail_, 8);
      block(w);
      tail_n_ = 0;
    }
  }
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    block(w);
  }
  for (; n > 0; --n) tail_[tail_n_++] = *p++;
}

void Hasher::field(const std::string& text) {
  const std::uint64_t n = text.size();
  update(&n, sizeof n);
  update(text.data(), text.size());
}

Digest Hasher::digest() const {
  std::uint64_t a = a_, b = b_;
  std::uint64_t w = 0;
  if (tail_n_) {
    unsigned char last[8] = {};
    std::memcpy(last, tail_, tail_n_);
    std::memcpy(&w, last, 8);
  }
  a = rotl(a ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
  b = rotl(b + (w ^ 0x52dce729da3ed7b5ULL), 27) * 0x9e3779b97f4a7c15ULL + a;
  a ^= total_;
  b ^= total_ * 0x9e3779b97f4a7c15ULL;
  a += b;
  b += a;
  Digest d;
  d.hi = fmix(a);
  d.lo = fmix(b ^ d.hi);
  return d;
}

Digest digest_of(const std::string& bytes) {
  Hasher h;
  h.update(bytes.data(), bytes.size());
  return h.digest();
}

std::string canonical_encoding_options(const bow::PipelineOptions& o) {
  std::ostringstream s;
  s << "image.max_side=" << o.image.max_side << ";dsift.bin_sizes=";
  for (int b : o.dsift.bin_sizes) s << b << ',';
  s << ";dsift.step=" << o.dsift.step << ";dsift.magnif=" << num(o.dsift.magnif)
    << ";dsift.contrast_threshold=" << num(o.dsift.contrast_threshold) << ";dsift.window_size="
    << num(o.dsift.window_size) << ";dsift.fast=" << o.dsift.fast << ";mapping.kind=" << bow::to_string(o.mapping.kind)
    << ";mapping.neighbours=" << o.mapping.neighbours << ";mapping.beta=" << num(o.mapping.beta)
    << ";mapping.rank_decay=" << num(o.mapping.rank_decay) << ";pooling.p=" << num(o.pooling.p)
    << ";pooling.pyramid=";
  for (const auto& l : o.pooling.pyramid) s << l.cols << 'x' << l.rows << ',';
  s << ";pooling.normalisation=" << bow::to_string(o.pooling.normalisation)
    << ";pooling.hellinger=" << o.pooling.hellinger << ';';
  return s.str();
}

std::string canonical_codebook_options(const bow::PipelineOptions& o) {
  std::ostringstream s;
  s << canonical_encoding_options(o) << "kmeans.words=" << o.kmeans.words << ";kmeans.samples=" << o.kmeans.samples
    << ";kmeans.max_iterations=" << o.kmeans.max_iterations << ";kmeans.seed=" << o.kmeans.seed
    << ";kmeans.algorithm=" << bow::to_string(o.kmeans.algorithm) << ";kmeans.tolerance=" << num(o.kmeans.tolerance)
    << ';';
  return s.str();
}

Digest codebook_digest(const bow::Codebook& codebook) {
  Hasher h;
  const std::uint64_t k = static_cast<std::uint64_t>(codebook.size()), d = static_cast<std::uint64_t>(codebook.dim());
  h.update(&k, 8);
  h.update(&d, 8);
  h.update(codebook.centres().data(), codebook.centres().size() * sizeof(float));
  return h.digest();
}

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
  bow::write_file_atomic(path(key), bytes);
  ++stats_.stored;
}

HistogramCache::HistogramCache(const std::string& dir, const bow::PipelineOptions& options,
                               const bow::Codebook& codebook, std::size_t dim)
    : store_(dir, "histograms"), dim_(dim) {
  prefix_.field("bowlrp-histogram-v1");
  prefix_.field(canonical_encoding_options(options));
  const Digest cb = codebook_digest(codebook);
  prefix_.update(&cb.hi, 8);
  prefix_.update(&cb.lo, 8);
  const std::uint64_t d = dim;
  prefix_.update(&d, 8);
}

Digest HistogramCache::key(const std::string& file_bytes) const {
  Hasher h = prefix_;
  h.field(file_bytes);
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

Digest codebook_key(const bow::PipelineOptions& options, const std::vector<std::string>& paths) {
  Hasher h;
  h.field("bowlrp-codebook-v1");
  h.field(canonical_codebook_options(options));
  for (const std::string& p : paths) {
    h.field(p);
    std::error_code ec;
    const std::uint64_t size = fs::file_size(fs::u8path(p), ec);
    const std::uint64_t v = ec ? ~std::uint64_t(0) : size;
    h.update(&v, 8);
  }
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

}  // namespace bowlrp::apps
