#include "kinds/vlad_codec.h"

namespace bowlrp::model::file_format {

namespace {

constexpr InputDomain kVladVectors{-kMaxHistogram, kMaxHistogram, "VLAD vectors in [-1, 1]^dim",
                                   "a VLAD value in [-1, 1]", "VLAD vectors"};

json vlad_pipeline_to_json(const bow::VladPipelineOptions& o) { return record_json(bow::VladPipelineOptions::schema(), o); }

bow::VladPipelineOptions read_vlad_pipeline(const json& j, const Fields& f) {
  const std::string& pn = f.pipeline;
  bow::VladPipelineOptions o = read_record(bow::VladPipelineOptions::schema(), j, pn, scope_of(f));
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    throw HeaderError(pn + " options that are invalid: " + std::string(e.what()));
  }
  check_cells(o.vlad.pyramid, pn + ".vlad.pyramid");
  return o;
}

void check_centres(const std::vector<float>& centres) {
  check_range(centres, "vlad_centres", kSift, 0, kMaxCentre,
              "a value in [0, 1] (the centres are means of non-negative unit-norm SIFT or RootSIFT descriptors)");
}

}  // namespace

const InputDomain& EncodingCodec<bow::VladPipeline>::domain() { return kVladVectors; }

json EncodingCodec<bow::VladPipeline>::write_options(const Options& options) { return vlad_pipeline_to_json(options); }

bow::VladPipelineOptions EncodingCodec<bow::VladPipeline>::read_options(const json& j, const Fields& fields) {
  return read_vlad_pipeline(j, fields);
}

std::vector<ArraySpec> EncodingCodec<bow::VladPipeline>::array_specs(const Options& o, const Fields& fields) {
  return {{"vlad_centres", "<f4", {static_cast<std::uint64_t>(o.vlad.words), kSift},
           "[" + fields.pipeline + ".vlad.words, 128]"}};
}

void EncodingCodec<bow::VladPipeline>::check_dimension(const Options& o, const std::vector<ArraySpec>&,
                                                       const std::vector<ArrayEntry>&, std::uint64_t V,
                                                       const Fields& fields) {
  const auto K = static_cast<std::uint64_t>(o.vlad.words), cells = static_cast<std::uint64_t>(o.vlad.cells());
  if (V != K * kSift * cells)
    throw HeaderError("dim = " + std::to_string(V) + ": expected " + fields.pipeline +
                      ".vlad.words x 128 x pyramid cells = " + std::to_string(K) + " x 128 x " + std::to_string(cells) +
                      " = " + std::to_string(K * kSift * cells));
}

void EncodingCodec<bow::VladPipeline>::check_room(const Options& o, std::uint64_t data_bytes, const Fields& fields) {
  const auto K = static_cast<std::uint64_t>(o.vlad.words);
  if (K > data_bytes / 4 / kSift)
    throw HeaderError(fields.pipeline + ".vlad.words = " + std::to_string(K) + ": the codebook of " + std::to_string(K) +
                      " x 128 floats cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
}

std::shared_ptr<const bow::VladPipeline> EncodingCodec<bow::VladPipeline>::read(Options&& options,
                                                                                const DataSection& data, std::size_t,
                                                                                const Fields&) {
  std::vector<float> centres = data.take<float>("vlad_centres");
  check_centres(centres);
  return std::make_shared<const bow::VladPipeline>(std::move(options),
                                                   bow::Codebook(static_cast<int>(kSift), std::move(centres)));
}

std::vector<OutArray> EncodingCodec<bow::VladPipeline>::write(const bow::VladPipeline& p, std::size_t,
                                                              const Fields& fields, json* options) {
  check_centres(p.codebook().centres());
  const auto K = static_cast<std::size_t>(p.codebook().size());
  std::vector<OutArray> arrays;
  arrays.push_back(out_array("vlad_centres", {K, kSift}, p.codebook().centres()));
  *options = vlad_pipeline_to_json(p.options());
  check_written_options(*options, fields, read_vlad_pipeline);
  return arrays;
}

}  // namespace bowlrp::model::file_format
