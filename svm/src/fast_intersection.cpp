#include <bowlrp/svm/fast_intersection.h>

#include <bowlrp/core/parallel.h>

#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace bowlrp::svm {

struct IntersectionIndex::Layout {
  std::size_t dim = 0;
  std::vector<std::size_t> offsets;  // dimension d owns values[offsets[d], offsets[d+1])
  std::vector<double> values;        // distinct support values, ascending per dimension
  std::vector<double> weight;        // w(d)
};

namespace {

void check_model(const KernelSvm& model) {
  if (model.kernel().type != KernelType::intersection)
    throw std::invalid_argument("IntersectionIndex needs a hik model, this one uses kernel " +
                                to_string(model.kernel().type));
}

// Sorts every dimension of the support set once: the distinct values, and for support vector i the
// position entry[d * S + i] of s_id among the values of dimension d (dimension-major, so that
// each class sums its coefficients per dimension within a few cache lines). Zeros, the bulk of BoW
// histograms, are not sorted but collapsed into one entry.
std::shared_ptr<const IntersectionIndex::Layout> sort_support(const KernelSvm& model, int threads,
                                                              std::vector<std::uint32_t>& entry) {
  const std::size_t V = model.dim(), S = model.support_size();
  auto layout = std::make_shared<IntersectionIndex::Layout>();
  layout->dim = V;
  layout->weight.resize(V);
  for (std::size_t d = 0; d < V; ++d) layout->weight[d] = model.kernel().weight(d);
  entry.assign(S * V, 0);
  std::vector<std::vector<double>> per_dim(V);
  constexpr std::size_t kDims = 64;  // dimensions per task: reads S rows in 512-byte pieces
  auto sort_dims = [&](std::size_t d0) {
    const std::size_t d1 = std::min(V, d0 + kDims);
    std::vector<std::pair<double, std::uint32_t>> nz;
    for (std::size_t d = d0; d < d1; ++d) {
      nz.clear();
      bool zeros = false;
      for (std::size_t i = 0; i < S; ++i) {
        const double v = model.support_vector(i)[d];
        if (v == 0.0) zeros = true;
        else nz.emplace_back(v, static_cast<std::uint32_t>(i));
      }
      std::sort(nz.begin(), nz.end());
      std::vector<double>& values = per_dim[d];
      std::uint32_t zero_at = 0;
      bool zero_done = !zeros;
      for (const auto& [v, i] : nz) {
        if (!zero_done && v > 0.0) {
          zero_at = static_cast<std::uint32_t>(values.size());
          values.push_back(0.0);
          zero_done = true;
        }
        if (values.empty() || values.back() != v) values.push_back(v);
        entry[d * S + i] = static_cast<std::uint32_t>(values.size() - 1);
      }
      if (!zero_done) {
        zero_at = static_cast<std::uint32_t>(values.size());
        values.push_back(0.0);
      }
      if (zeros)
        for (std::size_t i = 0; i < S; ++i)
          if (model.support_vector(i)[d] == 0.0) entry[d * S + i] = zero_at;
    }
  };
  const std::size_t tasks = (V + kDims - 1) / kDims;
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] { tbb::parallel_for(std::size_t{0}, tasks, [&](std::size_t t) { sort_dims(t * kDims); }); });
  layout->offsets.resize(V + 1);
  std::size_t total = 0;
  for (std::size_t d = 0; d < V; ++d) {
    layout->offsets[d] = total;
    total += per_dim[d].size();
  }
  layout->offsets[V] = total;
  layout->values.reserve(total);
  for (std::vector<double>& v : per_dim) {
    layout->values.insert(layout->values.end(), v.begin(), v.end());
    std::vector<double>().swap(v);
  }
  return layout;
}

}  // namespace

IntersectionIndex::IntersectionIndex(const KernelSvm& model, std::size_t cls) {
  check_model(model);
  std::vector<std::uint32_t> entry;
  auto layout = sort_support(model, 1, entry);
  *this = IntersectionIndex(std::move(layout), entry, model, cls);
}

IntersectionIndex::IntersectionIndex(std::shared_ptr<const Layout> layout, const std::vector<std::uint32_t>& entry,
                                     const KernelSvm& model, std::size_t cls)
    : dim_(model.dim()), layout_(std::move(layout)) {
  check_model(model);
  if (cls >= model.classes().size())
    throw std::out_of_range("IntersectionIndex: class index " + std::to_string(cls) + " out of range (" +
                            std::to_string(model.classes().size()) + " classes)");
  const BinarySvm& svm = model.classes()[cls];
  bias_ = svm.bias;
  const std::size_t V = dim_, S = model.support_size();
  const std::vector<std::size_t>& off = layout_->offsets;
  const std::vector<double>& values = layout_->values;
  // Summed coefficients per entry, in support order, in extended precision.
  std::vector<long double> c(values.size(), 0.0L);
  for (std::size_t d = 0; d < V; ++d) {
    const std::uint32_t* e = entry.data() + d * S;
    long double* cd = c.data() + off[d];
    for (std::size_t i = 0; i < S; ++i)
      if (svm.coef[i] != 0.0) cd[e[i]] += svm.coef[i];
  }
  pq_.resize(2 * (values.size() + V));
  for (std::size_t d = 0; d < V; ++d) {
    const std::size_t first = off[d], m = off[d + 1] - first;
    double* pq = pq_.data() + 2 * (first + d);
    long double P = 0;
    for (std::size_t k = 0; k <= m; ++k) {
      pq[2 * k] = static_cast<double>(P);
      if (k < m) P += c[first + k] * static_cast<long double>(values[first + k]);
    }
    long double Q = 0;
    for (std::size_t k = m + 1; k-- > 0;) {
      pq[2 * k + 1] = static_cast<double>(Q);
      if (k > 0) Q += c[first + k - 1];
    }
  }
}

std::size_t IntersectionIndex::entries() const { return layout_ ? layout_->values.size() : 0; }

double IntersectionIndex::term(std::size_t d, double x) const {
  const std::size_t first = layout_->offsets[d];
  const double* lo = layout_->values.data() + first;
  std::size_t n = layout_->offsets[d + 1] - first, k = 0;
  if (n > 0) {
    // Branch-free search for k = #{values <= x}: the candidates are b[0, n), everything before b is
    // <= x and everything from b + n on is > x.
    const double* b = lo;
    while (n > 1) {
      const std::size_t half = n / 2;
      b = b[half] <= x ? b + half : b;
      n -= half;
    }
    k = static_cast<std::size_t>(b - lo) + (*b <= x);
  }
  const double* pq = pq_.data() + 2 * (first + d + k);
  return layout_->weight[d] * (pq[0] + x * pq[1]);
}

double IntersectionIndex::decision(const double* x) const {
  double f = 0;
  for (std::size_t d = 0; d < dim_; ++d) f += term(d, x[d]);
  return bias_ + f;
}

std::vector<IntersectionIndex> build_intersection_indices(const KernelSvm& model, int threads) {
  core::validate_threads(threads);
  check_model(model);
  std::vector<std::uint32_t> entry;
  const auto layout = sort_support(model, threads, entry);
  std::vector<IntersectionIndex> out(model.classes().size());
  tbb::task_arena arena(threads > 0 ? threads : tbb::task_arena::automatic);
  arena.execute([&] {
    tbb::parallel_for(std::size_t{0}, out.size(),
                      [&](std::size_t c) { out[c] = IntersectionIndex(layout, entry, model, c); });
  });
  return out;
}

}  // namespace bowlrp::svm
