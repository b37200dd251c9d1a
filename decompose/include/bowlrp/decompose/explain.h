// The explainer: one forward trace in, relevance at every layer out.
//
// f(h) -> R_d (svm_relevance.h: kernel or linear head; network_relevance.h: network head, layer by layer)
//      -> R_l (feature_relevance.h for Bag-of-Words traces, fisher_relevance.h for Fisher vectors)
//      -> R_q (pixel_relevance.h).
// The backward pass reads only the forward trace (EncodeTrace) and the model: no state is kept
// between the two passes, so one Explainer serves any number of images and threads at once.
// The explainer shares ownership of its head (nothing can dangle) and knows the fingerprint of the
// pipeline whose traces it explains: a trace made by another pipeline - another codebook of the same
// size, other pooling options - is refused rather than explained with the wrong words.
// model::Model::explainer() builds one with both filled in.
// For hik models the explainer can use one svm::IntersectionIndex per class, given at
// construction (typically shared with the fast classifier, no second copy): the SVM layer then
// costs O(V log S) like a fast prediction instead of the direct O(S V) loop. The explainer never
// builds indices itself (one build costs more than many direct explanations).
#pragma once

#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/bow/trace.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/fisher_relevance.h>
#include <bowlrp/decompose/head.h>
#include <bowlrp/decompose/network_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace bowlrp::decompose {

/// Relevance of one image for one class at every layer.
struct Explanation {
  std::string class_name;         ///< explained class
  std::size_t cls = 0;            ///< its index in the model
  DimensionRelevance dimensions;  ///< R_d and f(h)
  FeatureRelevance features;      ///< R_l
  PixelRelevance pixels;          ///< R_q
};

/// Runs the rules of a composite through a model; immutable and thread-safe.
class Explainer {
 public:
  /// Shares the model; `pipeline` is the fingerprint (bow::Pipeline::fingerprint) of the pipeline
  /// whose traces will be explained. Validates the composite and the model (throws
  /// std::invalid_argument). `indices`, if given, holds the IntersectionIndex of every class of this
  /// hik model (e.g. svm::build_intersection_indices).
  Explainer(std::shared_ptr<const svm::KernelSvm> model, core::Digest pipeline, Composite composite = {},
            std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices = nullptr);
  /// Any head over the Bag-of-Words pipeline of this fingerprint.
  Explainer(Head head, core::Digest pipeline, Composite composite = {});
  /// Any head over a Fisher-vector pipeline (shared: its mixture is needed backwards).
  Explainer(Head head, std::shared_ptr<const bow::FisherPipeline> pipeline, Composite composite = {});
  /// Explains class cls; throws std::invalid_argument if the trace was made by another pipeline or
  /// its histogram has the wrong size, and std::out_of_range for a bad class.
  Explanation explain(const bow::EncodeTrace& trace, std::size_t cls) const;
  /// Explains class cls of a Fisher-vector trace (same refusals).
  Explanation explain(const bow::FisherTrace& trace, std::size_t cls) const;
  /// Explains class cls of either kind of trace.
  Explanation explain(const bow::Trace& trace, std::size_t cls) const;
  /// Explains the class called name (throws std::invalid_argument listing the known names).
  Explanation explain(const bow::EncodeTrace& trace, const std::string& name) const;
  /// Same for either kind of trace.
  Explanation explain(const bow::Trace& trace, const std::string& name) const;
  /// The kernel-SVM head; throws std::logic_error for another head.
  const svm::KernelSvm& model() const;
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
  void check_head() const;
  // Checks a trace against this explainer and runs the head layer: class, name and R_d filled in.
  Explanation head_layer(const core::Digest& made_by, const std::vector<double>& h, std::size_t cls) const;
  Head head_;
  core::Digest pipeline_;
  std::shared_ptr<const bow::FisherPipeline> fisher_;  // null for Bag-of-Words
  Composite composite_;
  std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices_;
};

}  // namespace bowlrp::decompose
