#include <bowlrp/svm/additive_map_svm.h>

#include <stdexcept>
#include <string>

namespace bowlrp::svm {

AdditiveMapSvm::AdditiveMapSvm(std::size_t dim, const AdditiveMapOptions& map, LinearSvm linear)
    : dim_(dim), map_(map), linear_(std::move(linear)) {
  if (dim_ == 0) throw std::invalid_argument("AdditiveMapSvm: dim 0, expected at least one histogram dimension");
  if (linear_.classes().empty()) throw std::invalid_argument("AdditiveMapSvm: no classes, expected at least one");
  if (linear_.dim() != dim_ * map_.components())
    throw std::invalid_argument("AdditiveMapSvm: linear head of dimension " + std::to_string(linear_.dim()) +
                                ", expected dim x (2 order + 1) = " + std::to_string(dim_) + " x " +
                                std::to_string(map_.components()) + " = " +
                                std::to_string(dim_ * map_.components()));
}

std::vector<double> AdditiveMapSvm::mapped(const double* x) const {
  std::vector<double> psi(dim_ * map_.components());
  map_.map_row(x, dim_, psi.data());
  return psi;
}

std::vector<double> AdditiveMapSvm::decision(const double* x) const { return linear_.decision(mapped(x).data()); }

double AdditiveMapSvm::decision(std::size_t cls, const double* x) const {
  if (cls >= linear_.classes().size())
    throw std::out_of_range("class index " + std::to_string(cls) + " out of range; the model has " +
                            std::to_string(linear_.classes().size()) + " classes");
  return linear_.decision(cls, mapped(x).data());
}

std::vector<double> AdditiveMapSvm::decision_batch(const double* X, std::size_t n, int threads) const {
  const std::vector<double> psi = map_.map_rows(X, n, dim_);
  return linear_.decision_batch(psi.data(), n, threads);
}

AdditiveMapSvm train_additive_map_one_vs_rest(const double* X, std::size_t n, std::size_t dim,
                                              const std::vector<int>& labels,
                                              const std::vector<std::string>& class_names,
                                              const AdditiveMapOptions& map, const TrainOptions& options,
                                              const ProgressFn& progress) {
  const AdditiveKernelMap psi_map(map);
  const std::vector<double> psi = psi_map.map_rows(X, n, dim);
  LinearSvm linear = train_linear_one_vs_rest(psi.data(), n, dim * psi_map.components(), labels, class_names,
                                              options, progress);
  return AdditiveMapSvm(dim, map, std::move(linear));
}

}  // namespace bowlrp::svm
