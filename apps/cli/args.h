// Command-line arguments of the pipeline, shared by `train`, `voc` and `demo`, and their parsing
// into the library's options structs. Parsing errors name the flag, the value and what was expected.
#pragma once

#include <bowlrp/bow/pipeline.h>
#include <bowlrp/svm/kernel.h>
#include <bowlrp/svm/svm.h>

#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::apps {

/// Pipeline and training flags as typed on the command line (defaults = the library's defaults
/// chosen by measurement, see README "Defaults").
struct PipelineArgs {
  int words = 1024;                 ///< --words K
  int step = 4;                     ///< --step S (working px)
  std::string bin_sizes = "4,6,8,10";  ///< --bin-sizes a,b,...
  int max_side = 500;               ///< --max-side PX (0 = off)
  std::string pyramid = "1x1,2x2";  ///< --pyramid CxR,...
  std::string pooling = "sum";      ///< --pooling sum|pmean:P|max
  std::string mapping = "hard";     ///< --mapping hard|soft|rank
  int neighbours = 5;               ///< --neighbours r (soft, rank)
  std::string normalisation = "l1";  ///< --normalisation l1|l2|none
  bool hellinger = false;           ///< --hellinger
  std::string kernel = "hik";       ///< --kernel hik|chi2|hellinger|linear|rbf|expchi2
  double gamma = 0;                 ///< --gamma (rbf/expchi2; 0 = 1/mean distance)
  double C = 3;                     ///< --C (VOC07 train -> val sweep: 3 best, see README)
  bool balanced = false;            ///< --balanced
  std::size_t kmeans_samples = 100000;  ///< --kmeans-samples
  std::string kmeans_algorithm = "lloyd_gemm";  ///< --kmeans-algorithm lloyd_gemm|vlfeat_elkan|vlfeat_ann
  double kmeans_tolerance = 1e-3;   ///< --kmeans-tolerance (relative energy decrease that stops Lloyd)
  std::uint64_t seed = 0;           ///< --seed
  /// The forward-pipeline options; throws std::invalid_argument naming the flag.
  bow::PipelineOptions pipeline_options() const;
  /// The kernel; throws std::invalid_argument naming the flag.
  svm::Kernel kernel_spec() const;
  /// The SVM training options.
  svm::TrainOptions train_options() const;
};

/// Parses "4,6,8" into integers; `flag` names the option in errors.
std::vector<int> parse_int_list(const std::string& text, const std::string& flag);
/// Parses "1x1,2x2,3x1" into pyramid levels.
std::vector<bow::PyramidLevel> parse_pyramid(const std::string& text);
/// Parses "sum" (p = 1), "pmean:P" (P > 0) or "max" (p = inf) into the pooling exponent.
double parse_pooling(const std::string& text);

}  // namespace bowlrp::apps
