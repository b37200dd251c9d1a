#include "cli/training.h"

#include "cli/feature_cache.h"
#include "cli/common.h"
#include "cli/progress.h"

#include <bowlrp/bow/io.h>
#include <bowlrp/svm/kernel.h>

#include <cblas.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace bowlrp::apps {
namespace {

// Number of images the k-means sample is drawn from: enough for variety, few enough that the
// sampling pass stays a fraction of the encoding pass.
constexpr std::size_t kCodebookImages = 400;

}  // namespace

void init_runtime() { openblas_set_num_threads(1); }

void RunOptions::validate() const {
  if (threads < 0 || threads > kMaxThreads)
    throw std::invalid_argument("--threads " + std::to_string(threads) + ": expected 0 (all cores) or a count from 1 to " +
                                std::to_string(kMaxThreads));
}

int resolve_threads(int threads) {
  RunOptions run;
  run.threads = threads;
  run.validate();
  if (threads > 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

void for_each_item(std::size_t n, const RunOptions& run, const std::string& label,
                   const std::function<void(std::size_t)>& fn) {
  Progress progress(label, n, run.quiet);
  tbb::task_arena arena(resolve_threads(run.threads));
  arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, n, 1),
        [&](const tbb::blocked_range<std::size_t>& r) {
          for (std::size_t i = r.begin(); i < r.end(); ++i) {
            fn(i);
            progress.tick();
          }
        },
        tbb::simple_partitioner());
  });
  progress.finish();
}

bow::Codebook train_codebook(const bow::PipelineOptions& options, const std::vector<std::string>& paths,
                             const RunOptions& run, std::vector<std::pair<std::string, std::string>>* failures,
                             StageTimes* times) {
  options.validate();
  if (paths.empty()) throw std::invalid_argument("cannot train a codebook: no training images");
  const auto t0 = std::chrono::steady_clock::now();
  // Cached codebook of the same options and training images (a corrupt entry is retrained).
  Digest cache_key;
  if (!run.cache_dir.empty()) {
    cache_key = codebook_key(options, paths);
    if (std::optional<bow::Codebook> cached = load_cached_codebook(run.cache_dir, cache_key);
        cached && cached->size() == options.kmeans.words && cached->dim() == bow::FeatureTrace::kDim) {
      if (!run.quiet) std::fprintf(stderr, "codebook: %d words from the cache\n", cached->size());
      return std::move(*cached);
    }
  }
  // Seeded subset of images.
  std::vector<std::size_t> order(paths.size());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(mix(options.kmeans.seed));
  for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  order.resize(std::min(order.size(), kCodebookImages));
  std::sort(order.begin(), order.end());
  const std::size_t per_image = (options.kmeans.samples + order.size() - 1) / order.size();

  const bow::ImageLoader loader(options.image);
  const bow::DenseSift sift(options.dsift);
  std::vector<std::vector<float>> samples(order.size());
  std::vector<std::string> errors(order.size());
  for_each_item(order.size(), run, "codebook sample", [&](std::size_t j) {
    const std::size_t i = order[j];
    try {
      const bow::FeatureTrace f = sift.extract(loader.load(paths[i]));
      // Zeroed (low-contrast) descriptors carry no appearance: keep them out of the sample.
      std::vector<std::size_t> keep;
      keep.reserve(f.size());
      for (std::size_t l = 0; l < f.size(); ++l) {
        const float* d = f.descriptor(l);
        if (std::any_of(d, d + bow::FeatureTrace::kDim, [](float v) { return v != 0.0f; })) keep.push_back(l);
      }
      std::mt19937_64 local(mix(options.kmeans.seed ^ mix(i + 1)));
      const std::size_t take = std::min(per_image, keep.size());
      for (std::size_t k = 0; k < take; ++k) std::swap(keep[k], keep[k + local() % (keep.size() - k)]);
      std::vector<float>& out = samples[j];
      out.reserve(take * bow::FeatureTrace::kDim);
      for (std::size_t k = 0; k < take; ++k)
        out.insert(out.end(), f.descriptor(keep[k]), f.descriptor(keep[k]) + bow::FeatureTrace::kDim);
    } catch (const std::exception& e) {
      errors[j] = e.what();
    }
  });
  std::vector<float> all;
  for (std::size_t j = 0; j < order.size(); ++j) {
    if (!errors[j].empty() && failures) failures->emplace_back(paths[order[j]], errors[j]);
    all.insert(all.end(), samples[j].begin(), samples[j].end());
    std::vector<float>().swap(samples[j]);
  }
  if (times) times->codebook_extract = seconds_since(t0);
  const std::size_t n = all.size() / bow::FeatureTrace::kDim;
  if (n < static_cast<std::size_t>(options.kmeans.words)) {
    std::ostringstream msg;
    msg << "cannot train a codebook of " << options.kmeans.words << " words from " << n << " descriptors (sampled from "
        << order.size() << " images): use fewer --words or more images";
    throw std::invalid_argument(msg.str());
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (!run.quiet) std::fprintf(stderr, "k-means: %zu descriptors -> %d words\n", n, options.kmeans.words);
  bow::Codebook codebook = bow::Codebook::train(all.data(), n, bow::FeatureTrace::kDim, options.kmeans);
  if (times) times->kmeans = seconds_since(t1);
  if (!run.cache_dir.empty()) store_cached_codebook(run.cache_dir, cache_key, codebook);
  return codebook;
}

EncodedSet encode_images(const bow::Pipeline& pipeline, const std::vector<std::string>& paths,
                         const RunOptions& run, const std::string& label) {
  EncodedSet out;
  out.dim = pipeline.dimension();
  out.histograms.assign(paths.size() * out.dim, 0.0);
  out.ok.assign(paths.size(), 0);
  std::vector<std::string> errors(paths.size());
  // Per-image histogram cache keyed by (options, codebook, file bytes); corrupt entries are recomputed.
  std::optional<HistogramCache> cache;
  if (!run.cache_dir.empty()) cache.emplace(run.cache_dir, pipeline.options(), pipeline.mapper().codebook(), out.dim);
  for_each_item(paths.size(), run, label, [&](std::size_t i) {
    try {
      double* row = out.histograms.data() + i * out.dim;
      if (cache) {
        const std::string bytes = bow::read_file(paths[i]);
        const Digest key = cache->key(bytes);
        if (!cache->load(key, row)) {
          const bow::EncodeTrace t = pipeline.encode_bytes(bytes, paths[i]);
          std::copy(t.histogram().begin(), t.histogram().end(), row);
          cache->store(key, row);
        }
      } else {
        const bow::EncodeTrace t = pipeline.encode_file(paths[i]);
        std::copy(t.histogram().begin(), t.histogram().end(), row);
      }
      out.ok[i] = 1;
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  if (cache && !run.quiet)
    std::fprintf(stderr, "%s cache: %zu read, %zu computed, %zu corrupt entries recomputed\n", label.c_str(),
                 cache->stats().hits.load(), cache->stats().stored.load(), cache->stats().corrupt.load());
  for (std::size_t i = 0; i < paths.size(); ++i)
    if (!out.ok[i]) out.failures.emplace_back(paths[i], errors[i]);
  return out;
}

svm::Classifier train_classifier(const TrainingData& data, const bow::PipelineOptions& options,
                                 const svm::Kernel& kernel, const svm::TrainOptions& train_options,
                                 const RunOptions& run, std::vector<std::pair<std::string, std::string>>* skipped,
                                 StageTimes* times, EncodedSet* encoded) {
  const std::size_t n = data.paths.size(), C = data.class_names.size();
  if (data.labels.size() != n * C) throw std::invalid_argument("training labels do not match images x classes");
  if (C == 0) throw std::invalid_argument("no class to train");
  StageTimes local_times;
  StageTimes* t = times ? times : &local_times;
  std::vector<std::pair<std::string, std::string>> failures;
  bow::Codebook codebook = train_codebook(options, data.paths, run, &failures, t);
  bow::Pipeline pipeline(options, codebook);

  const auto t0 = std::chrono::steady_clock::now();
  EncodedSet set = encode_images(pipeline, data.paths, run, "encode train");
  t->encode = seconds_since(t0);
  // Keep the images that were read; failures of the codebook pass are failures of this pass too.
  std::vector<std::size_t> kept;
  for (std::size_t i = 0; i < n; ++i)
    if (set.ok[i]) kept.push_back(i);
  if (skipped) *skipped = set.failures;
  std::vector<double> X(kept.size() * set.dim);
  std::vector<int> labels(kept.size() * C);
  for (std::size_t k = 0; k < kept.size(); ++k) {
    std::copy(set.row(kept[k]), set.row(kept[k]) + set.dim, X.begin() + k * set.dim);
    std::copy(data.labels.begin() + kept[k] * C, data.labels.begin() + (kept[k] + 1) * C, labels.begin() + k * C);
  }
  for (std::size_t c = 0; c < C; ++c) {
    bool pos = false;
    for (std::size_t k = 0; k < kept.size(); ++k) pos |= labels[k * C + c] > 0;
    if (!pos)
      throw std::invalid_argument("class '" + data.class_names[c] +
                                  "' has no readable training image left (all were skipped or none were given)");
  }
  const auto t1 = std::chrono::steady_clock::now();
  svm::TrainOptions topts = train_options;
  topts.threads = run.threads;
  Progress progress("train SVMs", C, run.quiet);
  svm::SvmModel model = svm::train_one_vs_rest(X.data(), kept.size(), set.dim, labels, data.class_names, kernel,
                                               topts, [&](std::size_t, std::size_t) { progress.tick(); });
  progress.finish();
  t->svm = seconds_since(t1);
  if (encoded) *encoded = std::move(set);
  return svm::Classifier{options, std::move(codebook), std::move(model)};
}

}  // namespace bowlrp::apps
