#include <bowlrp/decompose/conservation.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>

namespace bowlrp::decompose {

namespace {
std::string fmt(const char* label, double v) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "  %-30s %+.12g\n", label, v);
  return buf;
}
}  // namespace

double ConservationReport::end_to_end_error() const {
  return std::abs(f - sum_pixels - absorbed - absorbed_projection - absorbed_features - unassigned_pixels -
                  unassigned_features) /
         std::max(1.0, std::abs(f));
}

std::string ConservationReport::summary() const {
  char tol[32];
  std::snprintf(tol, sizeof tol, "%.3g", tolerance);
  std::string s = "conservation (" + to_string(method) + " svm rule, tolerance " + tol + "): " +
                  (ok() ? "OK"
                   : !finite ? "VIOLATED (not finite)"
                   : lower_layers_ok() && network_conserved ? "lower layers OK, svm layer not conserved"
                   : "VIOLATED") +
                  "\n";
  s += fmt("f(x)", f);
  s += fmt("sum_d R_d", sum_dimensions);
  s += fmt("absorbed (bias kept apart)", absorbed);
  s += fmt("residual f - sum R_d - absorbed", residual);
  s += fmt("relative residual", relative_residual);
  if (method != SvmMethod::exact) s += fmt("f(x0) at the root", f_root);
  if (method == SvmMethod::integrated_gradients) s += fmt("quadrature error", quadrature_error);
  for (std::size_t l = network_layers.size(); l-- > 0;) {
    const NetworkLayerCheck& c = network_layers[l];
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "  network layer %zu (%s, %zu -> %zu): entered %+.12g upper %+.12g lower %+.12g absorbed %+.12g "
                  "relative residual %.3g, %s\n",
                  l, c.rule.c_str(), c.inputs, c.outputs, c.entered, c.upper, c.lower, c.absorbed, c.relative_residual,
                  c.conserved ? "conserved" : !c.linked ? "NOT conserved (not linked)" : "NOT conserved");
    s += buf;
  }
  if (projection) {
    s += fmt("sum_d R_d on the encoding", sum_projected);
    s += fmt("absorbed (projection)", absorbed_projection);
    s += std::string("  projection ") + (projection_conserved ? "conserved" : "NOT conserved") + "\n";
  }
  s += fmt("sum_l R_l", sum_features);
  s += fmt("unassigned (no features)", unassigned_features);
  if (absorbed_features != 0) s += fmt("absorbed (Fisher epsilon)", absorbed_features);
  s += fmt("sum_q R_q", sum_pixels);
  s += fmt("unassigned (empty supports)", unassigned_pixels);
  s += std::string("  svm layer ") + (svm_conserved ? "conserved" : "NOT conserved") + ", feature layer " +
       (features_conserved ? "conserved" : "NOT conserved") + ", pixel layer " +
       (pixels_conserved ? "conserved" : "NOT conserved") +
       (network_layers.empty() ? "" : network_conserved ? ", network layers conserved" : ", network layers NOT conserved") +
       "\n";
  return s;
}

ConservationReport check_conservation(const Explanation& e, double rel_tol) {
  if (!(rel_tol >= 0) || !std::isfinite(rel_tol))
    throw std::invalid_argument("check_conservation: rel_tol = " + std::to_string(rel_tol) +
                                "; expected a finite value >= 0");
  ConservationReport r;
  r.f = e.dimensions.f;
  r.sum_dimensions = e.dimensions.total();
  r.sum_features = e.features.total();
  r.sum_pixels = e.pixels.total();
  r.absorbed = e.dimensions.absorbed;
  r.residual = r.f - r.sum_dimensions - r.absorbed;
  r.unassigned_features = e.features.unassigned;
  r.absorbed_features = e.features.absorbed;
  r.unassigned_pixels = e.pixels.unassigned;
  r.projection = e.projection.applied;
  r.sum_projected = r.projection ? e.projection.total() : r.sum_dimensions;
  r.absorbed_projection = e.projection.absorbed();
  r.method = e.dimensions.method;
  r.root_found = e.dimensions.root_found;
  r.f_root = e.dimensions.f_root;
  r.quadrature_error = e.dimensions.quadrature_error;
  r.finite = std::isfinite(r.f) && std::isfinite(r.sum_dimensions) && std::isfinite(r.sum_features) &&
             std::isfinite(r.sum_pixels) && std::isfinite(r.absorbed) && std::isfinite(r.residual) &&
             std::isfinite(r.unassigned_features) && std::isfinite(r.absorbed_features) && std::isfinite(r.unassigned_pixels) &&
             std::isfinite(r.sum_projected) && std::isfinite(r.absorbed_projection);
  const std::vector<LayerTotals>& layers = e.dimensions.layers;
  double layers_absorbed = 0.0;
  for (const LayerTotals& t : layers) {
    r.finite = r.finite && std::isfinite(t.upper) && std::isfinite(t.lower) && std::isfinite(t.absorbed);
    layers_absorbed += t.absorbed;
  }
  r.finite = r.finite && std::isfinite(layers_absorbed);
  r.relative_residual = r.finite ? std::abs(r.residual) / std::max(1.0, std::abs(r.f))
                                 : std::numeric_limits<double>::quiet_NaN();
  r.tolerance = rel_tol * std::max(1.0, std::abs(r.f));
  auto agree = [&](double a, double b) { return r.finite && std::abs(a - b) <= r.tolerance; };
  r.svm_conserved = agree(r.f, r.sum_dimensions + r.absorbed);
  r.projection_conserved = agree(r.sum_dimensions, r.sum_projected + r.absorbed_projection);
  r.projection_relative_residual =
      r.finite ? std::abs(r.sum_dimensions - r.sum_projected - r.absorbed_projection) / std::max(1.0, std::abs(r.f))
               : std::numeric_limits<double>::quiet_NaN();
  r.features_conserved = agree(r.sum_projected, r.sum_features + r.unassigned_features + r.absorbed_features);
  r.pixels_conserved = agree(r.sum_features, r.sum_pixels + r.unassigned_pixels);
  r.network_layers.resize(layers.size());
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const LayerTotals& t = layers[l];
    NetworkLayerCheck& c = r.network_layers[l];
    c.rule = t.rule;
    c.inputs = t.inputs;
    c.outputs = t.outputs;
    c.upper = t.upper;
    c.lower = t.lower;
    c.absorbed = t.absorbed;
    c.entered = l + 1 == layers.size() ? r.f : layers[l + 1].lower;
    const double balance = t.upper - t.lower - t.absorbed;
    c.relative_residual = r.finite && std::isfinite(balance) ? std::abs(balance) / std::max(1.0, std::abs(r.f))
                                                             : std::numeric_limits<double>::quiet_NaN();
    c.linked = agree(t.upper, c.entered) && (l > 0 || agree(t.lower, r.sum_dimensions));
    c.conserved = c.linked && agree(t.upper, t.lower + t.absorbed);
  }
  r.network_conserved = layers.empty() || (agree(layers_absorbed, r.absorbed) &&
                                           std::all_of(r.network_layers.begin(), r.network_layers.end(),
                                                       [](const NetworkLayerCheck& c) { return c.conserved; }));
  return r;
}

}  // namespace bowlrp::decompose
