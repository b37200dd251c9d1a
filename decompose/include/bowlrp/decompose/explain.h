// The explainer: one forward trace in, relevance at every layer out.
//
// f(h) -> R_d (svm_relevance.h) -> R_l (feature_relevance.h) -> R_q (pixel_relevance.h).
// The backward pass reads only the forward trace (EncodeTrace) and the model: no state is kept
// between the two passes, so one Explainer serves any number of images and threads at once.
// For hik models the explainer can use one svm::IntersectionIndex per class, given at
// construction (typically shared with the fast classifier, no second copy): the SVM layer then
// costs O(V log S) like a fast prediction instead of the direct O(S V) loop. The explainer never
// builds indices itself (one build costs more than many direct explanations).
#pragma once

#include <bowlrp/bow/pipeline.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <memory>
#include <string>
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
  /// Keeps a reference to the model (which must outlive the explainer); validates the composite
  /// and the model (throws std::invalid_argument). `indices`, if given, holds the
  /// IntersectionIndex of every class of this hik model (e.g. svm::build_intersection_indices).
  Explainer(const svm::SvmModel& model, Composite composite = {},
            std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices = nullptr);
  /// Explains class cls; throws std::invalid_argument if the trace's histogram has the wrong size
  /// and std::out_of_range for a bad class.
  Explanation explain(const bow::EncodeTrace& trace, std::size_t cls) const;
  /// Explains the class called name (throws std::invalid_argument listing the known names).
  Explanation explain(const bow::EncodeTrace& trace, const std::string& name) const;
  /// The model.
  const svm::SvmModel& model() const { return *model_; }
  /// The rules in use.
  const Composite& composite() const { return composite_; }

 private:
  const svm::SvmModel* model_;
  Composite composite_;
  std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices_;
};

}  // namespace bowlrp::decompose
