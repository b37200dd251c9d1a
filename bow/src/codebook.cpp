#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/io.h>

extern "C" {
#include <vl/generic.h>
#include <vl/kmeans.h>
#include <vl/random.h>
}

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

namespace bowlrp::bow {

namespace {

constexpr char kMagic[16] = "BOWLRP-CODEBOOK";  // 15 chars + NUL
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeader = sizeof(kMagic) + 3 * sizeof(std::uint32_t);
// Elkan keeps n x K float lower bounds; above this many entries ANN k-means is used instead.
constexpr std::size_t kElkanMaxBounds = std::size_t{1} << 25;

struct KMeansDeleter {
  void operator()(VlKMeans* k) const { vl_kmeans_delete(k); }
};
using KMeansPtr = std::unique_ptr<VlKMeans, KMeansDeleter>;

// VLFeat draws k-means++ seeds (and ANN trees) from its per-thread generator; seed it from the
// options and restore it afterwards so no state leaks to other VLFeat users on this thread.
class RandScope {
 public:
  explicit RandScope(std::uint64_t seed) : saved_(*vl_get_rand()) {
    vl_uint32 key[2] = {static_cast<vl_uint32>(seed & 0xffffffffu), static_cast<vl_uint32>(seed >> 32)};
    vl_rand_seed_by_array(vl_get_rand(), key, 2);
  }
  ~RandScope() { *vl_get_rand() = saved_; }
  RandScope(const RandScope&) = delete;
  RandScope& operator=(const RandScope&) = delete;

 private:
  VlRand saved_;
};

void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t get_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

}  // namespace

void KMeansOptions::validate() const {
  if (words < 1)
    throw std::invalid_argument("KMeansOptions::words = " + std::to_string(words) + ": expected >= 1 visual words");
  if (samples < static_cast<std::size_t>(words))
    throw std::invalid_argument("KMeansOptions::samples = " + std::to_string(samples) +
                                ": expected at least words = " + std::to_string(words));
  if (max_iterations < 1)
    throw std::invalid_argument("KMeansOptions::max_iterations = " + std::to_string(max_iterations) +
                                ": expected >= 1");
}

Codebook::Codebook(int dim, std::vector<float> centres) : dim_(dim), centres_(std::move(centres)) {
  if (dim < 1)
    throw std::invalid_argument("Codebook: dim = " + std::to_string(dim) + ", expected >= 1");
  if (centres_.empty() || centres_.size() % static_cast<std::size_t>(dim) != 0)
    throw std::invalid_argument("Codebook: " + std::to_string(centres_.size()) +
                                " centre values is not a positive multiple of dim = " + std::to_string(dim));
  for (float v : centres_)
    if (!std::isfinite(v)) throw std::invalid_argument("Codebook: centres contain a non-finite value");
}

Codebook Codebook::train(const float* descriptors, std::size_t n, int dim, const KMeansOptions& options) {
  options.validate();
  if (dim < 1) throw std::invalid_argument("Codebook::train: dim = " + std::to_string(dim) + ", expected >= 1");
  if (!descriptors || n < static_cast<std::size_t>(options.words))
    throw std::invalid_argument("Codebook::train: " + std::to_string(n) + " descriptors, expected at least words = " +
                                std::to_string(options.words));
  // Seeded uniform sample without replacement (partial Fisher-Yates on a fixed-width generator,
  // so the choice is the same on every platform), kept in input order.
  const float* data = descriptors;
  std::vector<float> sample;
  std::size_t m = n;
  if (n > options.samples) {
    m = options.samples;
    std::vector<std::size_t> idx(n);
    std::iota(idx.begin(), idx.end(), std::size_t{0});
    std::mt19937_64 rng(options.seed);
    for (std::size_t i = 0; i < m; ++i) {
      const std::size_t span = n - i;
      // Unbiased draw in [0, span): reject the top partial block.
      const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % span;
      std::uint64_t r;
      do r = rng(); while (r >= limit);
      std::swap(idx[i], idx[i + r % span]);
    }
    std::sort(idx.begin(), idx.begin() + m);
    sample.resize(m * dim);
    for (std::size_t i = 0; i < m; ++i)
      std::memcpy(sample.data() + i * dim, descriptors + idx[i] * dim, sizeof(float) * dim);
    data = sample.data();
  }

  RandScope rand_scope(options.seed);
  KMeansPtr km(vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2));
  if (!km) throw std::runtime_error("Codebook::train: VLFeat could not allocate a k-means object");
  const bool elkan = m * static_cast<std::size_t>(options.words) <= kElkanMaxBounds;
  vl_kmeans_set_algorithm(km.get(), elkan ? VlKMeansElkan : VlKMeansANN);
  vl_kmeans_set_initialization(km.get(), VlKMeansPlusPlus);
  vl_kmeans_set_max_num_iterations(km.get(), static_cast<vl_size>(options.max_iterations));
  vl_kmeans_set_num_repetitions(km.get(), 1);
  vl_kmeans_set_verbosity(km.get(), 0);
  if (!elkan) {
    vl_kmeans_set_num_trees(km.get(), 2);
    vl_kmeans_set_max_num_comparisons(km.get(), 100);
  }
  vl_kmeans_cluster(km.get(), data, static_cast<vl_size>(dim), static_cast<vl_size>(m),
                    static_cast<vl_size>(options.words));
  const float* c = static_cast<const float*>(vl_kmeans_get_centers(km.get()));
  return Codebook(dim, std::vector<float>(c, c + static_cast<std::size_t>(options.words) * dim));
}

void Codebook::save(const std::string& path) const {
  if (size() == 0) throw std::invalid_argument("Codebook::save('" + path + "'): the codebook is empty");
  std::string out(kMagic, sizeof(kMagic));
  put_u32(out, kVersion);
  put_u32(out, static_cast<std::uint32_t>(size()));
  put_u32(out, static_cast<std::uint32_t>(dim_));
  const std::size_t at = out.size();
  out.resize(at + centres_.size() * sizeof(float));
  std::memcpy(out.data() + at, centres_.data(), centres_.size() * sizeof(float));  // little-endian hosts
  write_file_atomic(path, out);
}

Codebook Codebook::load(const std::string& path) {
  const std::string in = read_file(path);
  if (in.size() < kHeader || std::memcmp(in.data(), kMagic, sizeof(kMagic)) != 0)
    throw std::runtime_error("'" + path + "' is not a bowlrp codebook (expected the BOWLRP-CODEBOOK header)");
  const std::uint32_t version = get_u32(in, sizeof(kMagic));
  if (version != kVersion)
    throw std::runtime_error("'" + path + "' is codebook format version " + std::to_string(version) +
                             ", this build reads version " + std::to_string(kVersion));
  const std::uint32_t k = get_u32(in, sizeof(kMagic) + 4), dim = get_u32(in, sizeof(kMagic) + 8);
  if (k == 0 || dim == 0 || k > (1u << 24) || dim > (1u << 16))
    throw std::runtime_error("'" + path + "' declares an implausible codebook of " + std::to_string(k) + " words x " +
                             std::to_string(dim) + " dims");
  const std::size_t want = kHeader + static_cast<std::size_t>(k) * dim * sizeof(float);
  if (in.size() != want)
    throw std::runtime_error("'" + path + "' has " + std::to_string(in.size()) + " bytes, expected " +
                             std::to_string(want) + " for " + std::to_string(k) + " x " + std::to_string(dim) +
                             (in.size() < want ? " (truncated)" : " (trailing garbage)"));
  std::vector<float> c(static_cast<std::size_t>(k) * dim);
  std::memcpy(c.data(), in.data() + kHeader, c.size() * sizeof(float));
  for (float v : c)
    if (!std::isfinite(v)) throw std::runtime_error("'" + path + "' holds a non-finite centre value (corrupt file)");
  return Codebook(static_cast<int>(dim), std::move(c));
}

}  // namespace bowlrp::bow
