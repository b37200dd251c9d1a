#include "kinds/network_codec.h"

namespace bowlrp::model::file_format {

namespace {

constexpr std::uint64_t kAnySize = std::numeric_limits<std::uint64_t>::max();

// The same for a network head: its sizes (1 .. 64 layers, n_0 = dim, n_1 .. n_L in [1, 2^20], n_L =
// one output per class), every weight and bias within 1e100, and for every neuron j of every layer l
//   m_lj = |b_lj| + sum_i |w_lji| max |a_{l-1,i}|  <=  1e150,
// where a_0 = x ranges over the encoding's box ([0, 1]^dim or [-1, 1]^dim) and the ranges of the
// hidden activations follow by interval arithmetic: z_lj lies in [b_lj + sum_i min(w_lji lo_i, w_lji hi_i),
// b_lj + sum_i max(w_lji lo_i, w_lji hi_i)] for a_{l-1,i} in [lo_i, hi_i], and a_lj = max(0, z_lj) in
// [max(0, lo), max(0, hi)]. m_lj bounds |z_lj|, every partial sum of it and the sums of its positive
// and of its negative terms apart (as the alpha-beta rule forms them), so the forward pass and the
// relevance of every layer stay finite; for L = 1 it is the linear head's bound.
void check_network_head(const std::vector<nn::DenseLayer>& layers, std::size_t V, const std::vector<std::string>& names,
                        const std::string& encoding) {
  const std::size_t L = layers.size();
  if (L == 0 || L > kMaxLayers)
    throw std::invalid_argument("head.layers = " + std::to_string(L) + ": expected 1 .. " + std::to_string(kMaxLayers) +
                                " dense layers");
  if (layers.front().inputs != V)
    throw std::invalid_argument("head.sizes[0] = " + std::to_string(layers.front().inputs) + ": expected dim = " +
                                std::to_string(V));
  if (layers.back().outputs != names.size())
    throw std::invalid_argument("head.sizes[" + std::to_string(L) + "] = " + std::to_string(layers.back().outputs) +
                                ": expected the number of classes, " + std::to_string(names.size()));
  for (std::size_t l = 0; l < L; ++l) {
    const nn::DenseLayer& layer = layers[l];
    if (layer.outputs == 0 || layer.outputs > kMaxWidth)
      throw std::invalid_argument("head.sizes[" + std::to_string(l + 1) + "] = " + std::to_string(layer.outputs) +
                                  ": expected an integer in [1, " + std::to_string(kMaxWidth) + "]");
    if ((l > 0 && layer.inputs != layers[l - 1].outputs) || layer.weights.size() != layer.outputs * layer.inputs ||
        layer.biases.size() != layer.outputs)
      throw std::invalid_argument("layer " + std::to_string(l + 1) + " of the network has " +
                                  std::to_string(layer.weights.size()) + " weights and " +
                                  std::to_string(layer.biases.size()) + " biases for " + std::to_string(layer.inputs) +
                                  " inputs and " + std::to_string(layer.outputs) + " outputs: expected head.sizes[" +
                                  std::to_string(l + 1) + "] x head.sizes[" + std::to_string(l) + "] and head.sizes[" +
                                  std::to_string(l + 1) + "]");
  }
  const InputDomain& domain = domain_of(encoding);
  std::vector<double> lo(V, domain.lo), hi(V, domain.hi);  // the range of each input of the layer
  for (std::size_t l = 0; l < L; ++l) {
    const nn::DenseLayer& layer = layers[l];
    const std::string wn = "weights_" + std::to_string(l + 1), bn = "biases_" + std::to_string(l + 1);
    check_range(layer.weights, wn, layer.inputs, -kMaxValue, kMaxValue, "a value in [-1e+100, 1e+100]");
    check_range(layer.biases, bn, 0, -kMaxValue, kMaxValue, "a value in [-1e+100, 1e+100]");
    const bool last = l + 1 == L;
    std::vector<double> reach(layer.inputs);  // max |a_{l-1,i}|
    for (std::size_t i = 0; i < layer.inputs; ++i) reach[i] = std::max(std::abs(lo[i]), std::abs(hi[i]));
    std::vector<double> next_lo(layer.outputs), next_hi(layer.outputs);
    for (std::size_t j = 0; j < layer.outputs; ++j) {
      const double b = layer.biases[j];
      const double* w = layer.weights.data() + j * layer.inputs;
      double z_lo = b, z_hi = b, m = std::abs(b);
      for (std::size_t i = 0; i < layer.inputs; ++i) {
        if (w[i] >= 0) {
          z_lo += w[i] * lo[i];
          z_hi += w[i] * hi[i];
        } else {
          z_lo += w[i] * hi[i];
          z_hi += w[i] * lo[i];
        }
        m += std::abs(w[i]) * reach[i];
      }
      if (!(m <= kMaxDecision)) {
        const std::string J = std::to_string(j);
        const std::string through = l == 1 ? "layer 1" : "layers 1 .. " + std::to_string(l);
        const std::string how = "|" + bn + "[" + J + "]| + sum_i |" + wn + "[" + J + "][i]| x max |input i|, " +
                                (l == 0 ? "over the encoding's range"
                                        : "the inputs' ranges by interval arithmetic through " + through);
        if (last) decision_too_large(j, names[j], m, domain, how);
        throw std::invalid_argument("neuron " + std::to_string(j) + " of layer " + std::to_string(l + 1) + " (" + wn +
                                    "[" + std::to_string(j) + "], " + bn + "[" + std::to_string(j) +
                                    "]) can reach a pre-activation of magnitude " + number_text(m) + " on " +
                                    domain.vectors + " (" + how + "): expected at most 1e+150");
      }
      next_lo[j] = std::max(0.0, z_lo);
      next_hi[j] = std::max(0.0, z_hi);
    }
    lo.swap(next_lo);
    hi.swap(next_hi);
  }
}

}  // namespace

HeadCodec<nn::Network>::Header HeadCodec<nn::Network>::read_header(const json& hd, const std::string& scope,
                                                                   const Fields&) {
  object(hd, "head", scope + " with an mlp head", {"kind", "layers", "sizes"});
  const std::uint64_t L = read_uint(hd.at("layers"), "head.layers", 1, kMaxLayers);
  const json& sizes = hd.at("sizes");
  if (!sizes.is_array() || sizes.size() != L + 1)
    throw HeaderError("head.sizes = " + brief(sizes) + ": expected an array of head.layers + 1 = " +
                      std::to_string(L + 1) + " integers [dim, n_1, ..., n_L = number of classes]");
  Header h;
  h.sizes.push_back(read_uint(sizes[0], "head.sizes[0]", 1, kAnySize));
  for (std::size_t k = 1; k <= L; ++k) h.sizes.push_back(read_uint(sizes[k], at("head.sizes", k), 1, kMaxWidth));
  return h;
}

void HeadCodec<nn::Network>::check_header(const Header& h, std::uint64_t V, std::size_t C) {
  if (h.sizes.front() != V)
    throw HeaderError("head.sizes[0] = " + std::to_string(h.sizes.front()) + ": expected dim = " + std::to_string(V));
  if (h.sizes.back() != C)
    throw HeaderError(at("head.sizes", h.sizes.size() - 1) + " = " + std::to_string(h.sizes.back()) +
                      ": expected the number of classes, " + std::to_string(C));
}

std::vector<ArraySpec> HeadCodec<nn::Network>::array_specs(const Header& h, std::uint64_t, std::uint64_t,
                                                           const Fields&) {
  std::vector<ArraySpec> s;
  for (std::size_t k = 1; k < h.sizes.size(); ++k) {
    const std::string n = std::to_string(k), prev = std::to_string(k - 1);
    s.push_back({"weights_" + n, "<f8", {h.sizes[k], h.sizes[k - 1]}, "[head.sizes[" + n + "], head.sizes[" + prev + "]]"});
    s.push_back({"biases_" + n, "<f8", {h.sizes[k]}, "[head.sizes[" + n + "]]"});
  }
  return s;
}

void HeadCodec<nn::Network>::check_room(const Header& h, std::uint64_t, std::uint64_t, std::uint64_t data_bytes,
                                        const Fields&) {
  // The layers' doubles, counted against what the data section holds: n_l <= 2^20 and each count
  // is compared before it is formed, so nothing overflows.
  std::uint64_t room = data_bytes / 8;
  for (std::size_t k = 1; k < h.sizes.size(); ++k) {
    const std::uint64_t rows = h.sizes[k], cols = h.sizes[k - 1];
    if (rows > room || cols > (room - rows) / rows)
      throw HeaderError(at("head.sizes", k) + " = " + std::to_string(rows) + ": layer " + std::to_string(k) + "'s " +
                        std::to_string(rows) + " x " + std::to_string(cols) + " weights and " + std::to_string(rows) +
                        " biases cannot fit in the data section of " + std::to_string(data_bytes) +
                        " bytes (with the layers before it)");
    room -= rows * cols + rows;
  }
}

std::shared_ptr<const nn::Network> HeadCodec<nn::Network>::read(Header&& h, const std::vector<std::string>& names,
                                                                const std::vector<double>&, const DataSection& data,
                                                                std::size_t V, const std::string& encoding,
                                                                const Fields&) {
  std::vector<nn::DenseLayer> layers;
  for (std::size_t k = 1; k < h.sizes.size(); ++k) {
    nn::DenseLayer layer;
    layer.inputs = static_cast<std::size_t>(h.sizes[k - 1]);
    layer.outputs = static_cast<std::size_t>(h.sizes[k]);
    layer.weights = data.take<double>("weights_" + std::to_string(k));
    layer.biases = data.take<double>("biases_" + std::to_string(k));
    layers.push_back(std::move(layer));
  }
  check_network_head(layers, V, names, encoding);
  return std::make_shared<const nn::Network>(std::move(layers), names);
}

std::vector<OutArray> HeadCodec<nn::Network>::write(const nn::Network& net, std::size_t V, const std::string& encoding,
                                                    const Fields&, json* head_json, json* classes) {
  // The output biases are stored once, as biases_L: the classes carry only their names.
  check_class_names(net.class_names());
  check_network_head(net.layers(), V, net.class_names(), encoding);
  std::vector<OutArray> arrays;
  std::vector<std::size_t> sizes = {V};
  for (std::size_t k = 0; k < net.layers().size(); ++k) {
    const nn::DenseLayer& layer = net.layers()[k];
    const std::string n = std::to_string(k + 1);
    arrays.push_back(out_array("weights_" + n, {layer.outputs, layer.inputs}, layer.weights));
    arrays.push_back(out_array("biases_" + n, {layer.outputs}, layer.biases));
    sizes.push_back(layer.outputs);
  }
  for (const std::string& name : net.class_names()) classes->push_back({{"name", name}});
  *head_json = {{"kind", "mlp"}, {"layers", net.layers().size()}, {"sizes", sizes}};
  return arrays;
}

}  // namespace bowlrp::model::file_format
