#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/core/dot.h>
#include <bowlrp/core/parallel.h>

#include "one_vs_rest.h"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>

namespace bowlrp::svm {

namespace {

// Dimensions per parallel task of the collapse: a chunk of every support vector row stays in L1.
constexpr std::size_t kChunk = 1024;

}  // namespace

LinearSvm::LinearSvm(std::size_t dim, std::vector<LinearClass> classes) : dim_(dim), classes_(std::move(classes)) {
  if (dim_ == 0) throw std::invalid_argument("LinearSvm: dimension 0, expected at least one dimension");
  if (classes_.empty()) throw std::invalid_argument("LinearSvm: no classes");
  std::set<std::string> names;
  for (const LinearClass& c : classes_) {
    if (c.name.empty() || !names.insert(c.name).second)
      throw std::invalid_argument("LinearSvm: class name '" + c.name + "' is empty or repeated");
    if (c.weights.size() != dim_)
      throw std::invalid_argument("LinearSvm: class '" + c.name + "' has " + std::to_string(c.weights.size()) +
                                  " weights, expected one per dimension (" + std::to_string(dim_) + ")");
    if (!std::isfinite(c.bias) ||
        !std::all_of(c.weights.begin(), c.weights.end(), [](double v) { return std::isfinite(v); }))
      throw std::invalid_argument("LinearSvm: class '" + c.name + "' has a non-finite bias or weight");
  }
}

LinearSvm LinearSvm::from_kernel_svm(const KernelSvm& model) {
  const Kernel& kernel = model.kernel();
  if (kernel.type != KernelType::linear)
    throw std::invalid_argument("LinearSvm::from_kernel_svm: the model's kernel is " + to_string(kernel.type) +
                                ", expected linear (only a linear kernel collapses into explicit weights)");
  const std::size_t V = model.dim(), S = model.support_size();
  std::vector<double> weight(V);
  for (std::size_t d = 0; d < V; ++d) weight[d] = kernel.weight(d);
  std::vector<LinearClass> classes;
  classes.reserve(model.classes().size());
  for (const BinarySvm& b : model.classes()) {
    LinearClass c;
    c.name = b.name;
    c.bias = b.bias;
    c.weights.assign(V, 0.0);
    std::vector<std::size_t> active;
    for (std::size_t i = 0; i < S; ++i)
      if (b.coef[i] != 0.0) active.push_back(i);
    // Each chunk of dimensions sums its support vectors in index order: no dependence on threads.
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, V, kChunk), [&](const tbb::blocked_range<std::size_t>& r) {
      double* w = c.weights.data();
      for (std::size_t i : active) {
        const double a = b.coef[i];
        const double* s = model.support_vector(i);
        for (std::size_t d = r.begin(); d < r.end(); ++d) w[d] += a * s[d];
      }
      for (std::size_t d = r.begin(); d < r.end(); ++d) w[d] *= weight[d];
    }, tbb::simple_partitioner());
    classes.push_back(std::move(c));
  }
  return LinearSvm(V, std::move(classes));
}

std::vector<double> LinearSvm::decision(const double* x) const {
  std::vector<double> f(classes_.size());
  for (std::size_t c = 0; c < classes_.size(); ++c)
    f[c] = core::fixed_order_affine(classes_[c].bias, classes_[c].weights.data(), x, dim_);
  return f;
}

double LinearSvm::decision(std::size_t cls, const double* x) const {
  if (cls >= classes_.size())
    throw std::out_of_range("class index " + std::to_string(cls) + " out of range (" +
                            std::to_string(classes_.size()) + " classes)");
  return core::fixed_order_affine(classes_[cls].bias, classes_[cls].weights.data(), x, dim_);
}

std::vector<double> LinearSvm::decision_batch(const double* X, std::size_t n, int threads) const {
  core::validate_threads(threads);
  const std::size_t C = classes_.size();
  std::vector<double> out(n * C);
  if (n == 0 || C == 0) return out;
  // Tiles of rows, classes outer within a tile, so that w_c is read once per tile, not per row.
  constexpr std::size_t kRows = 16;
  auto rows = [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t i = r.begin(); i < r.end(); ++i)
        out[i * C + c] =
            core::fixed_order_affine(classes_[c].bias, classes_[c].weights.data(), X + i * dim_, dim_);
  };
  if (threads == 1 || n <= kRows) {
    rows(tbb::blocked_range<std::size_t>(0, n));
    return out;
  }
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] { tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, kRows), rows); });
  return out;
}

std::size_t LinearSvm::class_index(const std::string& name) const {
  for (std::size_t c = 0; c < classes_.size(); ++c)
    if (classes_[c].name == name) return c;
  std::string known;
  for (const LinearClass& c : classes_) known += (known.empty() ? "" : ", ") + c.name;
  throw std::invalid_argument("unknown class " + core::quoted(name) + ": the model knows " + known);
}

LinearSvm train_linear_one_vs_rest(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                                   const std::vector<std::string>& class_names, const TrainOptions& options,
                                   const ProgressFn& progress) {
  Kernel linear;
  linear.type = KernelType::linear;
  const detail::OneVsRest ovr = detail::train_binary_svms(X, n, dim, labels, class_names, linear, options, progress);
  const std::size_t C = class_names.size();
  // coef[i * C + c] = alpha_i y_i of training row i in class c (0 where i is no support vector of c):
  // the collapse's coefficients, indexed by training row instead of by shared support slot.
  std::vector<double> coef(n * C, 0.0);
  std::vector<char> support(n, 0);
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t k = 0; k < ovr.classes[c].index.size(); ++k) {
      const std::size_t i = ovr.classes[c].index[k];
      coef[i * C + c] = ovr.classes[c].coef[k];
      support[i] = 1;
    }
  std::vector<double> weight(dim);
  for (std::size_t d = 0; d < dim; ++d) weight[d] = ovr.kernel.weight(d);
  std::vector<LinearClass> classes(C);
  for (std::size_t c = 0; c < C; ++c) {
    classes[c].name = class_names[c];
    classes[c].bias = ovr.classes[c].bias;
    classes[c].weights.assign(dim, 0.0);
  }
  // w_cd = weight(d) sum_i coef_ci x_id straight from the training rows, no support vector copied.
  // Every chunk of dimensions walks the rows in increasing index (the support slots' order of the
  // collapse) and adds each row's chunk to every class where its coefficient is non-zero: the same
  // terms in the same order as from_kernel_svm, so the same bits, whatever the thread count; each
  // row chunk is read once for all classes.
  auto chunk = [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t i = 0; i < n; ++i) {
      if (!support[i]) continue;
      const double* x = X + i * dim;
      for (std::size_t c = 0; c < C; ++c) {
        const double a = coef[i * C + c];
        if (a == 0.0) continue;
        double* w = classes[c].weights.data();
        for (std::size_t d = r.begin(); d < r.end(); ++d) w[d] += a * x[d];
      }
    }
    for (std::size_t c = 0; c < C; ++c) {
      double* w = classes[c].weights.data();
      for (std::size_t d = r.begin(); d < r.end(); ++d) w[d] *= weight[d];
    }
  };
  if (options.threads == 1) {
    for (std::size_t d0 = 0; d0 < dim; d0 += kChunk) chunk(tbb::blocked_range<std::size_t>(d0, std::min(dim, d0 + kChunk)));
  } else {
    tbb::task_arena arena(options.threads > 0 ? options.threads : tbb::task_arena::automatic);
    arena.execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, dim, kChunk), chunk, tbb::simple_partitioner());
    });
  }
  return LinearSvm(dim, std::move(classes));
}

}  // namespace bowlrp::svm
