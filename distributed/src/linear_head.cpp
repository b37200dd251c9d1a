#include <bowlrp/distributed/linear_head.h>

#include <bowlrp/core/digest.h>
#include <bowlrp/core/parallel.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace bowlrp::distributed {

void LinearHeadOptions::validate() const {
  if (!(C > 0) || !std::isfinite(C))
    throw std::invalid_argument("LinearHeadOptions: C " + std::to_string(C) + ", expected a finite value > 0");
  if (!(epsilon > 0) || !std::isfinite(epsilon))
    throw std::invalid_argument("LinearHeadOptions: epsilon " + std::to_string(epsilon) +
                                ", expected a finite value > 0 (liblinear's default is 0.01)");
  if (max_iterations < 1)
    throw std::invalid_argument("LinearHeadOptions: max_iterations " + std::to_string(max_iterations) +
                                ", expected at least 1");
  if (!(bias >= 0) || !std::isfinite(bias))
    throw std::invalid_argument("LinearHeadOptions: bias " + std::to_string(bias) +
                                ", expected a finite value >= 0 (the appended constant feature; 0: no bias)");
  if (block_rows == 0)
    throw std::invalid_argument("LinearHeadOptions: block_rows 0, expected at least 1 row per block");
  core::validate_threads(threads, "LinearHeadOptions: threads");
}

namespace {

double squared_norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return s;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t j = 0; j < a.size(); ++j) s += a[j] * b[j];
  return s;
}

// One class's problem over this rank's rows (the header's f, grad f and H v), every sum over rows a
// vector of per-block partials reduced by ordered_sum.
template <class T>
class ClassProblem {
 public:
  ClassProblem(const Communicator& comm, const BlockLayout& layout, const T* X, std::size_t dim, double bias, double C,
               std::vector<signed char> y, Traffic& traffic, tbb::task_arena* arena)
      : comm_(comm), layout_(layout), X_(X), dim_(dim), bias_(bias), C_(C), y_(std::move(y)), traffic_(traffic),
        arena_(arena),
        first_block_(layout.first_block(comm.rank())), end_block_(layout.end_block(comm.rank())),
        first_row_(layout.first_row(comm.rank())) {}

  // Length of w: V, plus the constant feature's weight.
  std::size_t length() const { return dim_ + (bias_ > 0 ? 1 : 0); }

  // f(w); fills z with y_i w.u_i of this rank's rows (the active set of w).
  double value(const std::vector<double>& w, std::vector<double>& z) {
    const std::size_t blocks = end_block_ - first_block_;
    std::vector<double> partial(blocks, 0.0);
    z.assign(y_.size(), 0.0);
    for_blocks(blocks, [&](std::size_t b) {
      double sum = 0;
      for_rows(b, [&](std::size_t i) {
        z[i] = y_[i] * row_dot(i, w.data());
        const double d = 1 - z[i];
        if (d > 0) sum += d * d;
      });
      partial[b] = sum;
    });
    const std::vector<double> loss = ordered_sum(comm_, layout_, partial.data(), 1, &traffic_);
    return 0.5 * squared_norm(w) + C_ * loss[0];
  }

  // grad f(w) from the z of w.
  void gradient(const std::vector<double>& w, const std::vector<double>& z, std::vector<double>& g) {
    const std::size_t L = length();
    std::vector<double> partial = block_sums([&](std::size_t i) { return 2 * (z[i] - 1) * y_[i]; }, z);
    const std::vector<double> sum = ordered_sum(comm_, layout_, partial.data(), L, &traffic_);
    g.resize(L);
    for (std::size_t j = 0; j < L; ++j) g[j] = w[j] + C_ * sum[j];
  }

  // H v at the active set of z.
  void hessian_times(const std::vector<double>& v, const std::vector<double>& z, std::vector<double>& Hv) {
    const std::size_t L = length();
    std::vector<double> partial = block_sums([&](std::size_t i) { return row_dot(i, v.data()); }, z);
    const std::vector<double> sum = ordered_sum(comm_, layout_, partial.data(), L, &traffic_);
    Hv.resize(L);
    for (std::size_t j = 0; j < L; ++j) Hv[j] = v[j] + 2 * C_ * sum[j];
  }

 private:
  // Runs fn(b) for every local block b, on the arena's threads when there is one; each b writes only
  // its own partial (and its own rows' z), so the results do not depend on the thread count.
  template <class Fn>
  void for_blocks(std::size_t blocks, Fn fn) const {
    if (!arena_ || blocks < 2) {
      for (std::size_t b = 0; b < blocks; ++b) fn(b);
      return;
    }
    arena_->execute([&] {
      tbb::parallel_for(tbb::blocked_range<std::size_t>(0, blocks, 1), [&](const tbb::blocked_range<std::size_t>& r) {
        for (std::size_t b = r.begin(); b != r.end(); ++b) fn(b);
      });
    });
  }

  // Calls fn(i) for the labelled local rows of local block b, in increasing row order.
  template <class Fn>
  void for_rows(std::size_t b, Fn fn) const {
    const std::size_t begin = layout_.block_first_row(first_block_ + b) - first_row_;
    const std::size_t end = layout_.block_end_row(first_block_ + b) - first_row_;
    for (std::size_t i = begin; i < end; ++i)
      if (y_[i] != 0) fn(i);
  }

  // w.u_i in a fixed order: 4 lanes by j mod 4, each in increasing j, (l0 + l1) + (l2 + l3), then the
  // constant feature's term.
  double row_dot(std::size_t i, const double* w) const {
    const T* x = X_ + i * dim_;
    double lane[4] = {0, 0, 0, 0};
    std::size_t j = 0;
    for (; j + 4 <= dim_; j += 4)
      for (int k = 0; k < 4; ++k) lane[k] += static_cast<double>(x[j + k]) * w[j + k];
    for (int k = 0; j < dim_; ++j, ++k) lane[k] += static_cast<double>(x[j]) * w[j];
    double s = (lane[0] + lane[1]) + (lane[2] + lane[3]);
    if (bias_ > 0) s += bias_ * w[dim_];
    return s;
  }

  // Per local block, sum over its active rows (z_i < 1) of coef(i) u_i, in increasing row order.
  template <class Coef>
  std::vector<double> block_sums(Coef coef, const std::vector<double>& z) const {
    const std::size_t L = length(), blocks = end_block_ - first_block_;
    std::vector<double> partial(blocks * L, 0.0);
    for_blocks(blocks, [&](std::size_t b) {
      double* p = partial.data() + b * L;
      for_rows(b, [&](std::size_t i) {
        if (!(z[i] < 1)) return;
        const double c = coef(i);
        const T* x = X_ + i * dim_;
        for (std::size_t j = 0; j < dim_; ++j) p[j] += c * static_cast<double>(x[j]);
        if (bias_ > 0) p[dim_] += c * bias_;
      });
    });
    return partial;
  }

  const Communicator& comm_;
  const BlockLayout& layout_;
  const T* X_;
  std::size_t dim_;
  double bias_, C_;
  std::vector<signed char> y_;
  Traffic& traffic_;
  tbb::task_arena* arena_;
  std::size_t first_block_, end_block_, first_row_;
};

// Steihaug's truncated conjugate gradient for H s = -g inside |s| <= delta (Lin et al. 2008,
// Algorithm 2); r = -g - H s on return. Returns the number of Hessian-vector products.
template <class T>
int truncated_cg(ClassProblem<T>& problem, const std::vector<double>& z, const std::vector<double>& g, double delta,
                 std::vector<double>& s, std::vector<double>& r) {
  const std::size_t L = g.size();
  s.assign(L, 0.0);
  r.resize(L);
  for (std::size_t j = 0; j < L; ++j) r[j] = -g[j];
  std::vector<double> d = r, Hd;
  double rTr = dot(r, r);
  const double tolerance = 0.1 * std::sqrt(squared_norm(g));
  int steps = 0;
  // In exact arithmetic CG ends within L steps; the bound guards against rounding keeping |r| above
  // the tolerance.
  while (std::sqrt(rTr) > tolerance && steps < static_cast<int>(L) + 1) {
    problem.hessian_times(d, z, Hd);
    ++steps;
    double alpha = rTr / dot(d, Hd);
    for (std::size_t j = 0; j < L; ++j) s[j] += alpha * d[j];
    if (std::sqrt(squared_norm(s)) > delta) {
      // Back to the previous s, then to the boundary: |s + tau d| = delta, tau >= 0.
      for (std::size_t j = 0; j < L; ++j) s[j] -= alpha * d[j];
      const double sd = dot(s, d), ss = squared_norm(s), dd = squared_norm(d), delta2 = delta * delta;
      const double rad = std::sqrt(sd * sd + dd * (delta2 - ss));
      const double tau = sd >= 0 ? (delta2 - ss) / (sd + rad) : (rad - sd) / dd;
      for (std::size_t j = 0; j < L; ++j) {
        s[j] += tau * d[j];
        r[j] -= tau * Hd[j];
      }
      break;
    }
    for (std::size_t j = 0; j < L; ++j) r[j] -= alpha * Hd[j];
    const double rTr_new = dot(r, r);
    const double beta = rTr_new / rTr;
    for (std::size_t j = 0; j < L; ++j) d[j] = r[j] + beta * d[j];
    rTr = rTr_new;
  }
  return steps;
}

// Trust-region Newton from w = 0 (the header's constants and stopping rule).
template <class T>
std::vector<double> trust_region_newton(ClassProblem<T>& problem, double eps, int max_iterations, ClassTraining& info) {
  constexpr double eta0 = 1e-4, eta1 = 0.25, eta2 = 0.75;
  constexpr double sigma1 = 0.25, sigma2 = 0.5, sigma3 = 4;
  const std::size_t L = problem.length();
  std::vector<double> w(L, 0.0), w_new(L), g, s, r, z, z_new;
  double f = problem.value(w, z);
  problem.gradient(w, z, g);
  const double gnorm0 = std::sqrt(squared_norm(g));
  double gnorm = gnorm0, delta = gnorm0;
  info.initial_gradient_norm = gnorm0;
  info.converged = gnorm <= eps * gnorm0;
  int attempts = 0;
  while (!info.converged && info.iterations < max_iterations) {
    // A trust region that keeps shrinking without an accepted step is stuck in rounding: bound the
    // rejected attempts as well as the accepted iterations.
    if (++attempts > 4 * max_iterations) break;
    info.cg_iterations += truncated_cg(problem, z, g, delta, s, r);
    for (std::size_t j = 0; j < L; ++j) w_new[j] = w[j] + s[j];
    const double gs = dot(g, s);
    const double predicted = -0.5 * (gs - dot(s, r));
    const double f_new = problem.value(w_new, z_new);
    const double actual = f - f_new;
    const double snorm = std::sqrt(squared_norm(s));
    if (info.iterations == 0) delta = std::min(delta, snorm);  // the first step sizes the region
    const double curvature = f_new - f - gs;
    const double alpha = curvature <= 0 ? sigma3 : std::max(sigma1, -0.5 * (gs / curvature));
    if (actual < eta0 * predicted)
      delta = std::min(std::max(alpha, sigma1) * snorm, sigma2 * delta);
    else if (actual < eta1 * predicted)
      delta = std::max(sigma1 * delta, std::min(alpha * snorm, sigma2 * delta));
    else if (actual < eta2 * predicted)
      delta = std::max(sigma1 * delta, std::min(alpha * snorm, sigma3 * delta));
    else
      delta = std::max(delta, std::min(alpha * snorm, sigma3 * delta));
    if (actual > eta0 * predicted) {
      ++info.iterations;
      w.swap(w_new);
      z.swap(z_new);
      f = f_new;
      problem.gradient(w, z, g);
      gnorm = std::sqrt(squared_norm(g));
      info.converged = gnorm <= eps * gnorm0;
      continue;
    }
    // No reduction left to find: rounding has the last word (liblinear's own stops).
    if (actual <= 0 && predicted <= 0) break;
    if (std::fabs(actual) <= 1e-12 * std::fabs(f) && std::fabs(predicted) <= 1e-12 * std::fabs(f)) break;
  }
  info.objective = f;
  info.gradient_norm = gnorm;
  return w;
}

// What every rank must agree on, exchanged before any sum: sizes, a digest of the class names and
// options, and whether the rank's own inputs were accepted.
struct Signature {
  std::uint64_t total_rows, dim, digest_hi, digest_lo, refused;
};

template <class T>
LinearHeadResult train(const Communicator& comm, std::size_t total_rows, const T* X_local, std::size_t dim,
                       const std::vector<int>& labels_local, const std::vector<std::string>& class_names,
                       const LinearHeadOptions& options) {
  const std::size_t K = class_names.size();
  std::string refusal;
  std::size_t local_rows = 0;
  try {
    options.validate();
    if (dim == 0) throw std::invalid_argument("train_linear_head: dimension 0, expected at least one value per row");
    if (K == 0) throw std::invalid_argument("train_linear_head: no classes");
    for (std::size_t c = 0; c < K; ++c)
      if (class_names[c].empty() || std::find(class_names.begin(), class_names.begin() + static_cast<std::ptrdiff_t>(c),
                                              class_names[c]) != class_names.begin() + static_cast<std::ptrdiff_t>(c))
        throw std::invalid_argument("train_linear_head: class name '" + class_names[c] + "' (class " +
                                    std::to_string(c) + ") is empty or repeated");
    const BlockLayout layout(total_rows, options.block_rows, comm.size());
    local_rows = layout.rows_of(comm.rank());
    if (labels_local.size() != local_rows * K)
      throw std::invalid_argument("train_linear_head: rank " + std::to_string(comm.rank()) + " holds " +
                                  std::to_string(labels_local.size()) + " labels, expected " +
                                  std::to_string(local_rows) + " rows x " + std::to_string(K) +
                                  " classes (its rows are " + std::to_string(layout.first_row(comm.rank())) + " .. " +
                                  std::to_string(layout.end_row(comm.rank())) + " of " + std::to_string(total_rows) +
                                  " in blocks of " + std::to_string(options.block_rows) + ")");
    if (local_rows > 0 && X_local == nullptr)
      throw std::invalid_argument("train_linear_head: rank " + std::to_string(comm.rank()) + " holds " +
                                  std::to_string(local_rows) + " rows but no row data (null pointer)");
    for (std::size_t i = 0; i < labels_local.size(); ++i)
      if (labels_local[i] != 1 && labels_local[i] != -1 && labels_local[i] != 0)
        throw std::invalid_argument("train_linear_head: label " + std::to_string(labels_local[i]) + " of local row " +
                                    std::to_string(i / K) + ", class '" + class_names[i % K] +
                                    "' on rank " + std::to_string(comm.rank()) + ", expected +1, -1 or 0");
  } catch (const std::invalid_argument& e) {
    refusal = e.what();
  }
  core::Hasher hasher;
  for (const std::string& name : class_names) hasher.field(name);
  const double numbers[3] = {options.C, options.epsilon, options.bias};
  hasher.update(numbers, sizeof numbers);
  const std::uint64_t integers[2] = {static_cast<std::uint64_t>(options.max_iterations), options.block_rows};
  hasher.update(integers, sizeof integers);
  const core::Digest digest = hasher.digest();
  const Signature mine{total_rows, dim, digest.hi, digest.lo, refusal.empty() ? 0u : 1u};
  std::vector<Signature> all(static_cast<std::size_t>(comm.size()));
  comm.check(MPI_Allgather(&mine, 5, MPI_UINT64_T, all.data(), 5, MPI_UINT64_T, comm.native()),
             "exchanging the training's sizes and options (MPI_Allgather in train_linear_head)");
  if (!refusal.empty()) throw std::invalid_argument(refusal);
  for (int r = 0; r < comm.size(); ++r) {
    const Signature& o = all[static_cast<std::size_t>(r)];
    if (o.refused)
      throw std::invalid_argument("train_linear_head: rank " + std::to_string(r) +
                                  " refused its inputs (its own error says why); no rank trains");
    if (o.total_rows != total_rows || o.dim != dim || o.digest_hi != digest.hi || o.digest_lo != digest.lo)
      throw std::invalid_argument(
          "train_linear_head: rank " + std::to_string(r) + " was called with " + std::to_string(o.total_rows) +
          " rows of " + std::to_string(o.dim) + " values" +
          (o.digest_hi != digest.hi || o.digest_lo != digest.lo ? " and other class names or options" : "") +
          ", rank " + std::to_string(comm.rank()) + " with " + std::to_string(total_rows) + " rows of " +
          std::to_string(dim) + ": every rank must train the same problem");
  }

  const BlockLayout layout(total_rows, options.block_rows, comm.size());
  std::vector<std::int64_t> counts(2 * K, 0);
  for (std::size_t i = 0; i < local_rows; ++i)
    for (std::size_t c = 0; c < K; ++c) {
      const int l = labels_local[i * K + c];
      if (l == 1) ++counts[2 * c];
      if (l == -1) ++counts[2 * c + 1];
    }
  counts = sum_counts(comm, counts);
  for (std::size_t c = 0; c < K; ++c)
    if (counts[2 * c] == 0 || counts[2 * c + 1] == 0)
      throw std::invalid_argument("train_linear_head: class '" + class_names[c] + "' has " +
                                  std::to_string(counts[2 * c]) + " positive and " + std::to_string(counts[2 * c + 1]) +
                                  " negative rows over all ranks, expected at least one of each");

  LinearHeadResult result;
  std::vector<svm::LinearClass> classes;
  const int threads = core::resolve_threads(options.threads);
  std::unique_ptr<tbb::task_arena> arena;
  if (threads > 1) arena = std::make_unique<tbb::task_arena>(threads);
  for (std::size_t c = 0; c < K; ++c) {
    std::vector<signed char> y(local_rows);
    for (std::size_t i = 0; i < local_rows; ++i) y[i] = static_cast<signed char>(labels_local[i * K + c]);
    ClassProblem<T> problem(comm, layout, X_local, dim, options.bias, options.C, std::move(y), result.traffic, arena.get());
    ClassTraining info;
    info.name = class_names[c];
    info.positives = static_cast<std::size_t>(counts[2 * c]);
    info.negatives = static_cast<std::size_t>(counts[2 * c + 1]);
    const double used = static_cast<double>(info.positives + info.negatives);
    const double eps = options.epsilon * std::max(static_cast<double>(std::min(info.positives, info.negatives)), 1.0) / used;
    std::vector<double> w = trust_region_newton(problem, eps, options.max_iterations, info);
    svm::LinearClass out;
    out.name = class_names[c];
    out.bias = options.bias > 0 ? options.bias * w[dim] : 0.0;
    w.resize(dim);
    out.weights = std::move(w);
    classes.push_back(std::move(out));
    result.classes.push_back(std::move(info));
  }
  result.model = svm::LinearSvm(dim, std::move(classes));
  return result;
}

}  // namespace

LinearHeadResult train_linear_head(const Communicator& comm, std::size_t total_rows, const double* X_local,
                                   std::size_t dim, const std::vector<int>& labels_local,
                                   const std::vector<std::string>& class_names, const LinearHeadOptions& options) {
  return train(comm, total_rows, X_local, dim, labels_local, class_names, options);
}

LinearHeadResult train_linear_head(const Communicator& comm, std::size_t total_rows, const float* X_local,
                                   std::size_t dim, const std::vector<int>& labels_local,
                                   const std::vector<std::string>& class_names, const LinearHeadOptions& options) {
  return train(comm, total_rows, X_local, dim, labels_local, class_names, options);
}

}  // namespace bowlrp::distributed
