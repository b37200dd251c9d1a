#include <bowlrp/model/kinds/network.h>

#include <bowlrp/core/random.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/nn/training.h>

#include <cmath>
#include <stdexcept>

namespace bowlrp::model {

std::string HeadTraits<nn::Network>::summary(const nn::Network& head, std::size_t classes) {
  std::string sizes = std::to_string(head.dim());
  for (std::size_t h : head.hidden_sizes()) sizes += "-" + std::to_string(h);
  const std::size_t layers = head.layers().size();
  return "network (ReLU) " + sizes + "-" + std::to_string(classes) + ", " + std::to_string(layers) +
         (layers == 1 ? " dense layer" : " dense layers");
}

void HeadTraits<nn::Network>::check(const nn::Network&) {}

std::vector<double> HeadTraits<nn::Network>::sensitivity(const nn::Network& head, std::size_t cls,
                                                         const std::vector<double>& h) {
  std::vector<double> g = head.gradient(cls, head.forward(h.data()));
  for (double& v : g) v = std::fabs(v);
  return g;
}

std::size_t HeadTraits<nn::Network>::parameter_layers(const nn::Network& head) { return head.layers().size(); }

std::shared_ptr<const nn::Network> HeadTraits<nn::Network>::randomised(const nn::Network& head, std::size_t layers,
                                                                      std::uint64_t seed) {
  check_randomised_layers(layers, head.layers().size());
  std::vector<nn::DenseLayer> all = head.layers();
  for (std::size_t t = 0; t < layers; ++t) {  // t = 0: the output layer
    nn::DenseLayer& l = all[all.size() - 1 - t];
    for (std::size_t j = 0; j < l.outputs; ++j) {
      const auto row = l.weights.begin() + static_cast<std::ptrdiff_t>(j * l.inputs);
      const std::vector<double> in(row, row + static_cast<std::ptrdiff_t>(l.inputs));
      const std::vector<double> out = core::shuffled(in, core::derived_seed(core::derived_seed(seed, t), j));
      std::copy(out.begin(), out.end(), row);
    }
  }
  return std::make_shared<const nn::Network>(std::move(all), head.class_names());
}

std::vector<double> HeadTraits<nn::Network>::biases(const nn::Network& head) {
  return head.layers().back().biases;
}

void HeadTraits<nn::Network>::check_rules(const FitOptions& options, const decompose::Composite& c) {
  // The rules must fit the network to be trained (as decompose::Explainer checks them against a
  // given model), so that a bad list fails now rather than on every explained image.
  if (c.svm.bias != decompose::SvmRule{}.bias)
    throw std::invalid_argument("quality.composite.svm.bias = " + decompose::to_string(c.svm.bias) +
                                ": a bias policy applies to SVM heads only; a network head treats each layer's "
                                "biases by that layer's rule");
  (void)c.network.rule_for(0, options.network.hidden.size() + 1);
}

void HeadTraits<nn::Network>::validate(const FitOptions& options) { options.network_training().validate(); }

std::shared_ptr<const nn::Network> HeadTraits<nn::Network>::train(const double* rows, std::size_t n, std::size_t dim,
                                                                  const std::vector<int>& labels,
                                                                  const std::vector<std::string>& class_names,
                                                                  const FitOptions& options, const svm::TrainOptions&,
                                                                  const core::ProgressFn& progress,
                                                                  std::vector<std::size_t>* support_rows) {
  if (support_rows) support_rows->clear();  // no support vectors
  return std::make_shared<const nn::Network>(
      nn::train_network(rows, n, dim, labels, class_names, options.network_training(), progress));
}

void HeadTraits<nn::Network>::restore(const nn::Network& head, FitOptions& options) {
  options.network.hidden = head.hidden_sizes();
}

}  // namespace bowlrp::model
