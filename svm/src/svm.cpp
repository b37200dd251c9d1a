#include <bowlrp/svm/svm.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/core/parallel.h>

#include "gram_engine.h"
#include "one_vs_rest.h"

#include <libsvm/svm.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>

namespace bowlrp::svm {

// ----------------------------------------------------------------------------------------------
// libsvm's printing: one global function pointer, so one global logger behind a mutex.

namespace {

std::mutex& logger_mutex() {
  static std::mutex m;
  return m;
}
std::function<void(const std::string&)>& logger() {
  static std::function<void(const std::string&)> f;
  return f;
}
extern "C" void libsvm_print(const char* text) {
  std::lock_guard<std::mutex> lock(logger_mutex());
  if (logger() && text) logger()(text);
}
void install_printer() {
  static std::once_flag once;
  std::call_once(once, [] { svm_set_print_string_function(&libsvm_print); });
}

struct ModelDeleter {
  void operator()(svm_model* m) const { svm_free_and_destroy_model(&m); }
};
using ModelPtr = std::unique_ptr<svm_model, ModelDeleter>;

std::string fmt(double v) { return std::to_string(v); }

}  // namespace

void set_libsvm_logger(std::function<void(const std::string&)> f) {
  install_printer();
  std::lock_guard<std::mutex> lock(logger_mutex());
  logger() = std::move(f);
}

// ----------------------------------------------------------------------------------------------

const core::OptionSchema<TrainOptions>& TrainOptions::schema() {
  using O = TrainOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::real_option<O>("C", "--C", "SVM soft-margin C of every class",
                                     [](O& o) -> double& { return o.C; }, OptionRange::above(0)));
    s.push_back(core::real_list_option<O>("class_C", "--class-C", "per-class C (none, or one per class)",
                                          [](O& o) -> std::vector<double>& { return o.class_C; }, OptionRange::above(0)));
    s.push_back(core::bool_option<O>("balanced", "--balanced", "weight C of each side by n / (2 n_side)",
                                     [](O& o) -> bool& { return o.balanced; }));
    s.push_back(core::real_option<O>("epsilon", "--svm-epsilon", "libsvm stopping tolerance",
                                     [](O& o) -> double& { return o.epsilon; }, OptionRange::above(0)));
    s.push_back(core::real_option<O>("cache_mb", "--cache-mb", "libsvm kernel cache per class training, MB",
                                     [](O& o) -> double& { return o.cache_mb; }, OptionRange::above(0)));
    return s;
  }();
  return schema;
}

void TrainOptions::validate(std::size_t classes) const {
  if (!std::isfinite(C) || C <= 0) throw std::invalid_argument("TrainOptions.C = " + fmt(C) + ": expected a finite value > 0");
  if (!class_C.empty() && class_C.size() != classes)
    throw std::invalid_argument("TrainOptions.class_C has " + std::to_string(class_C.size()) +
                                " values: expected none or one per class (" + std::to_string(classes) + ")");
  for (std::size_t c = 0; c < class_C.size(); ++c)
    if (!std::isfinite(class_C[c]) || class_C[c] <= 0)
      throw std::invalid_argument("TrainOptions.class_C[" + std::to_string(c) + "] = " + fmt(class_C[c]) +
                                  ": expected a finite value > 0");
  if (!std::isfinite(epsilon) || epsilon <= 0)
    throw std::invalid_argument("TrainOptions.epsilon = " + fmt(epsilon) + ": expected a finite value > 0");
  if (!std::isfinite(cache_mb) || cache_mb <= 0)
    throw std::invalid_argument("TrainOptions.cache_mb = " + fmt(cache_mb) + ": expected a finite value > 0");
  core::validate_threads(threads, "TrainOptions.threads");
}

// ----------------------------------------------------------------------------------------------

KernelSvm::KernelSvm(Kernel kernel, std::size_t dim, std::vector<double> support, std::vector<BinarySvm> classes)
    : kernel_(std::move(kernel)), dim_(dim), support_(std::move(support)), classes_(std::move(classes)) {
  kernel_.validate(dim_);
  if (support_.size() % dim_ != 0)
    throw std::invalid_argument("KernelSvm: support holds " + std::to_string(support_.size()) +
                                " values, not a multiple of the dimension " + std::to_string(dim_));
  const std::size_t S = support_.size() / dim_;
  if (classes_.empty()) throw std::invalid_argument("KernelSvm: no classes");
  std::set<std::string> names;
  for (const BinarySvm& c : classes_) {
    if (c.name.empty() || !names.insert(c.name).second)
      throw std::invalid_argument("KernelSvm: class name '" + c.name + "' is empty or repeated");
    if (c.coef.size() != S)
      throw std::invalid_argument("KernelSvm: class '" + c.name + "' has " + std::to_string(c.coef.size()) +
                                  " coefficients, expected one per support vector (" + std::to_string(S) + ")");
    if (!std::isfinite(c.bias) || !std::all_of(c.coef.begin(), c.coef.end(), [](double v) { return std::isfinite(v); }))
      throw std::invalid_argument("KernelSvm: class '" + c.name + "' has a non-finite bias or coefficient");
  }
  if (!std::all_of(support_.begin(), support_.end(), [](double v) { return std::isfinite(v); }))
    throw std::invalid_argument("KernelSvm: support vectors hold non-finite values");
  if (detail::needs_preparation(kernel_)) prepared_ = detail::prepare_rows(support_.data(), S, dim_);
}

std::vector<double> KernelSvm::kernel_values(const double* x) const {
  const std::size_t S = support_size();
  std::vector<double> kv(S);
  const bool prep = detail::needs_preparation(kernel_);
  std::vector<double> px;
  if (prep) px = detail::prepare_rows(x, 1, dim_);
  const detail::Plan plan = detail::make_plan(kernel_, dim_, true);
  detail::run_gram(plan, prep ? px.data() : x, 1, prep ? prepared_.data() : support_.data(), S, dim_, false, 1,
                   [&](std::size_t, std::size_t j, double v) { kv[j] = v; });
  return kv;
}

namespace {
double combine(const BinarySvm& c, const double* kv, std::size_t S) {
  double f = 0;
  for (std::size_t i = 0; i < S; ++i) f += c.coef[i] * kv[i];
  return c.bias + f;
}
}  // namespace

std::vector<double> KernelSvm::decision(const double* x) const {
  const std::vector<double> kv = kernel_values(x);
  std::vector<double> f(classes_.size());
  for (std::size_t c = 0; c < classes_.size(); ++c) f[c] = combine(classes_[c], kv.data(), kv.size());
  return f;
}

double KernelSvm::decision(std::size_t cls, const double* x) const {
  if (cls >= classes_.size())
    throw std::out_of_range("class index " + std::to_string(cls) + " out of range (" +
                            std::to_string(classes_.size()) + " classes)");
  const std::vector<double> kv = kernel_values(x);
  return combine(classes_[cls], kv.data(), kv.size());
}

std::vector<double> KernelSvm::decision_batch(const double* X, std::size_t n, int threads) const {
  const std::size_t S = support_size(), C = classes_.size();
  std::vector<double> out(n * C);
  constexpr std::size_t kRows = 256;  // bounds the kernel matrix held at once
  const bool prep = detail::needs_preparation(kernel_);
  const detail::Plan plan = detail::make_plan(kernel_, dim_, true);
  std::vector<double> K(std::min(n, kRows) * S), px;
  for (std::size_t r0 = 0; r0 < n; r0 += kRows) {
    const std::size_t rows = std::min(kRows, n - r0);
    const double* x = X + r0 * dim_;
    if (prep) {
      px = detail::prepare_rows(x, rows, dim_);
      x = px.data();
    }
    detail::run_gram(plan, x, rows, prep ? prepared_.data() : support_.data(), S, dim_, false, threads,
                     [&](std::size_t i, std::size_t j, double v) { K[i * S + j] = v; });
    for (std::size_t i = 0; i < rows; ++i)
      for (std::size_t c = 0; c < C; ++c) out[(r0 + i) * C + c] = combine(classes_[c], K.data() + i * S, S);
  }
  return out;
}

std::size_t KernelSvm::class_index(const std::string& name) const {
  for (std::size_t c = 0; c < classes_.size(); ++c)
    if (classes_[c].name == name) return c;
  std::string known;
  for (const BinarySvm& c : classes_) known += (known.empty() ? "" : ", ") + c.name;
  throw std::invalid_argument("unknown class " + core::quoted(name) + ": the model knows " + known);
}

// ----------------------------------------------------------------------------------------------

namespace detail {

OneVsRest train_binary_svms(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                            const std::vector<std::string>& class_names, Kernel kernel, const TrainOptions& options,
                            const ProgressFn& progress) {
  const std::size_t C = class_names.size();
  if (n == 0 || dim == 0) throw std::invalid_argument("train_one_vs_rest: no training rows or zero dimension");
  if (n > static_cast<std::size_t>(std::numeric_limits<int>::max() - 2))
    throw std::invalid_argument("train_one_vs_rest: " + std::to_string(n) + " rows exceed libsvm's int range");
  if (C == 0) throw std::invalid_argument("train_one_vs_rest: no classes");
  if (labels.size() != n * C)
    throw std::invalid_argument("train_one_vs_rest: " + std::to_string(labels.size()) + " labels, expected rows x classes = " +
                                std::to_string(n) + " x " + std::to_string(C));
  options.validate(C);
  std::set<std::string> names;
  for (const std::string& name : class_names)
    if (name.empty() || !names.insert(name).second)
      throw std::invalid_argument("train_one_vs_rest: class name '" + name + "' is empty or repeated");
  for (std::size_t i = 0; i < n * dim; ++i)
    if (!std::isfinite(X[i]))
      throw std::invalid_argument("train_one_vs_rest: row " + std::to_string(i / dim) + " dimension " +
                                  std::to_string(i % dim) + " is not finite");
  std::vector<std::size_t> pos(C, 0), neg(C, 0);
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t c = 0; c < C; ++c) {
      const int l = labels[i * C + c];
      if (l == 1) ++pos[c];
      else if (l == -1) ++neg[c];
      else if (l != 0)
        throw std::invalid_argument("train_one_vs_rest: label " + std::to_string(l) + " of row " + std::to_string(i) +
                                    " class '" + class_names[c] + "': expected +1, -1 or 0");
    }
  for (std::size_t c = 0; c < C; ++c)
    if (pos[c] == 0 || neg[c] == 0)
      throw std::invalid_argument("train_one_vs_rest: class '" + class_names[c] + "' has " + std::to_string(pos[c]) +
                                  " positive and " + std::to_string(neg[c]) +
                                  " negative examples; each class needs at least one of both");
  if (!kernel.sum_decomposable() && kernel.gamma == 0) kernel.gamma = default_gamma(kernel.type, X, n, dim);
  kernel.validate(dim);
  install_printer();

  // libsvm's precomputed format: row i = [0: serial i+1] [j+1: K(x_i, x_j)] ... [-1]. One matrix
  // serves every class (libsvm only reads it); classes pass subsets of its rows.
  const std::size_t width = n + 2;
  std::vector<svm_node> nodes(n * width);
  for (std::size_t i = 0; i < n; ++i) {
    svm_node* row = nodes.data() + i * width;
    row[0] = {0, static_cast<double>(i + 1)};
    for (std::size_t j = 0; j < n; ++j) row[j + 1].index = static_cast<int>(j + 1);
    row[n + 1] = {-1, 0.0};
  }
  {
    std::vector<double> prepared;
    const double* rows = X;
    if (detail::needs_preparation(kernel)) {
      prepared = detail::prepare_rows(X, n, dim);
      rows = prepared.data();
    }
    const detail::Plan plan = detail::make_plan(kernel, dim, true);
    detail::run_gram(plan, rows, n, rows, n, dim, true, options.threads,
                     [&](std::size_t i, std::size_t j, double v) { nodes[i * width + 1 + j].value = v; });
  }

  OneVsRest out;
  std::vector<BinaryResult>& trained = out.classes;
  trained.resize(C);
  std::mutex progress_mutex;
  std::size_t done = 0;
  auto train_class = [&](std::size_t c) {
    std::vector<double> y;
    std::vector<svm_node*> x;
    // Negatives go to libsvm as label 0, not -1: libsvm >= 3.20 moves +1 first in a -1/+1 pair and
    // older versions do not; with 0 the label order is always first occurrence, on every version,
    // and the sign fix below handles both orders.
    for (std::size_t i = 0; i < n; ++i)
      if (const int l = labels[i * C + c]; l != 0) {
        y.push_back(l == 1 ? 1.0 : 0.0);
        x.push_back(nodes.data() + i * width);
      }
    svm_problem prob{static_cast<int>(y.size()), y.data(), x.data()};
    int weight_label[2] = {1, 0};
    const double total = static_cast<double>(pos[c] + neg[c]);
    double weight[2] = {total / (2.0 * pos[c]), total / (2.0 * neg[c])};
    svm_parameter param{};
    param.svm_type = C_SVC;
    param.kernel_type = PRECOMPUTED;
    param.cache_size = options.cache_mb;
    param.eps = options.epsilon;
    param.C = options.class_C.empty() ? options.C : options.class_C[c];
    param.nr_weight = options.balanced ? 2 : 0;
    param.weight_label = weight_label;
    param.weight = weight;
    param.nu = 0.5;
    param.p = 0.1;
    param.shrinking = 1;
    param.probability = 0;
    if (const char* err = svm_check_parameter(&prob, &param))
      throw std::logic_error("libsvm rejected the parameters of class '" + class_names[c] + "': " + err);
    ModelPtr model(svm_train(&prob, &param));
    if (!model || model->nr_class != 2)
      throw std::runtime_error("libsvm training of class '" + class_names[c] + "' did not give a binary model");
    // libsvm's decision value is for label[0] vs label[1]; label[0] is whichever label came first.
    const double sign = model->label[0] == 1 ? 1.0 : -1.0;
    BinaryResult& t = trained[c];
    t.bias = -sign * model->rho[0];
    for (int k = 0; k < model->l; ++k) {
      t.index.push_back(static_cast<std::size_t>(model->SV[k][0].value) - 1);
      t.coef.push_back(sign * model->sv_coef[0][k]);
    }
    if (progress) {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress(++done, C);
    }
  };
  if (options.threads == 1) {
    for (std::size_t c = 0; c < C; ++c) train_class(c);
  } else {
    tbb::task_arena arena(options.threads > 0 ? options.threads : tbb::task_arena::automatic);
    arena.execute([&] { tbb::parallel_for(std::size_t{0}, C, train_class); });
  }
  nodes = {};
  out.kernel = std::move(kernel);
  return out;
}

}  // namespace detail

KernelSvm train_one_vs_rest(const double* X, std::size_t n, std::size_t dim, const std::vector<int>& labels,
                           const std::vector<std::string>& class_names, Kernel kernel,
                           const TrainOptions& options, const ProgressFn& progress,
                           std::vector<std::size_t>* support_rows) {
  const std::size_t C = class_names.size();
  detail::OneVsRest ovr = detail::train_binary_svms(X, n, dim, labels, class_names, std::move(kernel), options, progress);
  const std::vector<detail::BinaryResult>& trained = ovr.classes;

  // Shared support set: the union of all classes' support vectors, in training order.
  std::vector<char> used(n, 0);
  for (const detail::BinaryResult& t : trained)
    for (std::size_t i : t.index) used[i] = 1;
  std::vector<std::size_t> slot(n, n);  // position in S, n = not a support vector
  std::size_t S = 0;
  if (support_rows) support_rows->clear();
  for (std::size_t i = 0; i < n; ++i)
    if (used[i]) {
      slot[i] = S++;
      if (support_rows) support_rows->push_back(i);
    }
  std::vector<double> support(S * dim);
  for (std::size_t i = 0; i < n; ++i)
    if (slot[i] < n) std::copy_n(X + i * dim, dim, support.data() + slot[i] * dim);
  std::vector<BinarySvm> classes(C);
  for (std::size_t c = 0; c < C; ++c) {
    classes[c].name = class_names[c];
    classes[c].bias = trained[c].bias;
    classes[c].coef.assign(S, 0.0);
    for (std::size_t k = 0; k < trained[c].index.size(); ++k) classes[c].coef[slot[trained[c].index[k]]] = trained[c].coef[k];
  }
  return KernelSvm(std::move(ovr.kernel), dim, std::move(support), std::move(classes));
}

}  // namespace bowlrp::svm
