// Command-line forms of the library's options. Scalar flags bind straight to the fields of
// model::FitOptions (so their defaults are the library's, defined once); list- and name-valued flags
// (--bin-sizes 4,6,8,10, --pyramid 1x1,2x2, --pooling pmean:2, --kernel hik, ...) are kept as text,
// defaulting to the library defaults' text form, and parsed into the options with errors that name
// the flag, the value and what was expected.
#pragma once

#include <bowlrp/bow/pipeline.h>
#include <bowlrp/model/fit.h>

#include <string>
#include <vector>

namespace bowlrp::apps {

/// Fit options as typed on the command line.
struct PipelineArgs {
  model::FitOptions fit;  ///< scalar flags bind here (--words, --step, --max-side, --C, --seed, ...)
  std::string bin_sizes;  ///< --bin-sizes a,b,...
  std::string pyramid;    ///< --pyramid CxR,...
  std::string pooling;    ///< --pooling sum|pmean:P|max
  std::string mapping;    ///< --mapping hard|soft|rank
  std::string normalisation;     ///< --normalisation l1|l2|none
  std::string kernel;            ///< --kernel hik|chi2|hellinger|linear|rbf|expchi2
  std::string kmeans_algorithm;  ///< --kmeans-algorithm lloyd_gemm|vlfeat_elkan|vlfeat_ann
  /// The text flags of `defaults` (the library's measured defaults unless given).
  explicit PipelineArgs(const model::FitOptions& defaults = {});
  /// The options with the text flags parsed and everything validated; throws std::invalid_argument
  /// naming the flag.
  model::FitOptions fit_options() const;
};

/// Run-time flags: --threads (0: all cores, validated by the library) and --quiet.
struct RunArgs {
  int threads = 0;     ///< --threads
  bool quiet = false;  ///< --quiet
};

/// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_csv(const std::string& text);
/// Parses "4,6,8" into positive integers; `flag` names the option in errors.
std::vector<int> parse_int_list(const std::string& text, const std::string& flag);
/// Parses "1x1,2x2,3x1" into pyramid levels.
std::vector<bow::PyramidLevel> parse_pyramid(const std::string& text);
/// Parses "sum" (p = 1), "pmean:P" (P > 0) or "max" (p = inf) into the pooling exponent.
double parse_pooling(const std::string& text);
/// The text forms of the above.
std::string format_int_list(const std::vector<int>& values);
/// "1x1,2x2".
std::string format_pyramid(const std::vector<bow::PyramidLevel>& levels);
/// "sum", "max" or "pmean:P".
std::string format_pooling(double p);

}  // namespace bowlrp::apps
