#include <bowlrp/decompose/projection_relevance.h>

#include <stdexcept>
#include <string>

namespace bowlrp::decompose {

double ProjectionRelevance::total() const {
  double s = 0;
  for (double r : R) s += r;
  return s;
}

ProjectionRelevance relevance_projection(const bow::ArtefactProjection& projection, const bow::ProjectionTrace& trace,
                                         const std::vector<double>& upper) {
  const std::size_t V = projection.dimension();
  if (trace.input.size() != V || trace.output.size() != V || upper.size() != V ||
      (!trace.clamped.empty() && trace.clamped.size() != V))
    throw std::invalid_argument("relevance_projection: a trace of " + std::to_string(trace.input.size()) +
                                " values and " + std::to_string(upper.size()) + " relevances for a " +
                                std::to_string(V) + "-dimensional projection: expected V of each");
  const std::vector<double>& v = projection.direction();
  ProjectionRelevance out;
  out.applied = true;
  std::vector<double> rho(V, 0.0);
  double vrho = 0;
  for (std::size_t k = 0; k < V; ++k) {
    out.upper += upper[k];
    if (!trace.clamped.empty() && trace.clamped[k]) {
      out.absorbed_clamp += upper[k];
    } else if (trace.output[k] == 0.0) {
      out.absorbed_zero += upper[k];
    } else {
      rho[k] = upper[k] / trace.output[k];
      vrho += v[k] * rho[k];
    }
  }
  out.R.resize(V);
  for (std::size_t d = 0; d < V; ++d) out.R[d] = trace.input[d] * (rho[d] - v[d] * vrho);
  out.absorbed_bias = projection.offset() * vrho;
  return out;
}

}  // namespace bowlrp::decompose
