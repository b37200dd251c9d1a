#include <bowlrp/evaluation/mean_interval.h>

#include <bowlrp/core/option_schema.h>

#include <boost/math/distributions/students_t.hpp>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace bowlrp::evaluation {

MeanInterval mean_interval(const std::vector<double>& values, double level) {
  if (!(level > 0.0 && level < 1.0))
    throw std::invalid_argument("mean_interval: level = " + core::format_real(level) + "; expected a value in (0, 1)");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  MeanInterval m;
  m.level = level;
  m.n = values.size();
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!std::isfinite(values[i]))
      throw std::invalid_argument("mean_interval: value " + std::to_string(i) + " is " + core::format_real(values[i]) +
                                  "; expected finite values");
  if (m.n == 0) {
    m.mean = m.sd = m.half_width = nan;
    return m;
  }
  double sum = 0.0;
  for (double v : values) sum += v;
  m.mean = sum / static_cast<double>(m.n);
  if (m.n < 2) {
    m.sd = m.half_width = nan;
    return m;
  }
  double ss = 0.0;
  for (double v : values) ss += (v - m.mean) * (v - m.mean);
  m.sd = std::sqrt(ss / static_cast<double>(m.n - 1));
  const boost::math::students_t t(static_cast<double>(m.n - 1));
  m.half_width = boost::math::quantile(t, 0.5 + level / 2.0) * m.sd / std::sqrt(static_cast<double>(m.n));
  return m;
}

}  // namespace bowlrp::evaluation
