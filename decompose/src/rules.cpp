#include <bowlrp/decompose/rules.h>
#include <bowlrp/core/option_text.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

namespace bowlrp::decompose {

std::string to_string(BiasPolicy policy) {
  switch (policy) {
    case BiasPolicy::uniform: return "uniform";
    case BiasPolicy::proportional: return "proportional";
    case BiasPolicy::absorbed: return "absorbed";
  }
  throw std::invalid_argument("BiasPolicy: unknown value " + std::to_string(static_cast<int>(policy)));
}

BiasPolicy bias_policy_from_string(const std::string& name) {
  if (name == "uniform") return BiasPolicy::uniform;
  if (name == "proportional") return BiasPolicy::proportional;
  if (name == "absorbed") return BiasPolicy::absorbed;
  throw std::invalid_argument("bias policy " + core::quoted(name) + " unknown; expected uniform, proportional or absorbed");
}

void SvmRule::validate() const { (void)to_string(bias); }

void RootSearch::validate() const {
  if (max_bisections < 1)
    throw std::invalid_argument("RootSearch.max_bisections = " + std::to_string(max_bisections) +
                                "; expected >= 1");
  if (!(tolerance > 0) || !std::isfinite(tolerance))
    throw std::invalid_argument("RootSearch.tolerance = " + std::to_string(tolerance) +
                                "; expected a finite value > 0");
  if (max_candidates < 1)
    throw std::invalid_argument("RootSearch.max_candidates = " + std::to_string(max_candidates) +
                                "; expected >= 1");
  if (scan_steps < 1)
    throw std::invalid_argument("RootSearch.scan_steps = " + std::to_string(scan_steps) + "; expected >= 1");
}

std::string to_string(DifferentiableRule rule) {
  switch (rule) {
    case DifferentiableRule::integrated_gradients: return "integrated-gradients";
    case DifferentiableRule::taylor: return "taylor";
  }
  throw std::invalid_argument("DifferentiableRule: unknown value " + std::to_string(static_cast<int>(rule)));
}

std::string to_string(SvmMethod method) {
  switch (method) {
    case SvmMethod::exact: return "exact";
    case SvmMethod::integrated_gradients: return "integrated-gradients";
    case SvmMethod::taylor: return "taylor";
    case SvmMethod::layer_wise: return "layer-wise";
  }
  throw std::invalid_argument("SvmMethod: unknown value " + std::to_string(static_cast<int>(method)));
}

DifferentiableRule differentiable_rule_from_string(const std::string& name) {
  if (name == "integrated-gradients") return DifferentiableRule::integrated_gradients;
  if (name == "taylor") return DifferentiableRule::taylor;
  throw std::invalid_argument("rule for differentiable kernels " + core::quoted(name) +
                              " unknown; expected integrated-gradients or taylor");
}

void TaylorRule::validate() const { root.validate(); }

void IntegratedGradientsRule::validate() const {
  root.validate();
  if (nodes < 1 || nodes > 64)
    throw std::invalid_argument("IntegratedGradientsRule.nodes = " + std::to_string(nodes) + "; expected 1..64");
  if (segments < 1)
    throw std::invalid_argument("IntegratedGradientsRule.segments = " + std::to_string(segments) + "; expected >= 1");
  if (max_segments < segments)
    throw std::invalid_argument("IntegratedGradientsRule.max_segments = " + std::to_string(max_segments) +
                                "; expected >= segments (" + std::to_string(segments) + ")");
  if (!(tolerance > 0) || !std::isfinite(tolerance))
    throw std::invalid_argument("IntegratedGradientsRule.tolerance = " + std::to_string(tolerance) +
                                "; expected a finite value > 0");
}

void FisherRule::validate() const {
  if (!(epsilon > 0) || !std::isfinite(epsilon))
    throw std::invalid_argument("FisherRule::epsilon = " + std::to_string(epsilon) + ": expected a finite value > 0");
}

const core::OptionSchema<Composite>& Composite::schema() {
  using O = Composite;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::choice_option<O>("bias", "--bias",
                                       "SVM heads: bias share uniform (b/V, the paper) | proportional | absorbed",
                                       {"uniform", "proportional", "absorbed"}, [](O& o) -> BiasPolicy& { return o.svm.bias; },
                                       [](BiasPolicy b) { return to_string(b); }, &bias_policy_from_string));
    s.push_back(core::choice_option<O>(
        "svm_rule", "--svm-rule", "rbf / expchi2 heads: integrated-gradients (conserves f) | taylor (Eq 16, first order)",
        {"integrated-gradients", "taylor"}, [](O& o) -> DifferentiableRule& { return o.differentiable; },
        [](DifferentiableRule r) { return to_string(r); }, &differentiable_rule_from_string));
    s.push_back(core::integer_option<O>("ig_nodes", "--ig-nodes", "integrated gradients: Gauss-Legendre nodes per segment",
                                        [](O& o) -> int& { return o.integrated_gradients.nodes; },
                                        OptionRange::closed(1, 64)));
    s.push_back(core::integer_option<O>("ig_segments", "--ig-segments", "integrated gradients: initial segments",
                                        [](O& o) -> int& { return o.integrated_gradients.segments; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("ig_max_segments", "--ig-max-segments", "integrated gradients: refinement cap",
                                        [](O& o) -> int& { return o.integrated_gradients.max_segments; },
                                        OptionRange::at_least(1)));
    s.push_back(core::real_option<O>("ig_tolerance", "--ig-tolerance",
                                     "integrated gradients: quadrature tolerance, relative to max(1, |f|)",
                                     [](O& o) -> double& { return o.integrated_gradients.tolerance; }, OptionRange::above(0)));
    // The root search is shared by both differentiable rules: one option sets both.
    const auto both_roots = [](core::OptionSpec<O> spec, auto member) {
      const auto set = spec.set;
      spec.help += " (both differentiable rules)";
      spec.set = [set, member](O& o, const std::optional<std::string>& text, const std::string& what) {
        set(o, text, what);
        o.taylor.root.*member = o.integrated_gradients.root.*member;
      };
      return spec;
    };
    s.push_back(both_roots(core::integer_option<O>("root_bisections", "--root-bisections", "root search: bisection steps",
                                                   [](O& o) -> int& { return o.integrated_gradients.root.max_bisections; },
                                                   OptionRange::at_least(1)),
                           &RootSearch::max_bisections));
    s.push_back(both_roots(core::real_option<O>("root_tolerance", "--root-tolerance",
                                                "root search: |f(x0)| tolerance relative to max(1, |f(h)|)",
                                                [](O& o) -> double& { return o.integrated_gradients.root.tolerance; },
                                                OptionRange::above(0)),
                           &RootSearch::tolerance));
    s.push_back(both_roots(core::integer_option<O>("root_candidates", "--root-candidates",
                                                   "root search: support vectors of the other side tried",
                                                   [](O& o) -> int& { return o.integrated_gradients.root.max_candidates; },
                                                   OptionRange::at_least(1)),
                           &RootSearch::max_candidates));
    s.push_back(both_roots(core::integer_option<O>("root_scan_steps", "--root-scan-steps", "root search: samples per segment",
                                                   [](O& o) -> int& { return o.integrated_gradients.root.scan_steps; },
                                                   OptionRange::at_least(1)),
                           &RootSearch::scan_steps));
    s.push_back(core::real_option<O>("fisher_epsilon", "--fisher-epsilon",
                                     "Fisher-vector and VLAD encodings: ε of the stabilised split z_d + ε sign(z_d) (what it "
                                     "keeps is reported as absorbed)",
                                     [](O& o) -> double& { return o.fisher.epsilon; }, OptionRange::above(0)));
    core::OptionSpec<O> rule = core::choice_option<O>(
        "rule", "--rule",
        "mlp heads: the rule of every dense layer: one for all (z | epsilon[:E] | alpha-beta:A:B | alpha1beta0 | "
        "alpha2beta1 | flat | w2), a list input layer first (flat;alpha2beta1;epsilon), or input=R,hidden=R,output=R",
        {}, [](O& o) -> NetworkComposite& { return o.network; }, [](const NetworkComposite& n) { return to_string(n); },
        &network_composite_from_string);
    rule.type = core::OptionType::text;
    s.push_back(std::move(rule));
    return s;
  }();
  return schema;
}

void Composite::validate() const {
  svm.validate();
  fisher.validate();
  (void)to_string(differentiable);
  taylor.validate();
  integrated_gradients.validate();
  network.validate();
}

namespace {

// The shortest of %.15g, %.16g, %.17g that reads back as the same double (%.17g always does), so
// that 0.01 prints as "0.01" and every value round-trips exactly.
std::string number(double v) {
  char buf[64];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (precision == 17 || std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

// A whole text as a finite double, or false.
bool parse_number(const std::string& text, double& out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text.front()))) return false;
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);  // an underflow to 0 is left to validate()
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return false;
  out = v;
  return true;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

const char* const kLayerRuleForms = "z, epsilon, epsilon:E, alpha-beta:A:B, alpha1beta0, alpha2beta1, flat or w2";

}  // namespace

void EpsilonRule::validate() const {
  if (!(epsilon > 0) || !std::isfinite(epsilon))
    throw std::invalid_argument("EpsilonRule.epsilon = " + number(epsilon) + "; expected a finite value > 0");
}

void AlphaBetaRule::validate() const {
  if (!std::isfinite(alpha) || !std::isfinite(beta))
    throw std::invalid_argument("AlphaBetaRule.alpha = " + number(alpha) + ", beta = " + number(beta) +
                                "; expected finite values");
  if (!(beta >= 0))
    throw std::invalid_argument("AlphaBetaRule.beta = " + number(beta) + "; expected >= 0");
  if (!(std::abs(alpha - beta - 1.0) <= 1e-12))
    throw std::invalid_argument("AlphaBetaRule.alpha = " + number(alpha) + ", beta = " + number(beta) +
                                ": alpha - beta = " + number(alpha - beta) + "; expected 1 (to 1e-12)");
}

std::string to_string(const LayerRule& rule) {
  return std::visit(
      [](const auto& r) -> std::string {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, ZRule>) return "z";
        else if constexpr (std::is_same_v<R, EpsilonRule>) return "epsilon:" + number(r.epsilon);
        else if constexpr (std::is_same_v<R, AlphaBetaRule>) return "alpha-beta:" + number(r.alpha) + ":" + number(r.beta);
        else if constexpr (std::is_same_v<R, FlatRule>) return "flat";
        else return "w2";
      },
      rule);
}

void validate(const LayerRule& rule) {
  std::visit(
      [](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, EpsilonRule> || std::is_same_v<R, AlphaBetaRule>) r.validate();
      },
      rule);
}

LayerRule layer_rule_from_string(const std::string& text) {
  const std::vector<std::string> parts = split(text, ':');
  auto bad = [&](const std::string& why) {
    return std::invalid_argument("layer rule " + core::quoted(text) + ": " + why + "; expected " + kLayerRuleForms);
  };
  LayerRule rule;
  const std::string& name = parts.front();
  if (name == "z" && parts.size() == 1) {
    rule = ZRule{};
  } else if (name == "flat" && parts.size() == 1) {
    rule = FlatRule{};
  } else if (name == "w2" && parts.size() == 1) {
    rule = WSquareRule{};
  } else if (name == "alpha1beta0" && parts.size() == 1) {
    rule = AlphaBetaRule{1.0, 0.0};
  } else if (name == "alpha2beta1" && parts.size() == 1) {
    rule = AlphaBetaRule{2.0, 1.0};
  } else if (name == "epsilon" && parts.size() <= 2) {
    EpsilonRule r;
    if (parts.size() == 2 && !parse_number(parts[1], r.epsilon)) throw bad(core::quoted(parts[1]) + " is not a finite number");
    rule = r;
  } else if (name == "alpha-beta" && parts.size() == 3) {
    AlphaBetaRule r;
    if (!parse_number(parts[1], r.alpha)) throw bad(core::quoted(parts[1]) + " is not a finite number");
    if (!parse_number(parts[2], r.beta)) throw bad(core::quoted(parts[2]) + " is not a finite number");
    rule = r;
  } else {
    throw bad("unknown rule or wrong number of parameters");
  }
  try {
    validate(rule);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("layer rule " + core::quoted(text) + ": " + e.what());
  }
  return rule;
}

const LayerRule& NetworkComposite::rule_for(std::size_t layer, std::size_t count) const {
  if (!layers.empty() && layers.size() != count)
    throw std::invalid_argument("NetworkComposite: the explicit list has " + std::to_string(layers.size()) +
                                " rules (" + core::quoted(to_string(*this)) + ") but the network has " + std::to_string(count) +
                                " layers; expected one rule per layer");
  if (layer >= count)
    throw std::invalid_argument("NetworkComposite: layer " + std::to_string(layer) + " of a network of " +
                                std::to_string(count) + " layers; expected 0 .. " +
                                (count == 0 ? std::string("(none)") : std::to_string(count - 1)));
  if (!layers.empty()) return layers[layer];
  if (layer + 1 == count) return output;
  return layer == 0 ? input : hidden;
}

void NetworkComposite::validate() const {
  auto check = [](const LayerRule& rule, const std::string& where) {
    try {
      decompose::validate(rule);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("NetworkComposite." + where + ": " + e.what());
    }
  };
  check(input, "input");
  check(hidden, "hidden");
  check(output, "output");
  for (std::size_t l = 0; l < layers.size(); ++l) check(layers[l], "layers[" + std::to_string(l) + "]");
}

std::string to_string(const NetworkComposite& composite) {
  if (composite.layers.empty())
    return "input=" + to_string(composite.input) + ",hidden=" + to_string(composite.hidden) +
           ",output=" + to_string(composite.output);
  std::string s;
  for (std::size_t l = 0; l < composite.layers.size(); ++l) s += (l ? ";" : "") + to_string(composite.layers[l]);
  if (composite.layers.size() == 1) s += ";";  // a list of one, not one rule for every layer
  return s;
}

NetworkComposite network_composite_from_string(const std::string& text) {
  const std::string forms =
      "; expected one rule (\"epsilon:0.01\"), a list input first (\"flat;alpha2beta1;epsilon\", a single-layer "
      "list as \"z;\") or named parts (\"input=flat,hidden=alpha2beta1,output=epsilon:0.01\")";
  auto rule = [&](const std::string& part, const std::string& where) {
    try {
      return layer_rule_from_string(part);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("network composite " + core::quoted(text) + ", " + where + ": " + e.what());
    }
  };
  if (text.empty()) throw std::invalid_argument("network composite '': empty" + forms);
  NetworkComposite composite;
  if (text.find('=') != std::string::npos) {
    bool seen[3] = {false, false, false};
    for (const std::string& part : split(text, ',')) {
      const std::size_t eq = part.find('=');
      const std::string key = part.substr(0, eq == std::string::npos ? part.size() : eq);
      const int k = key == "input" ? 0 : key == "hidden" ? 1 : key == "output" ? 2 : -1;
      if (eq == std::string::npos || k < 0)
        throw std::invalid_argument("network composite " + core::quoted(text) + ": part " + core::quoted(part) +
                                    " is not input=R, hidden=R or output=R" + forms);
      if (seen[k]) throw std::invalid_argument("network composite " + core::quoted(text) + ": " + key + " given twice" + forms);
      seen[k] = true;
      const LayerRule r = rule(part.substr(eq + 1), key);
      (k == 0 ? composite.input : k == 1 ? composite.hidden : composite.output) = r;
    }
  } else if (text.find(';') != std::string::npos) {
    std::vector<std::string> parts = split(text, ';');
    if (parts.size() == 2 && parts.back().empty()) parts.pop_back();  // "z;": a list of one
    for (std::size_t l = 0; l < parts.size(); ++l) {
      if (parts[l].empty())
        throw std::invalid_argument("network composite " + core::quoted(text) + ": layer " + std::to_string(l) + " has no rule" + forms);
      composite.layers.push_back(rule(parts[l], "layer " + std::to_string(l)));
    }
  } else {
    composite.input = composite.hidden = composite.output = rule(text, "every layer");
  }
  return composite;
}

}  // namespace bowlrp::decompose
