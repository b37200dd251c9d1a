#include <bowlrp/model/model.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/decompose/support_attribution.h>
#include <bowlrp/model/model_file.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <type_traits>
#include <stdexcept>

namespace bowlrp::model {

Model::Model(bow::Pipeline encoding, svm::KernelSvm head)
    : Model(std::make_shared<const bow::Pipeline>(std::move(encoding)),
            std::make_shared<const svm::KernelSvm>(std::move(head))) {}

Model::Model(std::shared_ptr<const bow::Pipeline> encoding, std::shared_ptr<const svm::KernelSvm> head)
    : Model(Encoding(std::move(encoding)), Head(std::move(head))) {}

Model::Model(Encoding encoding, Head head) : encoding_(std::move(encoding)), head_(std::move(head)) {
  if (std::visit([](const auto& e) { return !e; }, encoding_))
    throw std::invalid_argument("Model: no encoding given (null pointer)");
  if (std::visit([](const auto& h) { return !h; }, head_)) throw std::invalid_argument("Model: no head given (null pointer)");
  for (std::size_t c = 0; c < decompose::head_classes(head_); ++c)
    class_names_.push_back(decompose::head_class_name(head_, c));
  check();
}

void Model::check() const {
  const std::size_t head_dim = decompose::head_dimension(head_), dim = dimension();
  if (class_names_.empty()) throw std::invalid_argument("Model: the head has no class: expected at least one");
  if (head_dim != dim)
    throw std::invalid_argument("Model: the head expects " + std::to_string(head_dim) +
                                "-dimensional inputs but the encoding makes " + std::to_string(dim) +
                                std::visit([](const auto& e) -> std::string { return EncodingTraitsOf<std::decay_t<decltype(e)>>::dimension_note; }, encoding_));
  std::visit([](const auto& h) { HeadTraitsOf<std::decay_t<decltype(h)>>::check(*h); }, head_);
  for (std::size_t c = 0; c < class_names_.size(); ++c)
    for (std::size_t d = 0; d < c; ++d)
      if (class_names_[c] == class_names_[d])
        throw std::invalid_argument("Model: the class name '" + class_names_[c] + "' is given twice");
}

Model Model::with_training_images(std::vector<TrainingImage> images) const {
  const std::size_t S = support_size();
  if (!images.empty() && images.size() != S)
    throw std::invalid_argument("Model: " + std::to_string(images.size()) + " training images given for " +
                                std::to_string(S) + " support vectors of the " + head_kind() +
                                " head: expected one per support vector" + (S ? "" : " (none: it keeps none)"));
  for (std::size_t i = 0; i < images.size(); ++i)
    if (images[i].path.empty() || images[i].path.find('\0') != std::string::npos)
      throw std::invalid_argument("Model: training image " + std::to_string(i) +
                                  " has no file path (empty, or holding a NUL byte)");
  Model m = *this;
  m.training_images_ = images.empty() ? nullptr : std::make_shared<const std::vector<TrainingImage>>(std::move(images));
  return m;
}

Model Model::with_artefact_projection(bow::ArtefactProjection projection) const {
  if (projection.dimension() != dimension())
    throw std::invalid_argument("Model: the artefact projection is " + std::to_string(projection.dimension()) +
                                "-dimensional but the encoding makes " + std::to_string(dimension()) +
                                "-dimensional vectors: fit it on this model's encodings");
  if (projection.clamp() != bow::ProjectionClamp::non_negative && head_needs_non_negative_inputs())
    throw std::invalid_argument("Model: the " + head_summary() +
                                " needs inputs >= 0, which a projection can make negative: expected the clamp "
                                "non-negative (bow::ProjectionClamp::non_negative)");
  Model m = *this;
  m.projection_ = std::make_shared<const bow::ArtefactProjection>(std::move(projection));
  return m;
}

Model Model::without_artefact_projection() const {
  Model m = *this;
  m.projection_ = nullptr;
  return m;
}

bool Model::head_needs_non_negative_inputs() const {
  return std::visit([](const auto& h) { return HeadTraitsOf<std::decay_t<decltype(h)>>::needs_non_negative_inputs(*h); },
                    head_);
}

std::vector<double> Model::head_input(const Trace& trace) const {
  const std::vector<double>& h = bow::head_input(trace);
  if (!projection_) return h;
  if (h.size() != projection_->dimension())
    throw std::invalid_argument("Model: the trace has " + std::to_string(h.size()) + " dimensions but the model expects " +
                                std::to_string(projection_->dimension()));
  std::vector<double> out(h.size());
  projection_->project(h.data(), out.data());
  return out;
}

const std::vector<TrainingImage>& Model::training_images() const {
  static const std::vector<TrainingImage> none;
  return training_images_ ? *training_images_ : none;
}

std::size_t Model::support_size() const {
  const svm::KernelSvm* k = decompose::attribution_head(head_);
  return k ? k->support_size() : 0;
}

Model Model::load(const std::string& path) { return load_model(path); }
void Model::save(const std::string& path) const { save_model(path, *this); }

std::string Model::encoding_kind() const {
  return std::visit([](const auto& e) -> std::string { return EncodingTraitsOf<std::decay_t<decltype(e)>>::name; },
                    encoding_);
}

std::string Model::head_kind() const {
  return std::visit([](const auto& h) -> std::string { return HeadTraitsOf<std::decay_t<decltype(h)>>::name; }, head_);
}

const bow::ImageLoader& Model::loader() const {
  return std::visit([](const auto& e) -> const bow::ImageLoader& { return e->loader(); }, encoding_);
}

const bow::DenseSift& Model::sift() const {
  return std::visit([](const auto& e) -> const bow::DenseSift& { return e->sift(); }, encoding_);
}

std::string Model::encoding_summary() const {
  return std::visit([](const auto& e) { return EncodingTraitsOf<std::decay_t<decltype(e)>>::summary(*e); }, encoding_);
}

std::string Model::head_summary() const {
  return std::visit([&](const auto& h) { return HeadTraitsOf<std::decay_t<decltype(h)>>::summary(*h, classes()); },
                    head_);
}

std::vector<std::pair<std::string, double>> Model::encoding_rule_fields(const decompose::Composite& composite) const {
  return std::visit([&](const auto& e) { return EncodingTraitsOf<std::decay_t<decltype(e)>>::rule_fields(composite); },
                    encoding_);
}

std::vector<double> Model::biases() const {
  return std::visit([](const auto& h) { return HeadTraitsOf<std::decay_t<decltype(h)>>::biases(*h); }, head_);
}

bool Model::head_applies_svm_bias() const {
  return std::visit([](const auto& h) { return HeadTraitsOf<std::decay_t<decltype(h)>>::applies_svm_bias; }, head_);
}

std::string Model::encoding_training_stage() const {
  return std::visit(
      [](const auto& e) -> std::string { return EncodingTraitsOf<std::decay_t<decltype(e)>>::training_stage; },
      encoding_);
}

std::size_t Model::head_parameter_layers() const {
  return std::visit([](const auto& h) { return HeadTraitsOf<std::decay_t<decltype(h)>>::parameter_layers(*h); }, head_);
}

Model Model::with_randomised_head(std::size_t layers, std::uint64_t seed) const {
  Head head = std::visit(
      [&](const auto& h) -> Head { return HeadTraitsOf<std::decay_t<decltype(h)>>::randomised(*h, layers, seed); },
      head_);
  Model m(encoding_, std::move(head));
  m.projection_ = projection_;
  return m;
}

std::vector<double> Model::sensitivity_map(std::size_t cls, const Trace& trace) const {
  const std::vector<double>& x = bow::head_input(trace);
  std::optional<bow::ProjectionTrace> projected;
  if (projection_) projected = projection_->trace(x.data());
  const std::vector<double>& h = projected ? projected->output : x;
  std::vector<double> g = std::visit(
      [&](const auto& p) { return HeadTraitsOf<std::decay_t<decltype(p)>>::sensitivity(*p, cls, h); }, head_);
  // |∂f/∂Φ'| back to Φ: the gradient's signs are not kept by the heads' sensitivity, so |Pᵀ|g|| is a
  // bound on the magnitudes, not the exact |Pᵀ ∂f/∂Φ'|.
  if (projected) {
    g = projection_->pull_back(g, *projected);
    for (double& v : g) v = std::abs(v);
  }
  return std::visit(
      [&](const auto& e, const auto& t) -> std::vector<double> {
        using Stage = StageOf<std::decay_t<decltype(e)>>;
        if constexpr (std::is_same_v<bow::TraceOf<Stage>, std::decay_t<decltype(t)>>)
          return EncodingTraits<Stage>::sensitivity(*e, t, g);
        else
          throw std::invalid_argument("Model::sensitivity_map: the trace was made by another kind of encoding");
      },
      encoding_, trace);
}

std::size_t Model::class_index(const std::string& name) const {
  const auto it = std::find(class_names_.begin(), class_names_.end(), name);
  if (it != class_names_.end()) return static_cast<std::size_t>(it - class_names_.begin());
  std::string known;
  for (const std::string& c : class_names_) known += (known.empty() ? "" : ", ") + c;
  throw std::invalid_argument("unknown class " + core::quoted(name) + ": the model knows " + known);
}

std::size_t Model::dimension() const {
  return std::visit([](const auto& e) { return e->dimension(); }, encoding_);
}

const core::Digest& Model::fingerprint() const {
  return std::visit([](const auto& e) -> const core::Digest& { return e->fingerprint(); }, encoding_);
}

bow::GrayImage Model::load_image(const std::string& path) const {
  return std::visit([&](const auto& e) { return e->load(path); }, encoding_);
}

Trace Model::encode(const bow::GrayImage& image) const {
  return std::visit([&](const auto& e) { return Trace(e->encode(image)); }, encoding_);
}

Trace Model::encode_file(const std::string& path) const {
  return std::visit([&](const auto& e) { return Trace(e->encode_file(path)); }, encoding_);
}

Trace Model::encode_bytes(const std::string& bytes, const std::string& path) const {
  return std::visit([&](const auto& e) { return Trace(e->encode_bytes(bytes, path)); }, encoding_);
}

std::vector<double> Model::scores(const double* x) const {
  if (projection_) {
    std::vector<double> p(projection_->dimension());
    projection_->project(x, p.data());
    return std::visit([&](const auto& h) { return h->decision(p.data()); }, head_);
  }
  return std::visit([&](const auto& h) { return h->decision(x); }, head_);
}

std::vector<double> Model::scores(const Trace& trace) const {
  const core::Digest& made_by = std::visit([](const auto& t) -> const core::Digest& { return t.pipeline; }, trace);
  if (made_by != fingerprint())
    throw std::invalid_argument("Model::scores: the trace was made by another encoding (fingerprint " + made_by.hex() +
                                ", this model's is " + fingerprint().hex() + ")");
  return scores(bow::head_input(trace).data());
}

std::vector<double> Model::scores_batch(const double* X, std::size_t n, int threads) const {
  if (projection_) {
    const std::vector<double> P = projection_->project_batch(X, n);
    return std::visit([&](const auto& h) { return h->decision_batch(P.data(), n, threads); }, head_);
  }
  return std::visit([&](const auto& h) { return h->decision_batch(X, n, threads); }, head_);
}

decompose::Explainer Model::explainer(const decompose::Composite& composite) const {
  if (projection_) return decompose::Explainer(head_, encoding_, composite).with_artefact_projection(projection_);
  return decompose::Explainer(head_, encoding_, composite);
}

std::size_t top_class(const double* scores, std::size_t classes) {
  if (classes == 0) throw std::invalid_argument("top_class: no scores (0 classes)");
  return static_cast<std::size_t>(std::max_element(scores, scores + classes) - scores);
}

std::size_t top_class(const std::vector<double>& scores) { return top_class(scores.data(), scores.size()); }

}  // namespace bowlrp::model
