// The Fisher-vector encoding: image -> dense SIFT -> PCA (+ xy) -> GMM posteriors -> improved
// Fisher vector over a spatial pyramid (Perronnin, Sánchez, Mensink, ECCV 2010; explained by
// Lapuschkin, Binder, Montavon, Müller, Samek, CVPR 2016, see decompose/fisher_relevance.h).
//
// Local descriptor of feature l (G = D + 2 dimensions with append_xy, else D):
//   s_l = RootSIFT(d_l) = sqrt(d_l / |d_l|_1)  (root_sift; a zeroed descriptor stays 0)
//   x_l = [P (s_l - m) ; (x + 1/2)/W - 1/2, (y + 1/2)/H - 1/2]
//         P: D x 128 principal axes, m: sample mean; (x, y) the frame's centre in original pixels
//         (pixel centres at integers) and W x H the original image size, so a position lies in [-1/2, 1/2]
// Mixture of K diagonal Gaussians (μ_k, σ²_k in R^G, priors π_k), trained by VLFeat's EM (vl_gmm)
// from a seeded k-means start. Posteriors
//   γ_lk = π_k N(x_l; μ_k, σ²_k) / Σ_k' π_k' N(x_l; μ_k', σ²_k'),
// evaluated as a softmax of log-likelihoods from one SGEMM of [x², x] against [-1/(2σ²), μ/σ²]
// (a component more than 42 below the top log-likelihood counts as exp = 0: γ < 6e-19);
// values below posterior_threshold (1e-4) are set to 0, which makes γ sparse: each feature keeps a
// few components. The kept γ are part of the trace. VLFeat 0.9.21's vl_fisher drops posteriors below
// 1e-6 instead (vl/fisher.c, and checked against the installed libvl: a posterior of 2e-6 adds its
// term there, 5e-7 does not); bowlrp keeps 1e-4, the threshold every Fisher model so far was trained
// and measured with (posterior_threshold is stored in the model file and part of the fingerprint).
// A descriptor that dense SIFT zeroed (contrast below DsiftOptions::contrast_threshold: flat sky,
// walls) carries no appearance, and the mixture is trained without such descriptors; with
// skip_zeroed (the default) it gets no posterior at all, so it adds nothing to z and receives no
// relevance through ψ; it still gets its cell's even share of the relevance of unused components
// (decompose/fisher_relevance.h), which for a linear head is the bias share: 0 under
// BiasPolicy::absorbed, b/(V N_c) per such dimension under the default uniform policy. Kept, each would add the terms of one constant point P(0 - m) far from the mixture:
// on VOC2007 val they are 19% of the features but 58% of Σ_d |z_d| (first 30 images), and leaving
// them out raises mAP (README "Fisher vectors").
// For pyramid cell c holding N_c features, component k and dimension j (Fisher sums in double, in
// feature order):
//   z_{c,u,k,j} = Σ_{l in c} γ_lk (x_lj - μ_kj) / σ_kj             / (N_c sqrt(π_k))
//   z_{c,v,k,j} = Σ_{l in c} γ_lk [((x_lj - μ_kj) / σ_kj)² - 1]     / (N_c sqrt(2 π_k))
// i.e. every unnormalised dimension is a sum over local features, z_d = Σ_l ψ_d(l). The improved
// Fisher vector takes the signed square root and the L2 norm of each cell, and scales the cells by
// 1/sqrt(cells) so that the whole vector has unit norm:
//   Φ_d = sign(z_d) sqrt(|z_d|) / (n_c sqrt(cells)),   n_c = (Σ_{d in c} |z_d|)^(1/2)
// (an empty cell stays 0). For a given image this is one monotone map per dimension, so relevance
// passes unchanged from Φ_d to z_d. Layout: d = c (2 K G) + part (K G) + k G + j, part 0 = means
// (u), 1 = variances (v), as vl_fisher orders one cell; V = 2 K G cells.
#pragma once

#include <bowlrp/core/option_schema.h>
#include <bowlrp/bow/fingerprint.h>
#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/pooling.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::bow {

/// Options of the Fisher-vector stages after dense SIFT.
/// The defaults are the measured ones of the README ("Fisher vectors").
struct FisherOptions {
  int pca_dimension = 80;          ///< D, principal components kept of the 128 SIFT dimensions (1 .. 128)
  bool root_sift = true;           ///< RootSIFT (Hellinger) map of each descriptor before PCA
  bool append_xy = true;           ///< append the frame centre's normalised position ("aug.")
  int components = 256;            ///< K, Gaussians of the mixture (1 .. 4096)
  /// descriptors sampled for PCA and the GMM (fewer if fewer exist); VLFeat's EM runs on one thread
  /// (deterministic), ~1.7 s per iteration at 100 000 x 82 and K = 256 on the project's 2-core machine
  std::size_t samples = 100000;
  int max_iterations = 40;         ///< EM iteration cap (VLFeat stops earlier on a relative change of 1e-6)
  std::uint64_t seed = 0;          ///< seeds the sample and the k-means start of EM
  double posterior_threshold = 1e-4;  ///< posteriors below are set to 0 ([0, 1); vl_fisher uses 1e-6)
  std::vector<core::PyramidLevel> pyramid = std::vector<core::PyramidLevel>(1);  ///< levels; one 1x1 level = no pyramid
  /// zeroed (low-contrast) SIFT descriptors get no posterior and add no Fisher term (false: they add
  /// the terms of the constant point P(0 - m), as in model files written before this option)
  bool skip_zeroed = true;
  /// G, the length of a local descriptor x_l.
  int descriptor_dimension() const { return pca_dimension + (append_xy ? 2 : 0); }
  /// Total pyramid cells.
  int cells() const;
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
  /// Every option, described once, each recorded under its field's name (the seed, fisher_seed, has
  /// no flag: model::FitOptions' seed sets it).
  static const core::OptionSchema<FisherOptions>& schema();
};

/// Options of every stage of the Fisher-vector pipeline.
struct FisherPipelineOptions {
  ImageOptions image;    ///< loading and size cap
  DsiftOptions dsift;    ///< dense SIFT geometry (as the Bag-of-Words pipeline)
  FisherOptions fisher;  ///< PCA, GMM, normalisation, pyramid
  /// Validates every stage's options (throws std::invalid_argument).
  void validate() const;
  /// The image's, dense SIFT's and the Fisher stages' schemas, recorded under "image", "dsift" and "fisher".
  static const core::OptionSchema<FisherPipelineOptions>& schema();
};

/// Text naming every option that changes a Fisher vector (image cap, dense SIFT, the Fisher stages
/// except the training-only samples, iterations and seed); equal options give equal text.
std::string canonical_encoding_options(const FisherPipelineOptions& options);
/// Same plus the training options (what changes the learned PCA and GMM).
std::string canonical_training_options(const FisherPipelineOptions& options);

/// The learned parameters: PCA and the mixture. Doubles, as the model file stores them.
struct FisherParameters {
  std::vector<double> mean;        ///< m, 128 values: the sample mean removed before projection
  std::vector<double> projection;  ///< P, D x 128 row-major: principal axes by decreasing variance
  std::vector<double> means;       ///< μ, K x G row-major
  std::vector<double> variances;   ///< σ², K x G row-major (> 0)
  std::vector<double> priors;      ///< π, K values (> 0, summing to 1)
  /// K.
  int components() const { return static_cast<int>(priors.size()); }
  /// D.
  int pca_dimension() const { return static_cast<int>(projection.size() / 128); }
  /// G (the means' row length).
  int descriptor_dimension() const { return priors.empty() ? 0 : static_cast<int>(means.size() / priors.size()); }
  /// Throws std::invalid_argument naming the field when sizes disagree with each other or with the
  /// options, or a value is not finite, a variance <= 0 or a prior <= 0, or the priors do not sum to 1.
  void validate(const FisherOptions& options) const;
};

/// Digest of the parameters' sizes and bytes.
core::Digest fisher_parameters_digest(const FisherParameters& parameters);

/// What training did.
struct FisherTrainReport {
  std::size_t samples = 0;        ///< descriptors used
  double explained_variance = 0;  ///< share of the sample's variance kept by the D components
  double log_likelihood = 0;      ///< final EM log-likelihood of the sample (VLFeat)
  int kmeans_iterations = 0;      ///< iterations of the k-means start
};

/// Normalised centres (x/W - 1/2, y/H - 1/2) of the frames at `indices` (all frames when null),
/// n x 2 row-major: the positions the "aug." descriptors append.
std::vector<float> normalised_positions(const FeatureTrace& features, const std::vector<std::size_t>* indices = nullptr);

/// Local descriptors x_l (n x G) of n SIFT descriptors (n x 128) with their frames' normalised
/// centres (n x 2, already x/W - 1/2, y/H - 1/2; ignored without append_xy), by the header's formula.
std::vector<float> project_descriptors(const FisherParameters& parameters, const FisherOptions& options,
                                       const float* descriptors, const float* positions, std::size_t n);

/// Trains PCA (eigenvectors of the sample covariance, LAPACK dsyevr) and the mixture (k-means start,
/// then VLFeat's EM on one thread so that the result does not depend on the thread count) from n
/// sampled SIFT descriptors (n x 128, raw) and their normalised centres (n x 2). Throws
/// std::invalid_argument when n < components or the options are invalid. Same inputs, same result.
FisherParameters train_fisher(const float* descriptors, const float* positions, std::size_t n,
                              const FisherOptions& options, FisherTrainReport* report = nullptr);

/// Sparse posteriors: feature l keeps components[offsets[l] .. offsets[l + 1]) with their γ.
struct Posteriors {
  std::vector<std::uint32_t> offsets;     ///< L + 1 entries
  std::vector<std::uint16_t> components;  ///< k of each kept posterior
  std::vector<double> values;             ///< γ_lk of each kept posterior (> threshold)
  /// Number of features L.
  std::size_t features() const { return offsets.empty() ? 0 : offsets.size() - 1; }
};

/// Everything the Fisher forward pass computed for one image: what the backward pass consumes.
struct FisherTrace {
  FeatureTrace features;         ///< frames, supports, SIFT descriptors
  int dimension = 0;             ///< G
  std::vector<float> local;      ///< x_l, L x G row-major
  Posteriors posteriors;         ///< γ, sparse
  int cells = 0;                 ///< total pyramid cells
  int levels = 1;                ///< pyramid levels
  std::vector<int> feature_cells;  ///< features x levels: global cell of feature l at level j
  std::vector<int> cell_counts;  ///< N_c
  std::vector<double> unnormalised;  ///< z_d, size V
  std::vector<double> cell_norms;    ///< n_c sqrt(cells) per cell (1 for an all-zero cell)
  std::vector<double> fisher;        ///< Φ_d, the classifier input, size V
  core::Digest pipeline;                   ///< fingerprint of the pipeline that made this trace
  /// The classifier input Φ (size V).
  const std::vector<double>& histogram() const { return fisher; }
};

/// The configured Fisher-vector pipeline; immutable and thread-safe.
class FisherPipeline {
 public:
  /// Validates the options and the parameters against each other (throws std::invalid_argument).
  FisherPipeline(FisherPipelineOptions options, FisherParameters parameters);
  /// Loads a file (throws std::runtime_error naming it when unreadable).
  GrayImage load(const std::string& path) const { return loader_.load(path); }
  /// Runs every stage on a loaded image.
  FisherTrace encode(const GrayImage& image) const;
  /// Loads and encodes a file.
  FisherTrace encode_file(const std::string& path) const { return encode(load(path)); }
  /// Decodes and encodes a file's bytes already in memory; `path` names the file in errors.
  FisherTrace encode_bytes(const std::string& bytes, const std::string& path) const {
    return encode(loader_.decode(bytes, path));
  }
  /// The stages after dense SIFT on given features (frames and descriptors of `features`).
  FisherTrace encode_features(FeatureTrace features) const;
  /// Recomputes z, the norms and Φ of a trace from its local descriptors and posteriors (the
  /// forward sums exactly as encode() runs them).
  void pool(FisherTrace& trace) const;
  /// Replaces the features at `indices` of a trace by `replacement` (same frames, new descriptors,
  /// e.g. from DenseSift::extract_region): z loses the replaced features' old terms and gains their
  /// new ones, then Φ is renormalised. Equal to encoding the changed image up to rounding: the
  /// float rounding of the projection and log-likelihood SGEMMs, whose blocking differs, and the
  /// order of the Fisher sums (cost: the replaced features only, not the image).
  void replace_features(FisherTrace& trace, const FeatureTrace& replacement,
                        const std::vector<std::size_t>& indices) const;
  /// V = 2 K G cells.
  std::size_t dimension() const;
  /// The options in use.
  const FisherPipelineOptions& options() const { return options_; }
  /// The learned PCA and mixture.
  const FisherParameters& parameters() const { return parameters_; }
  /// Digest of everything that changes a Fisher vector: the encoding options and the parameters.
  const core::Digest& fingerprint() const { return fingerprint_; }
  /// The image loader.
  const ImageLoader& loader() const { return loader_; }
  /// The dense SIFT stage.
  const DenseSift& sift() const { return sift_; }

 private:
  void assign(FisherTrace& trace, std::size_t begin, std::size_t end, const float* descriptors) const;
  FisherPipelineOptions options_;
  FisherParameters parameters_;
  ImageLoader loader_;
  DenseSift sift_;
  core::Digest fingerprint_;
  // Derived once: SGEMM operand of the log-likelihoods (2G x K) and per-component constants.
  std::vector<float> loglik_weights_;
  std::vector<double> loglik_constant_;
  std::vector<double> inv_sigma_;  // 1 / σ_kj, K x G
};

}  // namespace bowlrp::bow
