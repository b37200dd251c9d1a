#include <bowlrp/model/kinds/kernel_svm.h>

#include <bowlrp/core/random.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/kinds.h>
#include <bowlrp/svm/kernel.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace bowlrp::model {

std::string HeadTraits<svm::KernelSvm>::summary(const svm::KernelSvm& head, std::size_t) {
  return "kernel SVM (" + svm::to_string(head.kernel().type) + "), " + std::to_string(head.support_size()) +
         " support vectors";
}

void HeadTraits<svm::KernelSvm>::check(const svm::KernelSvm& head) {
  if (head.support_size() == 0)
    throw std::invalid_argument("Model: the SVM has no support vectors (support_size 0): expected at least 1");
}

std::vector<double> HeadTraits<svm::KernelSvm>::sensitivity(const svm::KernelSvm& model, std::size_t cls,
                                                            const std::vector<double>& h) {
  const std::size_t V = h.size(), S = model.support_size();
  std::vector<double> g(V, 0.0);
  const svm::Kernel& k = model.kernel();
  if (k.sum_decomposable()) {
    // the slope of each dimension's kernel sum, by a forward difference
    const std::vector<double>& coef = model.classes()[cls].coef;
    for (std::size_t d = 0; d < V; ++d) {
      const double w = k.weight(d);
      if (w == 0) continue;
      const double eps = 1e-7 * std::max(1e-3, h[d]);
      double sum = 0;
      for (std::size_t i = 0; i < S; ++i) {
        const double s = model.support_vector(i)[d];
        sum += coef[i] * (k.term(s, h[d] + eps) - k.term(s, h[d]));
      }
      g[d] = std::fabs(w * sum / eps);
    }
  } else {
    g = decompose::decision_gradient(model, cls, h.data());
    for (double& v : g) v = std::fabs(v);
  }
  return g;
}

std::size_t HeadTraits<svm::KernelSvm>::parameter_layers(const svm::KernelSvm&) { return 1; }

std::shared_ptr<const svm::KernelSvm> HeadTraits<svm::KernelSvm>::randomised(const svm::KernelSvm& head,
                                                                              std::size_t layers, std::uint64_t seed) {
  check_randomised_layers(layers, 1);
  std::vector<svm::BinarySvm> classes = head.classes();
  if (layers == 1)
    for (std::size_t c = 0; c < classes.size(); ++c)
      classes[c].coef = core::shuffled(classes[c].coef, core::derived_seed(core::derived_seed(seed, 0), c));
  return std::make_shared<const svm::KernelSvm>(head.kernel(), head.dim(), head.support(), std::move(classes));
}

std::vector<double> HeadTraits<svm::KernelSvm>::biases(const svm::KernelSvm& head) {
  std::vector<double> b;
  for (const svm::BinarySvm& c : head.classes()) b.push_back(c.bias);
  return b;
}

void HeadTraits<svm::KernelSvm>::check_rules(const FitOptions&, const decompose::Composite&) {}

void HeadTraits<svm::KernelSvm>::validate(const FitOptions& options) {
  if (!svm::needs_non_negative_inputs(options.kernel.type)) return;
  visit_encoding_kind(options.encoding, [&](auto tag) {
    using T = EncodingTraits<typename decltype(tag)::type>;
    if (!T::non_negative)
      throw std::invalid_argument("FitOptions.kernel = " + svm::to_string(options.kernel.type) +
                                  ": it needs inputs >= 0, but the " + T::name +
                                  " encoding's are signed; expected linear, hik or rbf over it (or the bag-of-words "
                                  "encoding)");
  });
}

std::shared_ptr<const svm::KernelSvm> HeadTraits<svm::KernelSvm>::train(
    const double* rows, std::size_t n, std::size_t dim, const std::vector<int>& labels,
    const std::vector<std::string>& class_names, const FitOptions& options, const svm::TrainOptions& svm_options,
    const core::ProgressFn& progress, std::vector<std::size_t>* support_rows) {
  const std::size_t C = class_names.size();
  if (progress) progress({core::ProgressEvent::Kind::start, training_stage, 0, C, {}});
  const svm::ProgressFn step = [&](std::size_t done, std::size_t total) {
    if (progress) progress({core::ProgressEvent::Kind::step, training_stage, done, total, {}});
  };
  auto head = std::make_shared<const svm::KernelSvm>(
      svm::train_one_vs_rest(rows, n, dim, labels, class_names, options.kernel, svm_options, step, support_rows));
  if (progress) progress({core::ProgressEvent::Kind::finish, training_stage, C, C, {}});
  return head;
}

void HeadTraits<svm::KernelSvm>::restore(const svm::KernelSvm& head, FitOptions& options) {
  options.kernel.type = head.kernel().type;
}

}  // namespace bowlrp::model
