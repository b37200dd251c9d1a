#include <bowlrp/svm/additive_map.h>

extern "C" {
#include <vl/homkermap.h>
}

#include <cmath>
#include <new>
#include <stdexcept>
#include <string>

namespace bowlrp::svm {

void AdditiveMapOptions::validate() const {
  if (kernel != KernelType::intersection && kernel != KernelType::chi2)
    throw std::invalid_argument("AdditiveMapOptions: kernel " + to_string(kernel) +
                                ", expected hik or chi2 (the additive homogeneous kernels with an explicit map)");
  if (order < 1 || order > 100)
    throw std::invalid_argument("AdditiveMapOptions: order " + std::to_string(order) +
                                ", expected 1 .. 100 (2 order + 1 values per dimension)");
  if (!std::isfinite(period) || period == 0)
    throw std::invalid_argument("AdditiveMapOptions: period " + std::to_string(period) +
                                ", expected a finite value > 0, or < 0 for VLFeat's default");
}

// VLFeat's map object, deleted with the last map sharing it.
struct AdditiveKernelMap::Table {
  VlHomogeneousKernelMap* map = nullptr;
  explicit Table(const AdditiveMapOptions& o) {
    map = vl_homogeneouskernelmap_new(
        o.kernel == KernelType::chi2 ? VlHomogeneousKernelChi2 : VlHomogeneousKernelIntersection, 1.0,
        static_cast<vl_size>(o.order), o.period,
        o.window == MapWindow::uniform ? VlHomogeneousKernelMapWindowUniform : VlHomogeneousKernelMapWindowRectangular);
    if (!map) throw std::bad_alloc();
  }
  ~Table() { vl_homogeneouskernelmap_delete(map); }
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;
};

AdditiveKernelMap::AdditiveKernelMap(const AdditiveMapOptions& options) : options_(options) {
  options_.validate();
  table_ = std::make_shared<const Table>(options_);
}

void AdditiveKernelMap::map_value(double a, double* out) const {
  // VLFeat leaves n of the 2n + 1 values unwritten for inputs outside its table (header note).
  for (std::size_t j = 0; j < components(); ++j) out[j] = 0.0;
  if (!std::isfinite(a))
    throw std::invalid_argument("AdditiveKernelMap: input " + std::to_string(a) + ", expected a finite value");
  vl_homogeneouskernelmap_evaluate_d(table_->map, out, 1, a);
}

void AdditiveKernelMap::map_row(const double* x, std::size_t V, double* out) const {
  const std::size_t m = components();
  for (std::size_t d = 0; d < V; ++d) map_value(x[d], out + d * m);
}

std::vector<double> AdditiveKernelMap::map_rows(const double* X, std::size_t n, std::size_t V) const {
  const std::size_t width = V * components();
  std::vector<double> out(n * width);
  for (std::size_t i = 0; i < n; ++i) map_row(X + i * V, V, out.data() + i * width);
  return out;
}

std::vector<double> AdditiveKernelMap::relevance(const double* w, const double* x, std::size_t V) const {
  const std::size_t m = components();
  std::vector<double> psi(m), R(V, 0.0);
  for (std::size_t d = 0; d < V; ++d) {
    map_value(x[d], psi.data());
    double r = 0;
    for (std::size_t j = 0; j < m; ++j) r += w[d * m + j] * psi[j];
    R[d] = r;
  }
  return R;
}

}  // namespace bowlrp::svm
