// Fitting a model from labelled images, by the protocol of `bowlrp train` and `bowlrp voc`:
//   images -> (seeded descriptor sample -> k-means codebook) -> histograms -> one-vs-rest SVMs,
//   or, for Fisher vectors, (seeded descriptor sample -> PCA + GMM) -> Fisher vectors -> linear SVMs;
//   either encoding can also feed a network head trained by libtorch (nn/training.h).
//
// Descriptors are streamed, never all held: the codebook is trained on a seeded sample of
// samples / min(N, 400) non-zero descriptors from each of a seeded subset of at most 400 training
// images, then every image is extracted, mapped and pooled in one parallel pass that keeps only its
// histogram (V doubles). Images are processed one per task and written to fixed slots, so the model
// does not depend on the number of threads. An image that cannot be read is skipped and reported
// (FitReport::skipped), never fatal; a class left without a positive example is an error naming it.
// With a cache folder, codebooks and histograms are kept on disk (feature_cache.h) so that an
// interrupted or repeated fit resumes. A cache that cannot be written (full disk) costs no image and
// changes no result: its first failure per stage is sent as a progress note ("warning: ...") and the
// stage goes on without writing entries.
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/model/image_source.h>
#include <bowlrp/model/model.h>
#include <bowlrp/nn/training.h>
#include <bowlrp/svm/additive_map.h>
#include <bowlrp/svm/kernel.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::model {

/// An input that was left out, and why.
struct Skipped {
  std::string path;    ///< the file or folder
  std::string reason;  ///< the error message
};

/// Labelled training images: labels is images x classes row-major in {1, -1, 0 = leave out of that
/// class's training, e.g. VOC "difficult"}.
struct LabelledImages {
  ImageSource images;                    ///< image files, or decoded images (e.g. numpy arrays; never cached)
  std::vector<std::string> class_names;  ///< one binary SVM each
  std::vector<int> labels;               ///< images.size() x class_names.size()
  bool single_label = true;              ///< every image has exactly one class (accuracy is top-1)
  std::vector<Skipped> unlisted;         ///< entries of a folder that could not be listed (reported, not trained on)

  /// A folder-per-class set; throws std::invalid_argument for fewer than two classes.
  static LabelledImages from_folder(const datasets::FolderDataset& set);
  /// Scans DIR/<class>/... (datasets::FolderDataset::scan) and takes it as above.
  static LabelledImages from_folder(const std::string& dir);
  /// A VOC image set (multi-label; label 0 = difficult).
  static LabelledImages from_voc(const datasets::VocSet& set);
  /// Paths with one class name each; classes are the sorted distinct names (at least two).
  static LabelledImages from_paths(const std::vector<std::string>& paths, const std::vector<std::string>& labels);
  /// Decoded images with one class name each (named by their source, or "image-<i>", in messages); as
  /// from_paths.
  static LabelledImages from_images(std::vector<bow::GrayImage> images, const std::vector<std::string>& labels);
  /// Throws std::invalid_argument naming what does not fit (sizes, labels outside {1, -1, 0}, no class).
  void validate() const;
};

/// Options of fit(); the defaults are the measured ones (README "Defaults", "Fisher vectors").
struct FitOptions {
  std::string encoding = "bag-of-words";  ///< which encoding kind to train (a name of model/kinds.h)
  /// Bag-of-Words options (1x1 + 2x2 pyramid, K = 1024, ...); its image and dsift options serve
  /// the Fisher-vector encoding too
  bow::PipelineOptions pipeline;
  bow::FisherOptions fisher;      ///< Fisher-vector options (PCA, GMM, pyramid), used when encoding is fisher-vector
  bow::VladOptions vlad;          ///< VLAD options (codebook, normalisations, pyramid), used when encoding is vlad
  /// head kind (a name of model/kinds.h); empty: the encoding's default (a kernel SVM for
  /// Bag-of-Words, a linear SVM for Fisher vectors)
  std::optional<std::string> head;
  svm::Kernel kernel;             ///< head kernel (hik); gamma 0 = 1 / mean distance for rbf/expchi2
  svm::TrainOptions svm;          ///< C = 3, ...; svm.threads is replaced by `threads`
  /// C of the SVMs over Fisher vectors (replaces svm.C for that encoding; best of a VOC2007 sweep with
  /// mirrored training, README)
  double fisher_C = 5.0;
  /// The network head's training (hidden sizes, epochs, ...), used when the head is a network;
  /// network.threads is replaced by `threads`
  nn::TrainOptions network;
  /// The explicit-map head's map (order, period, window), used when the head is explicit-map-svm; its
  /// kernel is replaced by kernel.type (hik or chi2)
  svm::AdditiveMapOptions additive_map;
  int threads = 0;                ///< worker threads (0: all cores, else 1 .. core::kMaxThreads); results do not depend on it
  std::string cache_dir;          ///< codebook and histogram cache folder (empty: none; if unwritable, noted once, unused)
  bool training_accuracy = true;  ///< score the training images afterwards (FitReport::training_accuracy)
  /// keep the training rows in FitReport::encoded.histograms; false releases them as soon as the head
  /// is trained (ok, failures and dim stay), e.g. before a caller encodes a test split of the same size
  /// (2500 Fisher vectors of the 1x1 + 3x1 pyramid are 3.4 GB of doubles)
  bool keep_encoded = true;
  /// also train on every training image's left-right mirror (bow::mirror_left_right), labels kept:
  /// twice the training rows and the training encoding time; the mixture or codebook still comes
  /// from the images alone. Empty: on for Fisher vectors (+2.2 points mAP on VOC2007, README), off
  /// for Bag-of-Words
  std::optional<bool> mirror_training;
  /// Whether fit() trains on the mirrors too (mirror_training, or the encoding's default).
  bool mirrors() const;
  /// The head kind fit() trains (head, or the encoding's default).
  std::string head_kind() const;
  /// The options that rebuild a model's encoding and head (its kinds, encoding options, kernel type
  /// or hidden sizes; `head` left empty when it is the encoding's default). SVM training options are
  /// not stored in a model file and keep their defaults.
  static FitOptions from_model(const Model& model);
  /// Checks explanation rules against the head this fit trains, before training (e.g. a network's
  /// explicit rule list against its layers); throws std::invalid_argument.
  void check_rules(const decompose::Composite& composite) const;
  /// One phrase on the encoding to be trained ("K = 1024", "256 Gaussians (Fisher vectors)").
  std::string encoding_summary() const;
  /// The name of the head's training stage ("train SVMs", "train network").
  std::string head_training_stage() const;
  /// The network head's training options (`network` with its threads replaced by `threads`).
  nn::TrainOptions network_training() const {
    nn::TrainOptions n = network;
    n.threads = threads;
    return n;
  }
  /// The Fisher-vector pipeline options (image and dsift from `pipeline`).
  bow::FisherPipelineOptions fisher_pipeline() const { return {pipeline.image, pipeline.dsift, fisher}; }
  /// Throws std::invalid_argument naming the bad field, its value and what was expected.
  void validate() const;
  /// Every user-facing option, described once (core/option_schema.h): the kinds, the seed (which
  /// seeds every random choice: the descriptor samples, k-means, the mixture's EM start, the
  /// network's initialisation), each encoding's and head's own options, and the run options. The
  /// command line's flags and the Python keywords are made from it.
  static const core::OptionSchema<FitOptions>& schema();
};

/// Wall seconds spent per stage.
struct StageTimes {
  double codebook_extract = 0;  ///< descriptor sample for the codebook or the mixture
  double kmeans = 0;            ///< k-means, or PCA + GMM for Fisher vectors
  double encode = 0;            ///< histograms of the training images
  double svm = 0;               ///< the head: one-vs-rest SVMs, or the network's training
};

/// Histograms of a list of images; images that could not be read are reported, not fatal.
struct EncodedSet {
  std::size_t dim = 0;               ///< V
  std::vector<double> histograms;    ///< images x V row-major (zeros where failed)
  std::vector<char> ok;              ///< 1 where the image was encoded
  std::vector<Skipped> failures;     ///< in input order
  /// Histogram of image i.
  const double* row(std::size_t i) const { return histograms.data() + i * dim; }
  /// The rows of images `kept` (ascending) as one kept.size() x dim block: the set's own storage when
  /// every image is kept, else a copy in *storage (Fisher vectors are large: no copy unless needed).
  const double* rows(const std::vector<std::size_t>& kept, std::vector<double>* storage) const;
};

/// What fit() saw besides the model.
struct FitReport {
  std::vector<Skipped> skipped;   ///< images (and folder entries) left out, in input order
  std::size_t used = 0;           ///< images trained on
  StageTimes times;               ///< per stage
  double training_accuracy = 0;   ///< top-1 (single_label) or per-class sign over labelled pairs (if asked for)
  /// histograms of the training images (histograms empty unless FitOptions::keep_encoded); with
  /// FitOptions::mirrors() 2n rows, the mirrors' after the images'
  EncodedSet encoded;
};

/// The seeded descriptor sample of the training protocol (the files read with `image`, or the
/// decoded images): about samples / min(N, 400) non-zero SIFT descriptors from each of a seeded subset
/// of at most 400 images, n x 128 floats; failures of images are appended to *failures and
/// times->codebook_extract is set. What an encoding kind's training clusters.
std::vector<float> sample_training_descriptors(const bow::ImageOptions& image, const bow::DsiftOptions& dsift,
                                               const ImageSource& images, std::size_t samples, std::uint64_t seed,
                                               int threads, const core::ProgressFn& progress,
                                               std::vector<Skipped>* failures, StageTimes* times = nullptr,
                                               std::size_t* images_used = nullptr);

/// Samples descriptors from a seeded subset of the images and runs k-means (options.kmeans); cached
/// in cache_dir when set and the images are files. Failures of images are appended to *failures.
/// Throws std::invalid_argument when too few descriptors exist.
bow::Codebook train_codebook(const bow::PipelineOptions& options, const ImageSource& images, int threads,
                             const std::string& cache_dir, const core::ProgressFn& progress,
                             std::vector<Skipped>* failures, StageTimes* times = nullptr);

/// Samples descriptors as train_codebook does and trains the Fisher-vector PCA and mixture
/// (bow::train_fisher); cached in cache_dir when set and the images are files. Throws
/// std::invalid_argument when too few descriptors exist.
bow::FisherParameters train_fisher_parameters(const bow::FisherPipelineOptions& options, const ImageSource& images,
                                              int threads, const std::string& cache_dir,
                                              const core::ProgressFn& progress, std::vector<Skipped>* failures,
                                              StageTimes* times = nullptr);

/// Encodes every image with a model's encoding in parallel (progress stage named `stage`), through
/// the histogram cache when cache_dir is set and the images are files (keyed by the encoding's
/// options and learned parameters and the file's bytes).
EncodedSet encode_images(const Encoding& encoding, const ImageSource& images, int threads,
                         const std::string& cache_dir = {}, const core::ProgressFn& progress = {},
                         const std::string& stage = "encode");
/// The images and their left-right mirrors (bow::mirror_left_right) in one pass: 2n rows, row i < n
/// image i, row n + i its mirror (cached under a key of its own). An image that fails is named once.
EncodedSet encode_with_mirrors(const Encoding& encoding, const ImageSource& images, int threads,
                               const std::string& cache_dir = {}, const core::ProgressFn& progress = {},
                               const std::string& stage = "encode");

/// Fits a model: codebook, histograms, one-vs-rest SVMs.
Model fit(const LabelledImages& data, const FitOptions& options = {}, const core::ProgressFn& progress = {},
          FitReport* report = nullptr);

/// Share of examples whose sign agrees with the label over labelled (image, class) pairs
/// (scores: images x C; rows with ok[i] = 0 are left out).
double sign_accuracy(const std::vector<double>& scores, const std::vector<int>& labels, const std::vector<char>& ok,
                     std::size_t classes);
/// Share of images whose top-scoring class has label 1 (rows with ok[i] = 0 are left out).
double top1_accuracy(const std::vector<double>& scores, const std::vector<int>& labels, const std::vector<char>& ok,
                     std::size_t classes);

}  // namespace bowlrp::model
