#include <bowlrp/model/kinds/explicit_map_svm.h>

#include <bowlrp/core/random.h>
#include <bowlrp/model/fit.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace bowlrp::model {

namespace {
svm::AdditiveMapOptions map_options(const FitOptions& options) {
  svm::AdditiveMapOptions m = options.additive_map;
  m.kernel = options.kernel.type;
  return m;
}
}  // namespace

std::string HeadTraits<svm::AdditiveMapSvm>::summary(const svm::AdditiveMapSvm& head, std::size_t classes) {
  return "explicit-map linear SVM (" + svm::to_string(head.map().options().kernel) + ", order " +
         std::to_string(head.map().options().order) + "), " + std::to_string(classes) + " weight vectors over " +
         std::to_string(head.linear().dim()) + " map values";
}

void HeadTraits<svm::AdditiveMapSvm>::check(const svm::AdditiveMapSvm&) {}

std::vector<double> HeadTraits<svm::AdditiveMapSvm>::sensitivity(const svm::AdditiveMapSvm& head, std::size_t cls,
                                                                 const std::vector<double>& h) {
  const std::vector<double>& w = head.classes().at(cls).weights;
  const std::size_t V = head.dim(), m = head.map().components();
  std::vector<double> g(V), lo(m), hi(m);
  for (std::size_t d = 0; d < V; ++d) {
    const double step = std::max(1e-3 * std::abs(h[d]), 1e-6);
    const double a = std::max(h[d] - step, 0.0), b = h[d] + step;
    head.map().map_value(a, lo.data());
    head.map().map_value(b, hi.data());
    double diff = 0;
    for (std::size_t j = 0; j < m; ++j) diff += w[d * m + j] * (hi[j] - lo[j]);
    g[d] = std::abs(diff / (b - a));
  }
  return g;
}

std::size_t HeadTraits<svm::AdditiveMapSvm>::parameter_layers(const svm::AdditiveMapSvm&) { return 1; }

std::shared_ptr<const svm::AdditiveMapSvm> HeadTraits<svm::AdditiveMapSvm>::randomised(const svm::AdditiveMapSvm& head,
                                                                                       std::size_t layers,
                                                                                       std::uint64_t seed) {
  check_randomised_layers(layers, 1);
  std::vector<svm::LinearClass> classes = head.classes();
  if (layers == 1)
    for (std::size_t c = 0; c < classes.size(); ++c)
      classes[c].weights = core::shuffled(classes[c].weights, core::derived_seed(core::derived_seed(seed, 0), c));
  return std::make_shared<const svm::AdditiveMapSvm>(head.dim(), head.map().options(),
                                                     svm::LinearSvm(head.linear().dim(), std::move(classes)));
}

std::vector<double> HeadTraits<svm::AdditiveMapSvm>::biases(const svm::AdditiveMapSvm& head) {
  std::vector<double> b;
  for (const svm::LinearClass& c : head.classes()) b.push_back(c.bias);
  return b;
}

void HeadTraits<svm::AdditiveMapSvm>::check_rules(const FitOptions&, const decompose::Composite&) {}

void HeadTraits<svm::AdditiveMapSvm>::validate(const FitOptions& options) {
  const svm::KernelType k = options.kernel.type;
  if (k != svm::KernelType::intersection && k != svm::KernelType::chi2)
    throw std::invalid_argument("FitOptions.kernel = " + svm::to_string(k) +
                                ": the explicit-map-svm head expected hik or chi2 (the additive kernels with an "
                                "explicit map)");
  map_options(options).validate();
}

std::shared_ptr<const svm::AdditiveMapSvm> HeadTraits<svm::AdditiveMapSvm>::train(
    const double* rows, std::size_t n, std::size_t dim, const std::vector<int>& labels,
    const std::vector<std::string>& class_names, const FitOptions& options, const svm::TrainOptions& svm_options,
    const core::ProgressFn& progress, std::vector<std::size_t>* support_rows) {
  if (support_rows) support_rows->clear();  // w_c over the map is kept, not the support vectors
  const std::size_t C = class_names.size();
  if (progress) progress({core::ProgressEvent::Kind::start, training_stage, 0, C, {}});
  const svm::ProgressFn step = [&](std::size_t done, std::size_t total) {
    if (progress) progress({core::ProgressEvent::Kind::step, training_stage, done, total, {}});
  };
  auto head = std::make_shared<const svm::AdditiveMapSvm>(svm::train_additive_map_one_vs_rest(
      rows, n, dim, labels, class_names, map_options(options), svm_options, step));
  if (progress) progress({core::ProgressEvent::Kind::finish, training_stage, C, C, {}});
  return head;
}

void HeadTraits<svm::AdditiveMapSvm>::restore(const svm::AdditiveMapSvm& head, FitOptions& options) {
  const svm::AdditiveMapOptions& m = head.map().options();
  options.kernel.type = m.kernel;
  options.additive_map = m;
}

}  // namespace bowlrp::model
