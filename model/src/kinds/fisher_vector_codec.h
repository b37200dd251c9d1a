// The Fisher-vector encoding's part of the model file: "pipeline" = {"image", "dsift", "fisher"} and
// the arrays pca_mean, pca_projection, gmm_means, gmm_variances, gmm_priors (model/model_file.h).
// The "pipeline" object is the record of bow::FisherPipelineOptions::schema() (file_format::record_json / read_record).
#pragma once

#include "../model_file_format.h"

#include <bowlrp/bow/fisher.h>

namespace bowlrp::model::file_format {

/// The Fisher-vector codec.
template <>
struct EncodingCodec<bow::FisherPipeline> {
  using Options = bow::FisherPipelineOptions;        ///< the stage's options
  static constexpr bool format_version_1 = false;    ///< version 2 only
  /// Fisher vectors in [-1, 1]^dim (signed).
  static const InputDomain& domain();
  /// The "pipeline" object (skip_zeroed written only when on).
  static json write_options(const Options& options);
  /// Reads and validates the "pipeline" object.
  static Options read_options(const json& j, const Fields& fields);
  /// The PCA and mixture arrays.
  static std::vector<ArraySpec> array_specs(const Options& options, const Fields& fields);
  /// dim = 2 x components x descriptor dimension x pyramid cells.
  static void check_dimension(const Options& options, const std::vector<ArraySpec>& specs,
                              const std::vector<ArrayEntry>& arrays, std::uint64_t V, const Fields& fields);
  /// Nothing beyond the per-array checks.
  static void check_room(const Options& options, std::uint64_t data_bytes, const Fields& fields);
  /// The pipeline from its checked arrays (FisherParameters::validate and the bounds first).
  static std::shared_ptr<const bow::FisherPipeline> read(Options&& options, const DataSection& data, std::size_t V,
                                                         const Fields& fields);
  /// Its arrays and options' JSON, after a reader's checks.
  static std::vector<OutArray> write(const bow::FisherPipeline& stage, std::size_t V, const Fields& fields,
                                     json* options);
};

}  // namespace bowlrp::model::file_format
