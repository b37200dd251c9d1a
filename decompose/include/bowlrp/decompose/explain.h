// The explainer: one forward trace in, relevance at every layer out.
//
// f(h) -> R_d (svm_relevance.h: kernel or linear head; network_relevance.h: network head, layer by layer)
//      -> R_l (feature_relevance.h for Bag-of-Words traces, fisher_relevance.h for Fisher vectors)
//      -> R_q (pixel_relevance.h).
// The backward pass reads only the forward trace and the model: no state is kept
// between the two passes, so one Explainer serves any number of images and threads at once.
// The explainer shares ownership of its head (nothing can dangle) and knows the fingerprint of the
// pipeline whose traces it explains: a trace made by another pipeline - another codebook of the same
// size, other pooling options - is refused rather than explained with the wrong words.
// model::Model::explainer() builds one with both filled in.
// For hik models the explainer can use one svm::IntersectionIndex per class, given at
// construction (typically shared with the fast classifier, no second copy): the SVM layer then
// costs O(V log S) like a fast prediction instead of the direct O(S V) loop. The explainer never
// builds indices itself (one build costs more than many direct explanations).
// With an artefact projection (bow/artefact_projection.h, with_artefact_projection) between the
// encoding and the head, the head explains the projected input Φ' (Explanation::dimensions, R'_k),
// projection_relevance.h takes it back to Φ (Explanation::projection, R_d and what it absorbed), and
// the encoding's rule splits that R_d: f = Σ_k R'_k + absorbed = Σ_d R_d + projection absorbed + ...
#pragma once

#include <bowlrp/bow/artefact_projection.h>
#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/bow/trace.h>
#include <bowlrp/decompose/additive_map_relevance.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/fisher_relevance.h>
#include <bowlrp/decompose/head.h>
#include <bowlrp/decompose/network_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/projection_relevance.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/decompose/vlad_relevance.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <string>
#include <variant>
#include <vector>

namespace bowlrp::decompose {

/// Relevance of one image for one class at every layer.
struct Explanation {
  std::string class_name;         ///< explained class
  std::size_t cls = 0;            ///< its index in the model
  DimensionRelevance dimensions;  ///< the head's relevance of its input (R_d, or R'_k with a projection) and f(h)
  ProjectionRelevance projection; ///< with an artefact projection: R_d on Φ and what the projection absorbed
  FeatureRelevance features;      ///< R_l
  /// The relevance of the encoding Φ: projection.R with a projection, else dimensions.R.
  const std::vector<double>& encoding_relevance() const { return projection.applied ? projection.R : dimensions.R; }
  PixelRelevance pixels;          ///< R_q
};

/// Runs the rules of a composite through a model; immutable and thread-safe.
/// Every kind of head and encoding is reached through the lists bow::Encoding and Head and the
/// overload sets relevance_head / check_head (one per head kind, in the head's relevance file) and
/// relevance_encoding (one per encoding kind): the explainer names no kind.
class Explainer {
 public:
  /// Shares a head and the encoding whose traces it explains (some encodings' backward pass needs
  /// the stage, e.g. the Fisher mixture). Validates the composite and the head (throws
  /// std::invalid_argument). `indices`, if given, holds the IntersectionIndex of every class of a
  /// hik kernel-SVM head (e.g. svm::build_intersection_indices).
  Explainer(Head head, bow::Encoding encoding, Composite composite = {},
            std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices = nullptr);
  /// A kernel-SVM head over the Bag-of-Words pipeline of this fingerprint (bow::Pipeline::fingerprint;
  /// the Bag-of-Words backward pass needs only the trace, so hand-made traces can be explained).
  Explainer(std::shared_ptr<const svm::KernelSvm> model, core::Digest pipeline, Composite composite = {},
            std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices = nullptr);
  /// Any head over the Bag-of-Words pipeline of this fingerprint.
  Explainer(Head head, core::Digest pipeline, Composite composite = {});
  /// Explains class cls of a trace of any kind (a bow::Trace or one of its alternatives); throws
  /// std::invalid_argument if the trace was made by another pipeline or has the wrong size, and
  /// std::out_of_range for a bad class.
  template <class T>
  Explanation explain(const T& trace, std::size_t cls) const;
  /// Explains the class called name (throws std::invalid_argument listing the known names).
  template <class T>
  Explanation explain(const T& trace, const std::string& name) const {
    return explain(trace, class_index(name));
  }
  /// This explainer with an artefact projection between the encoding and the head (null: none);
  /// throws std::invalid_argument for a projection of another dimension.
  Explainer with_artefact_projection(std::shared_ptr<const bow::ArtefactProjection> projection) const;
  /// The artefact projection (null: none).
  const std::shared_ptr<const bow::ArtefactProjection>& artefact_projection() const { return projection_; }
  /// The head, shared.
  const Head& head() const { return head_; }
  /// Number of classes.
  std::size_t classes() const { return head_classes(head_); }
  /// Index of a class by name; throws std::invalid_argument listing the known names.
  std::size_t class_index(const std::string& name) const;
  /// Fingerprint of the pipeline whose traces this explainer accepts.
  const core::Digest& pipeline() const { return pipeline_; }
  /// The rules in use.
  const Composite& composite() const { return composite_; }

 private:
  void check() const;
  // Checks a trace against this explainer and runs the head layer: class, name and R_d filled in.
  Explanation head_layer(const core::Digest& made_by, const std::vector<double>& h, std::size_t cls) const;
  // head_layer on the projected input, then the projection's relevance (without a projection: head_layer).
  Explanation upper_layers(const core::Digest& made_by, const std::vector<double>& h, std::size_t cls) const;
  // The encoding layer and the pixels of a trace of the encoding's own kind.
  template <class T>
  Explanation explain_one(const T& trace, std::size_t cls) const;
  Head head_;
  core::Digest pipeline_;
  // The encoding; for an explainer made from a fingerprint, a null Bag-of-Words pipeline.
  bow::Encoding encoding_;
  Composite composite_;
  std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices_;
  std::shared_ptr<const bow::ArtefactProjection> projection_;  // null: none
};

template <class T>
Explanation Explainer::explain_one(const T& trace, std::size_t cls) const {
  return std::visit(
      [&](const auto& stage) -> Explanation {
        using Stage = typename std::decay_t<decltype(stage)>::element_type;
        if constexpr (std::is_same_v<bow::TraceOf<Stage>, T>) {
          Explanation e = upper_layers(trace.pipeline, trace.histogram(), cls);
          e.features = relevance_encoding(stage.get(), trace, e.encoding_relevance(), composite_);
          e.pixels = relevance_pixels(trace.features, e.features.R);
          return e;
        } else {
          throw std::invalid_argument(
              "Explainer: the trace was made by another kind of encoding than this model's: encode the image with "
              "the model's own pipeline");
        }
      },
      encoding_);
}

template <class T>
Explanation Explainer::explain(const T& trace, std::size_t cls) const {
  if constexpr (std::is_same_v<T, bow::Trace>)
    return std::visit([&](const auto& t) { return explain_one(t, cls); }, trace);
  else
    return explain_one(trace, cls);
}

}  // namespace bowlrp::decompose
