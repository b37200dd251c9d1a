#include "cli/args.h"

#include <bowlrp/svm/kernel.h>

#include <cmath>
#include <stdexcept>

namespace bowlrp::apps {
namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& expected) {
  throw std::invalid_argument(flag + " '" + value + "': expected " + expected);
}

}  // namespace

PipelineArgs::PipelineArgs() : PipelineArgs(model::FitOptions()) {}

PipelineArgs::PipelineArgs(const model::FitOptions& d)
    : fit(d),
      bin_sizes(core::format_int_list(d.pipeline.dsift.bin_sizes)),
      pyramid(core::format_pyramid(d.pipeline.pooling.pyramid)),
      pooling(core::format_pooling(d.pipeline.pooling.p)),
      mapping(bow::to_string(d.pipeline.mapping.kind)),
      normalisation(bow::to_string(d.pipeline.pooling.normalisation)),
      kernel(svm::to_string(d.kernel.type)),
      kmeans_algorithm(bow::to_string(d.pipeline.kmeans.algorithm)),
      encoding(model::to_string(d.encoding)),
      hidden(d.network.hidden.empty() ? "none"
                                      : core::format_int_list(std::vector<int>(d.network.hidden.begin(), d.network.hidden.end()))),
      fisher_pyramid(core::format_pyramid(d.fisher.pyramid)),
      no_xy(!d.fisher.append_xy),
      no_root_sift(!d.fisher.root_sift),
      keep_zeroed(!d.fisher.skip_zeroed) {}

model::FitOptions PipelineArgs::fit_options() const {
  model::FitOptions o = fit;
  o.pipeline.dsift.bin_sizes = core::parse_int_list(bin_sizes, "--bin-sizes");
  o.pipeline.kmeans.algorithm = bow::kmeans_algorithm_from_string(kmeans_algorithm);
  o.pipeline.mapping.kind = bow::mapping_kind_from_string(mapping);
  o.pipeline.pooling.p = core::parse_pooling(pooling, "--pooling");
  o.pipeline.pooling.pyramid = core::parse_pyramid(pyramid, "--pyramid");
  o.pipeline.pooling.normalisation = bow::normalisation_from_string(normalisation);
  o.kernel.type = svm::kernel_type_from_string(kernel);
  o.encoding = model::encoding_kind_from_string(encoding);
  if (!head.empty()) o.head = model::head_kind_from_string(head);
  o.fisher.pyramid = core::parse_pyramid(fisher_pyramid, "--fisher-pyramid");
  o.fisher.append_xy = !no_xy;
  o.fisher.root_sift = !no_root_sift;
  o.fisher.skip_zeroed = !keep_zeroed;
  if (mirror_training && no_mirror_training)
    throw std::invalid_argument("--mirror-training and --no-mirror-training: expected at most one of them");
  if (mirror_training || no_mirror_training) o.mirror_training = mirror_training;
  o.fisher.seed = o.pipeline.kmeans.seed;  // --seed seeds every random choice
  o.network.seed = o.pipeline.kmeans.seed;
  o.network.hidden.clear();
  if (hidden != "none")
    for (int h : core::parse_int_list(hidden, "--hidden")) {
      if (h < 1) bad("--hidden", hidden, "layer sizes >= 1 separated by commas, or none");
      o.network.hidden.push_back(static_cast<std::size_t>(h));
    }
  if (!(o.kernel.gamma >= 0) || !std::isfinite(o.kernel.gamma))
    bad("--gamma", std::to_string(o.kernel.gamma), "a value >= 0 (0 = 1 / mean pairwise distance)");
  if (!(o.svm.C > 0) || !std::isfinite(o.svm.C)) bad("--C", std::to_string(o.svm.C), "a positive number");
  o.pipeline.validate();
  o.validate();
  return o;
}

}  // namespace bowlrp::apps
