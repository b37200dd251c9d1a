#include <bowlrp/model/kinds/fisher_vector.h>

#include <bowlrp/core/option_text.h>
#include <bowlrp/decompose/fisher_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/svm/kernel.h>

#include <cmath>
#include <stdexcept>

namespace bowlrp::model {

std::string EncodingTraits<bow::FisherPipeline>::summary(const bow::FisherPipeline& stage) {
  const bow::FisherOptions& o = stage.options().fisher;
  return std::string("fisher-vector, ") + (o.root_sift ? "RootSIFT, " : "") + "PCA " + std::to_string(o.pca_dimension) +
         (o.append_xy ? " + xy" : "") + ", " + std::to_string(o.components) + " Gaussians, pyramid " +
         core::format_pyramid(o.pyramid) + ", V = " + std::to_string(stage.dimension());
}

std::vector<std::pair<std::string, double>> EncodingTraits<bow::FisherPipeline>::rule_fields(
    const decompose::Composite& composite) {
  return {{"fisher_epsilon", composite.fisher.epsilon}};
}

std::vector<double> EncodingTraits<bow::FisherPipeline>::sensitivity(const bow::FisherPipeline& stage,
                                                                     const bow::FisherTrace& trace,
                                                                     const std::vector<double>& gradient) {
  decompose::FeatureRelevance f = decompose::relevance_fisher_features(stage, trace, gradient);
  for (double& r : f.R) r = std::fabs(r);
  return decompose::relevance_pixels(trace.features, f.R).R;
}

void EncodingTraits<bow::FisherPipeline>::validate(const FitOptions& options) {
  options.pipeline.validate();
  options.fisher.validate();
}

double EncodingTraits<bow::FisherPipeline>::svm_C(const FitOptions& options) { return options.fisher_C; }

std::string EncodingTraits<bow::FisherPipeline>::fit_summary(const FitOptions& options) {
  return std::to_string(options.fisher.components) + " Gaussians (Fisher vectors)";
}

std::shared_ptr<const bow::FisherPipeline> EncodingTraits<bow::FisherPipeline>::train(
    const FitOptions& options, const LabelledImages& data, const core::ProgressFn& progress,
    std::vector<Skipped>* failures, StageTimes* times) {
  const bow::FisherPipelineOptions fo = options.fisher_pipeline();
  bow::FisherParameters parameters =
      train_fisher_parameters(fo, data.images, options.threads, options.cache_dir, progress, failures, times);
  return std::make_shared<const bow::FisherPipeline>(fo, std::move(parameters));
}

void EncodingTraits<bow::FisherPipeline>::restore(const bow::FisherPipeline& stage, FitOptions& options) {
  const bow::FisherPipelineOptions& f = stage.options();
  options.encoding = name;
  options.pipeline.image = f.image;
  options.pipeline.dsift = f.dsift;
  options.fisher = f.fisher;
  options.pipeline.kmeans.seed = f.fisher.seed;  // the `seed` knob reads it there
}

}  // namespace bowlrp::model
