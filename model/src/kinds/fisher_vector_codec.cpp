#include "kinds/fisher_vector_codec.h"

#include <cctype>
#include <map>

namespace bowlrp::model::file_format {

namespace {

constexpr InputDomain kFisherVectors{-kMaxHistogram, kMaxHistogram, "Fisher vectors in [-1, 1]^dim",
                                     "a Fisher-vector value in [-1, 1]", "Fisher vectors"};

json fisher_pipeline_to_json(const bow::FisherPipelineOptions& o) {
  return record_json(bow::FisherPipelineOptions::schema(), o);
}

// FisherParameters::validate (sizes, finite values, variances and priors > 0, priors summing to 1),
// then the bounds above.
void check_fisher(const bow::FisherOptions& options, const bow::FisherParameters& p) {
  try {
    p.validate(options);
  } catch (const std::invalid_argument& e) {
    // Its message names the FisherParameters field: say which array of the file holds it.
    const std::string what = e.what(), tag = "FisherParameters::";
    std::string field;
    if (const std::size_t at = what.find(tag); at != std::string::npos)
      for (std::size_t i = at + tag.size(); i < what.size() && std::islower(static_cast<unsigned char>(what[i])); ++i)
        field += what[i];
    const std::map<std::string, std::string> arrays = {{"mean", "pca_mean"},
                                                       {"projection", "pca_projection"},
                                                       {"means", "gmm_means"},
                                                       {"variances", "gmm_variances"},
                                                       {"priors", "gmm_priors"}};
    const auto it = arrays.find(field);
    throw std::invalid_argument(
        (it != arrays.end() ? "the array " + it->second + " holds"
                            : std::string("the arrays pca_mean, pca_projection, gmm_means, gmm_variances and gmm_priors hold")) +
        " invalid Fisher parameters: " + what);
  }
  const std::size_t G = static_cast<std::size_t>(options.descriptor_dimension());
  check_range(p.mean, "pca_mean", 0, 0, kMaxCentre,
              "a value in [0, 1] (the mean of non-negative unit-norm SIFT or RootSIFT descriptors)");
  check_range(p.projection, "pca_projection", kSift, -kMaxCentre, kMaxCentre,
              "a value in [-1, 1] (the rows are unit principal axes)");
  check_range(p.means, "gmm_means", G, -kMaxGmmMean, kMaxGmmMean,
              "a value in [-1000, 1000] (local descriptors lie within 2 of 0)");
  check_range(p.variances, "gmm_variances", G, kMinVariance, kMaxValue,
              "a value in [1e-12, 1e+100] (training floors variances at 1e-12)");
}

bow::FisherPipelineOptions read_fisher_pipeline(const json& j, const Fields& f) {
  const std::string& pn = f.pipeline;
  bow::FisherPipelineOptions o = read_record(bow::FisherPipelineOptions::schema(), j, pn, scope_of(f));
  try {
    o.validate();
  } catch (const std::invalid_argument& e) {
    throw HeaderError(pn + " options that are invalid: " + std::string(e.what()));
  }
  check_cells(o.fisher.pyramid, pn + ".fisher.pyramid");
  return o;
}

}  // namespace

const InputDomain& EncodingCodec<bow::FisherPipeline>::domain() { return kFisherVectors; }

json EncodingCodec<bow::FisherPipeline>::write_options(const Options& options) {
  return fisher_pipeline_to_json(options);
}

bow::FisherPipelineOptions EncodingCodec<bow::FisherPipeline>::read_options(const json& j, const Fields& fields) {
  return read_fisher_pipeline(j, fields);
}

std::vector<ArraySpec> EncodingCodec<bow::FisherPipeline>::array_specs(const Options& o, const Fields& fields) {
  const std::string& pn = fields.pipeline;
  const bow::FisherOptions& f = o.fisher;
  const auto K = static_cast<std::uint64_t>(f.components), D = static_cast<std::uint64_t>(f.pca_dimension),
             G = static_cast<std::uint64_t>(f.descriptor_dimension());
  const std::string fn = pn + ".fisher";
  const std::string g = "descriptor dimension = " + fn + ".pca_dimension" + (f.append_xy ? " + 2" : "");
  std::vector<ArraySpec> s;
  s.push_back({"pca_mean", "<f8", {kSift}, "[128]"});
  s.push_back({"pca_projection", "<f8", {D, kSift}, "[" + fn + ".pca_dimension, 128]"});
  s.push_back({"gmm_means", "<f8", {K, G}, "[" + fn + ".components, " + g + "]"});
  s.push_back({"gmm_variances", "<f8", {K, G}, "[" + fn + ".components, " + g + "]"});
  s.push_back({"gmm_priors", "<f8", {K}, "[" + fn + ".components]"});
  return s;
}

void EncodingCodec<bow::FisherPipeline>::check_dimension(const Options& o, const std::vector<ArraySpec>&,
                                                         const std::vector<ArrayEntry>&, std::uint64_t V,
                                                         const Fields& fields) {
  const std::string& pn = fields.pipeline;
  const bow::FisherOptions& f = o.fisher;
  const auto K = static_cast<std::uint64_t>(f.components), G = static_cast<std::uint64_t>(f.descriptor_dimension());
  const auto cells = static_cast<std::uint64_t>(f.cells());
  if (V != 2 * K * G * cells)
    throw HeaderError("dim = " + std::to_string(V) + ": expected 2 x " + pn + ".fisher.components x descriptor dimension x " +
                      "pyramid cells = 2 x " + std::to_string(K) + " x " + std::to_string(G) + " x " +
                      std::to_string(cells) + " = " + std::to_string(2 * K * G * cells));
}

void EncodingCodec<bow::FisherPipeline>::check_room(const Options&, std::uint64_t, const Fields&) {}

std::shared_ptr<const bow::FisherPipeline> EncodingCodec<bow::FisherPipeline>::read(Options&& options,
                                                                                    const DataSection& data,
                                                                                    std::size_t, const Fields&) {
  bow::FisherParameters p;
  p.mean = data.take<double>("pca_mean");
  p.projection = data.take<double>("pca_projection");
  p.means = data.take<double>("gmm_means");
  p.variances = data.take<double>("gmm_variances");
  p.priors = data.take<double>("gmm_priors");
  check_fisher(options.fisher, p);
  return std::make_shared<const bow::FisherPipeline>(std::move(options), std::move(p));
}

std::vector<OutArray> EncodingCodec<bow::FisherPipeline>::write(const bow::FisherPipeline& p, std::size_t,
                                                                const Fields& fields, json* options) {
  const bow::FisherParameters& fp = p.parameters();
  check_fisher(p.options().fisher, fp);
  const auto K = static_cast<std::size_t>(fp.components()), D = static_cast<std::size_t>(fp.pca_dimension()),
             G = static_cast<std::size_t>(p.options().fisher.descriptor_dimension());
  std::vector<OutArray> arrays;
  arrays.push_back(out_array("pca_mean", {kSift}, fp.mean));
  arrays.push_back(out_array("pca_projection", {D, kSift}, fp.projection));
  arrays.push_back(out_array("gmm_means", {K, G}, fp.means));
  arrays.push_back(out_array("gmm_variances", {K, G}, fp.variances));
  arrays.push_back(out_array("gmm_priors", {K}, fp.priors));
  *options = fisher_pipeline_to_json(p.options());
  check_written_options(*options, fields, read_fisher_pipeline);
  return arrays;
}

}  // namespace bowlrp::model::file_format
