// Rules of the relevance decomposition, kept apart from the model (zennit-like composites).
//
// The SVM layer f(h) = b + sum_i coef_i k(s_i, h) is decomposed into per-dimension relevances R_d.
// Sum-decomposable kernels give the exact split (the paper's Eq 12-13)
//   R_d = beta_d + sum_i coef_i w(d) k_d(s_id, h_d),   sum_d R_d = f(h) - absorbed,
// where the bias b becomes beta_d by a BiasPolicy:
//   uniform       beta_d = b / V                           (the paper's choice)
//   proportional  beta_d = b |R'_d| / sum_d' |R'_d'|      (R' = relevance before the bias; uniform
//                                                          when every R'_d is 0)
//   absorbed      beta_d = 0 and b is reported apart, so that sum_d R_d = f(h) - b.
// Differentiable kernels (rbf, expchi2) start from a root x0, f(x0) = 0, searched on segments from h
// towards support vectors of the other side (RootSearch), and use one of two rules:
//   integrated gradients (the default)
//       R_d = (h - x0)_d int_0^1 df/dx_d(x0 + t (h - x0)) dt,   sum_d R_d = f(h) - f(x0)
//     exactly (the gradient theorem) up to quadrature, so sum_d R_d = f(h) to ~1e-10 when the root
//     is found. The integral is an adaptive composite Gauss-Legendre rule: an interval is halved
//     until its halves move the relevances by less than its share of the tolerance
//     (IntegratedGradientsRule).
//   taylor, the paper's Eq 16
//       R_d = (h - x0)_d df/dx_d(x0),
//     first order only: its remainder f(h) - sum_d R_d is typically 10% of |f| on real images.
// Integrated gradients is the default because conservation is the contract; Taylor stays for
// comparison with the paper. The bias policy does not apply to either: b is part of f, whose value
// at the root is 0. A linear head, f(h) = b + w.h, is sum-decomposable: R_d = w_d h_d + beta_d.
// Below the head, the Fisher-vector layer uses the ε rule (FisherRule, fisher_relevance.h); the
// Bag-of-Words layers need no rule (their splits are exact).
// A network head (nn::Network) is explained layer by layer (network_relevance.h), each dense layer
// z_j = Σ_i z_ij + b_j, z_ij = a_i w_ij (Eq 17), by one LayerRule (the messages R_{i<-j}, R_i = Σ_j R_{i<-j}):
//   z           R_{i<-j} = z_ij / z_j R_j                                  (Eq 19; 0 when z_j = 0)
//   epsilon     R_{i<-j} = z_ij / (z_j + ε sign z_j) R_j, sign 0 = +1       (Eq 20)
//   alpha-beta  R_{i<-j} = (α z_ij⁺ / z_j⁺ - β z_ij⁻ / z_j⁻) R_j,           (Eq 21; α - β = 1, β >= 0)
//               z_j^± = Σ_i z_ij^± + b_j^± (a part whose z_j^± = 0 sends nothing)
//   flat        R_{i<-j} = R_j / n_in                                       (input layer; exact)
//   w2          R_{i<-j} = w_ij² / Σ_i' w_i'j² R_j                          (input layer; exact)
// What a layer does not pass down (bias shares b_j / z_j, the ε term, the αβ bias parts, the whole
// R_j of a neuron with nothing to split it by) is its `absorbed` part, computed from the rule's own
// formula (not as a difference), so Σ_j R_j = Σ_i R_i + absorbed is a check, not an identity:
//   z           absorbed = Σ_j R_j b_j / z_j                (R_j when z_j = 0)
//   epsilon     absorbed = Σ_j R_j (b_j + ε s_j) / (z_j + ε s_j)
//   alpha-beta  absorbed = Σ_j R_j [α (z_j⁺ > 0 ? b_j⁺ / z_j⁺ : 1) - β (z_j⁻ < 0 ? b_j⁻ / z_j⁻ : 1)]
//   flat, w2    absorbed = 0                                 (R_j when every w_ij = 0, w2)
// A NetworkComposite maps the layers to rules: one for the input layer (which reads the encoding's
// vector), one for the hidden layers, one for the output layer, or an explicit list.
#pragma once

#include <bowlrp/core/option_schema.h>

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

namespace bowlrp::decompose {

/// Where the SVM bias goes.
enum class BiasPolicy { uniform, proportional, absorbed };
/// "uniform", "proportional" or "absorbed".
std::string to_string(BiasPolicy policy);
/// Parses "uniform", "proportional" or "absorbed"; throws std::invalid_argument listing them.
BiasPolicy bias_policy_from_string(const std::string& name);

/// Rule of the SVM layer for sum-decomposable kernels.
struct SvmRule {
  BiasPolicy bias = BiasPolicy::uniform;  ///< how the bias b is shared over dimensions
  /// Throws std::invalid_argument for an unknown enumerator value.
  void validate() const;
};

/// Search of a root x0 (f(x0) = 0) on the segments from h to support vectors of the other side.
struct RootSearch {
  int max_bisections = 100;  ///< bisection steps refining the root on the segment (>= 1)
  double tolerance = 1e-10;  ///< stop when |f(x0)| <= tolerance * max(1, |f(h)|) (> 0)
  int max_candidates = 32;   ///< support vectors of the other side tried, nearest first (>= 1)
  int scan_steps = 16;       ///< samples per segment looking for the first sign change (>= 1)
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// Which rule explains differentiable kernels (rbf, expchi2).
enum class DifferentiableRule { integrated_gradients, taylor };
/// "integrated-gradients" or "taylor".
std::string to_string(DifferentiableRule rule);
/// Parses "integrated-gradients" or "taylor"; throws std::invalid_argument listing them.
DifferentiableRule differentiable_rule_from_string(const std::string& name);

/// How the head layer of an explanation was decomposed: exactly (sum-decomposable kernels, linear
/// heads), by integrated gradients or by the first-order Taylor expansion (rbf, expchi2), or layer
/// by layer with the rules of a NetworkComposite (network heads).
enum class SvmMethod { exact, integrated_gradients, taylor, layer_wise };
/// "exact", "integrated-gradients", "taylor" or "layer-wise" (the names of the explain JSON).
std::string to_string(SvmMethod method);

/// First-order Taylor expansion at the root (the paper's Eq 16); not conservative.
struct TaylorRule {
  RootSearch root;  ///< where x0 comes from
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// Integrated gradients from the root x0 to h by composite Gauss-Legendre quadrature.
struct IntegratedGradientsRule {
  RootSearch root;         ///< where x0 comes from
  int nodes = 8;            ///< Gauss-Legendre nodes per segment (1..64)
  int segments = 1;         ///< equal segments of [0, 1] before any refinement (>= 1)
  int max_segments = 4096;  ///< refinement stops at this many segments (>= segments)
  /// A segment [a, b] is halved until its halves change the relevances by
  /// sum_d |dR_d| <= tolerance * max(1, |f(h)|) * (b - a); the change bounds the error of the
  /// whole segment, so the total error stays within tolerance * max(1, |f(h)|) (finite, > 0).
  double tolerance = 1e-12;
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// The ε rule of a layer of signed local sums: Fisher vectors (decompose/fisher_relevance.h) and
/// VLAD (decompose/vlad_relevance.h).
struct FisherRule {
  /// ε of the stabiliser z_d + ε sign(z_d), on the scale of the unnormalised sums z_d; the
  /// default is the measured one of the README ("Fisher vectors": median absorbed share on VOC2007).
  double epsilon = 1e-9;
  /// Throws std::invalid_argument unless epsilon is finite and > 0.
  void validate() const;
};

/// The z rule of a dense layer (Eq 19): R_{i<-j} = z_ij / z_j R_j.
struct ZRule {};
/// The ε rule (Eq 20): R_{i<-j} = z_ij / (z_j + ε sign z_j) R_j.
struct EpsilonRule {
  double epsilon = 0.01;  ///< ε, on the scale of the pre-activations z_j (finite, > 0)
  /// Throws std::invalid_argument unless epsilon is finite and > 0.
  void validate() const;
};
/// The αβ rule (Eq 21): positive and negative parts weighted α and β, α - β = 1.
struct AlphaBetaRule {
  double alpha = 1.0;  ///< weight of the positive part (finite, >= 1)
  double beta = 0.0;   ///< weight of the negative part (finite, >= 0, alpha - beta = 1)
  /// Throws std::invalid_argument unless alpha - beta = 1 (to 1e-12), beta >= 0 and both are finite.
  void validate() const;
};
/// The flat rule: R_{i<-j} = R_j / n_in, whatever the input (for input layers).
struct FlatRule {};
/// The w² rule: R_{i<-j} = w_ij² / Σ_i' w_i'j² R_j, whatever the input (for input layers).
struct WSquareRule {};
/// The rule of one dense layer.
using LayerRule = std::variant<ZRule, EpsilonRule, AlphaBetaRule, FlatRule, WSquareRule>;
/// "z", "epsilon:E", "alpha-beta:A:B", "flat" or "w2" (what layer_rule_from_string reads back;
/// numbers with round-trip precision).
std::string to_string(const LayerRule& rule);
/// Parses "z", "epsilon" (ε 0.01) or "epsilon:E", "alpha-beta:A:B" (also "alpha1beta0" and
/// "alpha2beta1"), "flat", "w2"; validates; throws std::invalid_argument naming the text and listing the forms.
LayerRule layer_rule_from_string(const std::string& text);
/// Validates a layer rule (throws std::invalid_argument).
void validate(const LayerRule& rule);

/// Which rule each dense layer of a network head uses (layers counted 0 = input layer .. L-1 = output).
struct NetworkComposite {
  LayerRule input = EpsilonRule{};   ///< layer 0, reading the encoding's vector (when L >= 2)
  LayerRule hidden = EpsilonRule{};  ///< layers 1 .. L-2
  LayerRule output = EpsilonRule{};  ///< layer L-1, the class scores (also a single-layer network's rule)
  std::vector<LayerRule> layers;     ///< if not empty: one rule per layer, input first (replaces the three)
  /// The rule of layer `layer` of a network of `count` layers; throws std::invalid_argument when an
  /// explicit list has another length than count.
  const LayerRule& rule_for(std::size_t layer, std::size_t count) const;
  /// Validates every rule (throws std::invalid_argument).
  void validate() const;
};
/// "input=R,hidden=R,output=R" for the three-way form, or "R;R;..." for an explicit list ("R;" for a
/// list of one, which a bare "R" would not be) (what network_composite_from_string reads back).
std::string to_string(const NetworkComposite& composite);
/// Parses one rule for every layer ("epsilon:0.01"), an explicit list input first ("flat;alpha2beta1;epsilon"),
/// or named parts ("input=flat,hidden=alpha2beta1,output=epsilon:0.01", missing parts keep their
/// defaults); validates; throws std::invalid_argument naming the bad part.
NetworkComposite network_composite_from_string(const std::string& text);

/// Maps every stage of the pipeline to its rule.
struct Composite {
  SvmRule svm;  ///< sum-decomposable kernels
  /// Differentiable kernels: integrated gradients (conservative) unless Taylor is asked for.
  DifferentiableRule differentiable = DifferentiableRule::integrated_gradients;
  TaylorRule taylor;                              ///< used when differentiable == taylor
  IntegratedGradientsRule integrated_gradients;   ///< used when differentiable == integrated_gradients
  FisherRule fisher;                              ///< the Fisher-vector layer (Fisher encodings)
  NetworkComposite network;                       ///< the layers of a network head
  /// Validates every rule (throws std::invalid_argument).
  void validate() const;
  /// The user-facing options of every rule (bias, svm_rule, ig_*, root_* for both differentiable
  /// rules, fisher_epsilon, rule), described once (core/option_schema.h).
  static const core::OptionSchema<Composite>& schema();
};

}  // namespace bowlrp::decompose
