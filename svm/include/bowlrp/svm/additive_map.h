// The explicit feature map of an additive homogeneous kernel (Vedaldi & Zisserman 2012, "Efficient
// additive kernels via explicit feature maps", IEEE TPAMI 34(3)), through VLFeat's homkermap.
//
// An additive kernel k(x, y) = sum_d k_d(x_d, y_d) whose term is homogeneous, k_d(a, b) =
// sqrt(a b) K(log b - log a), has the spectrum kappa(lambda) (the Fourier transform of K):
//   intersection  k_d = min(a, b),        kappa(lambda) = (2 / pi) / (1 + 4 lambda^2)
//   chi2          k_d = 2ab / (a + b),    kappa(lambda) = sech(pi lambda)
// (kernel.h's "hik" and "chi2"). Sampling the spectrum with step L = 2 pi / period at n frequencies gives
// a map psi: R -> R^(2n+1) with psi(a) . psi(b) ~ k_d(a, b):
//   psi_0(a)      = sqrt(a L kappa_0)
//   psi_(2j-1)(a) = sqrt(2 a L kappa_j) cos(j L log a),   psi_(2j)(a) = sqrt(2 a L kappa_j) sin(j L log a),
// j = 1 .. n, kappa_j = kappa(j L) (uniform window) or kappa convolved with the window of the
// period (rectangular window: VLFeat's recommendation and the default; frequencies where it is 0
// are skipped). psi(-a) = -psi(a), psi(0) = 0. A histogram x of V values maps to
//   Psi(x) = (psi(x_1), ..., psi(x_V)),   V (2n + 1) values, dimension d's block at d (2n + 1),
// and Psi(x) . Psi(y) ~ k(x, y). A linear function of the map is a sum of per-dimension terms,
//   f(x) = b + w . Psi(x) = b + sum_d R_d,   R_d = sum_j w_(d(2n+1)+j) psi_j(x_d),
// so a linear head on Psi(x) is explained exactly per histogram dimension (relevance()): the
// intersection / chi2 model keeps conservation to rounding, as the kernel SVM's exact rule does.
//
// VLFeat tabulates psi on 2^-20 <= |a| < 2^8, octave by octave, with 8 + 8n subdivisions per octave,
// and interpolates linearly between entries; |a| < 2^-19 and |a| >= 2^8 = 256 map to 0 (inputs are
// normalised histograms, in [0, 1]). VLFeat 0.9.21 writes only n + 1 of the 2n + 1 values for those
// inputs; the wrapper writes the zeros itself.
#pragma once

#include <bowlrp/svm/kernel.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace bowlrp::svm {

/// How the spectrum is truncated (VLFeat's VlHomogeneousKernelMapWindowType).
enum class MapWindow { uniform, rectangular };

/// Options of the explicit map.
struct AdditiveMapOptions {
  KernelType kernel = KernelType::chi2;        ///< intersection ("hik") or chi2; no other kernel has this map
  int order = 1;                               ///< n: 2n + 1 values per dimension (1 .. 100)
  double period = -1;                          ///< spectrum period; < 0: VLFeat's default for the kernel, order and window
  MapWindow window = MapWindow::rectangular;   ///< spectrum window
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
};

/// The explicit map Psi of an additive homogeneous kernel (header note); immutable, thread-safe.
class AdditiveKernelMap {
 public:
  /// Builds VLFeat's table; throws std::invalid_argument for bad options, std::bad_alloc if VLFeat
  /// cannot allocate it.
  explicit AdditiveKernelMap(const AdditiveMapOptions& options);
  /// The options it was built with.
  const AdditiveMapOptions& options() const { return options_; }
  /// Values per input dimension, 2n + 1.
  std::size_t components() const { return 2 * static_cast<std::size_t>(options_.order) + 1; }
  /// psi(a): components() values into out.
  void map_value(double a, double* out) const;
  /// Psi(x) of one row of V values: V components() values into out.
  void map_row(const double* x, std::size_t V, double* out) const;
  /// Psi of n rows (n x V, row-major) as n x (V components()), row-major.
  std::vector<double> map_rows(const double* X, std::size_t n, std::size_t V) const;
  /// Per-dimension relevance R_d = sum_j w_(d(2n+1)+j) psi_j(x_d) of f(x) = b + w . Psi(x); w has V
  /// components() values. sum_d R_d + b = f(x) up to rounding.
  std::vector<double> relevance(const double* w, const double* x, std::size_t V) const;

 private:
  struct Table;
  AdditiveMapOptions options_;
  std::shared_ptr<const Table> table_;
};

}  // namespace bowlrp::svm
