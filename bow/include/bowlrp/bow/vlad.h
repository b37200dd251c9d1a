// The VLAD encoding (vector of locally aggregated descriptors; Jégou, Douze, Schmid, Pérez, CVPR 2010,
// with the signed square root of Jégou et al., PAMI 2012, and the intra-normalisation of
// Arandjelović, Zisserman, CVPR 2013): image -> dense SIFT -> nearest codebook centre -> residual
// sums per pyramid cell -> normalisations. Explained by the ε rule in decompose/vlad_relevance.h.
//
// Local descriptor of feature l (128 dimensions, no projection):
//   s_l = RootSIFT(d_l) = sqrt(d_l / |d_l|_1)   (root_sift; otherwise s_l = d_l; a zeroed descriptor stays 0)
// Codebook: K centres c_k in the space of s (k-means of sampled s, bow::Codebook::train; see
// train_vlad_codebook). Hard assignment: l -> k(l) = argmin_k |s_l - c_k|², squared Euclidean,
// ties to the lowest k (bow::Mapper::nearest: exact double distances, independent of batch and
// thread count). A descriptor that dense SIFT zeroed (contrast below DsiftOptions::contrast_threshold)
// carries no appearance: it is not assigned (assignment -1), adds nothing to z and receives no
// relevance through ψ, as Fisher's skip_zeroed (bow/fisher.h); it still counts in N_c, the features
// of its cell, and so gets its cell's even share of the relevance of empty blocks.
// For pyramid cell c (a feature belongs to one cell per level, bow/pooling.h), word k and SIFT
// dimension j, the unnormalised VLAD is the residual sum (in double, in feature order):
//   z_{c,k,j} = Σ_{l in c, k(l) = k} (s_lj - c_kj)        (= ψ summed: z_d = Σ_l ψ_d(l))
// Then, per cell c, in this order (each step optional except the last):
//   u_d = sign(z_d) sqrt(|z_d|)                               signed_sqrt (else u_d = z_d)
//   v_d = u_d / max(b_{c,k}, 1e-12),  b_{c,k} = |u_{c,k,·}|_2  intra_normalisation (else v_d = u_d)
//   Φ_d = v_d / (max(n_c, 1e-12) sqrt(cells)),  n_c = |v_{c,·,·}|_2
// so an all-zero block or cell stays 0, and a non-empty cell has norm 1/sqrt(cells): the whole
// vector has unit norm when no cell is empty, as Fisher's improved Fisher vector. For a given image
// every step is one monotone map per dimension (sign preserving), so relevance passes unchanged
// from Φ_d to z_d. Layout: d = c (K 128) + k 128 + j, VLFeat's layout of one cell; V = K 128 cells.
// For one 1x1 cell, Φ is vl_vlad_encode (vl/vlad.h) of the s_l with one-hot assignments and the
// flags SQUARE_ROOT (signed_sqrt), NORMALIZE_COMPONENTS (intra_normalisation), the same two norm
// floors of 1e-12 and the same order; VLFeat accumulates Σ s - N_k c_k (in the data's type) where
// bowlrp sums the residuals in double, and has no pyramid, hence no 1/sqrt(cells) factor.
#pragma once

#include <bowlrp/core/option_schema.h>
#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/fingerprint.h>
#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/bow/pooling.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::bow {

/// Options of the VLAD stages after dense SIFT.
/// Defaults: K = 256 (the Fisher default's size; V = 32768 per cell), RootSIFT, signed square root
/// and intra-normalisation (Arandjelović and Zisserman's recommended VLAD), no pyramid.
struct VladOptions {
  int words = 256;                 ///< K, codebook centres (1 .. 4096)
  std::size_t samples = 100000;    ///< descriptors sampled for k-means (fewer if fewer exist)
  int max_iterations = 100;        ///< k-means iteration cap (KMeansOptions::max_iterations)
  std::uint64_t seed = 0;          ///< seeds the k-means sample and its k-means++ start
  bool root_sift = true;           ///< RootSIFT (Hellinger) map of each descriptor before assignment
  bool signed_sqrt = true;         ///< sign(z) sqrt(|z|) of every dimension
  bool intra_normalisation = true; ///< L2-normalise each cell's block of each word
  std::vector<core::PyramidLevel> pyramid = std::vector<core::PyramidLevel>(1);  ///< levels; one 1x1 level = no pyramid
  /// Total pyramid cells.
  int cells() const;
  /// The k-means options of codebook training: words, samples, max_iterations and seed from here,
  /// the rest KMeansOptions's defaults (lloyd_gemm).
  KMeansOptions kmeans_options() const;
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
  /// Every option, described once, each recorded under its field's name (the seed, vlad_seed, has no
  /// flag: model::FitOptions' seed sets it).
  static const core::OptionSchema<VladOptions>& schema();
};

/// Options of every stage of the VLAD pipeline.
struct VladPipelineOptions {
  ImageOptions image;  ///< loading and size cap
  DsiftOptions dsift;  ///< dense SIFT geometry (as the Bag-of-Words pipeline)
  VladOptions vlad;    ///< codebook, normalisations, pyramid
  /// Validates every stage's options (throws std::invalid_argument).
  void validate() const;
  /// The image's, dense SIFT's and the VLAD stages' schemas, recorded under "image", "dsift" and "vlad".
  static const core::OptionSchema<VladPipelineOptions>& schema();
};

/// Text naming every option that changes a VLAD vector (image cap, dense SIFT, the VLAD stages
/// except the training-only samples, iterations and seed); equal options give equal text.
std::string canonical_encoding_options(const VladPipelineOptions& options);
/// Same plus the training options (what changes the learned codebook).
std::string canonical_training_options(const VladPipelineOptions& options);

/// Local descriptors s_l (n x 128) of n SIFT descriptors (n x 128): RootSIFT with root_sift, else a
/// copy; a zero descriptor stays 0.
std::vector<float> vlad_local_descriptors(const VladOptions& options, const float* descriptors, std::size_t n);

/// Trains the codebook from n sampled raw SIFT descriptors (n x 128): the zeroed ones are dropped
/// (they are never assigned), the rest mapped to s_l, then bow::Codebook::train with
/// options.kmeans_options(). Throws std::invalid_argument when the options are invalid or fewer
/// than `words` non-zero descriptors remain. Same inputs, same codebook, whatever the thread count.
Codebook train_vlad_codebook(const float* descriptors, std::size_t n, const VladOptions& options,
                             KMeansReport* report = nullptr);

/// Everything the VLAD forward pass computed for one image: what the backward pass consumes.
struct VladTrace {
  FeatureTrace features;             ///< frames, supports, SIFT descriptors
  std::vector<float> local;          ///< s_l, L x 128 row-major
  std::vector<int> assignment;       ///< k(l), the word of each feature; -1 for a zeroed (skipped) descriptor
  int cells = 0;                     ///< total pyramid cells
  int levels = 1;                    ///< pyramid levels
  std::vector<int> feature_cells;    ///< features x levels: global cell of feature l at level j
  std::vector<int> cell_counts;      ///< N_c, features of each cell (zeroed ones included)
  std::vector<int> word_counts;      ///< cells x K: features of cell c assigned to word k
  std::vector<double> unnormalised;  ///< z_d, size V
  std::vector<double> block_norms;   ///< cells x K: max(b_{c,k}, 1e-12) with intra_normalisation, else 1
  std::vector<double> cell_norms;    ///< max(n_c, 1e-12) sqrt(cells) per cell
  std::vector<double> vlad;          ///< Φ_d, the classifier input, size V
  core::Digest pipeline;             ///< fingerprint of the pipeline that made this trace
  /// The classifier input Φ (size V).
  const std::vector<double>& histogram() const { return vlad; }
};

/// The configured VLAD pipeline; immutable and thread-safe.
class VladPipeline {
 public:
  /// Validates the options and the codebook against them (128-dimensional, `words` centres);
  /// throws std::invalid_argument.
  VladPipeline(VladPipelineOptions options, Codebook codebook);
  /// Loads a file (throws std::runtime_error naming it when unreadable).
  GrayImage load(const std::string& path) const { return loader_.load(path); }
  /// Runs every stage on a loaded image.
  VladTrace encode(const GrayImage& image) const;
  /// Loads and encodes a file.
  VladTrace encode_file(const std::string& path) const { return encode(load(path)); }
  /// Decodes and encodes a file's bytes already in memory; `path` names the file in errors.
  VladTrace encode_bytes(const std::string& bytes, const std::string& path) const {
    return encode(loader_.decode(bytes, path));
  }
  /// The stages after dense SIFT on given features (frames and descriptors of `features`).
  VladTrace encode_features(FeatureTrace features) const;
  /// Recomputes the word and cell counts, z, the norms and Φ of a trace from its local descriptors,
  /// assignment and cells (the forward sums exactly as encode() runs them).
  void pool(VladTrace& trace) const;
  /// Replaces the features at `indices` of a trace by `replacement` (same frames, new descriptors,
  /// e.g. from DenseSift::extract_region): their local descriptors and words are recomputed, then
  /// the trace is pooled again, so the result is bit-identical to encoding the changed image (the
  /// assignment is a pure function of each descriptor, and the sums run over all features in order;
  /// cost: the replaced features' assignment plus one pass over the trace, not dense SIFT).
  void replace_features(VladTrace& trace, const FeatureTrace& replacement,
                        const std::vector<std::size_t>& indices) const;
  /// V = K 128 cells.
  std::size_t dimension() const;
  /// The options in use.
  const VladPipelineOptions& options() const { return options_; }
  /// The codebook (centres in the space of s).
  const Codebook& codebook() const { return mapper_.codebook(); }
  /// Digest of everything that changes a VLAD vector: the encoding options and the codebook's bytes.
  const core::Digest& fingerprint() const { return fingerprint_; }
  /// The image loader.
  const ImageLoader& loader() const { return loader_; }
  /// The dense SIFT stage.
  const DenseSift& sift() const { return sift_; }

 private:
  VladPipelineOptions options_;
  ImageLoader loader_;
  DenseSift sift_;
  Mapper mapper_;
  core::Digest fingerprint_;
};

}  // namespace bowlrp::bow
