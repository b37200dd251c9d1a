#include "cli/args.h"

namespace bowlrp::apps {

model::FitOptions PipelineArgs::fit_options() const {
  model::FitOptions o = flags.options();
  o.pipeline.validate();
  o.validate();
  return o;
}

void refuse_bias_for_network(const std::optional<std::string>& bias, const model::Model& model) {
  if (bias && !model.head_applies_svm_bias())
    throw std::invalid_argument("--bias " + core::quoted(*bias) +
                                ": applies to SVM heads only; this model's network head treats each layer's "
                                "biases by that layer's rule (choose them with --rule)");
}

}  // namespace bowlrp::apps
