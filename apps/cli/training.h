// The training driver shared by `bowlrp train`, `bowlrp voc` and `bowlrp demo`:
// images -> (seeded descriptor sample -> k-means codebook) -> histograms -> one-vs-rest SVMs.
//
// Descriptors are streamed, never all held: the codebook is trained on a seeded sample drawn from
// a seeded subset of the training images, then every image is extracted, mapped and pooled in one
// pass that keeps only its histogram (V doubles). Images are processed in parallel and written to
// fixed slots, so the results do not depend on the number of threads.
#pragma once

#include <bowlrp/bow/pipeline.h>
#include <bowlrp/svm/classifier.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::apps {

/// Labelled training images: labels is images x classes row-major in {1, -1, 0 = leave out}.
struct TrainingData {
  std::vector<std::string> paths;        ///< image files
  std::vector<std::string> class_names;  ///< one binary SVM each
  std::vector<int> labels;               ///< paths.size() * class_names.size()
};

/// Run-time settings that do not change results.
struct RunOptions {
  /// Cap on --threads: TBB itself crashes on arenas of ~100 000 slots, and more workers than this
  /// only oversubscribe any machine the tool runs on.
  static constexpr int kMaxThreads = 1024;
  int threads = 0;         ///< worker threads (0: all cores, else 1 .. kMaxThreads); results are identical for any value
  bool quiet = false;      ///< no progress display
  std::string cache_dir;   ///< per-image histogram cache (empty: none), keyed by options, codebook and file bytes
  /// Throws std::invalid_argument naming --threads unless 0 <= threads <= kMaxThreads.
  void validate() const;
};

/// Histograms of a list of images; images that could not be read are reported, not fatal.
struct EncodedSet {
  std::size_t dim = 0;                                          ///< V
  std::vector<double> histograms;                               ///< images x V row-major (zeros where failed)
  std::vector<char> ok;                                         ///< 1 where the image was encoded
  std::vector<std::pair<std::string, std::string>> failures;   ///< (path, reason), in input order
  /// Histogram of image i.
  const double* row(std::size_t i) const { return histograms.data() + i * dim; }
};

/// Seconds spent per stage, for summaries and reports.
struct StageTimes {
  double codebook_extract = 0, kmeans = 0, encode = 0, svm = 0;  ///< wall seconds
};

/// Samples descriptors from a seeded subset of `paths` and runs k-means (options.kmeans).
bow::Codebook train_codebook(const bow::PipelineOptions& options, const std::vector<std::string>& paths,
                             const RunOptions& run, std::vector<std::pair<std::string, std::string>>* failures,
                             StageTimes* times = nullptr);

/// Encodes every image with the pipeline, in parallel, with a progress display.
EncodedSet encode_images(const bow::Pipeline& pipeline, const std::vector<std::string>& paths,
                         const RunOptions& run, const std::string& label = "encode");

/// Full training: codebook, histograms, one-vs-rest SVMs (kernel gamma 0 = default_gamma).
/// Unreadable images are skipped and listed in *skipped; a class left without a positive or a
/// negative example is an error naming it.
svm::Classifier train_classifier(const TrainingData& data, const bow::PipelineOptions& options,
                                 const svm::Kernel& kernel, const svm::TrainOptions& train_options,
                                 const RunOptions& run, std::vector<std::pair<std::string, std::string>>* skipped,
                                 StageTimes* times = nullptr, EncodedSet* encoded = nullptr);

/// Process-wide set-up of the command-line tool: BLAS runs single-threaded because the pipeline
/// already runs one image per core (nested BLAS threads only contend).
void init_runtime();

/// Runs fn(i) for every i in [0, n) on run.threads workers (0: all cores), one item per task
/// (items are images: heavy and uneven), with a progress line named `label`. fn must write only to
/// slot i, so results do not depend on the thread count.
void for_each_item(std::size_t n, const RunOptions& run, const std::string& label,
                   const std::function<void(std::size_t)>& fn);

/// Scales a thread-count option to a TBB arena size (0: all cores); throws std::invalid_argument
/// outside 0 .. RunOptions::kMaxThreads.
int resolve_threads(int threads);

}  // namespace bowlrp::apps
