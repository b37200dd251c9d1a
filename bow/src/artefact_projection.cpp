#include <bowlrp/bow/artefact_projection.h>

#include <cmath>
#include <stdexcept>
#include <utility>

namespace bowlrp::bow {

std::string to_string(ProjectionClamp clamp) {
  switch (clamp) {
    case ProjectionClamp::none: return "none";
    case ProjectionClamp::non_negative: return "non-negative";
  }
  throw std::invalid_argument("ProjectionClamp: value " + std::to_string(static_cast<int>(clamp)) +
                              " out of range: expected none or non-negative");
}

ProjectionClamp projection_clamp_from_string(const std::string& name) {
  if (name == "none") return ProjectionClamp::none;
  if (name == "non-negative") return ProjectionClamp::non_negative;
  throw std::invalid_argument("unknown projection clamp \"" + name + "\": expected none or non-negative");
}

ArtefactProjection::ArtefactProjection(std::vector<double> direction, std::vector<double> reference,
                                       ProjectionClamp clamp)
    : v_(std::move(direction)), z_(std::move(reference)), clamp_(clamp) {
  to_string(clamp_);  // refuses values out of range
  if (v_.empty()) throw std::invalid_argument("ArtefactProjection: the direction is empty: expected V >= 1 values");
  if (z_.size() != v_.size())
    throw std::invalid_argument("ArtefactProjection: the reference has " + std::to_string(z_.size()) +
                                " values but the direction " + std::to_string(v_.size()) + ": expected the same length");
  // The norm without overflow: scaled by the largest |v_d|.
  double big = 0;
  for (std::size_t d = 0; d < v_.size(); ++d) {
    if (!std::isfinite(v_[d])) throw std::invalid_argument("ArtefactProjection: direction[" + std::to_string(d) + "] is not finite");
    if (!std::isfinite(z_[d])) throw std::invalid_argument("ArtefactProjection: reference[" + std::to_string(d) + "] is not finite");
    big = std::max(big, std::abs(v_[d]));
  }
  if (big == 0) throw std::invalid_argument("ArtefactProjection: the direction is all zeros: expected a non-zero vector");
  double ss = 0;
  for (double x : v_) ss += (x / big) * (x / big);
  const double norm = big * std::sqrt(ss);
  for (double& x : v_) x /= norm;
  offset_ = 0;
  for (std::size_t d = 0; d < v_.size(); ++d) offset_ += v_[d] * z_[d];
}

ArtefactProjection ArtefactProjection::from_encodings(const double* with, std::size_t n_with, const double* without,
                                                      std::size_t n_without, std::size_t V, ProjectionClamp clamp) {
  if (V == 0) throw std::invalid_argument("ArtefactProjection::from_encodings: V = 0: expected encodings of >= 1 values");
  if (n_with == 0 || n_without == 0)
    throw std::invalid_argument("ArtefactProjection::from_encodings: " + std::to_string(n_with) + " encodings with the artefact and " +
                                std::to_string(n_without) + " without: expected at least one of each");
  std::vector<double> a(V, 0.0), z(V, 0.0);
  for (std::size_t i = 0; i < n_with; ++i)
    for (std::size_t d = 0; d < V; ++d) a[d] += with[i * V + d];
  for (std::size_t i = 0; i < n_without; ++i)
    for (std::size_t d = 0; d < V; ++d) z[d] += without[i * V + d];
  std::vector<double> diff(V);
  for (std::size_t d = 0; d < V; ++d) {
    a[d] /= static_cast<double>(n_with);
    z[d] /= static_cast<double>(n_without);
    diff[d] = a[d] - z[d];
    if (!std::isfinite(diff[d]))
      throw std::invalid_argument("ArtefactProjection::from_encodings: dimension " + std::to_string(d) +
                                  " of the encodings is not finite");
  }
  bool any = false;
  for (double x : diff) any |= x != 0;
  if (!any)
    throw std::invalid_argument("ArtefactProjection::from_encodings: the encodings with and without the artefact have the "
                                "same mean: no direction to project out (is the artefact visible to the encoding?)");
  return ArtefactProjection(std::move(diff), std::move(z), clamp);
}

ArtefactProjection ArtefactProjection::with_clamp(ProjectionClamp clamp) const {
  ArtefactProjection p = *this;
  to_string(clamp);
  p.clamp_ = clamp;
  return p;
}

double ArtefactProjection::coordinate(const double* phi) const {
  double t = 0;
  for (std::size_t d = 0; d < v_.size(); ++d) t += v_[d] * phi[d];
  return t - offset_;
}

void ArtefactProjection::project(const double* phi, double* out) const {
  const double t = coordinate(phi);
  for (std::size_t d = 0; d < v_.size(); ++d) {
    const double y = phi[d] - v_[d] * t;
    out[d] = clamp_ == ProjectionClamp::non_negative && y < 0 ? 0.0 : y;
  }
}

ProjectionTrace ArtefactProjection::trace(const double* phi) const {
  ProjectionTrace tr;
  const std::size_t V = v_.size();
  tr.input.assign(phi, phi + V);
  tr.t = coordinate(phi);
  tr.output.resize(V);
  if (clamp_ == ProjectionClamp::non_negative) tr.clamped.assign(V, 0);
  for (std::size_t d = 0; d < V; ++d) {
    const double y = phi[d] - v_[d] * tr.t;
    if (clamp_ == ProjectionClamp::non_negative && y < 0) {
      tr.output[d] = 0.0;
      tr.clamped[d] = 1;
    } else {
      tr.output[d] = y;
    }
  }
  return tr;
}

std::vector<double> ArtefactProjection::project_batch(const double* X, std::size_t n) const {
  const std::size_t V = v_.size();
  std::vector<double> out(n * V);
  for (std::size_t i = 0; i < n; ++i) project(X + i * V, out.data() + i * V);
  return out;
}

std::vector<double> ArtefactProjection::pull_back(const std::vector<double>& g, const ProjectionTrace& trace) const {
  const std::size_t V = v_.size();
  if (g.size() != V || trace.output.size() != V)
    throw std::invalid_argument("ArtefactProjection::pull_back: a gradient of " + std::to_string(g.size()) +
                                " values for a " + std::to_string(V) + "-dimensional projection");
  std::vector<double> out = g;
  if (!trace.clamped.empty())
    for (std::size_t d = 0; d < V; ++d)
      if (trace.clamped[d]) out[d] = 0;
  double vg = 0;
  for (std::size_t d = 0; d < V; ++d) vg += v_[d] * out[d];
  for (std::size_t d = 0; d < V; ++d) out[d] -= v_[d] * vg;
  return out;
}

core::Digest ArtefactProjection::fingerprint() const {
  core::Hasher h;
  h.field("artefact-projection");
  h.field(to_string(clamp_));
  h.update(v_.data(), v_.size() * sizeof(double));
  h.update(z_.data(), z_.size() * sizeof(double));
  return h.digest();
}

}  // namespace bowlrp::bow
