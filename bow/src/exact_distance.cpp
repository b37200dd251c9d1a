#include "exact_distance.h"

#include <cmath>

namespace bowlrp::bow::detail {

// On x86-64 an FMA clone is selected at load time when the CPU has FMA; the default clone calls
// the correctly rounded libm fma, so both give the same bits.
BOWLRP_CLONES("fma")
double exact_dist2(const float* x, const float* c, int dim) {
  constexpr int L = 8;
  double s[L] = {0, 0, 0, 0, 0, 0, 0, 0};
  int j = 0;
  for (; j + L <= dim; j += L)
    for (int l = 0; l < L; ++l) {
      const double d = static_cast<double>(x[j + l]) - static_cast<double>(c[j + l]);
      s[l] = std::fma(d, d, s[l]);
    }
  for (int l = 0; j < dim; ++j, ++l) {
    const double d = static_cast<double>(x[j]) - static_cast<double>(c[j]);
    s[l] = std::fma(d, d, s[l]);
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

}  // namespace bowlrp::bow::detail
