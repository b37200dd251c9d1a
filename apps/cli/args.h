// Command-line forms of the library's options. Scalar flags bind straight to the fields of
// model::FitOptions (so their defaults are the library's, defined once); list- and name-valued flags
// (--bin-sizes 4,6,8,10, --pyramid 1x1,2x2, --pooling pmean:2, --kernel hik, ...) are kept as text,
// defaulting to the library defaults' text form, and parsed into the options with errors that name
// the flag, the value and what was expected.
#pragma once

#include <bowlrp/core/option_text.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/model/fit.h>

#include <optional>
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
  std::string encoding;          ///< --encoding bow|fisher
  std::optional<std::string> head;  ///< --head kernel|linear|mlp (none: the encoding's default)
  std::string hidden;            ///< --hidden a,b,... (mlp hidden layer sizes; "none": no hidden layer)
  std::string fisher_pyramid;    ///< --fisher-pyramid CxR,...
  std::string vlad_pyramid;      ///< --vlad-pyramid CxR,...
  bool no_xy = false;            ///< --no-xy
  bool no_root_sift = false;     ///< --no-root-sift
  bool keep_zeroed = false;      ///< --keep-zeroed
  bool mirror_training = false;     ///< --mirror-training
  bool no_mirror_training = false;  ///< --no-mirror-training (neither: the encoding's default)
  /// The library's measured defaults.
  PipelineArgs();
  /// The text flags of `defaults`.
  explicit PipelineArgs(const model::FitOptions& defaults);
  /// The options with the text flags parsed and everything validated; throws std::invalid_argument
  /// naming the flag.
  model::FitOptions fit_options() const;
};

/// Run-time flags: --threads (0: all cores, validated by the library) and --quiet.
struct RunArgs {
  int threads = 0;     ///< --threads
  bool quiet = false;  ///< --quiet
};

// The text forms live in the library (core/option_text.h).
using core::format_int_list;
using core::format_pooling;
using core::format_pyramid;
using core::parse_int_list;
using core::parse_pooling;
using core::parse_pyramid;
using core::split_csv;

}  // namespace bowlrp::apps
