// The VLAD encoding's part of the model file (format_version 2):
//   "encoding": {"kind": "vlad", "pipeline": {"image": {"max_side"}, "dsift": {...as PIPELINE_BOW},
//                "vlad": {"words", "samples", "max_iterations", "seed", "root_sift", "signed_sqrt",
//                         "intra_normalisation", "pyramid": [{"cols", "rows"}]}}}
//   array "vlad_centres" <f4 [K, 128]: the codebook in the space of the local descriptors (RootSIFT
//   with root_sift), every value in [0, 1]; dim = K x 128 x pyramid cells; VLAD vectors lie in [-1, 1]^dim.
// The "pipeline" object is the record of bow::VladPipelineOptions::schema() (file_format::record_json / read_record).
#pragma once

#include "../model_file_format.h"

#include <bowlrp/bow/vlad.h>

namespace bowlrp::model::file_format {

/// The VLAD codec.
template <>
struct EncodingCodec<bow::VladPipeline> {
  using Options = bow::VladPipelineOptions;         ///< the stage's options
  static constexpr bool format_version_1 = false;   ///< version 2 only
  /// VLAD vectors in [-1, 1]^dim (signed).
  static const InputDomain& domain();
  /// The "pipeline" object.
  static json write_options(const Options& options);
  /// Reads and validates the "pipeline" object.
  static Options read_options(const json& j, const Fields& fields);
  /// vlad_centres.
  static std::vector<ArraySpec> array_specs(const Options& options, const Fields& fields);
  /// dim = words x 128 x pyramid cells.
  static void check_dimension(const Options& options, const std::vector<ArraySpec>& specs,
                              const std::vector<ArrayEntry>& arrays, std::uint64_t V, const Fields& fields);
  /// The codebook against the data section.
  static void check_room(const Options& options, std::uint64_t data_bytes, const Fields& fields);
  /// The pipeline from its checked codebook.
  static std::shared_ptr<const bow::VladPipeline> read(Options&& options, const DataSection& data, std::size_t V,
                                                       const Fields& fields);
  /// Its array and options' JSON, after a reader's checks.
  static std::vector<OutArray> write(const bow::VladPipeline& stage, std::size_t V, const Fields& fields,
                                     json* options);
};

}  // namespace bowlrp::model::file_format
