// A feed-forward ReLU network: the multilayer head of a model (Bach et al. 2015, "Pixel-wise
// decomposition for multilayer networks").
//
// L dense layers over an input x of length V = n_0; layer l (1..L) maps n_{l-1} inputs to n_l
// outputs (neurons):
//   z_l = W_l a_{l-1} + b_l          W_l: n_l x n_{l-1} row-major, b_l: n_l, a_0 = x,
//   a_l = max(0, z_l)   for l < L     (hidden layers are rectified),
//   f_c(x) = z_{L,c}                  (the output layer is not: n_L = C classes, one score each,
//                                       the pre-activation of the training loss's sigmoid).
// In the paper's notation (Eq 17) z_ij = a_i w_ij and z_j = Σ_i z_ij + b_j; the relevance rules
// that run backwards through these layers are in decompose/network_relevance.h.
// Fixed summation order (the determinism contract, core::fixed_order_affine): each z_lj is b_lj + a
// 4-lane dot product (lane k sums the inputs i with i mod 4 = k in increasing i, combined as (l0 + l1) + (l2 + l3)),
// the same function for forward(), decision() and decision_batch(), so a score has the same bits
// whichever computed it and whatever the thread count. Values are doubles: the network is trained in
// float (nn/training.h) and its weights are stored exactly as doubles, so the file, f and the
// relevance are computed in double.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::nn {

/// Most dense layers a network may have (the model file's bound, model_file.cpp).
constexpr std::size_t kMaxLayers = 64;
/// Most neurons of one layer (the model file's bound): every layer's weight count fits 64 bits.
constexpr std::size_t kMaxWidth = std::size_t{1} << 20;

/// One dense layer: z = W a + b.
struct DenseLayer {
  std::size_t inputs = 0;        ///< n_{l-1}
  std::size_t outputs = 0;       ///< n_l
  std::vector<double> weights;   ///< W, outputs x inputs row-major (w_ij of the paper is weights[j * inputs + i])
  std::vector<double> biases;    ///< b, size outputs
  /// Weight from input i to output j.
  double weight(std::size_t j, std::size_t i) const { return weights[j * inputs + i]; }
};

/// The forward record of one input: what the backward pass needs (activations and pre-activations).
struct NetworkTrace {
  /// a_0 .. a_{L-1}: the input of every layer (a_0 = x, then the rectified hidden activations).
  std::vector<std::vector<double>> inputs;
  /// z_1 .. z_L: the pre-activation of every layer (z_L = the class scores).
  std::vector<std::vector<double>> pre_activations;
  /// The class scores f_c(x) = z_L.
  const std::vector<double>& scores() const { return pre_activations.back(); }
};

/// A feed-forward ReLU network with one output per class; immutable and thread-safe.
class Network {
 public:
  /// An empty network (no layers, dimension 0).
  Network() = default;
  /// Assembles a network; throws std::invalid_argument unless there is at least one layer, layer l's
  /// inputs equal layer l-1's outputs, every size is > 0 and matches its arrays, the last layer has
  /// one output per class name, names are non-empty and distinct, and every value is finite.
  Network(std::vector<DenseLayer> layers, std::vector<std::string> class_names);
  /// The forward pass of x (dim() values), keeping every layer's input and pre-activation.
  NetworkTrace forward(const double* x) const;
  /// f_c(x) for every class.
  std::vector<double> decision(const double* x) const;
  /// f_c(x) for one class; throws std::out_of_range for a bad class.
  double decision(std::size_t cls, const double* x) const;
  /// f_c(x_r) of n rows (n x dim, row-major) as n x classes row-major, the same bits as decision();
  /// rows run in parallel (threads 0: all cores; throws std::invalid_argument outside 0 .. core::kMaxThreads).
  std::vector<double> decision_batch(const double* X, std::size_t n, int threads = 0) const;
  /// ∂f_cls/∂x at the trace's input (size dim()), by back-propagation through the ReLUs (a unit with
  /// z = 0 counts as inactive); throws std::out_of_range for a bad class and std::invalid_argument
  /// for a trace of another shape.
  std::vector<double> gradient(std::size_t cls, const NetworkTrace& trace) const;
  /// Input length V.
  std::size_t dim() const { return layers_.empty() ? 0 : layers_.front().inputs; }
  /// Number of classes C (outputs of the last layer).
  std::size_t classes() const { return class_names_.size(); }
  /// The layers, input first.
  const std::vector<DenseLayer>& layers() const { return layers_; }
  /// Sizes of the hidden layers n_1 .. n_{L-1} (empty for a single linear layer).
  std::vector<std::size_t> hidden_sizes() const;
  /// Class names, in output order.
  const std::vector<std::string>& class_names() const { return class_names_; }
  /// Index of a class by name; throws std::invalid_argument listing the known names.
  std::size_t class_index(const std::string& name) const;

 private:
  std::vector<DenseLayer> layers_;
  std::vector<std::string> class_names_;
};

/// z = W a + b of one layer in the fixed summation order (out: layer.outputs values).
void dense_forward(const DenseLayer& layer, const double* a, double* out);

}  // namespace bowlrp::nn
