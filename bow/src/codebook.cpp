#include <bowlrp/bow/codebook.h>
#include <bowlrp/core/option_text.h>
#include <bowlrp/core/io.h>
#include <bowlrp/bow/mapping.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

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

#include "exact_distance.h"

namespace bowlrp::bow {

namespace {

constexpr char kMagic[16] = "BOWLRP-CODEBOOK";  // 15 chars + NUL
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeader = sizeof(kMagic) + 3 * sizeof(std::uint32_t);

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

using detail::exact_dist2;

// Unbiased draw in [0, span) from a fixed-width generator (rejects the top partial block), so the
// choice is the same on every platform.
std::uint64_t draw_below(std::mt19937_64& rng, std::uint64_t span) {
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - std::numeric_limits<std::uint64_t>::max() % span;
  std::uint64_t r;
  do r = rng(); while (r >= limit);
  return r % span;
}

// Uniform in [0, 1) with 53 random bits (std::uniform_real_distribution is implementation-defined).
double draw_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// m of the indices [0, n) uniformly without replacement (partial Fisher-Yates), sorted.
std::vector<std::size_t> sample_indices(std::size_t n, std::size_t m, std::mt19937_64& rng) {
  std::vector<std::size_t> idx(n);
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  for (std::size_t i = 0; i < m; ++i) std::swap(idx[i], idx[i + draw_below(rng, n - i)]);
  idx.resize(m);
  std::sort(idx.begin(), idx.end());
  return idx;
}

// Rows per parallel task: fixed, so work splits the same way whatever the thread count (results
// never depend on it anyway: every per-row value is computed independently).
constexpr std::size_t kRowBlock = 2048;

// k-means++ seeding (D^2 sampling) of K centres from at most max(kKMeansPlusPlusSamples, K) rows
// of x, subsampled with a generator seeded from seed. Sums of D^2 run in row order.
std::vector<float> kmeans_plus_plus(const float* x, std::size_t m, int dim, int k, std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x6b6d65616e732b2bULL);  // a stream apart from the sample's
  const std::size_t p = std::min(m, std::max(kKMeansPlusPlusSamples, static_cast<std::size_t>(k)));
  std::vector<float> sub;
  const float* s = x;
  if (p < m) {
    const auto idx = sample_indices(m, p, rng);
    sub.resize(p * dim);
    for (std::size_t i = 0; i < p; ++i) std::memcpy(sub.data() + i * dim, x + idx[i] * dim, sizeof(float) * dim);
    s = sub.data();
  }
  std::vector<float> c(static_cast<std::size_t>(k) * dim);
  std::vector<double> d2(p, std::numeric_limits<double>::infinity());  // D^2 to the nearest chosen centre
  std::vector<int> owner(p, 0);                                          // and its index
  std::vector<double> centre_d2(k);
  double total = 0;
  for (int j = 0; j < k; ++j) {
    std::size_t pick = 0;
    if (j == 0 || !(total > 0)) {  // first centre, or every row already coincides with a centre
      pick = draw_below(rng, p);
    } else {
      const double target = draw_unit(rng) * total;
      double cum = 0;
      std::size_t last_positive = 0;
      bool found = false;
      for (std::size_t i = 0; i < p; ++i) {
        if (d2[i] > 0) last_positive = i;
        cum += d2[i];
        if (cum > target && d2[i] > 0) {
          pick = i;
          found = true;
          break;
        }
      }
      if (!found) pick = last_positive;  // target rounded past the running sum
    }
    float* cj = c.data() + static_cast<std::size_t>(j) * dim;
    std::memcpy(cj, s + pick * dim, sizeof(float) * dim);
    if (j + 1 == k) break;
    // Triangle inequality (Elkan): if |c_new - c_a| >= 2 |x - c_a| for x's current nearest c_a,
    // c_new cannot be nearer, so x is skipped without reading it (the rows are the memory
    // traffic); the small margin covers rounding of the compared squares.
    for (int a = 0; a < j; ++a) centre_d2[a] = exact_dist2(c.data() + static_cast<std::size_t>(a) * dim, cj, dim);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, p, kRowBlock), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i) {
        if (j > 0 && centre_d2[owner[i]] > 4.000001 * d2[i]) continue;
        const double d = exact_dist2(s + i * dim, cj, dim);
        if (d < d2[i]) {
          d2[i] = d;
          owner[i] = j;
        }
      }
    });
    total = 0;
    for (std::size_t i = 0; i < p; ++i) total += d2[i];
  }
  return c;
}

// Exact nearest centre (bow::Mapper) and its exact dist2 for each of m rows; returns the energy
// (sum of dist2 in row order).
double assign_nearest(const float* x, std::size_t m, int dim, const std::vector<float>& centres,
                      std::vector<std::int32_t>& labels, std::vector<double>& d2) {
  const Mapper mapper(Codebook(dim, centres), MappingOptions{});
  const Codebook& cb = mapper.codebook();
  labels.resize(m);
  d2.resize(m);
  const std::size_t blocks = (m + kRowBlock - 1) / kRowBlock;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t b = r.begin(); b < r.end(); ++b) {
      const std::size_t r0 = b * kRowBlock, r1 = std::min(m, r0 + kRowBlock);
      const auto near = mapper.nearest(x + r0 * dim, r1 - r0);
      for (std::size_t i = r0; i < r1; ++i) {
        labels[i] = near[i - r0];
        d2[i] = exact_dist2(x + i * dim, cb.centre(labels[i]), dim);
      }
    }
  });
  double e = 0;
  for (std::size_t i = 0; i < m; ++i) e += d2[i];
  return e;
}

// Exact Lloyd iterations (codebook.h) on m rows from the given centres.
std::vector<float> lloyd(const float* x, std::size_t m, int dim, std::vector<float> centres,
                         const KMeansOptions& options, KMeansReport* report) {
  const int k = static_cast<int>(centres.size() / dim);
  std::vector<std::int32_t> labels, used;  // this step's nearest centres; those of the last update
  std::vector<double> d2;
  std::vector<std::size_t> counts(k), start(k + 1), order(m);
  KMeansReport rep;
  double prev_energy = 0;
  while (rep.iterations < options.max_iterations) {
    const double energy = assign_nearest(x, m, dim, centres, labels, d2);
    ++rep.iterations;
    rep.energy.push_back(energy);
    // The centres are already the means of an unchanged assignment: a fixed point.
    if (labels == used) {
      rep.converged = true;
      break;
    }
    std::fill(counts.begin(), counts.end(), std::size_t{0});
    for (std::size_t i = 0; i < m; ++i) ++counts[labels[i]];
    // Empty clusters (in index order) take the sample farthest from its centre, from a cluster
    // that keeps at least one sample; each move only lowers the energy.
    for (int c = 0; c < k; ++c) {
      if (counts[c] != 0) continue;
      std::size_t best = m;
      for (std::size_t i = 0; i < m; ++i)
        if (d2[i] > 0 && counts[labels[i]] >= 2 && (best == m || d2[i] > d2[best])) best = i;
      if (best == m) continue;  // every sample sits on a centre: nothing to gain
      --counts[labels[best]];
      labels[best] = c;
      counts[c] = 1;
      d2[best] = 0;
      ++rep.reseeded;
    }
    // Means: rows grouped by cluster in row order (counting sort), summed in double in that order.
    start[0] = 0;
    for (int c = 0; c < k; ++c) start[c + 1] = start[c] + counts[c];
    {
      std::vector<std::size_t> next(start.begin(), start.end() - 1);
      for (std::size_t i = 0; i < m; ++i) order[next[labels[i]]++] = i;
    }
    tbb::parallel_for(tbb::blocked_range<int>(0, k, 16), [&](const tbb::blocked_range<int>& r) {
      std::vector<double> sum(dim);
      for (int c = r.begin(); c < r.end(); ++c) {
        if (counts[c] == 0) continue;  // nothing could be re-seeded: keep the centre
        std::fill(sum.begin(), sum.end(), 0.0);
        for (std::size_t e = start[c]; e < start[c + 1]; ++e) {
          const float* xr = x + order[e] * dim;
          for (int j = 0; j < dim; ++j) sum[j] += xr[j];
        }
        float* cc = centres.data() + static_cast<std::size_t>(c) * dim;
        const double count = static_cast<double>(counts[c]);
        for (int j = 0; j < dim; ++j) cc[j] = static_cast<float>(sum[j] / count);
      }
    });
    used = labels;
    const bool small = rep.iterations > 1 && prev_energy - energy <= options.tolerance * prev_energy;
    prev_energy = energy;
    if (small) {
      rep.converged = true;
      break;
    }
  }
  if (report) {
    rep.final_energy = assign_nearest(x, m, dim, centres, labels, d2);
    *report = std::move(rep);
  }
  return centres;
}

void put_u32(std::string& s, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t get_u32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + i])) << (8 * i);
  return v;
}

}  // namespace

std::string to_string(KMeansAlgorithm algorithm) {
  switch (algorithm) {
    case KMeansAlgorithm::lloyd_gemm: return "lloyd_gemm";
    case KMeansAlgorithm::vlfeat_elkan: return "vlfeat_elkan";
    case KMeansAlgorithm::vlfeat_ann: return "vlfeat_ann";
  }
  return "unknown";
}

KMeansAlgorithm kmeans_algorithm_from_string(const std::string& name) {
  if (name == "lloyd_gemm") return KMeansAlgorithm::lloyd_gemm;
  if (name == "vlfeat_elkan") return KMeansAlgorithm::vlfeat_elkan;
  if (name == "vlfeat_ann") return KMeansAlgorithm::vlfeat_ann;
  throw std::invalid_argument("k-means algorithm " + core::quoted(name) + ": expected lloyd_gemm, vlfeat_elkan or vlfeat_ann");
}

const core::OptionSchema<KMeansOptions>& KMeansOptions::schema() {
  using O = KMeansOptions;
  using core::OptionRange;
  using core::Recorded;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::record_as(core::integer_option<O>("words", "--words", "K, visual words of the codebook",
                                                        [](O& o) -> int& { return o.words; }, OptionRange::at_least(1)),
                                "words", Recorded::training));
    s.push_back(core::record_as(core::integer_option<O>("samples", "--kmeans-samples", "descriptors sampled for k-means",
                                                        [](O& o) -> std::size_t& { return o.samples; },
                                                        OptionRange::at_least(1)),
                                "samples", Recorded::training));
    s.push_back(core::record_as(core::integer_option<O>("kmeans_iterations", "--kmeans-iterations", "k-means iteration cap",
                                                        [](O& o) -> int& { return o.max_iterations; },
                                                        OptionRange::at_least(1)),
                                "max_iterations", Recorded::training));
    s.push_back(core::record_as(core::integer_option<O>("kmeans_seed", "",
                                                        "seed of the k-means sample and start (model::FitOptions' seed sets it)",
                                                        [](O& o) -> std::uint64_t& { return o.seed; }),
                                "seed", Recorded::training));
    // How the codebook was trained is a record, not needed to use it: model files written before
    // algorithm and tolerance existed read as the defaults.
    s.push_back(core::record_as(
        core::choice_option<O>("kmeans_algorithm", "--kmeans-algorithm", "k-means: lloyd_gemm | vlfeat_elkan | vlfeat_ann",
                               {"lloyd_gemm", "vlfeat_elkan", "vlfeat_ann"},
                               [](O& o) -> KMeansAlgorithm& { return o.algorithm; },
                               [](KMeansAlgorithm a) { return to_string(a); }, &kmeans_algorithm_from_string),
        "algorithm", Recorded::training, core::InFile::optional));
    s.push_back(core::record_as(core::real_option<O>("kmeans_tolerance", "--kmeans-tolerance",
                                                     "lloyd_gemm: k-means stops below this relative energy decrease",
                                                     [](O& o) -> double& { return o.tolerance; }, OptionRange::at_least(0)),
                                "tolerance", Recorded::training, core::InFile::optional));
    return s;
  }();
  return schema;
}

void KMeansOptions::validate() const {
  if (words < 1)
    throw std::invalid_argument("KMeansOptions::words = " + std::to_string(words) + ": expected >= 1 visual words");
  if (samples < static_cast<std::size_t>(words))
    throw std::invalid_argument("KMeansOptions::samples = " + std::to_string(samples) +
                                ": expected at least words = " + std::to_string(words));
  if (max_iterations < 1)
    throw std::invalid_argument("KMeansOptions::max_iterations = " + std::to_string(max_iterations) +
                                ": expected >= 1");
  if (algorithm != KMeansAlgorithm::lloyd_gemm && algorithm != KMeansAlgorithm::vlfeat_elkan &&
      algorithm != KMeansAlgorithm::vlfeat_ann)
    throw std::invalid_argument("KMeansOptions::algorithm = " + std::to_string(static_cast<int>(algorithm)) +
                                ": expected lloyd_gemm, vlfeat_elkan or vlfeat_ann");
  if (!(tolerance >= 0) || !std::isfinite(tolerance))
    throw std::invalid_argument("KMeansOptions::tolerance = " + std::to_string(tolerance) +
                                ": expected a finite value >= 0");
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

Codebook Codebook::train(const float* descriptors, std::size_t n, int dim, const KMeansOptions& options,
                         KMeansReport* report) {
  options.validate();
  if (dim < 1) throw std::invalid_argument("Codebook::train: dim = " + std::to_string(dim) + ", expected >= 1");
  if (!descriptors || n < static_cast<std::size_t>(options.words))
    throw std::invalid_argument("Codebook::train: " + std::to_string(n) + " descriptors, expected at least words = " +
                                std::to_string(options.words));
  // Seeded uniform sample without replacement, kept in input order.
  const float* data = descriptors;
  std::vector<float> sample;
  std::size_t m = n;
  if (n > options.samples) {
    m = options.samples;
    std::mt19937_64 rng(options.seed);
    const auto idx = sample_indices(n, m, rng);
    sample.resize(m * dim);
    for (std::size_t i = 0; i < m; ++i)
      std::memcpy(sample.data() + i * dim, descriptors + idx[i] * dim, sizeof(float) * dim);
    data = sample.data();
  }

  if (options.algorithm == KMeansAlgorithm::lloyd_gemm)
    return Codebook(dim, lloyd(data, m, dim, kmeans_plus_plus(data, m, dim, options.words, options.seed), options,
                               report));

  std::vector<float> centres;
  {
    RandScope rand_scope(options.seed);
    KMeansPtr km(vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2));
    if (!km) throw std::runtime_error("Codebook::train: VLFeat could not allocate a k-means object");
    const bool elkan = options.algorithm == KMeansAlgorithm::vlfeat_elkan;
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
    centres.assign(c, c + static_cast<std::size_t>(options.words) * dim);
  }
  if (report) {
    *report = KMeansReport{};
    std::vector<std::int32_t> labels;
    std::vector<double> d2;
    report->final_energy = assign_nearest(data, m, dim, centres, labels, d2);
  }
  return Codebook(dim, std::move(centres));
}

Codebook Codebook::refine(const float* samples, std::size_t n, const Codebook& initial, const KMeansOptions& options,
                          KMeansReport* report) {
  options.validate();
  if (initial.size() != options.words)
    throw std::invalid_argument("Codebook::refine: the initial codebook has " + std::to_string(initial.size()) +
                                " words, expected options.words = " + std::to_string(options.words));
  if (!samples || n < static_cast<std::size_t>(options.words))
    throw std::invalid_argument("Codebook::refine: " + std::to_string(n) + " samples, expected at least words = " +
                                std::to_string(options.words));
  return Codebook(initial.dim(), lloyd(samples, n, initial.dim(), initial.centres(), options, report));
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
  core::write_file_atomic(path, out);
}

Codebook Codebook::load(const std::string& path) {
  const std::string in = core::read_file(path);
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
