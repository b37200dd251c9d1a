#include <bowlrp/decompose/network_relevance.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>

namespace bowlrp::decompose {

namespace {

// Every rule below runs j (the rows of W, the layer's outputs) outer and i inner, adding each
// message R_{i<-j} to R_i at once (the messages are never stored), sequentially in increasing j and
// i: the numbers depend on nothing but the inputs. A neuron with R_j = 0 sends and keeps nothing.

// z rule (Eq 19): R_{i<-j} = z_ij / z_j R_j; keeps R_j b_j / z_j, or R_j when z_j = 0.
void z_rule(const nn::DenseLayer& layer, const double* a, const double* z, const double* R_upper, LayerRelevance& out) {
  const std::size_t n = layer.inputs;
  for (std::size_t j = 0; j < layer.outputs; ++j) {
    const double Rj = R_upper[j];
    if (Rj == 0.0) continue;
    if (z[j] == 0.0) {
      out.absorbed += Rj;
      continue;
    }
    const double s = Rj / z[j];
    const double* w = layer.weights.data() + j * n;
    for (std::size_t i = 0; i < n; ++i) out.R[i] += a[i] * w[i] * s;
    out.absorbed += layer.biases[j] * s;
  }
}

// ε rule (Eq 20): R_{i<-j} = z_ij / (z_j + ε s_j) R_j, s_j = sign z_j (sign 0 = +1); keeps
// R_j (b_j + ε s_j) / (z_j + ε s_j). The denominator is never 0 (|z_j + ε s_j| >= ε).
void epsilon_rule(const nn::DenseLayer& layer, const double* a, const double* z, const double* R_upper, double epsilon,
                  LayerRelevance& out) {
  const std::size_t n = layer.inputs;
  for (std::size_t j = 0; j < layer.outputs; ++j) {
    const double Rj = R_upper[j];
    if (Rj == 0.0) continue;
    const double eps = z[j] >= 0.0 ? epsilon : -epsilon;
    const double s = Rj / (z[j] + eps);
    const double* w = layer.weights.data() + j * n;
    for (std::size_t i = 0; i < n; ++i) out.R[i] += a[i] * w[i] * s;
    out.absorbed += (layer.biases[j] + eps) * s;
  }
}

// αβ rule (Eq 21): z_j^± = Σ_i z_ij^± + b_j^± (first pass over the row), then
// R_{i<-j} = (α z_ij⁺ / z_j⁺ - β z_ij⁻ / z_j⁻) R_j (second pass); a part whose z_j^± is 0 sends
// nothing. Keeps R_j [α (z_j⁺ > 0 ? b_j⁺ / z_j⁺ : 1) - β (z_j⁻ < 0 ? b_j⁻ / z_j⁻ : 1)].
void alpha_beta_rule(const nn::DenseLayer& layer, const double* a, const double* R_upper, const AlphaBetaRule& rule,
                     LayerRelevance& out) {
  const std::size_t n = layer.inputs;
  for (std::size_t j = 0; j < layer.outputs; ++j) {
    const double Rj = R_upper[j];
    if (Rj == 0.0) continue;
    const double* w = layer.weights.data() + j * n;
    const double b = layer.biases[j];
    const double b_pos = std::max(b, 0.0), b_neg = std::min(b, 0.0);
    double z_pos = 0.0, z_neg = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double zij = a[i] * w[i];
      if (zij > 0.0) z_pos += zij;
      else z_neg += zij;
    }
    z_pos += b_pos;
    z_neg += b_neg;
    const double sp = z_pos > 0.0 ? rule.alpha * Rj / z_pos : 0.0;  // α R_j / z_j⁺
    const double sn = z_neg < 0.0 ? rule.beta * Rj / z_neg : 0.0;   // β R_j / z_j⁻
    for (std::size_t i = 0; i < n; ++i) {
      const double zij = a[i] * w[i];
      if (zij > 0.0) out.R[i] += zij * sp;
      else if (zij < 0.0) out.R[i] -= zij * sn;
    }
    const double kept_pos = z_pos > 0.0 ? b_pos * sp : rule.alpha * Rj;
    const double kept_neg = z_neg < 0.0 ? b_neg * sn : rule.beta * Rj;
    out.absorbed += kept_pos - kept_neg;
  }
}

// flat rule: R_{i<-j} = R_j / n_in; keeps nothing.
void flat_rule(const nn::DenseLayer& layer, const double* R_upper, LayerRelevance& out) {
  const std::size_t n = layer.inputs;
  for (std::size_t j = 0; j < layer.outputs; ++j) {
    const double Rj = R_upper[j];
    if (Rj == 0.0) continue;
    const double s = Rj / static_cast<double>(n);
    for (std::size_t i = 0; i < n; ++i) out.R[i] += s;
  }
}

// w² rule: R_{i<-j} = w_ij² / Σ_i' w_i'j² R_j; keeps R_j when every w_ij² is 0.
void w_square_rule(const nn::DenseLayer& layer, const double* R_upper, LayerRelevance& out) {
  const std::size_t n = layer.inputs;
  for (std::size_t j = 0; j < layer.outputs; ++j) {
    const double Rj = R_upper[j];
    if (Rj == 0.0) continue;
    const double* w = layer.weights.data() + j * n;
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += w[i] * w[i];
    if (sum == 0.0) {
      out.absorbed += Rj;
      continue;
    }
    const double s = Rj / sum;
    for (std::size_t i = 0; i < n; ++i) out.R[i] += w[i] * w[i] * s;
  }
}

void check_class_and_trace(const nn::Network& network, const nn::NetworkTrace& trace, std::size_t cls,
                           const char* who) {
  if (cls >= network.classes())
    throw std::out_of_range(std::string(who) + ": class index " + std::to_string(cls) +
                            " out of range; the network has " + std::to_string(network.classes()) + " classes");
  const std::size_t L = network.layers().size();
  if (trace.inputs.size() != L || trace.pre_activations.size() != L)
    throw std::invalid_argument(std::string(who) + ": the trace has " + std::to_string(trace.inputs.size()) +
                                " layer inputs and " + std::to_string(trace.pre_activations.size()) +
                                " pre-activations; expected " + std::to_string(L) + " of each (the network's layers)");
  for (std::size_t l = 0; l < L; ++l) {
    const nn::DenseLayer& layer = network.layers()[l];
    if (trace.inputs[l].size() != layer.inputs || trace.pre_activations[l].size() != layer.outputs)
      throw std::invalid_argument(std::string(who) + ": the trace's layer " + std::to_string(l + 1) + " has " +
                                  std::to_string(trace.inputs[l].size()) + " inputs and " +
                                  std::to_string(trace.pre_activations[l].size()) + " pre-activations; expected " +
                                  std::to_string(layer.inputs) + " and " + std::to_string(layer.outputs));
  }
}

double sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

LayerRelevance relevance_dense(const nn::DenseLayer& layer, const double* a, const double* z, const double* R_upper,
                               const LayerRule& rule) {
  validate(rule);
  if (layer.inputs == 0 || layer.outputs == 0 || layer.weights.size() != layer.inputs * layer.outputs ||
      layer.biases.size() != layer.outputs)
    throw std::invalid_argument("relevance_dense: a layer of " + std::to_string(layer.inputs) + " inputs, " +
                                std::to_string(layer.outputs) + " outputs, " + std::to_string(layer.weights.size()) +
                                " weights and " + std::to_string(layer.biases.size()) +
                                " biases; expected inputs, outputs >= 1, outputs x inputs weights and outputs biases");
  LayerRelevance out;
  out.R.assign(layer.inputs, 0.0);
  for (std::size_t j = 0; j < layer.outputs; ++j) out.upper += R_upper[j];
  std::visit(
      [&](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, ZRule>) z_rule(layer, a, z, R_upper, out);
        else if constexpr (std::is_same_v<R, EpsilonRule>) epsilon_rule(layer, a, z, R_upper, r.epsilon, out);
        else if constexpr (std::is_same_v<R, AlphaBetaRule>) alpha_beta_rule(layer, a, R_upper, r, out);
        else if constexpr (std::is_same_v<R, FlatRule>) flat_rule(layer, R_upper, out);
        else w_square_rule(layer, R_upper, out);
      },
      rule);
  return out;
}

double NetworkRelevance::absorbed() const {
  double s = 0.0;
  for (const LayerRelevance& l : layers) s += l.absorbed;
  return s;
}

NetworkRelevance relevance_network(const nn::Network& network, const nn::NetworkTrace& trace, std::size_t cls,
                                   const NetworkComposite& composite) {
  check_class_and_trace(network, trace, cls, "relevance_network");
  composite.validate();
  const std::vector<nn::DenseLayer>& layers = network.layers();
  const std::size_t L = layers.size();
  (void)composite.rule_for(0, L);  // an explicit list of the wrong length is refused before any work
  NetworkRelevance result;
  result.f = trace.scores()[cls];
  result.layers.resize(L);
  result.totals.resize(L);
  // R_L: the explained class's score, 0 for the other classes.
  std::vector<double> R(layers.back().outputs, 0.0);
  R[cls] = result.f;
  for (std::size_t l = L; l-- > 0;) {
    const LayerRule& rule = composite.rule_for(l, L);
    LayerRelevance lr = relevance_dense(layers[l], trace.inputs[l].data(), trace.pre_activations[l].data(), R.data(), rule);
    LayerTotals& t = result.totals[l];
    t.rule = to_string(rule);
    t.inputs = layers[l].inputs;
    t.outputs = layers[l].outputs;
    t.upper = lr.upper;
    t.lower = sum(lr.R);
    t.absorbed = lr.absorbed;
    R = lr.R;  // a hidden neuron's relevance passes its ReLU unchanged
    result.layers[l] = std::move(lr);
  }
  return result;
}

DimensionRelevance relevance_dimensions(const nn::Network& network, std::size_t cls, const double* h,
                                        const NetworkComposite& composite) {
  if (cls >= network.classes())
    throw std::out_of_range("relevance_dimensions: class index " + std::to_string(cls) +
                            " out of range; the network has " + std::to_string(network.classes()) + " classes");
  composite.validate();
  const nn::NetworkTrace trace = network.forward(h);
  NetworkRelevance nr = relevance_network(network, trace, cls, composite);
  DimensionRelevance d;
  d.R = std::move(nr.layers.front().R);
  d.f = nr.f;
  d.bias = network.layers().back().biases[cls];
  d.absorbed = nr.absorbed();
  d.residual = d.f - d.total() - d.absorbed;
  d.method = SvmMethod::layer_wise;
  d.root_found = true;
  d.layers = std::move(nr.totals);
  return d;
}

DimensionRelevance relevance_head(const nn::Network& network, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex*) {
  return relevance_dimensions(network, cls, h, composite.network);
}

void check_head(const nn::Network& network, const Composite& composite,
                const std::vector<svm::IntersectionIndex>* indices) {
  if (indices) throw std::invalid_argument("Explainer: intersection indices given for a network head; they only apply to hik");
  // A bias policy shares an SVM's b over dimensions; a network head has a bias per neuron, which
  // each layer's rule treats in its own way (what it keeps is that layer's absorbed part), so a
  // policy other than the default would be ignored: refuse it rather than report one not applied.
  if (composite.svm.bias != SvmRule{}.bias)
    throw std::invalid_argument("bias policy '" + to_string(composite.svm.bias) +
                                "' applies to SVM heads only; a network head treats each layer's biases by that "
                                "layer's rule (its absorbed part): choose the rules instead");
  // An explicit rule list must have one rule per layer (checked now, before any image is read).
  const std::size_t layers = network.layers().size();
  if (layers > 0) (void)composite.network.rule_for(0, layers);
}

}  // namespace bowlrp::decompose
