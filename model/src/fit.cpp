#include <bowlrp/model/fit.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/core/io.h>
#include <bowlrp/model/feature_cache.h>
#include <bowlrp/model/model_file.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

namespace bowlrp::model {
namespace {

// A cache that cannot be written (full disk, read-only folder) never costs a result: the first
// failure is kept, later writes are not tried, and the caller notes it once (warn and go on).
class CacheWriteFailure {
 public:
  template <class Store>
  void attempt(const Store& store) {
    if (failed_.load()) return;
    try {
      store();
    } catch (const std::exception& e) {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (!failed_.exchange(true)) message_ = e.what();
    }
  }
  void note(const core::ProgressFn& progress, const std::string& stage) const {
    if (failed_.load())
      core::progress_note(progress, stage,
                         "warning: " + stage + " cache not written (" + message_ + "); going on without caching");
  }

 private:
  std::atomic<bool> failed_{false};
  std::mutex mutex_;
  std::string message_;
};

using Clock = std::chrono::steady_clock;

// Number of images the k-means sample is drawn from: enough for variety, few enough that the
// sampling pass stays a fraction of the encoding pass.
constexpr std::size_t kCodebookImages = 400;

using core::mix_seed;
using core::seconds_since;

// Descriptors sampled from a seeded subset of at most kCodebookImages of n images (image(i) decodes
// image i): about samples / images non-zero descriptors each, seeded per image. With positions, the
// normalised frame centres (x/W - 1/2, y/H - 1/2) of the samples are returned too (Fisher "aug.").
std::vector<float> sample_descriptors(const bow::DsiftOptions& dsift, std::size_t n, std::size_t samples,
                                      std::uint64_t seed, const std::function<bow::GrayImage(std::size_t)>& image,
                                      const std::function<std::string(std::size_t)>& name, int threads,
                                      const core::ProgressFn& progress, std::vector<Skipped>* failures,
                                      std::vector<float>* positions, std::size_t* images_used) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(mix_seed(seed));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  order.resize(std::min(order.size(), kCodebookImages));
  std::sort(order.begin(), order.end());
  const std::size_t per_image = (samples + order.size() - 1) / order.size();
  if (images_used) *images_used = order.size();

  const bow::DenseSift sift(dsift);
  std::vector<std::vector<float>> picked(order.size()), where(order.size());
  std::vector<std::string> errors(order.size());
  core::for_each_index(order.size(), threads, "codebook sample", progress, [&](std::size_t j) {
    const std::size_t i = order[j];
    try {
      const bow::FeatureTrace f = sift.extract(image(i));
      // Zeroed (low-contrast) descriptors carry no appearance: keep them out of the sample.
      std::vector<std::size_t> keep;
      keep.reserve(f.size());
      for (std::size_t l = 0; l < f.size(); ++l) {
        const float* d = f.descriptor(l);
        if (std::any_of(d, d + bow::FeatureTrace::kDim, [](float v) { return v != 0.0f; })) keep.push_back(l);
      }
      std::mt19937_64 local(mix_seed(seed ^ mix_seed(i + 1)));
      const std::size_t take = std::min(per_image, keep.size());
      for (std::size_t k = 0; k < take; ++k) std::swap(keep[k], keep[k + local() % (keep.size() - k)]);
      std::vector<float>& out = picked[j];
      out.reserve(take * bow::FeatureTrace::kDim);
      for (std::size_t k = 0; k < take; ++k)
        out.insert(out.end(), f.descriptor(keep[k]), f.descriptor(keep[k]) + bow::FeatureTrace::kDim);
      if (positions) {
        keep.resize(take);
        where[j] = bow::normalised_positions(f, &keep);
      }
    } catch (const std::exception& e) {
      errors[j] = e.what();
    }
  });
  std::vector<float> all;
  for (std::size_t j = 0; j < order.size(); ++j) {
    if (!errors[j].empty() && failures) failures->push_back({name(order[j]), errors[j]});
    all.insert(all.end(), picked[j].begin(), picked[j].end());
    std::vector<float>().swap(picked[j]);
    if (positions) positions->insert(positions->end(), where[j].begin(), where[j].end());
  }
  return all;
}

// The codebook of descriptors sampled from a seeded subset of n images.
bow::Codebook sample_and_cluster(const bow::PipelineOptions& options, std::size_t n,
                                 const std::function<bow::GrayImage(std::size_t)>& image,
                                 const std::function<std::string(std::size_t)>& name, int threads,
                                 const core::ProgressFn& progress, std::vector<Skipped>* failures, StageTimes* times) {
  options.validate();
  if (n == 0) throw std::invalid_argument("cannot train a codebook: no training images");
  const auto t0 = Clock::now();
  std::size_t used = 0;
  const std::vector<float> all = sample_descriptors(options.dsift, n, options.kmeans.samples, options.kmeans.seed, image,
                                                    name, threads, progress, failures, nullptr, &used);
  if (times) times->codebook_extract = seconds_since(t0);
  const std::size_t count = all.size() / bow::FeatureTrace::kDim;
  if (count < static_cast<std::size_t>(options.kmeans.words)) {
    std::ostringstream msg;
    msg << "cannot train a codebook of " << options.kmeans.words << " words from " << count
        << " descriptors (sampled from " << used << " images): use fewer words or more images";
    throw std::invalid_argument(msg.str());
  }
  const auto t1 = Clock::now();
  core::progress_note(progress, "k-means",
                     "k-means: " + std::to_string(count) + " descriptors -> " + std::to_string(options.kmeans.words) +
                         " words");
  bow::Codebook codebook = bow::Codebook::train(all.data(), count, bow::FeatureTrace::kDim, options.kmeans);
  if (times) times->kmeans = seconds_since(t1);
  return codebook;
}

// PCA and mixture of descriptors sampled from a seeded subset of n images.
bow::FisherParameters sample_and_fit_mixture(const bow::FisherPipelineOptions& options, std::size_t n,
                                             const std::function<bow::GrayImage(std::size_t)>& image,
                                             const std::function<std::string(std::size_t)>& name, int threads,
                                             const core::ProgressFn& progress, std::vector<Skipped>* failures,
                                             StageTimes* times) {
  options.validate();
  if (n == 0) throw std::invalid_argument("cannot train a Fisher-vector mixture: no training images");
  const auto t0 = Clock::now();
  std::size_t used = 0;
  std::vector<float> positions;
  const std::vector<float> all = sample_descriptors(options.dsift, n, options.fisher.samples, options.fisher.seed,
                                                    image, name, threads, progress, failures, &positions, &used);
  if (times) times->codebook_extract = seconds_since(t0);
  const std::size_t count = all.size() / bow::FeatureTrace::kDim;
  if (count < static_cast<std::size_t>(options.fisher.components)) {
    std::ostringstream msg;
    msg << "cannot train a Fisher-vector mixture of " << options.fisher.components << " components from " << count
        << " descriptors (sampled from " << used << " images): use fewer components or more images";
    throw std::invalid_argument(msg.str());
  }
  const auto t1 = Clock::now();
  core::progress_note(progress, "gmm",
                     "PCA + GMM: " + std::to_string(count) + " descriptors -> " +
                         std::to_string(options.fisher.pca_dimension) + " dimensions, " +
                         std::to_string(options.fisher.components) + " Gaussians");
  bow::FisherParameters p = bow::train_fisher(all.data(), positions.data(), count, options.fisher);
  if (times) times->kmeans = seconds_since(t1);
  return p;
}

// Histograms of n images; encode(i, row) writes image i's histogram or throws.
EncodedSet encode_rows(std::size_t n, std::size_t dim, int threads, const core::ProgressFn& progress,
                       const std::string& stage, const std::function<std::string(std::size_t)>& name,
                       const std::function<void(std::size_t, double*)>& encode) {
  EncodedSet out;
  out.dim = dim;
  out.histograms.assign(n * dim, 0.0);
  out.ok.assign(n, 0);
  std::vector<std::string> errors(n);
  core::for_each_index(n, threads, stage, progress, [&](std::size_t i) {
    try {
      encode(i, out.histograms.data() + i * dim);
      out.ok[i] = 1;
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  for (std::size_t i = 0; i < n; ++i)
    if (!out.ok[i]) out.failures.push_back({name(i), errors[i]});
  return out;
}

std::vector<Skipped> to_skipped(const std::vector<datasets::WalkProblem>& problems) {
  std::vector<Skipped> out;
  for (const auto& p : problems) out.push_back({p.path, p.reason});
  return out;
}

// The labels of n images with one class name each; classes are the sorted distinct names.
LabelledImages from_labels(std::size_t n, const std::vector<std::string>& labels, const std::string& what) {
  if (n != labels.size())
    throw std::invalid_argument(what + ": " + std::to_string(n) + " images but " + std::to_string(labels.size()) +
                                " labels; expected one label per image");
  const std::set<std::string> distinct(labels.begin(), labels.end());
  if (distinct.size() < 2)
    throw std::invalid_argument(what + ": " + std::to_string(distinct.size()) +
                                " distinct label(s); one-vs-rest training needs at least two classes");
  LabelledImages out;
  out.class_names.assign(distinct.begin(), distinct.end());
  for (const std::string& label : labels)
    for (const std::string& c : out.class_names) out.labels.push_back(c == label ? 1 : -1);
  return out;
}

}  // namespace

LabelledImages LabelledImages::from_folder(const datasets::FolderDataset& set) {
  if (set.classes.size() < 2)
    throw std::invalid_argument("the folder has " + std::to_string(set.classes.size()) + " class folder(s)" +
                                (set.classes.empty() ? std::string() : " ('" + set.classes[0] + "')") +
                                ": one-vs-rest training needs at least two classes");
  LabelledImages data;
  data.class_names = set.classes;
  data.unlisted = to_skipped(set.problems);
  std::vector<std::string> paths;
  for (const auto& im : set.images) {
    paths.push_back(im.path);
    for (std::size_t c = 0; c < set.classes.size(); ++c) data.labels.push_back(int(c) == im.label ? 1 : -1);
  }
  data.images = std::move(paths);
  return data;
}

LabelledImages LabelledImages::from_folder(const std::string& dir) {
  const datasets::FolderDataset set = datasets::FolderDataset::scan(dir);
  if (set.classes.size() < 2)
    throw std::invalid_argument("'" + dir + "' has a single class folder ('" + set.classes[0] +
                                "'): one-vs-rest training needs at least two classes");
  return from_folder(set);
}

LabelledImages LabelledImages::from_voc(const datasets::VocSet& set) {
  LabelledImages data;
  data.class_names = set.classes;
  std::vector<std::string> paths;
  for (const std::string& id : set.ids) paths.push_back(set.image_path(id));
  data.images = std::move(paths);
  data.labels = set.labels;  // 0 = difficult only: left out of that class's training
  data.single_label = false;
  return data;
}

LabelledImages LabelledImages::from_paths(const std::vector<std::string>& paths, const std::vector<std::string>& labels) {
  LabelledImages out = from_labels(paths.size(), labels, "from_paths");
  out.images = paths;
  return out;
}

LabelledImages LabelledImages::from_images(std::vector<bow::GrayImage> images, const std::vector<std::string>& labels) {
  LabelledImages out = from_labels(images.size(), labels, "from_images");
  out.images = std::move(images);
  return out;
}

void LabelledImages::validate() const {
  const std::size_t n = images.size(), C = class_names.size();
  if (C == 0) throw std::invalid_argument("labelled images: no class to train");
  validate_class_names(class_names);  // what the model file can hold, before any training
  if (labels.size() != n * C)
    throw std::invalid_argument("labelled images: " + std::to_string(labels.size()) + " labels for " +
                                std::to_string(n) + " images x " + std::to_string(C) + " classes");
  for (std::size_t k = 0; k < labels.size(); ++k)
    if (labels[k] != 1 && labels[k] != -1 && labels[k] != 0)
      throw std::invalid_argument("labelled images: label " + std::to_string(labels[k]) + " of image " +
                                  std::to_string(k / C) + ", class '" + class_names[k % C] +
                                  "': expected 1, -1 or 0 (leave out)");
}

std::string FitOptions::head_kind() const {
  if (head) return *head;
  return visit_encoding_kind(encoding, [](auto tag) -> std::string {
    return EncodingTraits<typename decltype(tag)::type>::default_head;
  });
}

bool FitOptions::mirrors() const {
  return mirror_training.value_or(visit_encoding_kind(
      encoding, [](auto tag) { return EncodingTraits<typename decltype(tag)::type>::mirrors_by_default; }));
}

FitOptions FitOptions::from_model(const Model& model) {
  FitOptions o;
  std::visit([&](const auto& e) { EncodingTraitsOf<std::decay_t<decltype(e)>>::restore(*e, o); }, model.encoding());
  if (model.head_kind() != o.head_kind()) o.head = model.head_kind();  // left empty when it is the encoding's default
  std::visit([&](const auto& h) { HeadTraitsOf<std::decay_t<decltype(h)>>::restore(*h, o); }, model.head());
  return o;
}

void FitOptions::check_rules(const decompose::Composite& composite) const {
  visit_head_kind(head_kind(),
                  [&](auto tag) { HeadTraits<typename decltype(tag)::type>::check_rules(*this, composite); });
}

std::string FitOptions::encoding_summary() const {
  return visit_encoding_kind(encoding, [&](auto tag) {
    return EncodingTraits<typename decltype(tag)::type>::fit_summary(*this);
  });
}

std::string FitOptions::head_training_stage() const {
  return visit_head_kind(head_kind(), [](auto tag) -> std::string {
    return HeadTraits<typename decltype(tag)::type>::training_stage;
  });
}

const core::OptionSchema<FitOptions>& FitOptions::schema() {
  using O = FitOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::choice_option<O>("encoding", "--encoding",
                                       "bag-of-words (bow) | fisher-vector (fisher) | vlad", encoding_kind_names(),
                                       [](O& o) -> std::string& { return o.encoding; },
                                       [](const std::string& e) { return e; }, &encoding_kind_from_string));
    s.push_back(core::optional_choice_option<O>(
        "head", "--head",
        "kernel-svm (kernel) | linear-svm (linear) | mlp (network) | explicit-map-svm (explicit-map: a linear SVM over the explicit map of the hik / chi2 --kernel, Vedaldi & Zisserman 2012); unset: the encoding's default (kernel SVMs for "
        "bag-of-words, linear SVMs for Fisher vectors and VLAD)",
        head_kind_names(), [](O& o) -> std::optional<std::string>& { return o.head; }, &head_kind_from_string));
    // One seed for every random choice, so that a run is named by one number.
    s.push_back(core::integer_option<O>("seed", "--seed",
                                        "seed of every random choice (descriptor samples, k-means, EM start, network)",
                                        [](O& o) -> std::uint64_t& { return o.pipeline.kmeans.seed; }));
    const auto set_seed = s.back().set;
    s.back().set = [set_seed](O& o, const std::optional<std::string>& text, const std::string& what) {
      set_seed(o, text, what);
      o.fisher.seed = o.vlad.seed = o.network.seed = o.pipeline.kmeans.seed;
    };
    core::append_nested(&s, bow::PipelineOptions::schema(), [](O& o) -> bow::PipelineOptions& { return o.pipeline; },
                        {"kmeans_seed"});
    core::append_nested(&s, bow::FisherOptions::schema(), [](O& o) -> bow::FisherOptions& { return o.fisher; },
                        {"fisher_seed"});
    s.push_back(core::real_option<O>("fisher_C", "--fisher-C", "fisher: SVM soft-margin C (replaces C for Fisher vectors)",
                                     [](O& o) -> double& { return o.fisher_C; }, OptionRange::above(0)));
    core::append_nested(&s, bow::VladOptions::schema(), [](O& o) -> bow::VladOptions& { return o.vlad; }, {"vlad_seed"});
    core::append_nested(&s, svm::Kernel::schema(), [](O& o) -> svm::Kernel& { return o.kernel; });
    core::append_nested(&s, svm::TrainOptions::schema(), [](O& o) -> svm::TrainOptions& { return o.svm; });
    core::append_nested(&s, nn::TrainOptions::schema(), [](O& o) -> nn::TrainOptions& { return o.network; });
    s.push_back(core::integer_option<O>("map_order", "--map-order",
                                        "explicit-map-svm: order n of the map (2n + 1 values per histogram dimension)",
                                        [](O& o) -> int& { return o.additive_map.order; }, OptionRange::closed(1, 100)));
    s.push_back(core::real_option<O>("map_period", "--map-period",
                                     "explicit-map-svm: period of the sampled spectrum (< 0: VLFeat's default)",
                                     [](O& o) -> double& { return o.additive_map.period; }));
    s.push_back(core::optional_bool_option<O>(
        "mirror_training", "--mirror-training",
        "also train on every training image mirrored left-right (labels kept); unset: on for Fisher vectors, off "
        "for bag-of-words and VLAD",
        [](O& o) -> std::optional<bool>& { return o.mirror_training; }));
    s.push_back(core::integer_option<O>("threads", "", "worker threads (0: all cores); results do not depend on it",
                                        [](O& o) -> int& { return o.threads; }, OptionRange::at_least(0)));
    s.push_back(core::text_option<O>("cache_dir", "",
                                     "codebook / mixture and encoding cache folder ('': none; unused for decoded images)",
                                     [](O& o) -> std::string& { return o.cache_dir; }));
    s.push_back(core::bool_option<O>("training_accuracy", "",
                                     "score the training images afterwards (FitReport::training_accuracy)",
                                     [](O& o) -> bool& { return o.training_accuracy; }));
    return s;
  }();
  return schema;
}

void FitOptions::validate() const {
  core::check_path_text(cache_dir, "FitOptions.cache_dir");
  if (encoding != encoding_kind_from_string(encoding))
    throw std::invalid_argument("FitOptions.encoding = " + core::quoted(encoding) + ": expected the kind name " +
                                core::quoted(encoding_kind_from_string(encoding)));
  if (head && *head != head_kind_from_string(*head))
    throw std::invalid_argument("FitOptions.head = " + core::quoted(*head) + ": expected the kind name " +
                                core::quoted(head_kind_from_string(*head)));
  visit_encoding_kind(encoding, [&](auto tag) { EncodingTraits<typename decltype(tag)::type>::validate(*this); });
  if (!(fisher_C > 0) || !std::isfinite(fisher_C))
    throw std::invalid_argument("FitOptions.fisher_C = " + std::to_string(fisher_C) + ": expected a finite value > 0");
  if (kernel.gamma < 0 || !std::isfinite(kernel.gamma))
    throw std::invalid_argument("FitOptions.kernel.gamma = " + std::to_string(kernel.gamma) +
                                ": expected a finite value >= 0 (0 = 1 / mean pairwise distance)");
  svm::TrainOptions t = svm;
  t.threads = threads;
  t.validate(t.class_C.empty() ? 1 : t.class_C.size());
  core::validate_threads(threads, "FitOptions.threads");
  visit_head_kind(head_kind(), [&](auto tag) { HeadTraits<typename decltype(tag)::type>::validate(*this); });
}

bow::Codebook train_codebook(const bow::PipelineOptions& options, const ImageSource& images, int threads,
                             const std::string& cache_dir, const core::ProgressFn& progress,
                             std::vector<Skipped>* failures, StageTimes* times) {
  options.validate();
  if (images.empty()) throw std::invalid_argument("cannot train a codebook: no training images");
  // Cached codebook of the same options and training files (a corrupt entry is retrained).
  const bool cached_here = !cache_dir.empty() && images.files();
  Digest cache_key;
  if (cached_here) {
    cache_key = codebook_key(options, images.paths());
    if (std::optional<bow::Codebook> cached = load_cached_codebook(cache_dir, cache_key);
        cached && cached->size() == options.kmeans.words && cached->dim() == bow::FeatureTrace::kDim) {
      core::progress_note(progress, "codebook", "codebook: " + std::to_string(cached->size()) + " words from the cache");
      return std::move(*cached);
    }
  }
  const bow::ImageLoader loader(options.image);
  bow::Codebook codebook = sample_and_cluster(
      options, images.size(), [&](std::size_t i) { return images.load(i, loader); },
      [&](std::size_t i) { return images.name(i); }, threads, progress, failures, times);
  if (cached_here) {
    CacheWriteFailure write_failure;
    write_failure.attempt([&] { store_cached_codebook(cache_dir, cache_key, codebook); });
    write_failure.note(progress, "codebook");
  }
  return codebook;
}

std::vector<float> sample_training_descriptors(const bow::ImageOptions& image, const bow::DsiftOptions& dsift,
                                               const ImageSource& images, std::size_t samples, std::uint64_t seed,
                                               int threads, const core::ProgressFn& progress,
                                               std::vector<Skipped>* failures, StageTimes* times,
                                               std::size_t* images_used) {
  const auto t0 = Clock::now();
  const bow::ImageLoader loader(image);
  std::size_t used = 0;
  std::vector<float> all = sample_descriptors(
      dsift, images.size(), samples, seed, [&](std::size_t i) { return images.load(i, loader); },
      [&](std::size_t i) { return images.name(i); }, threads, progress, failures, nullptr, &used);
  if (times) times->codebook_extract = seconds_since(t0);
  if (images_used) *images_used = used;
  return all;
}

const double* EncodedSet::rows(const std::vector<std::size_t>& kept, std::vector<double>* storage) const {
  if (kept.size() == ok.size()) return histograms.data();
  storage->resize(kept.size() * dim);
  for (std::size_t k = 0; k < kept.size(); ++k) std::copy(row(kept[k]), row(kept[k]) + dim, storage->begin() + k * dim);
  return storage->data();
}

namespace {
std::optional<HistogramCache> make_cache(const bow::Pipeline& pipeline, const std::string& dir) {
  // Keyed by (options, codebook, file bytes); corrupt entries are recomputed.
  if (dir.empty()) return std::nullopt;
  return std::optional<HistogramCache>(std::in_place, dir, pipeline.options(), pipeline.codebook(), pipeline.dimension());
}

// Any other encoding: keyed by its fingerprint (options and learned parameters) and the file bytes.
template <class Stage>
std::optional<HistogramCache> make_cache(const Stage& pipeline, const std::string& dir) {
  if (dir.empty()) return std::nullopt;
  return std::optional<HistogramCache>(std::in_place, dir, pipeline.fingerprint(), pipeline.dimension());
}

std::string row_name(const std::string& image, bool mirrored) { return mirrored ? image + " (mirrored)" : image; }

// A mirror row fails again when its image failed: name such an image once.
void drop_repeated_failures(EncodedSet& set, std::size_t n) {
  std::vector<Skipped> failures;
  std::size_t f = 0;
  for (std::size_t i = 0; i < set.ok.size(); ++i)
    if (!set.ok[i]) {
      if (i < n || set.ok[i - n]) failures.push_back(std::move(set.failures[f]));
      ++f;
    }
  set.failures = std::move(failures);
}

// Rows of the images, through an optional cache when they are files: row i < n is image i, row
// n + i (with_mirrors) its left-right mirror, cached under a key of its own.
template <class Pipeline>
EncodedSet encode_rows_of(const Pipeline& pipeline, const ImageSource& images, int threads,
                          const std::string& cache_dir, const core::ProgressFn& progress, const std::string& stage,
                          bool with_mirrors) {
  const std::size_t n = images.size();
  const std::optional<HistogramCache> cache = images.files() ? make_cache(pipeline, cache_dir) : std::nullopt;
  CacheWriteFailure write_failure;
  EncodedSet out = encode_rows(
      with_mirrors ? 2 * n : n, pipeline.dimension(), threads, progress, stage,
      [&](std::size_t i) { return row_name(images.name(i % n), i >= n); },
      [&](std::size_t i, double* row) {
        const bool mirrored = i >= n;
        const std::optional<std::string> bytes = images.file_bytes(i % n);  // one read for the key and the image
        Digest key;
        if (cache) {
          key = cache->key(*bytes, mirrored);
          if (cache->load(key, row)) return;
        }
        // A decoded image is encoded where it is stored (no copy per image); a file is decoded here.
        bow::GrayImage decoded;
        const bow::GrayImage& image =
            images.files() ? (decoded = images.load(i % n, pipeline.loader(), &*bytes)) : images.decoded()[i % n];
        const auto trace = mirrored ? pipeline.encode(bow::mirror_left_right(image)) : pipeline.encode(image);
        std::copy(trace.histogram().begin(), trace.histogram().end(), row);
        if (cache) write_failure.attempt([&] { cache->store(key, row); });
      });
  if (cache)
    core::progress_note(progress, stage,
                       stage + " cache: " + std::to_string(cache->stats().hits.load()) + " read, " +
                           std::to_string(cache->stats().stored.load()) + " computed, " +
                           std::to_string(cache->stats().corrupt.load()) + " corrupt entries recomputed");
  write_failure.note(progress, stage);
  if (with_mirrors) drop_repeated_failures(out, n);
  return out;
}
}  // namespace

EncodedSet encode_images(const Encoding& encoding, const ImageSource& images, int threads, const std::string& cache_dir,
                         const core::ProgressFn& progress, const std::string& stage) {
  return std::visit(
      [&](const auto& e) { return encode_rows_of(*e, images, threads, cache_dir, progress, stage, false); }, encoding);
}

EncodedSet encode_with_mirrors(const Encoding& encoding, const ImageSource& images, int threads,
                               const std::string& cache_dir, const core::ProgressFn& progress, const std::string& stage) {
  return std::visit(
      [&](const auto& e) { return encode_rows_of(*e, images, threads, cache_dir, progress, stage, true); }, encoding);
}

bow::FisherParameters train_fisher_parameters(const bow::FisherPipelineOptions& options, const ImageSource& images,
                                              int threads, const std::string& cache_dir,
                                              const core::ProgressFn& progress, std::vector<Skipped>* failures,
                                              StageTimes* times) {
  options.validate();
  if (images.empty()) throw std::invalid_argument("cannot train a Fisher-vector mixture: no training images");
  const bool cached_here = !cache_dir.empty() && images.files();
  Digest cache_key;
  if (cached_here) {
    cache_key = fisher_parameters_key(options, images.paths());
    if (std::optional<bow::FisherParameters> cached = load_cached_fisher_parameters(cache_dir, cache_key, options.fisher)) {
      core::progress_note(progress, "gmm",
                         "PCA + GMM: " + std::to_string(cached->components()) + " Gaussians from the cache");
      return std::move(*cached);
    }
  }
  const bow::ImageLoader loader(options.image);
  bow::FisherParameters p = sample_and_fit_mixture(
      options, images.size(), [&](std::size_t i) { return images.load(i, loader); },
      [&](std::size_t i) { return images.name(i); }, threads, progress, failures, times);
  if (cached_here) {
    CacheWriteFailure write_failure;
    write_failure.attempt([&] { store_cached_fisher_parameters(cache_dir, cache_key, p); });
    write_failure.note(progress, "gmm");
  }
  return p;
}

double sign_accuracy(const std::vector<double>& scores, const std::vector<int>& labels, const std::vector<char>& ok,
                     std::size_t C) {
  std::size_t right = 0, total = 0;
  for (std::size_t i = 0; i < ok.size(); ++i) {
    if (!ok[i]) continue;
    for (std::size_t c = 0; c < C; ++c) {
      const int y = labels[i * C + c];
      if (y == 0) continue;
      ++total;
      right += (scores[i * C + c] > 0) == (y > 0);
    }
  }
  return total ? double(right) / total : 0.0;
}

double top1_accuracy(const std::vector<double>& scores, const std::vector<int>& labels, const std::vector<char>& ok,
                     std::size_t C) {
  std::size_t right = 0, total = 0;
  for (std::size_t i = 0; i < ok.size(); ++i) {
    if (!ok[i]) continue;
    const std::size_t top = top_class(scores.data() + i * C, C);
    ++total;
    right += labels[i * C + top] > 0;
  }
  return total ? double(right) / total : 0.0;
}

Model fit(const LabelledImages& data, const FitOptions& options, const core::ProgressFn& progress, FitReport* report) {
  data.validate();
  options.validate();
  const std::size_t n = data.images.size(), C = data.class_names.size();
  FitReport local;
  FitReport& r = report ? *report : local;
  r = FitReport{};
  std::vector<Skipped> failures;
  const Encoding encoding = visit_encoding_kind(options.encoding, [&](auto tag) -> Encoding {
    return EncodingTraits<typename decltype(tag)::type>::train(options, data, progress, &failures, &r.times);
  });

  const auto t0 = Clock::now();
  // With mirror_training, rows n .. 2n-1 are the images' mirrors, with their images' labels.
  const bool mirrors = options.mirrors();
  EncodedSet set = (mirrors ? encode_with_mirrors : encode_images)(encoding, data.images, options.threads,
                                                                   options.cache_dir, progress, "encode train");
  r.times.encode = seconds_since(t0);
  // Keep the rows that were encoded; failures of the codebook pass are failures of this pass too.
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < set.ok.size(); ++i)
    if (set.ok[i]) kept.push_back(i);
  r.skipped = data.unlisted;
  r.skipped.insert(r.skipped.end(), set.failures.begin(), set.failures.end());
  r.used = static_cast<std::size_t>(std::count(set.ok.begin(), set.ok.begin() + n, 1));
  std::vector<double> X;
  const double* rows = set.rows(kept, &X);
  std::vector<int> labels(kept.size() * C);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    const std::size_t image = kept[k] % n;
    std::copy(data.labels.begin() + image * C, data.labels.begin() + (image + 1) * C, labels.begin() + k * C);
  }
  for (std::size_t c = 0; c < C; ++c) {
    bool pos = false;
    for (std::size_t k = 0; k < kept.size(); ++k) pos |= labels[k * C + c] > 0;
    if (!pos)
      throw std::invalid_argument("class '" + data.class_names[c] +
                                  "' has no readable training image left (all were skipped or none were given)");
  }
  const auto t1 = Clock::now();
  svm::TrainOptions topts = options.svm;
  topts.threads = options.threads;
  topts.C = std::visit([&](const auto& e) { return EncodingTraitsOf<std::decay_t<decltype(e)>>::svm_C(options); },
                        encoding);
  std::vector<std::size_t> support_rows;  // the kept row of each support vector (kernel heads)
  Head head = visit_head_kind(options.head_kind(), [&](auto tag) -> Head {
    return HeadTraits<typename decltype(tag)::type>::train(rows, kept.size(), set.dim, labels, data.class_names,
                                                           options, topts, progress, &support_rows);
  });
  std::vector<double>().swap(X);
  r.times.svm = seconds_since(t1);
  Model model(std::move(encoding), std::move(head));
  // Provenance: which image file (or its mirror, rows n .. 2n-1) each support vector is. Decoded
  // images have no path to keep.
  if (data.images.files() && !support_rows.empty()) {
    std::vector<TrainingImage> provenance;
    provenance.reserve(support_rows.size());
    for (std::size_t k : support_rows) provenance.push_back({data.images.paths()[kept[k] % n], kept[k] >= n});
    model = model.with_training_images(std::move(provenance));
  }
  if (options.training_accuracy) {
    const std::vector<double> F = model.scores_batch(set.histograms.data(), n, options.threads);
    const std::vector<char> ok(set.ok.begin(), set.ok.begin() + n);  // the images, not their mirrors
    r.training_accuracy = data.single_label ? top1_accuracy(F, data.labels, ok, C) : sign_accuracy(F, data.labels, ok, C);
  }
  if (!options.keep_encoded) std::vector<double>().swap(set.histograms);
  r.encoded = std::move(set);
  return model;
}

}  // namespace bowlrp::model
