#include <bowlrp/model/predict.h>

#include <bowlrp/core/io.h>

namespace bowlrp::model {
namespace {

Predictions score_set(const Model& model, const EncodedSet& set, int threads) {
  Predictions out;
  out.classes = model.classes();
  const std::size_t n = set.ok.size();
  // Unreadable images hold zero rows: scored with the rest (one tiled kernel matrix), marked failed.
  out.scores = model.scores_batch(set.histograms.data(), n, threads);
  out.ok = set.ok;
  out.top.assign(n, 0);
  out.errors.assign(n, std::string());
  for (std::size_t i = 0; i < n; ++i)
    if (out.ok[i]) out.top[i] = top_class(out.row(i), out.classes);
  std::size_t f = 0;
  for (std::size_t i = 0; i < n; ++i)
    if (!out.ok[i]) out.errors[i] = set.failures[f++].reason;
  return out;
}

}  // namespace

void PredictOptions::validate() const {
  core::validate_threads(threads, "PredictOptions.threads");
  core::check_path_text(cache_dir, "PredictOptions.cache_dir");
}

Predictions predict_files(const Model& model, const std::vector<std::string>& paths, const PredictOptions& options,
                          const core::ProgressFn& progress) {
  options.validate();
  const EncodedSet set =
      encode_images(model.encoding(), paths, options.threads, options.cache_dir, progress, "predict");
  return score_set(model, set, options.threads);
}

Predictions predict_images(const Model& model, std::vector<bow::GrayImage> images, const PredictOptions& options,
                           const core::ProgressFn& progress) {
  options.validate();
  const EncodedSet set =
      encode_images(model.encoding(), std::move(images), options.threads, options.cache_dir, progress, "predict");
  return score_set(model, set, options.threads);
}

}  // namespace bowlrp::model
