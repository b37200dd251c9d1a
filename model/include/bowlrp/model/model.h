// The whole model: an encoding (image -> feature vector Φ(x)), a head (Φ(x) -> one score per class)
// and the class names, as one immutable, cheaply copied value.
//
//   image --encoding--> Φ(x) in R^V --head--> f_c(x) = score of class c, c = 0 .. C-1
//
// Each stage is one of several kinds, listed once (model/kinds.h) and reached only through them. Encodings: Bag-of-Words (bow::Pipeline: dense SIFT -> visual
// words -> pooled histogram, V = K x pyramid cells) and Fisher vectors (bow::FisherPipeline: dense
// SIFT -> PCA (+ xy) -> GMM -> improved Fisher vector, V = 2 K G x pyramid cells). Heads: one-vs-rest
// kernel SVMs (svm::KernelSvm, f_c(x) = b_c + Σ_i α_ci k(s_i, Φ(x))) and one-vs-rest linear SVMs
// with explicit weights (svm::LinearSvm, f_c(x) = b_c + w_c · Φ(x)), and a feed-forward ReLU
// network with one output per class (nn::Network, f_c(x) = z_{L,c}(Φ(x))). Any head goes with any encoding
// of its dimension; the backward pass chains the head's rule and the encoding's. The stages are
// held as variants of shared immutable objects: copying a Model shares them, and every object built
// from a model (explainer, flipper) shares them too, so nothing can outlive what it points to.
// A trace (Trace) is the forward record of one image through the encoding, one alternative per
// encoding kind; it carries the encoding's fingerprint, and the backward pass refuses traces of
// another model's encoding.
//
// Provenance (kernel heads trained from image files): support vector i is the encoding of
// training_images()[i].path (as training was given it), or of its left-right mirror when `mirrored`
// (FitOptions::mirror_training). The model file keeps it as the optional field "training_images"
// (model_file.h). Models trained from decoded images, heads without support vectors, and files
// written before the field have none: training_images() is empty.
//
// Artefact projection (P-ClArC, bow/artefact_projection.h): a model may hold one affine stage between
// the encoding and the head, Φ' = Φ - v vᵀ(Φ - z), which projects an artefact's direction out of every
// encoding (with_artefact_projection). The head then always receives Φ': head_input(trace) is the one
// place where the head input is formed, and scores, scores_batch (on rows of Φ), the explainer (whose
// backward pass runs through the projection's relevance partner), the sensitivity map and everything
// built on them (predict, explain, evaluate, pixel flipping, SpRAy) go through it. A model without one
// computes exactly what it computed before the stage existed. The model file keeps it as the optional
// field "artefact_projection" (model_file.h).
#pragma once

#include <bowlrp/core/digest.h>
#include <bowlrp/bow/artefact_projection.h>
#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/bow/trace.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kinds.h>
#include <bowlrp/nn/network.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace bowlrp::model {

/// The training image a support vector is the encoding of.
struct TrainingImage {
  std::string path;       ///< the image file, as training was given it
  bool mirrored = false;  ///< the support vector is the encoding of its left-right mirror
  /// Same path and mirror flag.
  bool operator==(const TrainingImage& o) const { return path == o.path && mirrored == o.mirrored; }
};

/// Encoding + head + class names; immutable, thread-safe, cheap to copy (the stages are shared).
class Model {
 public:
  /// Assembles a Bag-of-Words + kernel-SVM model; throws std::invalid_argument when the head's
  /// dimension differs from the encoding's or it has no class or no support vector.
  Model(bow::Pipeline encoding, svm::KernelSvm head);
  /// Same from shared stages (nothing is copied); throws std::invalid_argument for null pointers too.
  Model(std::shared_ptr<const bow::Pipeline> encoding, std::shared_ptr<const svm::KernelSvm> head);
  /// Any encoding with any head of its dimension; throws std::invalid_argument as above (and for a
  /// head without classes or, for kernel heads, without support vectors).
  Model(Encoding encoding, Head head);

  /// Reads a model file (model_file.h); throws std::runtime_error naming the path and the problem.
  static Model load(const std::string& path);
  /// Writes the model file atomically; throws naming the path or the field that breaks the format.
  void save(const std::string& path) const;

  /// The kind name of the encoding ("bag-of-words", "fisher-vector", ...; model/kinds.h).
  std::string encoding_kind() const;
  /// The kind name of the head ("kernel-svm", "linear-svm", "mlp", ...).
  std::string head_kind() const;
  /// The encoding stage of type S (e.g. bow::Pipeline), or null for another kind.
  template <class S>
  std::shared_ptr<const S> encoding_if() const {
    const auto* p = std::get_if<std::shared_ptr<const S>>(&encoding_);
    return p ? *p : nullptr;
  }
  /// The encoding stage of type S; throws std::logic_error naming both kinds for another kind.
  template <class S>
  const S& encoding_as() const {
    if (const auto* p = std::get_if<std::shared_ptr<const S>>(&encoding_)) return **p;
    throw std::logic_error("Model: the encoding is " + encoding_kind() + ", not " + EncodingTraits<S>::name);
  }
  /// The head of type S (e.g. svm::KernelSvm), or null for another kind.
  template <class S>
  std::shared_ptr<const S> head_if() const {
    const auto* p = std::get_if<std::shared_ptr<const S>>(&head_);
    return p ? *p : nullptr;
  }
  /// The head of type S; throws std::logic_error naming both kinds for another kind.
  template <class S>
  const S& head_as() const {
    if (const auto* p = std::get_if<std::shared_ptr<const S>>(&head_)) return **p;
    throw std::logic_error("Model: the head is " + head_kind() + ", not " + HeadTraits<S>::name);
  }
  /// This model with each support vector's training image (one per support vector of the head, in
  /// the order of its support set; empty: none known). Throws std::invalid_argument for another count
  /// (heads without support vectors take none) or a path that is empty or holds a NUL byte.
  Model with_training_images(std::vector<TrainingImage> images) const;
  /// The training image of each support vector (empty when not known; see above).
  const std::vector<TrainingImage>& training_images() const;
  /// This model with an artefact projection between its encoding and its head (the stages and the
  /// training images are shared; a projection already held is replaced). Throws std::invalid_argument
  /// for a projection of another dimension, or without the non-negative clamp over a head that needs
  /// inputs >= 0 (χ², Hellinger, exp-χ² kernels), saying so.
  Model with_artefact_projection(bow::ArtefactProjection projection) const;
  /// This model without its artefact projection.
  Model without_artefact_projection() const;
  /// The artefact projection (null: none).
  const std::shared_ptr<const bow::ArtefactProjection>& artefact_projection() const { return projection_; }
  /// Whether the head needs inputs >= 0 (so that an artefact projection over it must clamp).
  bool head_needs_non_negative_inputs() const;
  /// The head input of a trace: Φ(x), or Φ'(x) with an artefact projection (size V).
  std::vector<double> head_input(const Trace& trace) const;
  /// The number of support vectors of the head (0 for heads that keep none:
  /// decompose::attribution_head).
  std::size_t support_size() const;

  /// The encoding, shared.
  const Encoding& encoding() const { return encoding_; }
  /// The head, shared.
  const Head& head() const { return head_; }
  /// The image loader of the encoding.
  const bow::ImageLoader& loader() const;
  /// The dense SIFT stage of the encoding.
  const bow::DenseSift& sift() const;

  /// Class names, in score order.
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// Number of classes C.
  std::size_t classes() const { return class_names_.size(); }
  /// Index of a class; throws std::invalid_argument listing the known names.
  std::size_t class_index(const std::string& name) const;
  /// V, the length of Φ(x).
  std::size_t dimension() const;
  /// Fingerprint of the encoding (options and learned parameters); every trace carries it.
  const core::Digest& fingerprint() const;

  /// One line describing the encoding, e.g. "bag-of-words, 1024 words, hard mapping, pyramid 1x1,2x2".
  std::string encoding_summary() const;
  /// One line describing the head, e.g. "kernel SVM (hik), 1877 support vectors" or "linear SVM".
  std::string head_summary() const;

  /// Decodes an image file (throws std::runtime_error naming it when unreadable).
  bow::GrayImage load_image(const std::string& path) const;
  /// Encodes a decoded image.
  Trace encode(const bow::GrayImage& image) const;
  /// Loads and encodes a file.
  Trace encode_file(const std::string& path) const;
  /// Decodes and encodes a file's bytes already in memory; `path` names it in errors.
  Trace encode_bytes(const std::string& bytes, const std::string& path) const;

  /// f_c for every class of one encoding Φ (V values; projected first when the model has an artefact projection).
  std::vector<double> scores(const double* encoding) const;
  /// f_c for every class of a trace; throws std::invalid_argument for another model's trace.
  std::vector<double> scores(const Trace& trace) const;
  /// Scores of n encodings (n x V row-major) as n x C row-major, the same numbers as scores();
  /// threads 0: all cores (validated).
  std::vector<double> scores_batch(const double* X, std::size_t n, int threads = 0) const;

  /// An explainer of this model with these rules (shares the head; refuses other models' traces).
  decompose::Explainer explainer(const decompose::Composite& composite = {}) const;
  /// The parameters of the encoding's backward rule in use under a composite, by name (e.g.
  /// {"fisher_epsilon", 0.01}; none for Bag-of-Words): what an explanation reports beside its sums.
  std::vector<std::pair<std::string, double>> encoding_rule_fields(const decompose::Composite& composite) const;
  /// b_c of every class (a network head's output-layer biases).
  std::vector<double> biases() const;
  /// Whether the SVM bias policy (decompose::SvmRule::bias) applies to this head (false for a network,
  /// whose layers' rules treat their biases).
  bool head_applies_svm_bias() const;
  /// What the encoding trains after the descriptor sample ("k-means", "PCA + GMM").
  std::string encoding_training_stage() const;
  /// Parameter layers of the head that cascading randomisation replaces, output first (a kernel or
  /// linear SVM: 1, its coefficients or weights; a network: its dense layers).
  std::size_t head_parameter_layers() const;
  /// This model with the top `layers` parameter layers of its head randomised (Adebayo et al. 2018's
  /// cascading model-parameter randomisation; the encoding and the biases are kept, shared): in each
  /// randomised layer every output's incoming weights (a class's α_ci y_i over the support vectors, a
  /// class's w_c, a network neuron's row of W) are shuffled by their own seeded permutation
  /// (core/random.h), so each layer keeps its weight distribution and loses what it learned. Throws
  /// std::invalid_argument for more layers than head_parameter_layers().
  Model with_randomised_head(std::size_t layers, std::uint64_t seed) const;
  /// The pixel map of the sensitivity |∂f_cls/∂Φ| of a trace, split down as the encoding's backward
  /// pass splits relevance (evaluation's sensitivity order); throws std::invalid_argument for another
  /// model's trace.
  std::vector<double> sensitivity_map(std::size_t cls, const Trace& trace) const;

 private:
  void check() const;
  Encoding encoding_;
  Head head_;
  std::vector<std::string> class_names_;
  std::shared_ptr<const std::vector<TrainingImage>> training_images_;  // null: none known
  std::shared_ptr<const bow::ArtefactProjection> projection_;            // null: none
};

/// The top-scoring class of C scores (first of ties); throws std::invalid_argument for C = 0.
std::size_t top_class(const double* scores, std::size_t classes);
/// Same for a vector.
std::size_t top_class(const std::vector<double>& scores);

}  // namespace bowlrp::model
