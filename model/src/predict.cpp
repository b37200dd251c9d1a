#include <bowlrp/model/predict.h>

#include <bowlrp/core/io.h>
#include <bowlrp/core/json_text.h>

#include <nlohmann/json.hpp>

#include <filesystem>

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

FolderAccuracy folder_accuracy(const Model& model, const std::vector<std::string>& paths,
                               const Predictions& predictions) {
  FolderAccuracy a;
  const std::vector<std::string>& classes = model.class_names();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!predictions.ok.at(i)) continue;
    const std::string parent = std::filesystem::u8path(paths[i]).parent_path().filename().u8string();
    for (std::size_t c = 0; c < classes.size(); ++c)
      if (classes[c] == parent) {
        ++a.labelled;
        a.right += c == predictions.top[i];
      }
  }
  return a;
}

std::vector<Skipped> failed_rows(const std::vector<std::string>& paths, const Predictions& predictions) {
  std::vector<Skipped> failed;
  for (std::size_t i = 0; i < paths.size(); ++i)
    if (!predictions.ok.at(i)) failed.push_back({paths[i], predictions.errors[i]});
  return failed;
}

std::string predictions_json(const Model& model, const std::vector<std::string>& paths,
                             const Predictions& predictions, const std::vector<Skipped>& failures) {
  const std::vector<std::string>& classes = model.class_names();
  nlohmann::json out = nlohmann::json::array();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!predictions.ok.at(i)) continue;
    nlohmann::json item;
    core::set_path(item, "image", paths[i]);
    nlohmann::json s = nlohmann::json::object();
    for (std::size_t c = 0; c < classes.size(); ++c) s[classes[c]] = predictions.row(i)[c];
    item["scores"] = s;
    item["predicted"] = classes[predictions.top[i]];
    out.push_back(item);
  }
  for (const Skipped& f : failures) {
    nlohmann::json item;
    core::set_path(item, "image", f.path);
    item["error"] = f.reason;
    out.push_back(item);
  }
  return core::dump_json(out, 1) + "\n";
}

}  // namespace bowlrp::model
