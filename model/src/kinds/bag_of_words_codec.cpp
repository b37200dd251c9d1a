#include "kinds/bag_of_words_codec.h"

#include <bowlrp/bow/mapping.h>
#include <bowlrp/bow/pooling.h>

namespace bowlrp::model::file_format {

namespace {

constexpr InputDomain kHistograms{0, kMaxHistogram, "histograms in [0, 1]^dim", "a histogram value in [0, 1]", nullptr};

json pipeline_to_json(const bow::PipelineOptions& o) { return record_json(bow::PipelineOptions::schema(), o); }

void check_codebook(const std::vector<float>& centres) {
  check_range(centres, "codebook_centres", kSift, 0, kMaxCentre,
              "a value in [0, 1] (visual words are means of non-negative unit-norm SIFT descriptors)");
}

// The checks that do not read the arrays. Model's constructor checks the head's dimension against
// the encoding's; these name the file's fields.
void check_bag_of_words(const bow::PipelineOptions& options, const bow::Codebook& codebook, std::size_t V,
                        const Fields& fields) {
  options.validate();
  if (codebook.size() == 0) throw std::invalid_argument("Model: the codebook is empty");
  if (codebook.dim() != static_cast<int>(kSift))
    throw std::invalid_argument("Model: the codebook has " + std::to_string(codebook.dim()) + "-dimensional words, expected " +
                                std::to_string(kSift) + " (SIFT)");
  if (codebook.size() != options.kmeans.words)
    throw std::invalid_argument("Model: the codebook has " + std::to_string(codebook.size()) +
                                " words but " + fields.pipeline + ".kmeans.words = " + std::to_string(options.kmeans.words) +
                                ": expected equal");
  const std::size_t expected = static_cast<std::size_t>(codebook.size()) * options.pooling.cells();
  if (V != expected)
    throw std::invalid_argument("Model: SVM dimension " + std::to_string(V) + " != codebook size " +
                                std::to_string(codebook.size()) + " x pyramid cells " +
                                std::to_string(options.pooling.cells()) + " = " + std::to_string(expected));
}

bow::PipelineOptions read_pipeline(const json& j, const Fields& f) {
  const std::string& pn = f.pipeline;
  bow::PipelineOptions o = read_record(bow::PipelineOptions::schema(), j, pn, scope_of(f));
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    throw HeaderError(pn + " options that are invalid: " + std::string(e.what()));
  }
  check_cells(o.pooling.pyramid, pn + ".pooling.pyramid");
  return o;
}

}  // namespace

const InputDomain& EncodingCodec<bow::Pipeline>::domain() { return kHistograms; }

json EncodingCodec<bow::Pipeline>::write_options(const Options& options) { return pipeline_to_json(options); }

bow::PipelineOptions EncodingCodec<bow::Pipeline>::read_options(const json& j, const Fields& fields) {
  return read_pipeline(j, fields);
}

std::vector<ArraySpec> EncodingCodec<bow::Pipeline>::array_specs(const Options& o, const Fields& fields) {
  const std::string& pn = fields.pipeline;
  return {{"codebook_centres", "<f4", {static_cast<std::uint64_t>(o.kmeans.words), kSift},
           "[" + pn + ".kmeans.words, 128]"}};
}

void EncodingCodec<bow::Pipeline>::check_dimension(const Options& o, const std::vector<ArraySpec>& specs,
                                                   const std::vector<ArrayEntry>& arrays, std::uint64_t V,
                                                   const Fields& fields) {
  const std::string& pn = fields.pipeline;
  const std::uint64_t K = static_cast<std::uint64_t>(o.kmeans.words);
  const std::uint64_t cells = static_cast<std::uint64_t>(o.pooling.cells());
  const ArrayEntry& ac = arrays[0];
  if (ac.shape != specs[0].shape)
    throw HeaderError("the array 'codebook_centres' of shape " + shape_text(ac.shape) + ": expected " +
                      shape_text(specs[0].shape) + " = [" + pn + ".kmeans.words, SIFT descriptor length]");
  if (V != K * cells)
    throw HeaderError("dim = " + std::to_string(V) + ": expected " + pn + ".kmeans.words x pyramid cells = " +
                      std::to_string(K) + " x " + std::to_string(cells) + " = " + std::to_string(K * cells));
}

void EncodingCodec<bow::Pipeline>::check_room(const Options& o, std::uint64_t data_bytes, const Fields& fields) {
  const std::string& pn = fields.pipeline;
  const std::uint64_t K = static_cast<std::uint64_t>(o.kmeans.words);
  if (K > data_bytes / 4 / kSift)
    throw HeaderError(pn + ".kmeans.words = " + std::to_string(K) + ": the codebook of " + std::to_string(K) + " x " +
                      std::to_string(kSift) + " floats cannot fit in the data section of " + std::to_string(data_bytes) +
                      " bytes");
}

std::shared_ptr<const bow::Pipeline> EncodingCodec<bow::Pipeline>::read(Options&& options, const DataSection& data,
                                                                        std::size_t V, const Fields& fields) {
  std::vector<float> centres = data.take<float>("codebook_centres");
  check_codebook(centres);
  bow::Codebook codebook(static_cast<int>(kSift), std::move(centres));
  check_bag_of_words(options, codebook, V, fields);
  return std::make_shared<const bow::Pipeline>(std::move(options), std::move(codebook));
}

std::vector<OutArray> EncodingCodec<bow::Pipeline>::write(const bow::Pipeline& p, std::size_t V, const Fields& fields,
                                                          json* options) {
  check_bag_of_words(p.options(), p.codebook(), V, fields);
  check_codebook(p.codebook().centres());
  const auto K = static_cast<std::size_t>(p.codebook().size()), cdim = static_cast<std::size_t>(p.codebook().dim());
  std::vector<OutArray> arrays;
  arrays.push_back(out_array("codebook_centres", {K, cdim}, p.codebook().centres()));
  *options = pipeline_to_json(p.options());
  check_written_options(*options, fields, read_pipeline);
  return arrays;
}

}  // namespace bowlrp::model::file_format
