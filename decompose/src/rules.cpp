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

void TaylorRule::validate() const {
  if (max_bisections < 1)
    throw std::invalid_argument("TaylorRule.max_bisections = " + std::to_string(max_bisections) +
                                "; expected >= 1");
  if (!(root_tolerance > 0) || !std::isfinite(root_tolerance))
    throw std::invalid_argument("TaylorRule.root_tolerance = " + std::to_string(root_tolerance) +
                                "; expected a finite value > 0");
  if (max_candidates < 1)
    throw std::invalid_argument("TaylorRule.max_candidates = " + std::to_string(max_candidates) +
                                "; expected >= 1");
  if (scan_steps < 1)
    throw std::invalid_argument("TaylorRule.scan_steps = " + std::to_string(scan_steps) + "; expected >= 1");
}

void Composite::validate() const {
  svm.validate();
  taylor.validate();
}

}  // namespace bowlrp::decompose
