// The Bag-of-Words encoding's part of the model file: "pipeline" = PIPELINE_BOW and the array
// "codebook_centres" <f4 [K, 128] (model/model_file.h); format_version 1 holds it with a kernel-SVM head.
// The "pipeline" object is the record of bow::PipelineOptions::schema() (file_format::record_json / read_record).
#pragma once

#include "../model_file_format.h"

#include <bowlrp/bow/pipeline.h>

namespace bowlrp::model::file_format {

/// The Bag-of-Words codec.
template <>
struct EncodingCodec<bow::Pipeline> {
  using Options = bow::PipelineOptions;              ///< the stage's options
  static constexpr bool format_version_1 = true;     ///< version 1 holds it (with a kernel-SVM head)
  /// Histograms in [0, 1]^dim.
  static const InputDomain& domain();
  /// The "pipeline" object.
  static json write_options(const Options& options);
  /// Reads and validates the "pipeline" object.
  static Options read_options(const json& j, const Fields& fields);
  /// codebook_centres.
  static std::vector<ArraySpec> array_specs(const Options& options, const Fields& fields);
  /// The codebook's shape, then dim = words x pyramid cells.
  static void check_dimension(const Options& options, const std::vector<ArraySpec>& specs,
                              const std::vector<ArrayEntry>& arrays, std::uint64_t V, const Fields& fields);
  /// The codebook against the data section.
  static void check_room(const Options& options, std::uint64_t data_bytes, const Fields& fields);
  /// The pipeline from its checked arrays.
  static std::shared_ptr<const bow::Pipeline> read(Options&& options, const DataSection& data, std::size_t V,
                                                   const Fields& fields);
  /// Its arrays and options' JSON, after a reader's checks.
  static std::vector<OutArray> write(const bow::Pipeline& stage, std::size_t V, const Fields& fields, json* options);
};

}  // namespace bowlrp::model::file_format
