#include <bowlrp/decompose/rules.h>

#include <cmath>
#include <stdexcept>

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
  throw std::invalid_argument("bias policy '" + name + "' unknown; expected uniform, proportional or absorbed");
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
  }
  throw std::invalid_argument("SvmMethod: unknown value " + std::to_string(static_cast<int>(method)));
}

DifferentiableRule differentiable_rule_from_string(const std::string& name) {
  if (name == "integrated-gradients") return DifferentiableRule::integrated_gradients;
  if (name == "taylor") return DifferentiableRule::taylor;
  throw std::invalid_argument("rule for differentiable kernels '" + name +
                              "' unknown; expected integrated-gradients or taylor");
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

void Composite::validate() const {
  svm.validate();
  fisher.validate();
  (void)to_string(differentiable);
  taylor.validate();
  integrated_gradients.validate();
}

}  // namespace bowlrp::decompose
