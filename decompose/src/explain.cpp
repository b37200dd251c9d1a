#include <bowlrp/decompose/explain.h>

#include <cmath>
#include <string>
#include <memory>
#include <stdexcept>

namespace bowlrp::decompose {

Explainer::Explainer(std::shared_ptr<const svm::KernelSvm> shared, core::Digest pipeline, Composite composite,
                     std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices)
    : head_(std::move(shared)), pipeline_(pipeline), composite_(composite), indices_(std::move(indices)) {
  composite_.validate();
  if (!std::get<0>(head_)) throw std::invalid_argument("Explainer: no model given (null pointer)");
  check_head();
  const svm::KernelSvm& model = *std::get<0>(head_);
  if (indices_) {
    const svm::Kernel& k = model.kernel();
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

Explainer::Explainer(Head head, core::Digest pipeline, Composite composite)
    : head_(std::move(head)), pipeline_(pipeline), composite_(composite) {
  composite_.validate();
  check_head();
}

Explainer::Explainer(Head head, std::shared_ptr<const bow::FisherPipeline> pipeline, Composite composite)
    : head_(std::move(head)), fisher_(std::move(pipeline)), composite_(composite) {
  composite_.validate();
  if (!fisher_) throw std::invalid_argument("Explainer: no Fisher-vector pipeline given (null pointer)");
  pipeline_ = fisher_->fingerprint();
  check_head();
  if (head_dimension(head_) != fisher_->dimension())
    throw std::invalid_argument("Explainer: the head expects " + std::to_string(head_dimension(head_)) +
                                "-dimensional inputs but the Fisher-vector pipeline makes " +
                                std::to_string(fisher_->dimension()));
}

void Explainer::check_head() const {
  if (std::visit([](const auto& h) { return !h; }, head_))
    throw std::invalid_argument("Explainer: no model given (null pointer)");
  if (head_dimension(head_) == 0 || head_classes(head_) == 0)
    throw std::invalid_argument("Explainer: the model is empty (dimension " + std::to_string(head_dimension(head_)) +
                                ", " + std::to_string(head_classes(head_)) + " classes); train or load one first");
  if (const auto* k = std::get_if<std::shared_ptr<const svm::KernelSvm>>(&head_)) {
    const svm::Kernel& kernel = (*k)->kernel();
    if ((kernel.type == svm::KernelType::rbf || kernel.type == svm::KernelType::expchi2) &&
        !(kernel.gamma > 0 && std::isfinite(kernel.gamma)))
      throw std::invalid_argument("Explainer: kernel " + svm::to_string(kernel.type) + " has gamma = " +
                                  std::to_string(kernel.gamma) + "; expected a finite value > 0");
  }
  if (const auto* n = std::get_if<std::shared_ptr<const nn::Network>>(&head_)) {
    // A bias policy shares an SVM's b over dimensions; a network head has a bias per neuron, which
    // each layer's rule treats in its own way (what it keeps is that layer's absorbed part), so a
    // policy other than the default would be ignored: refuse it rather than report one not applied.
    if (composite_.svm.bias != SvmRule{}.bias)
      throw std::invalid_argument("bias policy '" + to_string(composite_.svm.bias) +
                                  "' applies to SVM heads only; a network head treats each layer's biases by that "
                                  "layer's rule (its absorbed part): choose the rules instead");
    // An explicit rule list must have one rule per layer (checked now, before any image is read).
    const std::size_t layers = (*n)->layers().size();
    if (layers > 0) (void)composite_.network.rule_for(0, layers);
  }
}

const svm::KernelSvm& Explainer::model() const {
  if (const auto* k = std::get_if<std::shared_ptr<const svm::KernelSvm>>(&head_)) return **k;
  throw std::logic_error(std::string("Explainer: the head is a ") +
                         (head_.index() == 1 ? "linear SVM" : "network") + ", not a kernel SVM");
}

std::size_t Explainer::class_index(const std::string& name) const {
  return head_class_index(head_, name);
}

Explanation Explainer::head_layer(const core::Digest& made_by, const std::vector<double>& h, std::size_t cls) const {
  if (made_by != pipeline_)
    throw std::invalid_argument("Explainer: the trace was made by another pipeline (fingerprint " + made_by.hex() +
                                ", this model's is " + pipeline_.hex() +
                                "): encode the image with the model's own pipeline");
  if (h.size() != head_dimension(head_))
    throw std::invalid_argument("Explainer: histogram has " + std::to_string(h.size()) + " dimensions but the model expects " +
                                std::to_string(head_dimension(head_)) + " (codebook or pyramid differs from training)");
  if (cls >= head_classes(head_))
    throw std::out_of_range("Explainer: class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(head_classes(head_)) + " classes");
  Explanation e;
  e.cls = cls;
  e.class_name = head_class_name(head_, cls);
  if (const auto* k = std::get_if<std::shared_ptr<const svm::KernelSvm>>(&head_))
    e.dimensions = relevance_dimensions(**k, cls, h.data(), composite_, indices_ ? &(*indices_)[cls] : nullptr);
  else if (const auto* l = std::get_if<std::shared_ptr<const svm::LinearSvm>>(&head_))
    e.dimensions = relevance_dimensions(**l, cls, h.data(), composite_.svm);
  else
    e.dimensions =
        relevance_dimensions(*std::get<std::shared_ptr<const nn::Network>>(head_), cls, h.data(), composite_.network);
  return e;
}

Explanation Explainer::explain(const bow::EncodeTrace& trace, std::size_t cls) const {
  if (fisher_)
    throw std::invalid_argument("Explainer: a Bag-of-Words trace given to the explainer of a Fisher-vector model");
  Explanation e = head_layer(trace.pipeline, trace.histogram(), cls);
  e.features = relevance_features(trace.features, trace.assignment, trace.pool, e.dimensions.R);
  e.pixels = relevance_pixels(trace.features, e.features.R);
  return e;
}

Explanation Explainer::explain(const bow::FisherTrace& trace, std::size_t cls) const {
  if (!fisher_)
    throw std::invalid_argument("Explainer: a Fisher-vector trace given to the explainer of a Bag-of-Words model");
  Explanation e = head_layer(trace.pipeline, trace.histogram(), cls);
  e.features = relevance_fisher_features(*fisher_, trace, e.dimensions.R, composite_.fisher);
  e.pixels = relevance_pixels(trace.features, e.features.R);
  return e;
}

Explanation Explainer::explain(const bow::Trace& trace, std::size_t cls) const {
  return std::visit([&](const auto& t) { return explain(t, cls); }, trace);
}

Explanation Explainer::explain(const bow::EncodeTrace& trace, const std::string& name) const {
  return explain(trace, class_index(name));
}

Explanation Explainer::explain(const bow::Trace& trace, const std::string& name) const {
  return explain(trace, class_index(name));
}

}  // namespace bowlrp::decompose
