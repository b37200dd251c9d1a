#include <bowlrp/model/kinds/bag_of_words.h>

#include <bowlrp/core/option_text.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/model/fit.h>

namespace bowlrp::model {

std::string EncodingTraits<bow::Pipeline>::summary(const bow::Pipeline& stage) {
  const bow::PipelineOptions& o = stage.options();
  return "bag-of-words, " + std::to_string(o.kmeans.words) + " words, " + bow::to_string(o.mapping.kind) +
         " mapping, p = " + (o.pooling.is_max() ? std::string("inf") : std::to_string(o.pooling.p)) + ", pyramid " +
         core::format_pyramid(o.pooling.pyramid) + ", " + bow::to_string(o.pooling.normalisation);
}

std::vector<std::pair<std::string, double>> EncodingTraits<bow::Pipeline>::rule_fields(const decompose::Composite&) {
  return {};
}

std::vector<double> EncodingTraits<bow::Pipeline>::sensitivity(const bow::Pipeline&, const bow::EncodeTrace& trace,
                                                               const std::vector<double>& gradient) {
  const decompose::FeatureRelevance f =
      decompose::relevance_features(trace.features, trace.assignment, trace.pool, gradient);
  return decompose::relevance_pixels(trace.features, f.R).R;
}

void EncodingTraits<bow::Pipeline>::validate(const FitOptions& options) { options.pipeline.validate(); }

double EncodingTraits<bow::Pipeline>::svm_C(const FitOptions& options) { return options.svm.C; }

std::string EncodingTraits<bow::Pipeline>::fit_summary(const FitOptions& options) {
  return "K = " + std::to_string(options.pipeline.kmeans.words);
}

std::shared_ptr<const bow::Pipeline> EncodingTraits<bow::Pipeline>::train(const FitOptions& options,
                                                                          const LabelledImages& data,
                                                                          const core::ProgressFn& progress,
                                                                          std::vector<Skipped>* failures,
                                                                          StageTimes* times) {
  bow::Codebook codebook =
      train_codebook(options.pipeline, data.images, options.threads, options.cache_dir, progress, failures, times);
  return std::make_shared<const bow::Pipeline>(options.pipeline, std::move(codebook));
}

void EncodingTraits<bow::Pipeline>::restore(const bow::Pipeline& stage, FitOptions& options) {
  options.encoding = name;
  options.pipeline = stage.options();
}

}  // namespace bowlrp::model
