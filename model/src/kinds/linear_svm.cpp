#include <bowlrp/model/kinds/linear_svm.h>

#include <bowlrp/core/random.h>
#include <bowlrp/model/fit.h>

#include <cmath>

namespace bowlrp::model {

std::string HeadTraits<svm::LinearSvm>::summary(const svm::LinearSvm&, std::size_t classes) {
  return "linear SVM, " + std::to_string(classes) + " weight vectors";
}

void HeadTraits<svm::LinearSvm>::check(const svm::LinearSvm&) {}

std::vector<double> HeadTraits<svm::LinearSvm>::sensitivity(const svm::LinearSvm& head, std::size_t cls,
                                                            const std::vector<double>&) {
  const std::vector<double>& w = head.classes().at(cls).weights;
  std::vector<double> g(w.size());
  for (std::size_t d = 0; d < w.size(); ++d) g[d] = std::fabs(w[d]);
  return g;
}

std::size_t HeadTraits<svm::LinearSvm>::parameter_layers(const svm::LinearSvm&) { return 1; }

std::shared_ptr<const svm::LinearSvm> HeadTraits<svm::LinearSvm>::randomised(const svm::LinearSvm& head,
                                                                              std::size_t layers, std::uint64_t seed) {
  check_randomised_layers(layers, 1);
  std::vector<svm::LinearClass> classes = head.classes();
  if (layers == 1)
    for (std::size_t c = 0; c < classes.size(); ++c)
      classes[c].weights = core::shuffled(classes[c].weights, core::derived_seed(core::derived_seed(seed, 0), c));
  return std::make_shared<const svm::LinearSvm>(head.dim(), std::move(classes));
}

std::vector<double> HeadTraits<svm::LinearSvm>::biases(const svm::LinearSvm& head) {
  std::vector<double> b;
  for (const svm::LinearClass& c : head.classes()) b.push_back(c.bias);
  return b;
}

void HeadTraits<svm::LinearSvm>::check_rules(const FitOptions&, const decompose::Composite&) {}

void HeadTraits<svm::LinearSvm>::validate(const FitOptions&) {}

std::shared_ptr<const svm::LinearSvm> HeadTraits<svm::LinearSvm>::train(
    const double* rows, std::size_t n, std::size_t dim, const std::vector<int>& labels,
    const std::vector<std::string>& class_names, const FitOptions&, const svm::TrainOptions& svm_options,
    const core::ProgressFn& progress, std::vector<std::size_t>* support_rows) {
  if (support_rows) support_rows->clear();  // w_c is kept, not the support vectors
  const std::size_t C = class_names.size();
  if (progress) progress({core::ProgressEvent::Kind::start, training_stage, 0, C, {}});
  const svm::ProgressFn step = [&](std::size_t done, std::size_t total) {
    if (progress) progress({core::ProgressEvent::Kind::step, training_stage, done, total, {}});
  };
  auto head = std::make_shared<const svm::LinearSvm>(
      svm::train_linear_one_vs_rest(rows, n, dim, labels, class_names, svm_options, step));
  if (progress) progress({core::ProgressEvent::Kind::finish, training_stage, C, C, {}});
  return head;
}

void HeadTraits<svm::LinearSvm>::restore(const svm::LinearSvm&, FitOptions&) {}

}  // namespace bowlrp::model
