// Visual codebook: K words (k-means centres) in SIFT space.
//
// train() first draws a seeded uniform sample of min(n, samples) of the descriptors it is handed
// (without replacement, kept in input order), so callers may pass all descriptors (or pre-sample
// per image to bound memory), then minimises the k-means energy E = sum_i min_k |x_i - c_k|^2
// over that sample with one of:
//  - lloyd_gemm (default): exact Lloyd iterations. Assignment: every sample's nearest centre by
//    bow::Mapper (SGEMM selects candidates within a rigorous float error bound, exact double
//    distances decide, ties -> lowest index), so it is the true argmin and independent of batch
//    and thread count. Update: each centre is the mean of its samples, summed in double in
//    sample order, so centres are bit-identical for any thread count. A centre left without
//    samples takes the sample farthest from its own centre (ties -> lowest index) among clusters
//    of >= 2 samples. Each iteration therefore cannot increase E (up to rounding the means to
//    float). Stops when no assignment changes, when (E_{t-1} - E_t) <= tolerance * E_{t-1}, or
//    after max_iterations assignment steps. Initialisation: k-means++ (D^2 sampling, Arthur &
//    Vassilvitskii 2007) on a seeded subsample of at most kKMeansPlusPlusSamples samples.
//  - vlfeat_elkan / vlfeat_ann: VLFeat's Elkan (exact; keeps an n x K float bound table) or ANN
//    (kd-forest, 2 trees, 100 comparisons) k-means with VLFeat's k-means++ seeding from VLFeat's
//    generator seeded with the seed, and VLFeat's own stopping rule (relative energy variation
//    1e-4). This is the previous behaviour exactly: the old code chose Elkan while n x K <= 2^25,
//    ANN above.
// The same descriptors, options and seed give the same centres. Centres are a K x dim row-major
// float matrix. File format (little-endian): "BOWLRP-CODEBOOK\0", u32 version = 1, u32 K, u32 dim,
// K * dim float32.
#pragma once

#include <bowlrp/core/option_schema.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::bow {

/// k-means algorithm used by Codebook::train.
enum class KMeansAlgorithm { lloyd_gemm, vlfeat_elkan, vlfeat_ann };
/// "lloyd_gemm", "vlfeat_elkan" or "vlfeat_ann".
std::string to_string(KMeansAlgorithm algorithm);
/// Parses "lloyd_gemm", "vlfeat_elkan" or "vlfeat_ann"; throws std::invalid_argument otherwise.
KMeansAlgorithm kmeans_algorithm_from_string(const std::string& name);

/// Most samples k-means++ seeding of lloyd_gemm looks at (a seeded subsample of the training sample).
constexpr std::size_t kKMeansPlusPlusSamples = 20000;

/// Options of codebook training.
struct KMeansOptions {
  int words = 1024;            ///< K, number of visual words
  std::size_t samples = 100000;  ///< descriptors sampled for k-means (fewer if fewer exist)
  int max_iterations = 100;    ///< k-means iteration cap (assignment steps)
  std::uint64_t seed = 0;      ///< seed of the sample and of k-means++ initialisation
  KMeansAlgorithm algorithm = KMeansAlgorithm::lloyd_gemm;  ///< exact GEMM Lloyd, or VLFeat's Elkan / ANN
  /// lloyd_gemm only: stop when (E_{t-1} - E_t) <= tolerance * E_{t-1} (0: only when no assignment
  /// changes); 1e-3 took 13 iterations and 4.5 s on 100k VOC descriptors, K = 1024, at +0.6% energy vs 1e-4
  double tolerance = 1e-3;
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
  /// Every option, described once, each recorded under its field's name (the seed, kmeans_seed,
  /// has no flag: model::FitOptions' seed sets it).
  static const core::OptionSchema<KMeansOptions>& schema();
};

/// What a training run did (optional output of Codebook::train / Codebook::refine).
struct KMeansReport {
  /// lloyd_gemm: E_t of each assignment step t (centres of step t, exact nearest assignment); VLFeat: empty
  std::vector<double> energy;
  double final_energy = 0;  ///< exact E of the returned centres (nearest assignment, double distances)
  int iterations = 0;       ///< lloyd_gemm: assignment steps run; VLFeat: 0 (not exposed by VLFeat)
  bool converged = false;   ///< lloyd_gemm: stopped by tolerance or unchanged assignment, not by max_iterations
  std::size_t reseeded = 0;  ///< lloyd_gemm: centres re-seeded because their cluster became empty
};

/// An immutable set of K visual words.
class Codebook {
 public:
  /// An empty codebook (size 0).
  Codebook() = default;
  /// Wraps words * dim row-major centres; throws std::invalid_argument on a size mismatch.
  Codebook(int dim, std::vector<float> centres);
  /// Samples and runs k-means on n descriptors of length dim (row-major); throws if n < options.words.
  /// Fills *report when given.
  static Codebook train(const float* descriptors, std::size_t n, int dim, const KMeansOptions& options,
                        KMeansReport* report = nullptr);
  /// Runs lloyd_gemm iterations on ALL n samples from the given initial centres (no sampling, no
  /// seeding; options.words must equal initial.size(); options.algorithm is ignored).
  static Codebook refine(const float* samples, std::size_t n, const Codebook& initial, const KMeansOptions& options,
                         KMeansReport* report = nullptr);
  /// Number of words K.
  int size() const { return dim_ ? static_cast<int>(centres_.size() / dim_) : 0; }
  /// Descriptor length.
  int dim() const { return dim_; }
  /// Row-major K x dim centres.
  const std::vector<float>& centres() const { return centres_; }
  /// Centre of word k.
  const float* centre(int k) const { return centres_.data() + static_cast<std::size_t>(k) * dim_; }
  /// Writes a standalone codebook file atomically (temporary file, then rename).
  void save(const std::string& path) const;
  /// Reads a file written by save(); throws std::runtime_error naming the path if it is not one.
  static Codebook load(const std::string& path);

 private:
  int dim_ = 0;
  std::vector<float> centres_;
};

}  // namespace bowlrp::bow
