#include <bowlrp/model/model.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/model/model_file.h>

#include <algorithm>
#include <stdexcept>

namespace bowlrp::model {

std::string to_string(EncodingKind kind) {
  switch (kind) {
    case EncodingKind::bag_of_words: return "bag-of-words";
    case EncodingKind::fisher_vector: return "fisher-vector";
  }
  throw std::invalid_argument("EncodingKind: unknown value " + std::to_string(static_cast<int>(kind)));
}

std::string to_string(HeadKind kind) {
  switch (kind) {
    case HeadKind::kernel_svm: return "kernel-svm";
    case HeadKind::linear_svm: return "linear-svm";
    case HeadKind::network: return "mlp";
  }
  throw std::invalid_argument("HeadKind: unknown value " + std::to_string(static_cast<int>(kind)));
}

EncodingKind encoding_kind_from_string(const std::string& name) {
  if (name == "bag-of-words" || name == "bow") return EncodingKind::bag_of_words;
  if (name == "fisher-vector" || name == "fisher") return EncodingKind::fisher_vector;
  throw std::invalid_argument("encoding " + core::quoted(name) + ": expected bag-of-words (bow) or fisher-vector (fisher)");
}

HeadKind head_kind_from_string(const std::string& name) {
  if (name == "kernel-svm" || name == "kernel") return HeadKind::kernel_svm;
  if (name == "linear-svm" || name == "linear") return HeadKind::linear_svm;
  if (name == "mlp" || name == "network") return HeadKind::network;
  throw std::invalid_argument("head " + core::quoted(name) + ": expected kernel-svm (kernel), linear-svm (linear) or mlp (network)");
}

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
                                (encoding_kind() == EncodingKind::bag_of_words ? " (codebook size x pyramid cells)"
                                                                               : " (2 x components x descriptor dimension x pyramid cells)"));
  if (head_kind() == HeadKind::kernel_svm && kernel_svm().support_size() == 0)
    throw std::invalid_argument("Model: the SVM has no support vectors (support_size 0): expected at least 1");
  for (std::size_t c = 0; c < class_names_.size(); ++c)
    for (std::size_t d = 0; d < c; ++d)
      if (class_names_[c] == class_names_[d])
        throw std::invalid_argument("Model: the class name '" + class_names_[c] + "' is given twice");
}

Model Model::load(const std::string& path) { return load_model(path); }
void Model::save(const std::string& path) const { save_model(path, *this); }

EncodingKind Model::encoding_kind() const { return static_cast<EncodingKind>(encoding_.index()); }
HeadKind Model::head_kind() const { return static_cast<HeadKind>(head_.index()); }

const bow::Pipeline& Model::bag_of_words() const { return *shared_bag_of_words(); }
std::shared_ptr<const bow::Pipeline> Model::shared_bag_of_words() const {
  if (const auto* p = std::get_if<std::shared_ptr<const bow::Pipeline>>(&encoding_)) return *p;
  throw std::logic_error("Model: the encoding is " + to_string(encoding_kind()) + ", not bag-of-words");
}

const svm::KernelSvm& Model::kernel_svm() const { return *shared_kernel_svm(); }
std::shared_ptr<const svm::KernelSvm> Model::shared_kernel_svm() const {
  if (const auto* p = std::get_if<std::shared_ptr<const svm::KernelSvm>>(&head_)) return *p;
  throw std::logic_error("Model: the head is " + to_string(head_kind()) + ", not kernel-svm");
}

const bow::FisherPipeline& Model::fisher_vector() const { return *shared_fisher_vector(); }
std::shared_ptr<const bow::FisherPipeline> Model::shared_fisher_vector() const {
  if (const auto* p = std::get_if<std::shared_ptr<const bow::FisherPipeline>>(&encoding_)) return *p;
  throw std::logic_error("Model: the encoding is " + to_string(encoding_kind()) + ", not fisher-vector");
}

const svm::LinearSvm& Model::linear_svm() const { return *shared_linear_svm(); }
std::shared_ptr<const svm::LinearSvm> Model::shared_linear_svm() const {
  if (const auto* p = std::get_if<std::shared_ptr<const svm::LinearSvm>>(&head_)) return *p;
  throw std::logic_error("Model: the head is " + to_string(head_kind()) + ", not linear-svm");
}

const nn::Network& Model::network() const { return *shared_network(); }
std::shared_ptr<const nn::Network> Model::shared_network() const {
  if (const auto* p = std::get_if<std::shared_ptr<const nn::Network>>(&head_)) return *p;
  throw std::logic_error("Model: the head is " + to_string(head_kind()) + ", not mlp");
}

const bow::ImageLoader& Model::loader() const {
  return std::visit([](const auto& e) -> const bow::ImageLoader& { return e->loader(); }, encoding_);
}

const bow::DenseSift& Model::sift() const {
  return std::visit([](const auto& e) -> const bow::DenseSift& { return e->sift(); }, encoding_);
}

namespace {
std::string pyramid_text(const std::vector<core::PyramidLevel>& levels) {
  std::string s;
  for (const auto& l : levels) s += (s.empty() ? "" : ",") + std::to_string(l.cols) + "x" + std::to_string(l.rows);
  return s;
}
}  // namespace

std::string Model::encoding_summary() const {
  if (encoding_kind() == EncodingKind::bag_of_words) {
    const bow::PipelineOptions& o = bag_of_words().options();
    return "bag-of-words, " + std::to_string(o.kmeans.words) + " words, " + bow::to_string(o.mapping.kind) +
           " mapping, p = " + (o.pooling.is_max() ? std::string("inf") : std::to_string(o.pooling.p)) + ", pyramid " +
           pyramid_text(o.pooling.pyramid) + ", " + bow::to_string(o.pooling.normalisation);
  }
  const bow::FisherOptions& o = fisher_vector().options().fisher;
  return std::string("fisher-vector, ") + (o.root_sift ? "RootSIFT, " : "") + "PCA " + std::to_string(o.pca_dimension) +
         (o.append_xy ? " + xy" : "") + ", " + std::to_string(o.components) + " Gaussians, pyramid " +
         pyramid_text(o.pyramid) + ", V = " + std::to_string(dimension());
}

std::string Model::head_summary() const {
  if (head_kind() == HeadKind::kernel_svm)
    return "kernel SVM (" + svm::to_string(kernel_svm().kernel().type) + "), " +
           std::to_string(kernel_svm().support_size()) + " support vectors";
  if (head_kind() == HeadKind::linear_svm) return "linear SVM, " + std::to_string(classes()) + " weight vectors";
  std::string sizes = std::to_string(dimension());
  for (std::size_t h : network().hidden_sizes()) sizes += "-" + std::to_string(h);
  const std::size_t layers = network().layers().size();
  return "network (ReLU) " + sizes + "-" + std::to_string(classes()) + ", " + std::to_string(layers) +
         (layers == 1 ? " dense layer" : " dense layers");
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
  return std::visit([&](const auto& h) { return h->decision(x); }, head_);
}

std::vector<double> Model::scores(const Trace& trace) const {
  const core::Digest& made_by = std::visit([](const auto& t) -> const core::Digest& { return t.pipeline; }, trace);
  if (made_by != fingerprint())
    throw std::invalid_argument("Model::scores: the trace was made by another encoding (fingerprint " + made_by.hex() +
                                ", this model's is " + fingerprint().hex() + ")");
  return scores(head_input(trace).data());
}

std::vector<double> Model::scores_batch(const double* X, std::size_t n, int threads) const {
  return std::visit([&](const auto& h) { return h->decision_batch(X, n, threads); }, head_);
}

decompose::Explainer Model::explainer(const decompose::Composite& composite) const {
  if (encoding_kind() == EncodingKind::fisher_vector) return decompose::Explainer(head_, shared_fisher_vector(), composite);
  if (head_kind() == HeadKind::kernel_svm) return decompose::Explainer(shared_kernel_svm(), fingerprint(), composite);
  return decompose::Explainer(head_, fingerprint(), composite);
}

std::size_t top_class(const double* scores, std::size_t classes) {
  if (classes == 0) throw std::invalid_argument("top_class: no scores (0 classes)");
  return static_cast<std::size_t>(std::max_element(scores, scores + classes) - scores);
}

std::size_t top_class(const std::vector<double>& scores) { return top_class(scores.data(), scores.size()); }

}  // namespace bowlrp::model
