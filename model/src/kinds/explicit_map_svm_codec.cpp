#include "kinds/explicit_map_svm_codec.h"

#include <algorithm>
#include <cmath>

namespace bowlrp::model::file_format {

using namespace bowlrp::svm;

namespace {

std::uint64_t components(const AdditiveMapOptions& map) { return 2 * static_cast<std::uint64_t>(map.order) + 1; }

// The largest |psi_j(a)| over |a| <= kMaxHistogram, scanned at 64 points an octave over VLFeat's table
// range (psi is 0 below 2^-19) and at the top, with a 2x margin for what the scan misses between its
// points (psi_j grows as sqrt(a) and oscillates slowly in log a).
double psi_bound(const AdditiveKernelMap& map) {
  std::vector<double> psi(map.components());
  double top = 0;
  for (int k = -20 * 64; k <= 0; ++k) {
    const double a = std::min(std::exp2(k / 64.0), kMaxHistogram);
    map.map_value(a, psi.data());
    for (double v : psi) top = std::max(top, std::abs(v));
  }
  map.map_value(kMaxHistogram, psi.data());
  for (double v : psi) top = std::max(top, std::abs(v));
  return 2 * top;
}

// Weights and biases within their bounds, and |b_c| + sum |w_c| max |psi| within the decision bound.
void check_map_head(const AdditiveKernelMap& map, std::size_t V, const std::vector<LinearClass>& classes,
                    const std::string& encoding) {
  const InputDomain& domain = domain_of(encoding);
  const std::size_t W = V * map.components();
  const double psi_max = psi_bound(map);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (classes[c].weights.size() != W)
      throw std::invalid_argument("classes[" + std::to_string(c) + "] has " + std::to_string(classes[c].weights.size()) +
                                  " weights: expected dim x (2 order + 1) = " + std::to_string(W));
    check_bias(classes[c].bias, c);
    double sum = 0;
    for (std::size_t i = 0; i < W; ++i) {
      const double w = classes[c].weights[i];
      if (!(std::abs(w) <= kMaxValue))
        out_of("weights[" + std::to_string(c) + "][" + std::to_string(i) + "]", w, "a value in [-1e+100, 1e+100]");
      sum += std::abs(w);
    }
    const double bound = std::abs(classes[c].bias) + sum * psi_max;
    if (!(bound <= kMaxDecision))
      decision_too_large(c, classes[c].name, bound, domain, "|bias| + sum |weights| x max |psi|");
  }
}

MapWindow window_from(const json& v, const std::string& name) {
  const std::string w = read_string(v, name);
  if (w == "uniform") return MapWindow::uniform;
  if (w == "rectangular") return MapWindow::rectangular;
  throw HeaderError(name + " = \"" + w + "\": expected \"uniform\" or \"rectangular\"");
}

}  // namespace

HeadCodec<AdditiveMapSvm>::Header HeadCodec<AdditiveMapSvm>::read_header(const json& hd, const std::string& scope,
                                                                          const Fields&) {
  object(hd, "head", scope + " with an explicit-map-svm head", {"kind", "map"});
  const json& m = object(hd.at("map"), "head.map", scope, {"kernel", "order", "period", "window"});
  Header h;
  const std::string kernel = read_string(m.at("kernel"), "head.map.kernel");
  if (kernel == "hik")
    h.map.kernel = KernelType::intersection;
  else if (kernel == "chi2")
    h.map.kernel = KernelType::chi2;
  else
    throw HeaderError("head.map.kernel = \"" + kernel + "\": expected \"hik\" or \"chi2\"");
  h.map.order = read_int(m.at("order"), "head.map.order", 1);
  if (h.map.order > 100)
    throw HeaderError("head.map.order = " + std::to_string(h.map.order) + ": expected an integer in [1, 100]");
  h.map.period = read_number(m.at("period"), "head.map.period");
  if (h.map.period == 0) throw HeaderError("head.map.period = 0: expected a value > 0, or < 0 for VLFeat's default");
  h.map.window = window_from(m.at("window"), "head.map.window");
  return h;
}

void HeadCodec<AdditiveMapSvm>::check_header(const Header& h, std::uint64_t V, std::size_t) {
  if (V > std::numeric_limits<std::uint64_t>::max() / components(h.map))
    throw HeaderError("dim " + std::to_string(V) + " x (2 head.map.order + 1) overflows");
}

std::vector<ArraySpec> HeadCodec<AdditiveMapSvm>::array_specs(const Header& h, std::uint64_t V, std::uint64_t C,
                                                              const Fields&) {
  return {{"weights", "<f8", {C, V * components(h.map)}, "[number of classes, dim x (2 head.map.order + 1)]"}};
}

void HeadCodec<AdditiveMapSvm>::check_room(const Header& h, std::uint64_t V, std::uint64_t C, std::uint64_t data_bytes,
                                           const Fields&) {
  const std::uint64_t W = V * components(h.map);
  if (C > data_bytes / 8 / W)
    throw HeaderError(std::to_string(C) + " classes: " + std::to_string(C) + " x " + std::to_string(W) +
                      " weights (dim x (2 head.map.order + 1)) cannot fit in the data section of " +
                      std::to_string(data_bytes) + " bytes");
}

std::shared_ptr<const AdditiveMapSvm> HeadCodec<AdditiveMapSvm>::read(Header&& h, const std::vector<std::string>& names,
                                                                      const std::vector<double>& biases,
                                                                      const DataSection& data, std::size_t V,
                                                                      const std::string& encoding, const Fields&) {
  const AdditiveKernelMap map(h.map);
  const std::size_t W = V * map.components();
  std::vector<LinearClass> classes;
  for (std::size_t c = 0; c < names.size(); ++c) classes.push_back({names[c], biases[c], data.row("weights", c, W)});
  check_map_head(map, V, classes, encoding);
  return std::make_shared<const AdditiveMapSvm>(V, h.map, LinearSvm(W, std::move(classes)));
}

std::vector<OutArray> HeadCodec<AdditiveMapSvm>::write(const AdditiveMapSvm& head, std::size_t V,
                                                       const std::string& encoding, const Fields&, json* head_json,
                                                       json* classes) {
  check_class_names(names_of(head.classes()));
  check_map_head(head.map(), V, head.classes(), encoding);
  std::vector<OutArray> arrays;
  arrays.push_back(class_rows("weights", V * head.map().components(), head.classes(), &LinearClass::weights));
  for (const LinearClass& c : head.classes()) classes->push_back({{"name", c.name}, {"bias", c.bias}});
  const AdditiveMapOptions& m = head.map().options();
  *head_json = {{"kind", "explicit-map-svm"},
                {"map",
                 {{"kernel", to_string(m.kernel)},
                  {"order", m.order},
                  {"period", m.period},
                  {"window", m.window == MapWindow::uniform ? "uniform" : "rectangular"}}}};
  return arrays;
}

}  // namespace bowlrp::model::file_format
