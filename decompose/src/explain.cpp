#include <bowlrp/decompose/explain.h>

#include <cmath>
#include <string>
#include <memory>
#include <stdexcept>

namespace bowlrp::decompose {

Explainer::Explainer(Head head, bow::Encoding encoding, Composite composite,
                     std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices)
    : head_(std::move(head)), encoding_(std::move(encoding)), composite_(composite), indices_(std::move(indices)) {
  composite_.validate();
  if (std::visit([](const auto& e) { return !e; }, encoding_))
    throw std::invalid_argument("Explainer: no encoding given (null pointer)");
  pipeline_ = std::visit([](const auto& e) { return e->fingerprint(); }, encoding_);
  check();
  const std::size_t dim = std::visit([](const auto& e) { return e->dimension(); }, encoding_);
  if (head_dimension(head_) != dim)
    throw std::invalid_argument("Explainer: the head expects " + std::to_string(head_dimension(head_)) +
                                "-dimensional inputs but the encoding makes " + std::to_string(dim));
}

Explainer::Explainer(std::shared_ptr<const svm::KernelSvm> shared, core::Digest pipeline, Composite composite,
                     std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices)
    : head_(std::move(shared)),
      pipeline_(pipeline),
      encoding_(std::shared_ptr<const bow::Pipeline>()),
      composite_(composite),
      indices_(std::move(indices)) {
  composite_.validate();
  check();
}

Explainer::Explainer(Head head, core::Digest pipeline, Composite composite)
    : head_(std::move(head)), pipeline_(pipeline), encoding_(std::shared_ptr<const bow::Pipeline>()), composite_(composite) {
  composite_.validate();
  check();
}

void Explainer::check() const {
  if (std::visit([](const auto& h) { return !h; }, head_))
    throw std::invalid_argument("Explainer: no model given (null pointer)");
  if (head_dimension(head_) == 0 || head_classes(head_) == 0)
    throw std::invalid_argument("Explainer: the model is empty (dimension " + std::to_string(head_dimension(head_)) +
                                ", " + std::to_string(head_classes(head_)) + " classes); train or load one first");
  std::visit([&](const auto& h) { check_head(*h, composite_, indices_.get()); }, head_);
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
  const svm::IntersectionIndex* index = indices_ ? &(*indices_)[cls] : nullptr;
  e.dimensions = std::visit([&](const auto& p) { return relevance_head(*p, cls, h.data(), composite_, index); }, head_);
  return e;
}

Explainer Explainer::with_artefact_projection(std::shared_ptr<const bow::ArtefactProjection> projection) const {
  if (projection && projection->dimension() != head_dimension(head_))
    throw std::invalid_argument("Explainer: the artefact projection is " + std::to_string(projection->dimension()) +
                                "-dimensional but the head expects " + std::to_string(head_dimension(head_)) +
                                "-dimensional inputs");
  Explainer e = *this;
  e.projection_ = std::move(projection);
  return e;
}

Explanation Explainer::upper_layers(const core::Digest& made_by, const std::vector<double>& h, std::size_t cls) const {
  if (!projection_) return head_layer(made_by, h, cls);
  if (h.size() != projection_->dimension())
    throw std::invalid_argument("Explainer: histogram has " + std::to_string(h.size()) + " dimensions but the model expects " +
                                std::to_string(projection_->dimension()) + " (codebook or pyramid differs from training)");
  const bow::ProjectionTrace t = projection_->trace(h.data());
  Explanation e = head_layer(made_by, t.output, cls);
  e.projection = relevance_projection(*projection_, t, e.dimensions.R);
  return e;
}

}  // namespace bowlrp::decompose
