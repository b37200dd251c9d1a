// The whole forward pass: image -> dense SIFT -> words -> pooled histogram, with every trace.
//
// Shapes: an image gives L local features (frames with their pixel supports and 128-d SIFT
// descriptors), their assignment m_d(l) to K words, and the pooled histogram h of V = K x pyramid
// cells dimensions. Every trace carries the fingerprint of the pipeline that made it (a digest of the
// options that change a histogram and of the codebook's bytes), so that a backward pass can refuse
// a trace of another pipeline instead of explaining it with the wrong codebook.
#pragma once

#include <bowlrp/core/option_schema.h>
#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/fingerprint.h>
#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/bow/pooling.h>

#include <string>
#include <vector>

namespace bowlrp::bow {

/// Options of every forward stage.
/// The defaults are the measured ones of the README ("Defaults"): PHOW-like dense SIFT, K = 1024, hard
/// mapping, sum pooling over a 1x1 + 2x2 pyramid, L1 (the stage structs alone keep a 1x1 pyramid).
struct PipelineOptions {
  ImageOptions image;      ///< loading and size cap
  DsiftOptions dsift;      ///< dense SIFT geometry
  KMeansOptions kmeans;    ///< codebook training (used only when a codebook is trained)
  MappingOptions mapping;  ///< feature-to-word mapping
  PoolingOptions pooling = default_pooling();  ///< pooling, pyramid (1x1 + 2x2), normalisation
  /// Sum pooling over the measured 1x1 + 2x2 pyramid, L1.
  static PoolingOptions default_pooling();
  /// Validates every stage's options (throws std::invalid_argument).
  void validate() const;
  /// Every option: the codebook's, the image's, dense SIFT's, the mapping's and pooling's schemas,
  /// recorded under "kmeans", "image", "dsift", "mapping" and "pooling" (core/option_schema.h).
  static const core::OptionSchema<PipelineOptions>& schema();
};

/// Everything the forward pass computed for one image: what the backward pass consumes.
struct EncodeTrace {
  FeatureTrace features;   ///< frames, supports, descriptors
  Assignment assignment;   ///< m_d(l)
  PoolTrace pool;          ///< pooled and final histogram
  core::Digest pipeline;         ///< fingerprint of the pipeline that made this trace (Pipeline::fingerprint)
  /// The classifier input h (size V).
  const std::vector<double>& histogram() const { return pool.histogram; }
};

/// The configured forward pipeline; immutable and thread-safe.
class Pipeline {
 public:
  /// Validates the options; the codebook fixes K.
  Pipeline(PipelineOptions options, Codebook codebook);
  /// Loads a file (throws std::runtime_error naming it when unreadable).
  GrayImage load(const std::string& path) const { return loader_.load(path); }
  /// Runs every stage on a loaded image.
  EncodeTrace encode(const GrayImage& image) const;
  /// Loads and encodes a file.
  EncodeTrace encode_file(const std::string& path) const { return encode(load(path)); }
  /// Decodes and encodes a file's bytes already in memory (for callers that need them again);
  /// `path` names the file in errors.
  EncodeTrace encode_bytes(const std::string& bytes, const std::string& path) const {
    return encode(loader_.decode(bytes, path));
  }
  /// Histogram length V = K * pyramid cells.
  std::size_t dimension() const { return pooler_.dimension(); }
  /// The options in use.
  const PipelineOptions& options() const { return options_; }
  /// Digest of everything that changes a histogram: the encoding options and the codebook's bytes.
  const core::Digest& fingerprint() const { return fingerprint_; }
  /// The codebook.
  const Codebook& codebook() const { return mapper_.codebook(); }
  /// Stage objects, for callers that run stages separately.
  const ImageLoader& loader() const { return loader_; }
  const DenseSift& sift() const { return sift_; }
  const Mapper& mapper() const { return mapper_; }
  const Pooler& pooler() const { return pooler_; }

 private:
  PipelineOptions options_;
  ImageLoader loader_;
  DenseSift sift_;
  Mapper mapper_;
  Pooler pooler_;
  core::Digest fingerprint_;
};

}  // namespace bowlrp::bow
