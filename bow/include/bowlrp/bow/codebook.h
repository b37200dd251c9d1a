// Visual codebook: K words (k-means centres) in SIFT space.
//
// Trained by VLFeat's k-means (k-means++ seeding from VLFeat's generator seeded with
// KMeansOptions::seed) on a seeded uniform random sample of the descriptors handed to train():
// train() itself draws min(n, samples) of them without replacement, so callers may pass all
// descriptors (or pre-sample per image to bound memory). Elkan's exact algorithm is used while its
// n x K bound table stays under 2^25 entries, VLFeat's ANN k-means (kd-forest) above that. The
// same descriptors, options and seed give the same centres. Centres are a K x dim row-major float
// matrix. File format (little-endian): "BOWLRP-CODEBOOK\0", u32 version = 1, u32 K, u32 dim,
// K * dim float32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::bow {

/// Options of codebook training.
struct KMeansOptions {
  int words = 1024;            ///< K, number of visual words
  std::size_t samples = 100000;  ///< descriptors sampled for k-means (fewer if fewer exist)
  int max_iterations = 100;    ///< k-means iteration cap
  std::uint64_t seed = 0;      ///< seed of the sample and of k-means++ initialisation
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// An immutable set of K visual words.
class Codebook {
 public:
  /// An empty codebook (size 0).
  Codebook() = default;
  /// Wraps words * dim row-major centres; throws std::invalid_argument on a size mismatch.
  Codebook(int dim, std::vector<float> centres);
  /// Samples and runs k-means on n descriptors of length dim (row-major); throws if n < options.words.
  static Codebook train(const float* descriptors, std::size_t n, int dim, const KMeansOptions& options);
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
