#include <bowlrp/decompose/support_attribution.h>

#include <bowlrp/decompose/fisher_relevance.h>
#include <bowlrp/decompose/vlad_relevance.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>

namespace bowlrp::decompose {

namespace {

void check_query(const svm::KernelSvm& model, const std::vector<double>& x, std::size_t cls, const char* what) {
  const std::string w = what;
  if (model.dim() == 0 || model.support_size() == 0)
    throw std::invalid_argument(w + ": the model is empty (dimension " + std::to_string(model.dim()) + ", " +
                                std::to_string(model.support_size()) + " support vectors); train or load one first");
  if (cls >= model.classes().size())
    throw std::out_of_range(w + ": class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(model.classes().size()) + " classes");
  if (x.size() != model.dim())
    throw std::invalid_argument(w + ": the input has " + std::to_string(x.size()) +
                                " dimensions but the model expects " + std::to_string(model.dim()) +
                                " (encode it with the model's own pipeline)");
  const bool non_negative = svm::needs_non_negative_inputs(model.kernel().type);
  for (std::size_t d = 0; d < x.size(); ++d) {
    if (!std::isfinite(x[d]))
      throw std::invalid_argument(w + ": input dimension " + std::to_string(d) + " is not finite (" +
                                  std::to_string(x[d]) + ")");
    if (non_negative && x[d] < 0)
      throw std::invalid_argument(w + ": input dimension " + std::to_string(d) + " is negative (" +
                                  std::to_string(x[d]) + "), but the " + svm::to_string(model.kernel().type) +
                                  " kernel is defined for values >= 0 only");
  }
}

// Indices with sign * c_i > 0, ordered by |c_i| descending, ties by index; at most k.
std::vector<std::size_t> top_of_sign(const std::vector<double>& c, double sign, std::size_t k) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < c.size(); ++i)
    if (sign * c[i] > 0) idx.push_back(i);
  const auto before = [&](std::size_t a, std::size_t b) {
    const double va = sign * c[a], vb = sign * c[b];
    return va != vb ? va > vb : a < b;
  };
  if (k < idx.size()) {
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), before);
    idx.resize(k);
  } else {
    std::sort(idx.begin(), idx.end(), before);
  }
  return idx;
}

// The encoding's backward rule and the pixel split of R_d on one trace of the encoding's kind.
void push_down(const bow::Encoding& encoding, const bow::Trace& trace, const std::vector<double>& R,
               const Composite& composite, const char* which, FeatureRelevance& features, PixelRelevance& pixels) {
  std::visit(
      [&](const auto& stage, const auto& t) {
        using Stage = typename std::decay_t<decltype(stage)>::element_type;
        using T = std::decay_t<decltype(t)>;
        if constexpr (std::is_same_v<bow::TraceOf<Stage>, T>) {
          if (t.pipeline != stage->fingerprint())
            throw std::invalid_argument(std::string("support_pixel_maps: the ") + which +
                                        " trace was made by another pipeline (fingerprint " + t.pipeline.hex() +
                                        ", the encoding's is " + stage->fingerprint().hex() +
                                        "): encode the image with the model's own pipeline");
          features = relevance_encoding(stage.get(), t, R, composite);
          pixels = relevance_pixels(t.features, features.R);
        } else {
          throw std::invalid_argument(std::string("support_pixel_maps: the ") + which +
                                      " trace was made by another kind of encoding than the given one: encode the "
                                      "image with the model's own pipeline");
        }
      },
      encoding, trace);
}

// Which heads keep support vectors, and why the others offer nothing exact.
const svm::KernelSvm* kernel_of(const svm::KernelSvm& h) { return &h; }
const svm::KernelSvm* kernel_of(const svm::LinearSvm&) { return nullptr; }
const svm::KernelSvm* kernel_of(const nn::Network&) { return nullptr; }
const svm::KernelSvm* kernel_of(const svm::AdditiveMapSvm&) { return nullptr; }
std::string why_none(const svm::KernelSvm&) { return {}; }
std::string why_none(const svm::LinearSvm&) {
  return "a linear-svm head, which keeps only w_c = Σ_i α_i y_i s_i (collapsed at training), not the support "
         "vectors and so not the training images it came from";
}
std::string why_none(const svm::AdditiveMapSvm&) {
  return "an explicit-map-svm head, which keeps only w_c over the explicit map Psi (trained in the primal), not "
         "support vectors and so not the training images it came from";
}
std::string why_none(const nn::Network&) {
  return "an mlp head, which has no support vectors: its decision is no sum over training images";
}

}  // namespace

const svm::KernelSvm* attribution_head(const Head& head) {
  return std::visit(
      [](const auto& h) -> const svm::KernelSvm* {
        if (!h) throw std::invalid_argument("no classifier head given (null pointer)");
        return kernel_of(*h);
      },
      head);
}

const svm::KernelSvm& require_attribution_head(const Head& head, const std::string& what) {
  if (const svm::KernelSvm* k = attribution_head(head)) return *k;
  const std::string why = std::visit([](const auto& h) { return why_none(*h); }, head);
  throw std::invalid_argument(what + ": training-image attribution needs a kernel-SVM head, whose decision is a "
                              "sum over its support vectors (training images); this model has " + why +
                              ", so nothing exact is offered for it");
}

double SupportContributions::total() const {
  return std::accumulate(contributions.begin(), contributions.end(), 0.0);
}

std::vector<std::size_t> SupportContributions::top_supporting(std::size_t k) const {
  return top_of_sign(contributions, 1.0, k);
}

std::vector<std::size_t> SupportContributions::top_opposing(std::size_t k) const {
  return top_of_sign(contributions, -1.0, k);
}

SupportContributions support_contributions(const svm::KernelSvm& model, const std::vector<double>& x, std::size_t cls) {
  check_query(model, x, cls, "support_contributions");
  const svm::BinarySvm& c = model.classes()[cls];
  const std::vector<double> kv = model.kernel_values(x.data());
  SupportContributions out;
  out.cls = cls;
  out.bias = c.bias;
  out.contributions.resize(kv.size());
  double sum = 0.0;  // the order and operations of KernelSvm::decision
  for (std::size_t i = 0; i < kv.size(); ++i) {
    out.contributions[i] = c.coef[i] * kv[i];
    sum += out.contributions[i];
  }
  out.f = c.bias + sum;
  return out;
}

std::vector<double> support_dimension_relevance(const svm::KernelSvm& model, const std::vector<double>& x,
                                                std::size_t cls, std::size_t i) {
  check_query(model, x, cls, "support_dimension_relevance");
  const svm::Kernel& k = model.kernel();
  if (!k.sum_decomposable())
    throw std::invalid_argument("support_dimension_relevance: the " + svm::to_string(k.type) +
                                " kernel is not sum-decomposable (no per-dimension term k_d), so a support vector's "
                                "contribution has no exact split over dimensions; support_contributions gives c_i "
                                "for every kernel");
  if (i >= model.support_size())
    throw std::out_of_range("support_dimension_relevance: support vector index " + std::to_string(i) +
                            " out of range; the model has " + std::to_string(model.support_size()) +
                            " support vectors");
  const std::size_t V = model.dim();
  std::vector<double> w(V, 1.0);
  if (!k.blocks.empty()) {
    std::fill(w.begin(), w.end(), 0.0);
    for (const svm::KernelBlock& b : k.blocks)
      for (std::size_t d = b.begin; d < b.end; ++d) w[d] = b.weight;  // validated: disjoint, inside V
  }
  const double coef = model.classes()[cls].coef[i];
  const double* s = model.support_vector(i);
  std::vector<double> R(V);
  for (std::size_t d = 0; d < V; ++d) R[d] = coef * (w[d] * k.term(s[d], x[d]));
  return R;
}

SupportPixelMaps support_test_map(const svm::KernelSvm& model, const bow::Encoding& encoding, const bow::Trace& test,
                                  std::size_t cls, std::size_t i, const Composite& composite) {
  composite.validate();
  if (std::visit([](const auto& e) { return !e; }, encoding))
    throw std::invalid_argument("support_pixel_maps: no encoding given (null pointer)");
  const std::size_t dim = std::visit([](const auto& e) { return e->dimension(); }, encoding);
  if (dim != model.dim())
    throw std::invalid_argument("support_pixel_maps: the model expects " + std::to_string(model.dim()) +
                                "-dimensional inputs but the encoding makes " + std::to_string(dim));
  SupportPixelMaps out;
  out.support_index = i;
  out.dimensions = support_dimension_relevance(model, bow::head_input(test), cls, i);
  out.contribution = std::accumulate(out.dimensions.begin(), out.dimensions.end(), 0.0);
  push_down(encoding, test, out.dimensions, composite, "test", out.test_features, out.test_pixels);
  return out;
}

SupportPixelMaps support_pixel_maps(const svm::KernelSvm& model, const bow::Encoding& encoding,
                                    const bow::Trace& test, const bow::Trace& training, std::size_t cls, std::size_t i,
                                    const Composite& composite) {
  SupportPixelMaps out = support_test_map(model, encoding, test, cls, i, composite);
  const std::vector<double>& h = bow::head_input(training);
  if (h.size() != model.dim())
    throw std::invalid_argument("support_pixel_maps: the training trace has " + std::to_string(h.size()) +
                                " dimensions but the model expects " + std::to_string(model.dim()));
  const double* s = model.support_vector(i);
  double scale = 1.0, worst = 0.0;
  for (std::size_t d = 0; d < h.size(); ++d) scale = std::max(scale, std::abs(s[d]));
  std::size_t worst_d = 0;
  for (std::size_t d = 0; d < h.size(); ++d) {
    const double diff = std::abs(h[d] - s[d]);
    if (std::isnan(diff)) {
      worst = diff;
      worst_d = d;
      break;
    }
    if (diff > worst) {
      worst = diff;
      worst_d = d;
    }
  }
  if (!(worst <= 1e-6 * scale))
    throw std::invalid_argument("support_pixel_maps: the training trace's histogram is not support vector " +
                                std::to_string(i) + " (dimension " + std::to_string(worst_d) + " differs by " +
                                std::to_string(worst) + "): pass the trace of the training image that became it "
                                "(or of its left-right mirror, if training used mirrored copies)");

  push_down(encoding, training, out.dimensions, composite, "training", out.training_features, out.training_pixels);
  return out;
}

}  // namespace bowlrp::decompose
