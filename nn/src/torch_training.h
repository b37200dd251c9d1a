// Internal to nn: the one call from libbowlrp_nn.so (training.cpp) into libbowlrp_nn_torch.so
// (nn/torch/training_torch.cpp), made after the data and options were checked.
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/nn/network.h>
#include <bowlrp/nn/training.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::nn {

/// The file name of the training library, looked for beside libbowlrp_nn.so.
constexpr const char* kTorchTrainingLibrary = "libbowlrp_nn_torch.so";
/// Its entry point: void bowlrp_nn_train_torch(const TorchTrainingInput&, Network&).
constexpr const char* kTorchTrainingSymbol = "bowlrp_nn_train_torch";

/// train_network's arguments once checked, with the input scale s = 1 / sqrt(mean x^2).
struct TorchTrainingInput {
  const double* X;                              ///< n x dim, row-major
  std::size_t n;                                ///< examples
  std::size_t dim;                              ///< input dimension
  double scale;                                 ///< s, folded into the first layer afterwards
  const std::vector<int>& labels;               ///< n x C in {1, -1, 0}
  const std::vector<std::string>& class_names;  ///< C names
  const TrainOptions& options;                  ///< validated
  const core::ProgressFn& progress;              ///< may be empty
};

/// The entry point's type; it throws as train_network does (std::runtime_error on divergence).
using TorchTrainFn = void (*)(const TorchTrainingInput&, Network&);

}  // namespace bowlrp::nn
