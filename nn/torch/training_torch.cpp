// libbowlrp_nn_torch.so: the libtorch half of nn::train_network (training.h), the one translation
// unit that includes libtorch. libbowlrp_nn.so checks the data, computes the input scale and loads
// this library on the first training (core::SharedLibrary); nothing else links it.
#include <bowlrp/nn/training.h>

#include "torch_training.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern "C" {
// OpenBLAS's thread count (bowlrp keeps it at 1, core::init_runtime); training raises it for its
// own matrix products and restores it. Weak, so that another BLAS still links.
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace bowlrp::nn {

namespace {

// libtorch's generator and thread counts are process-wide: one training at a time.
std::mutex& training_mutex() {
  static std::mutex m;
  return m;
}

// Restores libtorch's and OpenBLAS's thread counts when training ends, however it ends.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : torch_(at::get_num_threads()) {
    if (openblas_get_num_threads) blas_ = openblas_get_num_threads();
    at::set_num_threads(threads);
    if (openblas_set_num_threads) openblas_set_num_threads(threads);
  }
  ~ThreadScope() {
    at::set_num_threads(torch_);
    if (openblas_set_num_threads && blas_ > 0) openblas_set_num_threads(blas_);
  }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int torch_;
  int blas_ = 0;
};

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

Network train(const double* X, std::size_t n, std::size_t dim, double scale, const std::vector<int>& labels,
              const std::vector<std::string>& class_names, const TrainOptions& options,
              const core::ProgressFn& progress) {
  const std::size_t C = class_names.size();
  std::lock_guard<std::mutex> lock(training_mutex());
  ThreadScope threads(core::resolve_threads(options.threads));
  torch::manual_seed(options.seed);
  const auto N = static_cast<std::int64_t>(n), D = static_cast<std::int64_t>(dim), K = static_cast<std::int64_t>(C);
  torch::Tensor inputs = torch::empty({N, D}, torch::kFloat32);
  {
    float* dst = inputs.data_ptr<float>();
    for (std::size_t k = 0; k < n * dim; ++k) dst[k] = static_cast<float>(X[k] * scale);
  }
  torch::Tensor targets = torch::empty({N, K}, torch::kFloat32), mask = torch::empty({N, K}, torch::kFloat32);
  {
    float* t = targets.data_ptr<float>();
    float* m = mask.data_ptr<float>();
    for (std::size_t k = 0; k < n * C; ++k) {
      t[k] = labels[k] == 1 ? 1.0f : 0.0f;
      m[k] = labels[k] == 0 ? 0.0f : 1.0f;
    }
  }

  std::vector<torch::nn::Linear> linears;
  std::int64_t in = D;
  for (std::size_t h : options.hidden) {
    linears.emplace_back(torch::nn::LinearOptions(in, static_cast<std::int64_t>(h)));
    in = static_cast<std::int64_t>(h);
  }
  linears.emplace_back(torch::nn::LinearOptions(in, K));
  std::vector<torch::Tensor> parameters;
  for (auto& l : linears)
    for (auto& p : l->parameters()) parameters.push_back(p);
  torch::optim::AdamW optimiser(parameters,
                                torch::optim::AdamWOptions(options.learning_rate).weight_decay(options.weight_decay));

  const auto batch = static_cast<std::int64_t>(std::min<std::size_t>(options.batch_size, n));
  const auto forward = [&](torch::Tensor x, bool training) {
    for (std::size_t l = 0; l < linears.size(); ++l) {
      x = linears[l]->forward(x);
      if (l + 1 < linears.size()) {
        x = torch::relu(x);
        if (training && options.dropout > 0) x = torch::dropout(x, options.dropout, true);
      }
    }
    return x;
  };
  if (progress) progress({core::ProgressEvent::Kind::start, "network", 0, static_cast<std::size_t>(options.epochs), {}});
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    const torch::Tensor order = torch::randperm(N, torch::kInt64);
    double epoch_loss = 0;
    for (std::int64_t b = 0; b < N; b += batch) {
      const torch::Tensor idx = order.slice(0, b, std::min(N, b + batch));
      const torch::Tensor m = mask.index_select(0, idx);
      const double count = m.sum().item<double>();
      if (count == 0) continue;
      const torch::Tensor logits = forward(inputs.index_select(0, idx), true);
      const torch::Tensor loss =
          torch::binary_cross_entropy_with_logits(logits, targets.index_select(0, idx), m, {}, at::Reduction::Sum) /
          count;
      optimiser.zero_grad();
      loss.backward();
      optimiser.step();
      epoch_loss += loss.item<double>();
    }
    if (!std::isfinite(epoch_loss))
      throw std::runtime_error("train_network: the loss became non-finite in epoch " + std::to_string(epoch + 1) +
                               "; lower the learning rate (" + number(options.learning_rate) + ")");
    if (progress)
      progress({core::ProgressEvent::Kind::step, "network", static_cast<std::size_t>(epoch + 1),
                static_cast<std::size_t>(options.epochs), {}});
  }
  if (progress)
    progress({core::ProgressEvent::Kind::finish, "network", static_cast<std::size_t>(options.epochs),
              static_cast<std::size_t>(options.epochs), {}});

  std::vector<DenseLayer> layers;
  for (std::size_t l = 0; l < linears.size(); ++l) {
    torch::NoGradGuard no_grad;
    const torch::Tensor w = linears[l]->weight.to(torch::kFloat64).contiguous();
    const torch::Tensor b = linears[l]->bias.to(torch::kFloat64).contiguous();
    DenseLayer layer;
    layer.outputs = static_cast<std::size_t>(w.size(0));
    layer.inputs = static_cast<std::size_t>(w.size(1));
    layer.weights.assign(w.data_ptr<double>(), w.data_ptr<double>() + w.numel());
    layer.biases.assign(b.data_ptr<double>(), b.data_ptr<double>() + b.numel());
    if (l == 0)  // fold the input scale: W (s x) = (s W) x
      for (double& v : layer.weights) v *= scale;
    layers.push_back(std::move(layer));
  }
  return Network(std::move(layers), class_names);
}

}  // namespace

}  // namespace bowlrp::nn

extern "C" __attribute__((visibility("default"))) void bowlrp_nn_train_torch(
    const bowlrp::nn::TorchTrainingInput& in, bowlrp::nn::Network& out) {
  out = bowlrp::nn::train(in.X, in.n, in.dim, in.scale, in.labels, in.class_names, in.options, in.progress);
}
