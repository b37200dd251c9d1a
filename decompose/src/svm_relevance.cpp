#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/decompose/additive_map_relevance.h>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace bowlrp::decompose {

using svm::KernelType;

double DimensionRelevance::total() const { return std::accumulate(R.begin(), R.end(), 0.0); }

namespace {

// Dimensions per parallel task: large enough to amortise scheduling, small enough that a chunk of
// every support vector row stays in L1.
constexpr std::size_t kChunk = 1024;

// The per-dimension kernel terms, written branch-free (selects, no conditional division or sqrt)
// so that the loops over dimensions vectorise.
struct LinearTerm {
  static double apply(double s, double h) { return s * h; }
};
struct IntersectionTerm {
  static double apply(double s, double h) { return s < h ? s : h; }
};
struct Chi2Term {  // 2sh / (s + h), 0/0 = 0
  static double apply(double s, double h) {
    const double den = s + h;
    const bool ok = den > 0;
    return (ok ? 2.0 * s * h : 0.0) / (ok ? den : 1.0);
  }
};
struct HellingerTerm {  // sqrt(sh) (histograms are >= 0; a negative product counts as 0)
  static double apply(double s, double h) {
    const double p = s * h;
    return std::sqrt(p > 0 ? p : 0.0);
  }
};

void check_class(const svm::KernelSvm& model, std::size_t cls) {
  if (cls >= model.classes().size())
    throw std::out_of_range("class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(model.classes().size()) + " classes");
  if (model.dim() == 0) throw std::invalid_argument("SVM model has dimension 0 (empty or untrained model)");
  if (model.classes()[cls].coef.size() != model.support_size())
    throw std::invalid_argument("SVM class '" + model.classes()[cls].name + "' has " +
                                std::to_string(model.classes()[cls].coef.size()) + " coefficients for " +
                                std::to_string(model.support_size()) + " support vectors");
}

// Block weight per dimension: sum of the weights of the blocks holding d (the kernel is a sum over
// blocks, so overlapping blocks add up); 1 everywhere without blocks.
std::vector<double> dimension_weights(const svm::Kernel& kernel, std::size_t V) {
  if (kernel.blocks.empty()) return std::vector<double>(V, 1.0);
  std::vector<double> w(V, 0.0);
  for (const auto& b : kernel.blocks)
    for (std::size_t d = b.begin; d < std::min(b.end, V); ++d) w[d] += b.weight;
  return w;
}

// Indices of the support vectors with a non-zero coefficient for this class.
std::vector<std::size_t> active_support(const std::vector<double>& coef) {
  std::vector<std::size_t> idx;
  for (std::size_t i = 0; i < coef.size(); ++i)
    if (coef[i] != 0.0) idx.push_back(i);
  return idx;
}

// R'_d = w(d) sum_i coef_i k_d(s_id, h_d); each chunk of dimensions is independent, and within a
// chunk support vectors are summed in index order, so the result does not depend on threads.
template <class Term>
void exact_terms(const svm::KernelSvm& model, const std::vector<double>& coef, const std::vector<std::size_t>& active,
                 const double* h, const std::vector<double>& w, double* R) {
  const std::size_t V = model.dim();
  const double* S = model.support().data();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, V, kChunk), [&](const tbb::blocked_range<std::size_t>& r) {
    const std::size_t d0 = r.begin(), n = r.end() - r.begin();
    double acc[kChunk];
    std::fill(acc, acc + n, 0.0);
    for (std::size_t i : active) {
      const double c = coef[i];
      const double* s = S + i * V + d0;
      const double* x = h + d0;
      for (std::size_t j = 0; j < n; ++j) acc[j] += c * Term::apply(s[j], x[j]);
    }
    for (std::size_t j = 0; j < n; ++j) R[d0 + j] = w[d0 + j] * acc[j];
  }, tbb::simple_partitioner());
}

void apply_bias(BiasPolicy policy, double b, DimensionRelevance& out) {
  const std::size_t V = out.R.size();
  out.absorbed = 0.0;
  if (policy == BiasPolicy::absorbed) {
    out.absorbed = b;
    return;
  }
  if (policy == BiasPolicy::proportional) {
    double mass = 0.0;
    for (double r : out.R) mass += std::abs(r);
    if (mass > 0) {
      const double k = b / mass;
      for (double& r : out.R) r += k * std::abs(r);
      return;
    }
  }
  const double share = b / static_cast<double>(V);
  for (double& r : out.R) r += share;
}

// f, and its gradient, for the differentiable kernels:
//   f(x) = b + sum_i coef_i sum_u w_u exp(-gamma D(s_iu, x_u)),
//   D = ||.||^2 (rbf) or sum (a-b)^2/(a+b) (expchi2), over block u.
class DifferentiableSvm {
 public:
  DifferentiableSvm(const svm::KernelSvm& model, std::size_t cls)
      : model_(model), coef_(model.classes()[cls].coef), bias_(model.classes()[cls].bias),
        type_(model.kernel().type), gamma_(model.kernel().gamma), V_(model.dim()), active_(active_support(coef_)) {
    if (!(gamma_ > 0) || !std::isfinite(gamma_))
      throw std::invalid_argument("kernel " + svm::to_string(type_) + " has gamma = " + std::to_string(gamma_) +
                                  "; expected a finite value > 0 (was the model trained?)");
    if (model.kernel().blocks.empty()) {
      blocks_.push_back({0, V_, 1.0});
    } else {
      for (const auto& b : model.kernel().blocks) blocks_.push_back({b.begin, std::min(b.end, V_), b.weight});
    }
  }

  // Squared distance term of one dimension.
  double dist_term(double a, double s) const {
    const double diff = a - s;
    if (type_ == KernelType::rbf) return diff * diff;
    const double den = a + s;
    return den > 0 ? diff * diff / den : 0.0;
  }
  // d/da of dist_term; one-sided derivative 1 at a = s = 0 (expchi2).
  double dist_grad(double a, double s) const {
    const double diff = a - s;
    if (type_ == KernelType::rbf) return 2.0 * diff;
    const double den = a + s;
    return den > 0 ? diff * (a + 3.0 * s) / (den * den) : 1.0;
  }

  // exp(-gamma D) for every (active support vector, block), row-major active x blocks.
  void kernel_values(const double* x, std::vector<double>& kv) const {
    const std::size_t U = blocks_.size();
    kv.assign(active_.size() * U, 0.0);
    const double* S = model_.support().data();
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, active_.size(), 16), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t a = r.begin(); a < r.end(); ++a) {
        const double* s = S + active_[a] * V_;
        for (std::size_t u = 0; u < U; ++u) {
          double D = 0.0;
          for (std::size_t d = blocks_[u].begin; d < blocks_[u].end; ++d) D += dist_term(x[d], s[d]);
          kv[a * U + u] = std::exp(-gamma_ * D);
        }
      }
    });
  }

  double value(const double* x) const {
    std::vector<double> kv;
    kernel_values(x, kv);
    const std::size_t U = blocks_.size();
    double f = 0.0;
    for (std::size_t a = 0; a < active_.size(); ++a) {
      double k = 0.0;
      for (std::size_t u = 0; u < U; ++u) k += blocks_[u].weight * kv[a * U + u];
      f += coef_[active_[a]] * k;
    }
    return bias_ + f;
  }

  std::vector<double> gradient(const double* x) const {
    std::vector<double> kv;
    kernel_values(x, kv);
    const std::size_t U = blocks_.size();
    // c_au = coef_a w_u exp(-gamma D_au) (-gamma): the factor of dD/dx_d in block u.
    std::vector<double> c(kv.size());
    for (std::size_t a = 0; a < active_.size(); ++a)
      for (std::size_t u = 0; u < U; ++u) c[a * U + u] = -gamma_ * coef_[active_[a]] * blocks_[u].weight * kv[a * U + u];
    std::vector<double> g(V_, 0.0);
    const double* S = model_.support().data();
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, V_, kChunk), [&](const tbb::blocked_range<std::size_t>& r) {
      for (std::size_t u = 0; u < U; ++u) {
        const std::size_t lo = std::max(r.begin(), blocks_[u].begin), hi = std::min(r.end(), blocks_[u].end);
        if (lo >= hi) continue;
        for (std::size_t a = 0; a < active_.size(); ++a) {
          const double ca = c[a * U + u];
          const double* s = S + active_[a] * V_;
          for (std::size_t d = lo; d < hi; ++d) g[d] += ca * dist_grad(x[d], s[d]);
        }
      }
    }, tbb::simple_partitioner());
    return g;
  }

  // Full (unweighted) kernel distance between support vector i and x.
  double distance(std::size_t i, const double* x) const {
    const double* s = model_.support_vector(i);
    double D = 0.0;
    for (std::size_t d = 0; d < V_; ++d) D += dist_term(x[d], s[d]);
    return D;
  }

  const std::vector<std::size_t>& active() const { return active_; }
  double coef(std::size_t i) const { return coef_[i]; }

 private:
  struct Block {
    std::size_t begin, end;
    double weight;
  };
  const svm::KernelSvm& model_;
  const std::vector<double>& coef_;
  double bias_;
  KernelType type_;
  double gamma_;
  std::size_t V_;
  std::vector<std::size_t> active_;
  std::vector<Block> blocks_;
};

// Root x0 of f on the segments from h to the nearest support vectors of the other side (see the
// header); sets out.root, out.f_root and out.root_found. Returns f(h) as F computes it.
double find_root(const DifferentiableSvm& F, const svm::KernelSvm& model, const double* h, const RootSearch& rule,
                 DimensionRelevance& out) {
  const std::size_t V = model.dim();
  const double fh = F.value(h);
  const double tol = rule.tolerance * std::max(1.0, std::abs(fh));
  std::vector<double> best(h, h + V);
  double best_f = fh;
  out.root_found = std::abs(fh) <= tol;

  if (!out.root_found) {
    const double sign = fh > 0 ? 1.0 : -1.0;
    // Support vectors of the other side, nearest first.
    std::vector<std::pair<double, std::size_t>> cand;
    for (std::size_t i : F.active())
      if (F.coef(i) * sign < 0) cand.emplace_back(F.distance(i, h), i);
    std::sort(cand.begin(), cand.end());
    if (cand.size() > static_cast<std::size_t>(rule.max_candidates)) cand.resize(rule.max_candidates);

    std::vector<double> x(V);
    auto point = [&](const double* s, double t) {
      for (std::size_t d = 0; d < V; ++d) x[d] = std::max(0.0, (1.0 - t) * h[d] + t * s[d]);
    };
    auto consider = [&](double fx) {
      if (std::abs(fx) < std::abs(best_f)) {
        best_f = fx;
        best = x;
      }
    };
    for (const auto& [dist, i] : cand) {
      (void)dist;
      const double* s = model.support_vector(i);
      double t_lo = 0.0, t_hi = -1.0;
      for (int k = 1; k <= rule.scan_steps; ++k) {
        const double t = static_cast<double>(k) / rule.scan_steps;
        point(s, t);
        const double fx = F.value(x.data());
        consider(fx);
        if (sign * fx <= 0) {
          t_hi = t;
          break;
        }
        t_lo = t;
      }
      if (t_hi < 0) continue;  // no sign change towards this support vector
      out.root_found = true;
      for (int it = 0; it < rule.max_bisections && std::abs(best_f) > tol; ++it) {
        const double t = 0.5 * (t_lo + t_hi);
        point(s, t);
        const double fx = F.value(x.data());
        consider(fx);
        (sign * fx > 0 ? t_lo : t_hi) = t;
      }
      break;
    }
  }
  out.root = std::move(best);
  out.f_root = best_f;
  return fh;
}

void taylor(const svm::KernelSvm& model, std::size_t cls, const double* h, const TaylorRule& rule,
            DimensionRelevance& out) {
  const DifferentiableSvm F(model, cls);
  const std::size_t V = model.dim();
  out.method = SvmMethod::taylor;
  out.R.assign(V, 0.0);
  find_root(F, model, h, rule.root, out);
  const std::vector<double> g = F.gradient(out.root.data());
  for (std::size_t d = 0; d < V; ++d) out.R[d] = (h[d] - out.root[d]) * g[d];
}

// P_n(z) and P_n'(z), by the three-term recurrence from P_0 = 1, P_1 = z.
std::pair<double, double> legendre(int n, double z) {
  double p0 = 1.0, p1 = z;  // P_{j-1}, P_j
  for (int j = 2; j <= n; ++j) {
    const double p2 = ((2.0 * j - 1.0) * z * p1 - (j - 1.0) * p0) / j;
    p0 = p1;
    p1 = p2;
  }
  return {p1, n * (z * p1 - p0) / (z * z - 1.0)};
}

// Gauss-Legendre nodes and weights on [-1, 1]: Newton's method on P_n from the Tricomi initial
// guesses, which converges to rounding for n <= 64 in a few steps.
void gauss_legendre(int n, std::vector<double>& x, std::vector<double>& w) {
  const double pi = std::acos(-1.0);
  x.assign(n, 0.0);
  w.assign(n, 0.0);
  for (int k = 0; k < n; ++k) {
    double z = std::cos(pi * (k + 0.75) / (n + 0.5));
    for (int it = 0; it < 100; ++it) {
      const auto [p, dp] = legendre(n, z);
      const double dz = p / dp;
      z -= dz;
      if (std::abs(dz) <= 1e-16) break;
    }
    const double dp = legendre(n, z).second;  // at the converged node, for the weight
    x[k] = z;
    w[k] = 2.0 / ((1.0 - z * z) * dp * dp);
  }
}

// Adaptive composite Gauss-Legendre for the vector I_d = int_0^1 df/dx_d(x0 + t (h - x0)) dt.
// Smooth integrands (rbf) are done with one split of [0, 1]; expchi2 has poles at x_d = -s_d, close
// to the path's ends where h_d or x0_d is 0 and s_d is small, and there the splits concentrate.
class PathIntegral {
 public:
  PathIntegral(const DifferentiableSvm& F, const double* x0, const double* h, std::size_t V,
               const IntegratedGradientsRule& rule, double tolerance)
      : F_(F), x0_(x0), h_(h), V_(V), rule_(rule), tolerance_(tolerance), x_(V), I_(V, 0.0) {
    gauss_legendre(rule.nodes, gx_, gw_);
  }

  // Integrates; intervals are refined depth first, left to right, so the sum of their estimates is
  // done in a fixed order and the result does not depend on threads.
  void run() {
    converged_ = true;
    const int n0 = rule_.segments;
    segments_ = n0;
    for (int j = 0; j < n0; ++j) {
      const double a = static_cast<double>(j) / n0, b = static_cast<double>(j + 1) / n0;
      refine(a, b, estimate(a, b));
    }
  }

  const std::vector<double>& integral() const { return I_; }
  int segments() const { return segments_; }
  bool converged() const { return converged_; }

 private:
  // Gauss-Legendre estimate of the integral over [a, b].
  std::vector<double> estimate(double a, double b) {
    std::vector<double> est(V_, 0.0);
    for (std::size_t k = 0; k < gx_.size(); ++k) {
      const double t = a + 0.5 * (gx_[k] + 1.0) * (b - a);
      const double wt = 0.5 * gw_[k] * (b - a);
      for (std::size_t d = 0; d < V_; ++d) x_[d] = x0_[d] + t * (h_[d] - x0_[d]);
      const std::vector<double> g = F_.gradient(x_.data());
      for (std::size_t d = 0; d < V_; ++d) est[d] += wt * g[d];
    }
    return est;
  }

  // Splits [a, b] in halves; the change of the relevances (h - x0)_d I_d from the whole to the
  // halves bounds the error of the whole, accepted against the interval's share of the tolerance.
  void refine(double a, double b, const std::vector<double>& whole) {
    const double m = 0.5 * (a + b);
    std::vector<double> left = estimate(a, m), right = estimate(m, b);
    double change = 0.0;
    for (std::size_t d = 0; d < V_; ++d) change += std::abs((h_[d] - x0_[d]) * (left[d] + right[d] - whole[d]));
    ++segments_;
    const bool budget = segments_ < rule_.max_segments && m > a && b > m;
    if (change <= tolerance_ * (b - a) || !budget) {
      if (change > tolerance_ * (b - a)) converged_ = false;
      for (std::size_t d = 0; d < V_; ++d) I_[d] += left[d] + right[d];
      return;
    }
    refine(a, m, left);
    refine(m, b, right);
  }

  const DifferentiableSvm& F_;
  const double* x0_;
  const double* h_;
  std::size_t V_;
  const IntegratedGradientsRule& rule_;
  double tolerance_;
  std::vector<double> gx_, gw_, x_, I_;
  int segments_ = 0;
  bool converged_ = true;
};

void integrated_gradients(const svm::KernelSvm& model, std::size_t cls, const double* h,
                          const IntegratedGradientsRule& rule, DimensionRelevance& out) {
  const DifferentiableSvm F(model, cls);
  const std::size_t V = model.dim();
  out.method = SvmMethod::integrated_gradients;
  const double fh = find_root(F, model, h, rule.root, out);
  const double* x0 = out.root.data();
  PathIntegral integral(F, x0, h, V, rule, rule.tolerance * std::max(1.0, std::abs(fh)));
  integral.run();
  out.R = integral.integral();
  for (std::size_t d = 0; d < V; ++d) out.R[d] *= h[d] - x0[d];
  out.quadrature_segments = integral.segments();
  out.quadrature_converged = integral.converged();
  // The gradient theorem: sum_d R_d = f(h) - f(x0) exactly; what is left is the quadrature's.
  out.quadrature_error = out.total() - (fh - out.f_root);
}

}  // namespace

DimensionRelevance relevance_dimensions(const svm::KernelSvm& model, std::size_t cls, const double* h,
                                        const Composite& composite, const svm::IntersectionIndex* index) {
  composite.validate();
  check_class(model, cls);
  const svm::Kernel& kernel = model.kernel();
  const std::size_t V = model.dim();
  const svm::BinarySvm& c = model.classes()[cls];
  DimensionRelevance out;
  out.bias = c.bias;
  if (index) {
    if (kernel.type != KernelType::intersection)
      throw std::invalid_argument("relevance_dimensions: an intersection index was given for a " + svm::to_string(kernel.type) + " model");
    if (index->dim() != V || index->bias() != c.bias)
      throw std::invalid_argument("relevance_dimensions: the intersection index (dimension " + std::to_string(index->dim()) +
                                  ", bias " + std::to_string(index->bias()) + ") is not the one of class '" + c.name +
                                  "' (dimension " + std::to_string(V) + ", bias " + std::to_string(c.bias) + ")");
    out.method = SvmMethod::exact;
    out.R.resize(V);
    for (std::size_t d = 0; d < V; ++d) out.R[d] = index->term(d, h[d]);
    out.f = index->decision(h);
    apply_bias(composite.svm.bias, c.bias, out);
    out.residual = out.f - out.total() - out.absorbed;
    return out;
  }
  out.f = model.decision(cls, h);
  if (kernel.type == KernelType::rbf || kernel.type == KernelType::expchi2) {
    if (composite.differentiable == DifferentiableRule::taylor)
      taylor(model, cls, h, composite.taylor, out);
    else
      integrated_gradients(model, cls, h, composite.integrated_gradients, out);
    out.residual = out.f - out.total();
    return out;
  }
  out.method = SvmMethod::exact;
  out.R.assign(V, 0.0);
  const std::vector<double> w = dimension_weights(kernel, V);
  const std::vector<std::size_t> active = active_support(c.coef);
  switch (kernel.type) {
    case KernelType::linear: exact_terms<LinearTerm>(model, c.coef, active, h, w, out.R.data()); break;
    case KernelType::intersection: exact_terms<IntersectionTerm>(model, c.coef, active, h, w, out.R.data()); break;
    case KernelType::chi2: exact_terms<Chi2Term>(model, c.coef, active, h, w, out.R.data()); break;
    case KernelType::hellinger: exact_terms<HellingerTerm>(model, c.coef, active, h, w, out.R.data()); break;
    default: throw std::invalid_argument("kernel " + svm::to_string(kernel.type) + " has no relevance rule");
  }
  apply_bias(composite.svm.bias, c.bias, out);
  out.residual = out.f - out.total() - out.absorbed;
  return out;
}

DimensionRelevance relevance_dimensions(const svm::LinearSvm& model, std::size_t cls, const double* h,
                                        const SvmRule& rule) {
  rule.validate();
  if (cls >= model.classes().size())
    throw std::out_of_range("class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(model.classes().size()) + " classes");
  const svm::LinearClass& c = model.classes()[cls];
  const std::size_t V = model.dim();
  DimensionRelevance out;
  out.method = SvmMethod::exact;
  out.bias = c.bias;
  out.f = model.decision(cls, h);
  out.R.resize(V);
  for (std::size_t d = 0; d < V; ++d) out.R[d] = c.weights[d] * h[d];
  apply_bias(rule.bias, c.bias, out);
  out.residual = out.f - out.total() - out.absorbed;
  return out;
}

std::vector<double> decision_gradient(const svm::KernelSvm& model, std::size_t cls, const double* x) {
  check_class(model, cls);
  const KernelType t = model.kernel().type;
  if (t != KernelType::rbf && t != KernelType::expchi2)
    throw std::invalid_argument("decision_gradient: kernel " + svm::to_string(t) +
                                " is not one of the differentiable kernels rbf, expchi2");
  return DifferentiableSvm(model, cls).gradient(x);
}

DimensionRelevance relevance_head(const svm::KernelSvm& model, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex* index) {
  return relevance_dimensions(model, cls, h, composite, index);
}

DimensionRelevance relevance_head(const svm::LinearSvm& model, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex*) {
  return relevance_dimensions(model, cls, h, composite.svm);
}

void check_head(const svm::KernelSvm& model, const Composite&, const std::vector<svm::IntersectionIndex>* indices) {
  const svm::Kernel& kernel = model.kernel();
  if ((kernel.type == svm::KernelType::rbf || kernel.type == svm::KernelType::expchi2) &&
      !(kernel.gamma > 0 && std::isfinite(kernel.gamma)))
    throw std::invalid_argument("Explainer: kernel " + svm::to_string(kernel.type) + " has gamma = " +
                                std::to_string(kernel.gamma) + "; expected a finite value > 0");
  if (!indices) return;
  if (kernel.type != svm::KernelType::intersection)
    throw std::invalid_argument("Explainer: intersection indices given for a " + svm::to_string(kernel.type) +
                                " model; they only apply to hik");
  if (indices->size() != model.classes().size())
    throw std::invalid_argument("Explainer: " + std::to_string(indices->size()) + " intersection indices for " +
                                std::to_string(model.classes().size()) + " classes");
  for (std::size_t c = 0; c < indices->size(); ++c)
    if ((*indices)[c].dim() != model.dim() || (*indices)[c].bias() != model.classes()[c].bias)
      throw std::invalid_argument("Explainer: intersection index " + std::to_string(c) +
                                  " does not belong to this model (dimension or bias differs)");
}

void check_head(const svm::LinearSvm&, const Composite&, const std::vector<svm::IntersectionIndex>* indices) {
  if (indices)
    throw std::invalid_argument("Explainer: intersection indices given for a linear SVM head; they only apply to hik");
}

// The explicit-map head shares apply_bias with the linear head (additive_map_relevance.h).
DimensionRelevance relevance_dimensions(const svm::AdditiveMapSvm& model, std::size_t cls, const double* h,
                                        const SvmRule& rule) {
  rule.validate();
  if (cls >= model.classes().size())
    throw std::out_of_range("class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(model.classes().size()) + " classes");
  const svm::LinearClass& c = model.classes()[cls];
  DimensionRelevance out;
  out.method = SvmMethod::exact;
  out.bias = c.bias;
  out.f = model.decision(cls, h);
  out.R = model.map().relevance(c.weights.data(), h, model.dim());
  apply_bias(rule.bias, c.bias, out);
  out.residual = out.f - out.total() - out.absorbed;
  return out;
}

DimensionRelevance relevance_head(const svm::AdditiveMapSvm& model, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex*) {
  return relevance_dimensions(model, cls, h, composite.svm);
}

void check_head(const svm::AdditiveMapSvm&, const Composite&, const std::vector<svm::IntersectionIndex>* indices) {
  if (indices)
    throw std::invalid_argument(
        "Explainer: intersection indices given for an explicit-map linear SVM head; they only apply to hik");
}

}  // namespace bowlrp::decompose
