#include <bowlrp/model/kinds/vlad.h>

#include <bowlrp/core/option_text.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/vlad_relevance.h>
#include <bowlrp/model/fit.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace bowlrp::model {

namespace {
bow::VladPipelineOptions pipeline_options(const FitOptions& options) {
  return {options.pipeline.image, options.pipeline.dsift, options.vlad};
}
}  // namespace

std::string EncodingTraits<bow::VladPipeline>::summary(const bow::VladPipeline& stage) {
  const bow::VladOptions& o = stage.options().vlad;
  return std::string("vlad, ") + (o.root_sift ? "RootSIFT, " : "") + std::to_string(o.words) + " words, " +
         (o.signed_sqrt ? "signed square root, " : "") + (o.intra_normalisation ? "intra-normalised, " : "") +
         "pyramid " + core::format_pyramid(o.pyramid) + ", V = " + std::to_string(stage.dimension());
}

std::vector<std::pair<std::string, double>> EncodingTraits<bow::VladPipeline>::rule_fields(
    const decompose::Composite& composite) {
  return {{"vlad_epsilon", composite.fisher.epsilon}};
}

std::vector<double> EncodingTraits<bow::VladPipeline>::sensitivity(const bow::VladPipeline& stage,
                                                                   const bow::VladTrace& trace,
                                                                   const std::vector<double>& gradient) {
  decompose::FeatureRelevance f = decompose::relevance_vlad_features(stage, trace, gradient);
  for (double& r : f.R) r = std::fabs(r);
  return decompose::relevance_pixels(trace.features, f.R).R;
}

void EncodingTraits<bow::VladPipeline>::validate(const FitOptions& options) { pipeline_options(options).validate(); }

double EncodingTraits<bow::VladPipeline>::svm_C(const FitOptions& options) { return options.svm.C; }

std::string EncodingTraits<bow::VladPipeline>::fit_summary(const FitOptions& options) {
  return std::to_string(options.vlad.words) + " words (VLAD)";
}

std::shared_ptr<const bow::VladPipeline> EncodingTraits<bow::VladPipeline>::train(const FitOptions& options,
                                                                                  const LabelledImages& data,
                                                                                  const core::ProgressFn& progress,
                                                                                  std::vector<Skipped>* failures,
                                                                                  StageTimes* times) {
  const bow::VladPipelineOptions o = pipeline_options(options);
  o.validate();
  if (data.images.empty()) throw std::invalid_argument("cannot train a VLAD codebook: no training images");
  std::size_t used = 0;
  const std::vector<float> sample =
      sample_training_descriptors(o.image, o.dsift, data.images, o.vlad.samples, o.vlad.seed, options.threads, progress,
                                  failures, times, &used);
  const std::size_t n = sample.size() / bow::FeatureTrace::kDim;
  const auto t0 = std::chrono::steady_clock::now();
  core::progress_note(progress, "k-means",
                      "k-means: " + std::to_string(n) + " descriptors -> " + std::to_string(o.vlad.words) +
                          " VLAD words");
  bow::Codebook codebook = bow::train_vlad_codebook(sample.data(), n, o.vlad);
  if (times) times->kmeans = core::seconds_since(t0);
  return std::make_shared<const bow::VladPipeline>(o, std::move(codebook));
}

void EncodingTraits<bow::VladPipeline>::restore(const bow::VladPipeline& stage, FitOptions& options) {
  const bow::VladPipelineOptions& v = stage.options();
  options.encoding = name;
  options.pipeline.image = v.image;
  options.pipeline.dsift = v.dsift;
  options.vlad = v.vlad;
  options.pipeline.kmeans.seed = v.vlad.seed;  // the `seed` knob reads it there
}

}  // namespace bowlrp::model
