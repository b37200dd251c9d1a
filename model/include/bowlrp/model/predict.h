// Prediction in batches: image files or decoded images -> one score per class and the top class.
//
// Images are encoded one per task in parallel (through the histogram cache when one is given) and
// scored together as one tiled kernel matrix (svm::KernelSvm::decision_batch): the same numbers as
// scoring one by one, for any thread count. An image that cannot be read keeps its row, marked
// failed with its reason, so a batch accounts for every input.
#pragma once

#include <bowlrp/bow/image.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::model {

/// Options of a prediction batch.
struct PredictOptions {
  int threads = 0;         ///< worker threads (0: all cores, else 1 .. core::kMaxThreads)
  std::string cache_dir;   ///< histogram cache folder (empty: none)
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
};

/// Scores of a batch.
struct Predictions {
  std::size_t classes = 0;        ///< C
  std::vector<double> scores;     ///< images x C row-major (rows of failed images hold the scores of a zero histogram)
  std::vector<std::size_t> top;   ///< top-scoring class per image (0 where failed)
  std::vector<char> ok;           ///< 1 where the image was read and encoded
  std::vector<std::string> errors;  ///< reason per image (empty where ok)
  /// Scores of image i (C values).
  const double* row(std::size_t i) const { return scores.data() + i * classes; }
  /// Number of images.
  std::size_t size() const { return ok.size(); }
};

/// Top-1 accuracy over the scored images whose parent folder names a class of the model.
struct FolderAccuracy {
  std::size_t labelled = 0;  ///< scored images whose parent folder is named after a class
  std::size_t right = 0;     ///< of those, the images whose top class is that class
};
/// Scores `predictions` (of `paths`) against the classes their parent folders name.
FolderAccuracy folder_accuracy(const Model& model, const std::vector<std::string>& paths,
                               const Predictions& predictions);

/// The inputs of a batch that failed: the rows of `predictions` (of `paths`) that are not ok, with their reasons.
std::vector<Skipped> failed_rows(const std::vector<std::string>& paths, const Predictions& predictions);

/// The JSON of `bowlrp predict --json` (one-space indent, a final newline): an array with, per scored
/// image of `paths` in order, {"image", "scores": {class: f}, "predicted"}, then per entry of `failures`
/// {"image", "error"}, so the file accounts for every input (`image_hex` beside `image` when a path is
/// not UTF-8, core/utf8.h).
std::string predictions_json(const Model& model, const std::vector<std::string>& paths,
                             const Predictions& predictions, const std::vector<Skipped>& failures);

/// Encodes and scores image files.
Predictions predict_files(const Model& model, const std::vector<std::string>& paths, const PredictOptions& options = {},
                          const core::ProgressFn& progress = {});
/// Encodes and scores decoded images (e.g. from numpy; never cached).
Predictions predict_images(const Model& model, std::vector<bow::GrayImage> images,
                           const PredictOptions& options = {}, const core::ProgressFn& progress = {});

}  // namespace bowlrp::model
