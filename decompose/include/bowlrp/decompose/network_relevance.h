// Relevance through a network head (nn::Network), layer by layer (Bach et al. 2015, Eqs 17-21).
//
// Layer l has inputs a_i (a_0 = the encoding's vector x), weights w_ij, biases b_j and
// pre-activations z_j = Σ_i z_ij + b_j, z_ij = a_i w_ij (Eq 17). The output layer starts with
// R_j = f_cls(x) for the explained class and 0 for the others (the pre-activation is explained). A
// hidden neuron's relevance passes its ReLU unchanged (a rectified neuron, a_j = 0, sends z_jk = 0 to
// every neuron above and so receives nothing from the z, ε and αβ rules). Each layer's rule
// (rules.h, NetworkComposite) gives the messages R_{i<-j} and R_i = Σ_j R_{i<-j}; what it keeps is
// its absorbed part, computed by the rule's own formula (rules.h), so that
//   f = Σ_d R_d + Σ_l absorbed_l,   and per layer   Σ_j R_j = Σ_i R_i + absorbed_l,
// are checks of the arithmetic, to rounding (conservation.h). The input layer's R_i are the
// encoding's R_d: feature_relevance.h or fisher_relevance.h take them to local features unchanged.
// Cost: one pass over every weight per layer (the forward cost), αβ two; the messages are never stored.
// Numbers do not depend on the thread count (every loop is sequential in a fixed order).
#pragma once

#include <bowlrp/decompose/rules.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/nn/network.h>

#include <cstddef>
#include <vector>

namespace bowlrp::decompose {

/// One dense layer backwards.
struct LayerRelevance {
  std::vector<double> R;  ///< R_i of the layer's inputs (size layer.inputs)
  double upper = 0.0;     ///< Σ_j R_j given
  double absorbed = 0.0;  ///< what the rule kept (its formula, rules.h)
};

/// Runs one dense layer backwards: `a` its inputs (layer.inputs), `z` its pre-activations
/// (layer.outputs, as nn::dense_forward computes them), `R_upper` the relevance of its outputs;
/// validates the rule (throws std::invalid_argument).
LayerRelevance relevance_dense(const nn::DenseLayer& layer, const double* a, const double* z, const double* R_upper,
                               const LayerRule& rule);

/// Every layer of a network backwards, input layer first (layers[0].R is R_d).
struct NetworkRelevance {
  std::vector<LayerRelevance> layers;  ///< input layer first
  std::vector<LayerTotals> totals;     ///< the same layers' sums, with rule names and sizes
  double f = 0.0;                      ///< f_cls(x), the trace's score
  /// Σ of every layer's absorbed part.
  double absorbed() const;
};

/// Relevance of class cls through every layer of a network for one forward trace; throws
/// std::out_of_range for a bad class and std::invalid_argument for a trace of another shape or an
/// invalid composite (or an explicit rule list of the wrong length).
NetworkRelevance relevance_network(const nn::Network& network, const nn::NetworkTrace& trace, std::size_t cls,
                                   const NetworkComposite& composite);

/// The head layer of an Explainer for a network head: R = the input layer's R_i, f, absorbed =
/// Σ_l absorbed_l, residual = f - Σ R - absorbed, method layer_wise, layers = the per-layer totals,
/// bias = the output bias of cls. Throws as relevance_network (h: network.dim() values).
DimensionRelevance relevance_dimensions(const nn::Network& network, std::size_t cls, const double* h,
                                        const NetworkComposite& composite);

/// The Explainer's head layer for a network head: relevance_dimensions with the composite's network
/// rules (`index` must be null).
DimensionRelevance relevance_head(const nn::Network& network, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex* index);
/// Checks the rules against a network head before any image: no SVM bias policy (each layer's rule
/// treats its biases), an explicit rule list of one rule per layer, no intersection indices; throws
/// std::invalid_argument.
void check_head(const nn::Network& network, const Composite& composite,
                const std::vector<svm::IntersectionIndex>* indices);

}  // namespace bowlrp::decompose
