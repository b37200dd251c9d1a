// The mean of a metric over images with a confidence interval, for the tables of explanation quality.
//
// For values v_1 .. v_n (one per image; NaN / inf refused):
//   mean = (1/n) sum_i v_i                       (summed in the given order: deterministic)
//   sd   = sqrt( sum_i (v_i - mean)^2 / (n - 1) ) (sample standard deviation)
//   half = t_{(1 + level)/2, n-1} * sd / sqrt(n)   (Student's t interval: mean ± half)
// so that [mean - half, mean + half] covers the population mean with probability `level` when the
// per-image values are independent and roughly normal (for the means over hundreds of images used in
// reports the t and normal quantiles agree to 1%). With n = 1 the spread is unknown: sd and half are
// NaN (JSON null). With n = 0 everything is NaN and n = 0.
#pragma once

#include <cstddef>
#include <vector>

namespace bowlrp::evaluation {

/// A mean over images and its confidence interval mean ± half_width.
struct MeanInterval {
  std::size_t n = 0;        ///< values averaged
  double mean = 0.0;        ///< their mean (NaN when n = 0)
  double sd = 0.0;          ///< sample standard deviation (NaN when n < 2)
  double half_width = 0.0;  ///< t quantile * sd / sqrt(n) (NaN when n < 2)
  double level = 0.95;      ///< coverage of the interval
};

/// Mean, sample standard deviation and Student-t interval at `level` (in (0, 1)) of the values;
/// throws std::invalid_argument for a non-finite value or a level outside (0, 1).
MeanInterval mean_interval(const std::vector<double>& values, double level = 0.95);

}  // namespace bowlrp::evaluation
