#include <bowlrp/decompose/explain.h>

#include <cmath>
#include <memory>
#include <stdexcept>

namespace bowlrp::decompose {

Explainer::Explainer(std::shared_ptr<const svm::KernelSvm> shared, bow::Digest pipeline, Composite composite,
                     std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices)
    : model_(std::move(shared)), pipeline_(pipeline), composite_(composite), indices_(std::move(indices)) {
  composite_.validate();
  if (!model_) throw std::invalid_argument("Explainer: no model given (null pointer)");
  const svm::KernelSvm& model = *model_;
  if (model.dim() == 0 || model.classes().empty())
    throw std::invalid_argument("Explainer: the SVM model is empty (dimension " + std::to_string(model.dim()) + ", " +
                                std::to_string(model.classes().size()) + " classes); train or load one first");
  const svm::Kernel& k = model.kernel();
  if ((k.type == svm::KernelType::rbf || k.type == svm::KernelType::expchi2) && !(k.gamma > 0 && std::isfinite(k.gamma)))
    throw std::invalid_argument("Explainer: kernel " + svm::to_string(k.type) + " has gamma = " + std::to_string(k.gamma) +
                                "; expected a finite value > 0");
  if (indices_) {
    if (k.type != svm::KernelType::intersection)
      throw std::invalid_argument("Explainer: intersection indices given for a " + svm::to_string(k.type) +
                                  " model; they only apply to hik");
    if (indices_->size() != model.classes().size())
      throw std::invalid_argument("Explainer: " + std::to_string(indices_->size()) + " intersection indices for " +
                                  std::to_string(model.classes().size()) + " classes");
    for (std::size_t c = 0; c < indices_->size(); ++c)
      if ((*indices_)[c].dim() != model.dim() || (*indices_)[c].bias() != model.classes()[c].bias)
        throw std::invalid_argument("Explainer: intersection index " + std::to_string(c) +
                                    " does not belong to this model (dimension or bias differs)");
  }
}

Explanation Explainer::explain(const bow::EncodeTrace& trace, std::size_t cls) const {
  if (trace.pipeline != pipeline_)
    throw std::invalid_argument("Explainer: the trace was made by another pipeline (fingerprint " + trace.pipeline.hex() +
                                ", this model's is " + pipeline_.hex() +
                                "): encode the image with the model's own pipeline");
  const std::vector<double>& h = trace.histogram();
  if (h.size() != model_->dim())
    throw std::invalid_argument("Explainer: histogram has " + std::to_string(h.size()) + " dimensions but the model expects " +
                                std::to_string(model_->dim()) + " (codebook or pyramid differs from training)");
  if (cls >= model_->classes().size())
    throw std::out_of_range("Explainer: class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(model_->classes().size()) + " classes");
  Explanation e;
  e.cls = cls;
  e.class_name = model_->classes()[cls].name;
  e.dimensions = relevance_dimensions(*model_, cls, h.data(), composite_, indices_ ? &(*indices_)[cls] : nullptr);
  e.features = relevance_features(trace.features, trace.assignment, trace.pool, e.dimensions.R);
  e.pixels = relevance_pixels(trace.features, e.features.R);
  return e;
}

Explanation Explainer::explain(const bow::EncodeTrace& trace, const std::string& name) const {
  return explain(trace, model_->class_index(name));
}

}  // namespace bowlrp::decompose
