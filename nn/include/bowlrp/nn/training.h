// Training of the network head (network.h) with libtorch (CPU): one-vs-rest as the SVM heads, i.e.
// one sigmoid output per class trained by binary cross-entropy on the labelled (image, class)
// pairs (label +1 -> 1, -1 -> 0, 0 = left out of that class, e.g. VOC "difficult"):
//   loss = (1 / |P|) Σ_{(i,c) in P} [ softplus(f_c(x_i)) - t_ic f_c(x_i) ]  + weight_decay/2 ||W||^2 (AdamW),
// minibatches drawn by a seeded shuffle, dropout on every hidden activation, Adam with decoupled
// weight decay (AdamW) at a fixed learning rate, a fixed number of epochs (no early stopping: nothing
// depends on a validation split). The input is scaled by one number, s = 1 / sqrt(mean_{i,d} x_id^2)
// (so that PyTorch's default initialisation sees inputs of unit mean square whatever the encoding),
// and s is folded into the first layer's weights afterwards: the trained Network takes the
// encoding's vector unchanged and has no extra bias, so the relevance rules see exactly the
// network that was trained.
// Why libtorch: it is the field's standard and Debian's libtorch-dev (1.13, CPU) packages it; it
// trains the network exactly as written above (autograd, AdamW, dropout), while OpenCV's
// ml::ANN_MLP scales inputs and outputs and puts its activation on the output layer, which the
// rules would have to undo. Only training needs libtorch: the Network is plain arrays, and
// forward, gradient and relevance never call it. The libtorch half lives in libbowlrp_nn_torch.so,
// which train_network loads on its first call from the folder of libbowlrp_nn.so (a missing or
// unloadable file is a std::runtime_error naming its path and the loader's reason).
// Reproducibility: training runs in float on `threads` intra-op threads under a process-wide lock
// (libtorch's thread count and generator are global); the same data, options, seed and thread count
// give the same weights bit for bit (tested), hence the same model file.
#pragma once

#include <bowlrp/core/option_schema.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/nn/network.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::nn {

/// Options of train_network(); the defaults are the measured ones (README "Network head").
struct TrainOptions {
  /// hidden layer sizes n_1 .. n_{L-1} (each 1 .. kMaxWidth, at most kMaxLayers - 1 of them, the model
  /// file's bounds; empty: a linear model)
  std::vector<std::size_t> hidden = {256};
  int epochs = 60;                          ///< passes over the training set (>= 1)
  std::size_t batch_size = 64;              ///< images per minibatch (>= 1)
  double learning_rate = 1e-3;              ///< AdamW step size (finite, > 0)
  double weight_decay = 1e-2;               ///< AdamW decoupled weight decay (finite, >= 0)
  double dropout = 0.5;                     ///< dropout probability of hidden activations during training ([0, 1))
  std::uint64_t seed = 0;                   ///< initialisation, shuffling and dropout
  int threads = 0;                          ///< libtorch intra-op threads (0: all cores, else 1 .. core::kMaxThreads)
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
  /// The user-facing options (not seed and threads, which model::FitOptions sets), described once.
  static const core::OptionSchema<TrainOptions>& schema();
};

/// Trains a network on n rows of X (n x dim, row-major) with labels n x C row-major in {1, -1, 0}
/// (as svm::train_one_vs_rest); progress reports epochs (stage "network"). Throws
/// std::invalid_argument for n = 0, dim = 0, no class, labels of the wrong size or outside
/// {1, -1, 0}, a class without a positive or without a negative example (naming it), an all-zero
/// input, or non-finite values; std::runtime_error if training diverges (a non-finite loss).
Network train_network(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                      const std::vector<std::string>& class_names, const TrainOptions& options,
                      const core::ProgressFn& progress = {});

}  // namespace bowlrp::nn
