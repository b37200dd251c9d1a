#include <bowlrp/core/dot.h>

namespace bowlrp::core {

double fixed_order_affine(double b, const double* w, const double* x, std::size_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += w[i] * x[i];
    s1 += w[i + 1] * x[i + 1];
    s2 += w[i + 2] * x[i + 2];
    s3 += w[i + 3] * x[i + 3];
  }
  if (i < n) s0 += w[i] * x[i];
  if (i + 1 < n) s1 += w[i + 1] * x[i + 1];
  if (i + 2 < n) s2 += w[i + 2] * x[i + 2];
  return b + ((s0 + s1) + (s2 + s3));
}

}  // namespace bowlrp::core
