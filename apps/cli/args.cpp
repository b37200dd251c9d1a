#include "cli/args.h"
#include <bowlrp/core/option_text.h>

#include <bowlrp/svm/kernel.h>

#include <cmath>
#include <stdexcept>

namespace bowlrp::apps {
namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& value, const std::string& expected) {
  throw std::invalid_argument(flag + " " + core::quoted(value) + ": expected " + expected);
}

// parse(text) with the flag named in front of the library's message ("--kernel: unknown kernel 'x': ...").
template <class Parse>
auto flag_value(const std::string& flag, const std::string& text, Parse parse) -> decltype(parse(text)) {
  try {
    return parse(text);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(flag + ": " + e.what());
  }
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
      encoding(d.encoding),
      hidden(d.network.hidden.empty() ? "none"
                                      : core::format_int_list(std::vector<int>(d.network.hidden.begin(), d.network.hidden.end()))),
      fisher_pyramid(core::format_pyramid(d.fisher.pyramid)),
      vlad_pyramid(core::format_pyramid(d.vlad.pyramid)),
      no_xy(!d.fisher.append_xy),
      no_root_sift(!d.fisher.root_sift),
      keep_zeroed(!d.fisher.skip_zeroed) {}

model::FitOptions PipelineArgs::fit_options() const {
  model::FitOptions o = fit;
  o.pipeline.dsift.bin_sizes = core::parse_int_list(bin_sizes, "--bin-sizes");
  o.pipeline.kmeans.algorithm = flag_value("--kmeans-algorithm", kmeans_algorithm, bow::kmeans_algorithm_from_string);
  o.pipeline.mapping.kind = flag_value("--mapping", mapping, bow::mapping_kind_from_string);
  o.pipeline.pooling.p = core::parse_pooling(pooling, "--pooling");
  o.pipeline.pooling.pyramid = core::parse_pyramid(pyramid, "--pyramid");
  o.pipeline.pooling.normalisation = flag_value("--normalisation", normalisation, bow::normalisation_from_string);
  o.kernel.type = flag_value("--kernel", kernel, svm::kernel_type_from_string);
  o.encoding = flag_value("--encoding", encoding, model::encoding_kind_from_string);
  if (head) o.head = flag_value("--head", *head, model::head_kind_from_string);
  o.fisher.pyramid = core::parse_pyramid(fisher_pyramid, "--fisher-pyramid");
  o.vlad.pyramid = core::parse_pyramid(vlad_pyramid, "--vlad-pyramid");
  o.fisher.append_xy = !no_xy;
  o.fisher.root_sift = !no_root_sift;
  o.fisher.skip_zeroed = !keep_zeroed;
  if (mirror_training && no_mirror_training)
    throw std::invalid_argument("--mirror-training and --no-mirror-training: expected at most one of them");
  if (mirror_training || no_mirror_training) o.mirror_training = mirror_training;
  o.fisher.seed = o.pipeline.kmeans.seed;  // --seed seeds every random choice
  o.network.seed = o.pipeline.kmeans.seed;
  o.vlad.seed = o.pipeline.kmeans.seed;
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
