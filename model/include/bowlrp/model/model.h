// The whole model: an encoding (image -> feature vector Φ(x)), a head (Φ(x) -> one score per class)
// and the class names, as one immutable, cheaply copied value.
//
//   image --encoding--> Φ(x) in R^V --head--> f_c(x) = score of class c, c = 0 .. C-1
//
// Each stage is one of several kinds. Today there is one of each: the Bag-of-Words encoding
// (bow::Pipeline: dense SIFT -> visual words -> pooled histogram, V = K x pyramid cells) and the
// one-vs-rest kernel SVM head (svm::KernelSvm, f_c(x) = b_c + Σ_i α_ci k(s_i, Φ(x))). The stages are
// held as variants of shared immutable objects: copying a Model shares them, and every object built
// from a model (explainer, flipper) shares them too, so nothing can outlive what it points to.
// A trace (Trace) is the forward record of one image through the encoding, one alternative per
// encoding kind; it carries the encoding's fingerprint, and the backward pass refuses traces of
// another model's encoding.
#pragma once

#include <bowlrp/bow/digest.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/pixel_flipping.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace bowlrp::model {

/// Kinds of encoding a model can have.
enum class EncodingKind { bag_of_words };
/// Kinds of head a model can have.
enum class HeadKind { kernel_svm };
/// "bag-of-words".
std::string to_string(EncodingKind kind);
/// "kernel-svm".
std::string to_string(HeadKind kind);

/// The forward record of one image through a model's encoding (one alternative per encoding kind).
using Trace = std::variant<bow::EncodeTrace>;
/// Φ(x), the head input of a trace.
const std::vector<double>& head_input(const Trace& trace);

/// Encoding + head + class names; immutable, thread-safe, cheap to copy (the stages are shared).
class Model {
 public:
  /// Assembles a Bag-of-Words + kernel-SVM model; throws std::invalid_argument when the head's
  /// dimension differs from the encoding's or it has no class or no support vector.
  Model(bow::Pipeline encoding, svm::KernelSvm head);
  /// Same from shared stages (nothing is copied); throws std::invalid_argument for null pointers too.
  Model(std::shared_ptr<const bow::Pipeline> encoding, std::shared_ptr<const svm::KernelSvm> head);

  /// Reads a model file (model_file.h); throws std::runtime_error naming the path and the problem.
  static Model load(const std::string& path);
  /// Writes the model file atomically; throws naming the path or the field that breaks the format.
  void save(const std::string& path) const;

  /// Which encoding this model has.
  EncodingKind encoding_kind() const;
  /// Which head this model has.
  HeadKind head_kind() const;
  /// The Bag-of-Words encoding; throws std::logic_error naming the kind for another encoding.
  const bow::Pipeline& bag_of_words() const;
  /// The same, shared.
  std::shared_ptr<const bow::Pipeline> shared_bag_of_words() const;
  /// The kernel-SVM head; throws std::logic_error naming the kind for another head.
  const svm::KernelSvm& kernel_svm() const;
  /// The same, shared.
  std::shared_ptr<const svm::KernelSvm> shared_kernel_svm() const;

  /// Class names, in score order.
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// Number of classes C.
  std::size_t classes() const { return class_names_.size(); }
  /// Index of a class; throws std::invalid_argument listing the known names.
  std::size_t class_index(const std::string& name) const;
  /// V, the length of Φ(x).
  std::size_t dimension() const;
  /// Fingerprint of the encoding (options and learned parameters); every trace carries it.
  const bow::Digest& fingerprint() const;

  /// Decodes an image file (throws std::runtime_error naming it when unreadable).
  bow::GrayImage load_image(const std::string& path) const;
  /// Encodes a decoded image.
  Trace encode(const bow::GrayImage& image) const;
  /// Loads and encodes a file.
  Trace encode_file(const std::string& path) const;
  /// Decodes and encodes a file's bytes already in memory; `path` names it in errors.
  Trace encode_bytes(const std::string& bytes, const std::string& path) const;

  /// f_c for every class of one head input (V values).
  std::vector<double> scores(const double* head_input) const;
  /// f_c for every class of a trace; throws std::invalid_argument for another model's trace.
  std::vector<double> scores(const Trace& trace) const;
  /// Scores of n head inputs (n x V row-major) as n x C row-major, the same numbers as scores();
  /// threads 0: all cores (validated).
  std::vector<double> scores_batch(const double* X, std::size_t n, int threads = 0) const;

  /// An explainer of this model with these rules (shares the head; refuses other models' traces).
  decompose::Explainer explainer(const decompose::Composite& composite = {}) const;
  /// An incremental pixel flipper of class cls (shares the encoding and head).
  decompose::IncrementalFlipper flipper(std::size_t cls) const;

 private:
  void check() const;
  std::variant<std::shared_ptr<const bow::Pipeline>> encoding_;
  std::variant<std::shared_ptr<const svm::KernelSvm>> head_;
  std::vector<std::string> class_names_;
};

/// The top-scoring class of C scores (first of ties); throws std::invalid_argument for C = 0.
std::size_t top_class(const double* scores, std::size_t classes);
/// Same for a vector.
std::size_t top_class(const std::vector<double>& scores);

}  // namespace bowlrp::model
