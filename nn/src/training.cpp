// The network head's training: options, checks of the data and the input scale here; the libtorch
// part in libbowlrp_nn_torch.so (nn/torch/training_torch.cpp), loaded on the first call, so that
// nothing else in bowlrp (prediction, explanation, the model file, the command-line tool's start)
// maps libtorch.
#include <bowlrp/nn/training.h>

#include <bowlrp/core/shared_library.h>

#include "torch_training.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::nn {

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// The training library, opened once (a failed load is retried on the next call) and kept open.
TorchTrainFn torch_train() {
  static const core::SharedLibrary library(reinterpret_cast<const void*>(&torch_train), kTorchTrainingLibrary);
  static const auto fn = reinterpret_cast<TorchTrainFn>(library.symbol(kTorchTrainingSymbol));
  return fn;
}

}  // namespace

const core::OptionSchema<TrainOptions>& TrainOptions::schema() {
  using O = TrainOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::int_list_option<O>("hidden", "--hidden", "mlp: hidden layer sizes a,b,... (none: a single linear layer)",
                                         [](O& o) -> std::vector<std::size_t>& { return o.hidden; }, OptionRange{}, true));
    s.push_back(core::integer_option<O>("epochs", "--epochs", "mlp: training epochs",
                                        [](O& o) -> int& { return o.epochs; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("batch_size", "--batch-size", "mlp: images per minibatch",
                                        [](O& o) -> std::size_t& { return o.batch_size; }, OptionRange::at_least(1)));
    s.push_back(core::real_option<O>("learning_rate", "--learning-rate", "mlp: AdamW step size",
                                     [](O& o) -> double& { return o.learning_rate; }, OptionRange::above(0)));
    s.push_back(core::real_option<O>("weight_decay", "--weight-decay", "mlp: AdamW decoupled weight decay",
                                     [](O& o) -> double& { return o.weight_decay; }, OptionRange::at_least(0)));
    s.push_back(core::real_option<O>("dropout", "--dropout", "mlp: dropout probability of hidden activations in training",
                                     [](O& o) -> double& { return o.dropout; }, OptionRange::half_open(0, 1)));
    return s;
  }();
  return schema;
}

void TrainOptions::validate() const {
  // The model file's bounds (nn::kMaxLayers, nn::kMaxWidth), checked before training rather than on saving.
  if (hidden.size() + 1 > kMaxLayers)
    throw std::invalid_argument("network options: " + std::to_string(hidden.size()) +
                                " hidden layers; expected at most " + std::to_string(kMaxLayers - 1) +
                                " (a network has at most " + std::to_string(kMaxLayers) + " dense layers)");
  for (std::size_t l = 0; l < hidden.size(); ++l)
    if (hidden[l] == 0 || hidden[l] > kMaxWidth)
      throw std::invalid_argument("network options: hidden layer " + std::to_string(l + 1) + " has " +
                                  std::to_string(hidden[l]) + " neurons; expected 1 .. " + std::to_string(kMaxWidth));
  if (epochs < 1) throw std::invalid_argument("network options: epochs = " + std::to_string(epochs) + "; expected >= 1");
  if (batch_size < 1) throw std::invalid_argument("network options: batch_size = 0; expected >= 1");
  if (!(learning_rate > 0) || !std::isfinite(learning_rate))
    throw std::invalid_argument("network options: learning_rate = " + number(learning_rate) +
                                "; expected a finite value > 0");
  if (!(weight_decay >= 0) || !std::isfinite(weight_decay))
    throw std::invalid_argument("network options: weight_decay = " + number(weight_decay) +
                                "; expected a finite value >= 0");
  if (!(dropout >= 0 && dropout < 1))
    throw std::invalid_argument("network options: dropout = " + number(dropout) + "; expected a value in [0, 1)");
  core::validate_threads(threads, "network options: threads");
}

Network train_network(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                      const std::vector<std::string>& class_names, const TrainOptions& options,
                      const core::ProgressFn& progress) {
  options.validate();
  const std::size_t C = class_names.size();
  if (n == 0) throw std::invalid_argument("train_network: no training examples");
  if (dim == 0) throw std::invalid_argument("train_network: inputs of dimension 0");
  if (C == 0) throw std::invalid_argument("train_network: no classes");
  if (labels.size() != n * C)
    throw std::invalid_argument("train_network: " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(n) + " examples x " + std::to_string(C) + " classes");
  for (std::size_t c = 0; c < C; ++c) {
    std::size_t pos = 0, neg = 0;
    for (std::size_t i = 0; i < n; ++i) {
      const int y = labels[i * C + c];
      if (y != 1 && y != -1 && y != 0)
        throw std::invalid_argument("train_network: label " + std::to_string(y) + " of example " + std::to_string(i) +
                                    ", class '" + class_names[c] + "'; expected 1, -1 or 0");
      pos += y == 1;
      neg += y == -1;
    }
    if (pos == 0 || neg == 0)
      throw std::invalid_argument("train_network: class '" + class_names[c] + "' has " + std::to_string(pos) +
                                  " positive and " + std::to_string(neg) +
                                  " negative examples; expected at least one of each");
  }
  // The input scale s = 1 / sqrt(mean x^2), in double.
  double sum_squares = 0;
  for (std::size_t k = 0; k < n * dim; ++k) {
    if (!std::isfinite(X[k]))
      throw std::invalid_argument("train_network: non-finite input value in example " + std::to_string(k / dim) +
                                  ", dimension " + std::to_string(k % dim));
    sum_squares += X[k] * X[k];
  }
  if (!(sum_squares > 0)) throw std::invalid_argument("train_network: every input value is 0; nothing to learn from");
  const double scale = 1.0 / std::sqrt(sum_squares / (static_cast<double>(n) * static_cast<double>(dim)));

  Network network;
  torch_train()(TorchTrainingInput{X, n, dim, scale, labels, class_names, options, progress}, network);
  return network;
}

}  // namespace bowlrp::nn
