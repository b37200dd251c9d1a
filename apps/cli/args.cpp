#include "cli/args.h"

namespace bowlrp::apps {

model::FitOptions PipelineArgs::fit_options() const {
  model::FitOptions o = flags.options();
  o.pipeline.validate();
  o.validate();
  return o;
}

}  // namespace bowlrp::apps
