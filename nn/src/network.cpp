#include <bowlrp/nn/network.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/core/dot.h>
#include <bowlrp/core/parallel.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

namespace bowlrp::nn {

namespace {

bool all_finite(const std::vector<double>& v) {
  return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
}

// The scores of x, keeping nothing but two buffers.
void scores_into(const std::vector<DenseLayer>& layers, const double* x, double* out) {
  std::vector<double> a, z;
  const double* in = x;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const DenseLayer& layer = layers[l];
    const bool last = l + 1 == layers.size();
    double* dst = out;
    if (!last) {
      z.resize(layer.outputs);
      dst = z.data();
    }
    dense_forward(layer, in, dst);
    if (!last) {
      for (double& v : z) v = std::max(v, 0.0);
      a.swap(z);
      in = a.data();
    }
  }
}

}  // namespace

void dense_forward(const DenseLayer& layer, const double* a, double* out) {
  for (std::size_t j = 0; j < layer.outputs; ++j)
    out[j] = core::fixed_order_affine(layer.biases[j], layer.weights.data() + j * layer.inputs, a, layer.inputs);
}

Network::Network(std::vector<DenseLayer> layers, std::vector<std::string> class_names)
    : layers_(std::move(layers)), class_names_(std::move(class_names)) {
  if (layers_.empty()) throw std::invalid_argument("Network: no layers; expected at least one dense layer");
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const DenseLayer& layer = layers_[l];
    const std::string name = "Network: layer " + std::to_string(l + 1) + " of " + std::to_string(layers_.size());
    if (layer.inputs == 0 || layer.outputs == 0)
      throw std::invalid_argument(name + " has " + std::to_string(layer.inputs) + " inputs and " +
                                  std::to_string(layer.outputs) + " outputs; expected both >= 1");
    if (l > 0 && layer.inputs != layers_[l - 1].outputs)
      throw std::invalid_argument(name + " has " + std::to_string(layer.inputs) + " inputs but layer " +
                                  std::to_string(l) + " has " + std::to_string(layers_[l - 1].outputs) + " outputs");
    if (layer.weights.size() != layer.inputs * layer.outputs || layer.biases.size() != layer.outputs)
      throw std::invalid_argument(name + " has " + std::to_string(layer.weights.size()) + " weights and " +
                                  std::to_string(layer.biases.size()) + " biases; expected " +
                                  std::to_string(layer.inputs * layer.outputs) + " (outputs x inputs) and " +
                                  std::to_string(layer.outputs));
    if (!all_finite(layer.weights) || !all_finite(layer.biases))
      throw std::invalid_argument(name + " has a non-finite weight or bias");
  }
  if (layers_.back().outputs != class_names_.size())
    throw std::invalid_argument("Network: the last layer has " + std::to_string(layers_.back().outputs) +
                                " outputs but there are " + std::to_string(class_names_.size()) +
                                " class names; expected one output per class");
  std::set<std::string> names;
  for (const std::string& c : class_names_)
    if (c.empty() || !names.insert(c).second)
      throw std::invalid_argument("Network: class name '" + c + "' is empty or repeated");
}

NetworkTrace Network::forward(const double* x) const {
  if (layers_.empty()) throw std::invalid_argument("Network::forward: the network is empty");
  NetworkTrace t;
  t.inputs.reserve(layers_.size());
  t.pre_activations.reserve(layers_.size());
  t.inputs.emplace_back(x, x + dim());
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    std::vector<double> z(layers_[l].outputs);
    dense_forward(layers_[l], t.inputs.back().data(), z.data());
    if (l + 1 < layers_.size()) {
      std::vector<double> a(z.size());
      for (std::size_t j = 0; j < z.size(); ++j) a[j] = std::max(z[j], 0.0);
      t.inputs.push_back(std::move(a));
    }
    t.pre_activations.push_back(std::move(z));
  }
  return t;
}

std::vector<double> Network::decision(const double* x) const {
  if (layers_.empty()) throw std::invalid_argument("Network::decision: the network is empty");
  std::vector<double> f(classes());
  scores_into(layers_, x, f.data());
  return f;
}

double Network::decision(std::size_t cls, const double* x) const {
  if (cls >= classes())
    throw std::out_of_range("Network: class index " + std::to_string(cls) + " out of range; the network has " +
                            std::to_string(classes()) + " classes");
  return decision(x)[cls];
}

std::vector<double> Network::decision_batch(const double* X, std::size_t n, int threads) const {
  core::validate_threads(threads);
  if (layers_.empty()) throw std::invalid_argument("Network::decision_batch: the network is empty");
  const std::size_t V = dim(), C = classes();
  std::vector<double> out(n * C);
  tbb::task_arena arena(core::resolve_threads(threads));
  arena.execute([&] {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t i = r.begin(); i < r.end(); ++i) scores_into(layers_, X + i * V, out.data() + i * C);
    });
  });
  return out;
}

std::vector<double> Network::gradient(std::size_t cls, const NetworkTrace& trace) const {
  if (cls >= classes())
    throw std::out_of_range("Network::gradient: class index " + std::to_string(cls) + " out of range; the network has " +
                            std::to_string(classes()) + " classes");
  if (trace.inputs.size() != layers_.size() || trace.pre_activations.size() != layers_.size())
    throw std::invalid_argument("Network::gradient: the trace has " + std::to_string(trace.inputs.size()) +
                                " layers, the network " + std::to_string(layers_.size()));
  for (std::size_t l = 0; l < layers_.size(); ++l)
    if (trace.inputs[l].size() != layers_[l].inputs || trace.pre_activations[l].size() != layers_[l].outputs)
      throw std::invalid_argument("Network::gradient: the trace's layer " + std::to_string(l + 1) +
                                  " does not match the network's shape");
  // g = ∂f/∂z_l, starting at the output (one-hot), then through W^T and the ReLU masks.
  std::vector<double> g(classes(), 0.0);
  g[cls] = 1.0;
  for (std::size_t l = layers_.size(); l-- > 0;) {
    const DenseLayer& layer = layers_[l];
    std::vector<double> below(layer.inputs, 0.0);
    for (std::size_t j = 0; j < layer.outputs; ++j) {
      if (g[j] == 0.0) continue;
      const double* w = layer.weights.data() + j * layer.inputs;
      for (std::size_t i = 0; i < layer.inputs; ++i) below[i] += g[j] * w[i];
    }
    if (l > 0) {
      const std::vector<double>& z = trace.pre_activations[l - 1];
      for (std::size_t i = 0; i < below.size(); ++i)
        if (!(z[i] > 0.0)) below[i] = 0.0;
    }
    g.swap(below);
  }
  return g;
}

std::vector<std::size_t> Network::hidden_sizes() const {
  std::vector<std::size_t> sizes;
  for (std::size_t l = 0; l + 1 < layers_.size(); ++l) sizes.push_back(layers_[l].outputs);
  return sizes;
}

std::size_t Network::class_index(const std::string& name) const {
  for (std::size_t c = 0; c < class_names_.size(); ++c)
    if (class_names_[c] == name) return c;
  std::string known;
  for (const std::string& c : class_names_) known += (known.empty() ? "" : ", ") + c;
  throw std::invalid_argument("unknown class " + core::quoted(name) + ": the model knows " + known);
}

}  // namespace bowlrp::nn
