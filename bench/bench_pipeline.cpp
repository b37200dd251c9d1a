// bowlrp_bench: every stage of bowlrp on real PASCAL VOC2007 images, against floors measured in
// the same run. Not a test: it prints a table of medians over --repeats and writes it as JSON.
//
// Per image (VOC val images, one thread, as the tool runs one image per core):
//   load, dense SIFT, assignment, pooling, kernel against the support vectors (direct S x V,
//   batched, and the fast intersection index), relevance of each level (dimensions, features,
//   pixels), the whole explanation, and one MoRF pixel-flipping curve (incremental path).
// Training (VOC train images, --threads): k-means on a 100k-descriptor sample, the Gram matrix,
//   libsvm (train_one_vs_rest minus its own Gram), and the parallel encoding rate.
// Floors: bare vl_dsift (VLFeat alone, same geometry, same images), cblas_sgemm at a large square
//   size and at the assignment's shape (FLOP/s), and a streaming read of a large array (GB/s).
// Ratios printed against the targets of the issue:
//   dsift / bare vl_dsift                          (target <= 1.2)
//   assignment rate / square SGEMM rate            (target >= 50%)
//   explanation / prediction                       (target <= 1.2), where
//     prediction  = assignment + pooling + decision of every class (features already extracted),
//     explanation = relevance of dimensions + features + pixels for one class (the top one),
//   both on the path the tool takes (direct S x V kernel), plus explanation / decision alone.

#include <bowlrp/core/option_schema.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/model/fit.h>

#include <bowlrp/core/io.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/svm/fast_intersection.h>
#include <bowlrp/svm/kernel.h>
#include <bowlrp/svm/svm.h>

#include <cblas.h>
#include <sys/resource.h>
extern "C" {
#include <vl/dsift.h>
#include <vl/generic.h>
#include <vl/imopv.h>
}

#include <nlohmann/json.hpp>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace bowlrp;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Runs f `repeats` times and returns the median wall seconds of one run.
double median_seconds(int repeats, const std::function<void()>& f) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = Clock::now();
    f();
    t.push_back(since(t0));
  }
  return median(t);
}

// Keeps the optimiser from dropping a computation whose result is otherwise unused.
volatile double g_sink = 0;

struct Args {
  std::string root;
  int images = 16;          // per-image stages: VOC val images
  int train_images = 200;   // training stages: VOC train images
  int repeats = 5;
  int train_repeats = 3;    // Gram, libsvm, index build
  int kmeans_repeats = 1;   // k-means (one run costs about a minute on 2 cores)
  int threads = 0;          // training stages (<= 0: all cores)
  int flip_steps = 100;
  std::string json_path = "bench.json";
  /// the fit options' flags given (any flag of model::FitOptions::schema(): --words, --step,
  /// --bin-sizes, --pyramid, --max-side, ...; a switch takes true / false), in order
  std::vector<std::pair<const core::OptionSpec<model::FitOptions>*, std::string>> fit_flags;
  /// The fit options of the flags (throws std::invalid_argument naming a bad flag).
  model::FitOptions fit_options() const {
    model::FitOptions o;
    for (const auto& [spec, text] : fit_flags) spec->set(o, text, spec->flag);
    o.pipeline.validate();
    o.validate();
    return o;
  }
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "bowlrp_bench: %s\n"
               "usage: bowlrp_bench [--voc ROOT] [--images N] [--train-images M] [--repeats R]\n"
               "                    [--train-repeats R] [--kmeans-repeats R]\n                    [--threads T] [--flip-steps L] [--json FILE]\n"
               "                    [any fit flag of bowlrp train: --words K --step S --bin-sizes a,b,.. --pyramid 1x1,2x2 ...]\n",
               why.c_str());
  std::exit(2);
}

// The fit option whose flag is `flag` (the library's schema), or nullptr.
const core::OptionSpec<model::FitOptions>* fit_flag(const std::string& flag) {
  for (const auto& spec : model::FitOptions::schema())
    if (!spec.flag.empty() && spec.flag == flag) return &spec;
  return nullptr;
}

Args parse(int argc, char** argv) {
  Args a;
  const char* env = std::getenv("BOWLRP_VOC_ROOT");
  a.root = env ? env : BOWLRP_DEFAULT_VOC_ROOT;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (i + 1 >= argc) usage("flag " + k + " needs a value");
    const std::string v = argv[i + 1];
    auto to_int = [&](int lo) {
      char* end = nullptr;
      const long x = std::strtol(v.c_str(), &end, 10);
      if (*end || x < lo) usage(k + " '" + v + "': expected an integer >= " + std::to_string(lo));
      return static_cast<int>(x);
    };
    if (k == "--voc") a.root = v;
    else if (k == "--images") a.images = to_int(1);
    else if (k == "--train-images") a.train_images = to_int(40);
    else if (k == "--repeats") a.repeats = to_int(1);
    else if (k == "--train-repeats") a.train_repeats = to_int(1);
    else if (k == "--kmeans-repeats") a.kmeans_repeats = to_int(1);
    else if (k == "--threads") a.threads = to_int(0);
    else if (k == "--flip-steps") a.flip_steps = to_int(1);
    else if (k == "--json") a.json_path = v;
    else if (const auto* spec = fit_flag(k)) a.fit_flags.emplace_back(spec, v);
    else usage("unknown flag " + k);
  }
  return a;
}

// ---- floors ------------------------------------------------------------------------------------

// VLFeat alone, with the geometry of bow::DenseSift (vl_phow's aligned bounds per scale): the floor
// of the dense SIFT stage. Returns the number of descriptors.
std::size_t bare_dsift(const bow::GrayImage& im, const bow::DsiftOptions& o, std::vector<float>& smooth) {
  smooth.resize(im.pixels.size());
  const int max_bin = *std::max_element(o.bin_sizes.begin(), o.bin_sizes.end());
  std::size_t total = 0;
  for (int s : o.bin_sizes) {
    const double sigma = s / o.magnif;
    vl_imsmooth_f(smooth.data(), im.width, im.pixels.data(), im.width, im.height, im.width, sigma, sigma);
    VlDsiftFilter* f = vl_dsift_new(im.width, im.height);
    const VlDsiftDescriptorGeometry geom = {8, 4, 4, s, s};
    vl_dsift_set_geometry(f, &geom);
    vl_dsift_set_steps(f, o.step, o.step);
    const int off = static_cast<int>(std::floor(1.5 * (max_bin - s)));
    vl_dsift_set_bounds(f, off, off, im.width - 1, im.height - 1);
    vl_dsift_set_flat_window(f, o.fast);
    vl_dsift_set_window_size(f, o.window_size);
    vl_dsift_process(f, smooth.data());
    total += vl_dsift_get_keypoint_num(f);
    g_sink = g_sink + (vl_dsift_get_keypoint_num(f) ? vl_dsift_get_descriptors(f)[0] : 0.0f);
    vl_dsift_delete(f);
  }
  return total;
}

// Seconds of one single-threaded m x n x k SGEMM (row-major A m x k, B^T as n x k), median of repeats.
double sgemm_seconds(int m, int n, int k, int repeats) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(n) * k),
      c(static_cast<std::size_t>(m) * n);
  for (float& x : a) x = u(rng);
  for (float& x : b) x = u(rng);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
  return median_seconds(repeats, [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a.data(), k, b.data(), k, 0.0f, c.data(), n);
    g_sink = g_sink + c[0];
  });
}

// Streaming read bandwidth (bytes/s) of a 512 MiB array of doubles with `threads` readers.
double read_bandwidth(int threads, int repeats) {
  const std::size_t n = (std::size_t{512} << 20) / sizeof(double);
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i & 1023);
  tbb::task_arena arena(threads);
  const double s = median_seconds(repeats, [&] {
    const std::size_t parts = static_cast<std::size_t>(threads);
    std::vector<double> sums(parts, 0.0);
    arena.execute([&] {
      tbb::parallel_for(std::size_t{0}, parts, [&](std::size_t p) {
        const double* x = v.data() + p * (n / parts);
        const std::size_t len = n / parts;
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (std::size_t i = 0; i + 4 <= len; i += 4) {
          s0 += x[i];
          s1 += x[i + 1];
          s2 += x[i + 2];
          s3 += x[i + 3];
        }
        sums[p] = s0 + s1 + s2 + s3;
      });
    });
    g_sink = g_sink + std::accumulate(sums.begin(), sums.end(), 0.0);
  });
  return static_cast<double>(n / static_cast<std::size_t>(threads) * threads) * sizeof(double) / s;
}

std::string uptime_line() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return "load average " + a + " " + b + " " + c + " on " + std::to_string(std::thread::hardware_concurrency()) +
         " cores";
}

// ---- table ---------------------------------------------------------------------------------------

struct Row {
  std::string group, name;
  double value = 0;  // ms per item unless unit says otherwise
  std::string unit, note;
};

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  core::init_runtime();  // single-threaded BLAS, as the tool
  const int threads = core::resolve_threads(args.threads);
  const int R = args.repeats, TR = args.train_repeats;
  const std::string load_before = uptime_line();
  const auto t_start = Clock::now();
  std::fprintf(stderr, "bowlrp_bench: %s\n", load_before.c_str());

  const model::FitOptions fit_options = args.fit_options();
  bow::PipelineOptions opts = fit_options.pipeline;
  const int K = opts.kmeans.words;
  std::vector<Row> rows;
  json stages = json::object();
  auto add = [&](const std::string& group, const std::string& name, double value, const std::string& unit,
                 const std::string& note = "") {
    rows.push_back({group, name, value, unit, note});
    stages[group + "/" + name] = {{"value", value}, {"unit", unit}, {"note", note}};
    std::fprintf(stderr, "  %-10s %-34s %10.3f %s\n", group.c_str(), name.c_str(), value, unit.c_str());
  };

  // ---- images: seeded stratified choices, as `bowlrp voc --max-images` makes them -----------------
  const datasets::VocSet train_full = datasets::VocSet::load(args.root, "train");
  const datasets::VocSet val_full = datasets::VocSet::load(args.root, "val");
  const auto train_pick = evaluation::choose_images(train_full.labels, train_full.classes.size(),
                                              static_cast<std::size_t>(args.train_images), 0);
  const auto val_pick =
      evaluation::choose_images(val_full.labels, val_full.classes.size(), static_cast<std::size_t>(args.images), 0x7e57);
  model::LabelledImages data;
  data.class_names = train_full.classes;
  std::vector<std::string> train_paths;
  for (std::size_t i : train_pick) {
    train_paths.push_back(train_full.image_path(train_full.ids[i]));
    for (std::size_t c = 0; c < train_full.classes.size(); ++c) data.labels.push_back(train_full.label(i, c));
  }
  data.images = train_paths;
  std::vector<std::string> val_paths;
  for (std::size_t i : val_pick) val_paths.push_back(val_full.image_path(val_full.ids[i]));
  const std::size_t M = train_paths.size(), N = val_paths.size(), C = data.class_names.size();

  // ---- floors: SGEMM and bandwidth ------------------------------------------------------------------
  std::fprintf(stderr, "floors...\n");
  const int sq = 2048;
  const double sgemm_sq_s = sgemm_seconds(sq, sq, sq, R);
  const double sgemm_rate = 2.0 * sq * sq * double(sq) / sgemm_sq_s;
  add("floor", "sgemm 2048^3 (1 thread)", sgemm_rate * 1e-9, "GFLOP/s");
  const double bw1 = read_bandwidth(1, R);
  const double bwT = read_bandwidth(threads, R);
  add("floor", "stream read (1 thread)", bw1 * 1e-9, "GB/s");
  add("floor", "stream read (" + std::to_string(threads) + " threads)", bwT * 1e-9, "GB/s");

  // ---- training: k-means ------------------------------------------------------------------------------
  std::fprintf(stderr, "training stages on %zu VOC train images...\n", M);
  const bow::DenseSift sift(opts.dsift);
  const bow::ImageLoader loader(opts.image);
  std::vector<float> sample;
  {
    // The tool's sampling: about samples / images descriptors from each image (here the first
    // up to 100 chosen images, enough for a representative k-means problem).
    const std::size_t from = std::min<std::size_t>(M, 100);
    const std::size_t per = (opts.kmeans.samples + from - 1) / from;
    std::mt19937_64 rng(7);
    for (std::size_t i = 0; i < from; ++i) {
      const bow::FeatureTrace f = sift.extract(loader.load(train_paths[i]));
      std::vector<std::size_t> idx(f.size());
      std::iota(idx.begin(), idx.end(), 0);
      std::shuffle(idx.begin(), idx.end(), rng);
      for (std::size_t j = 0; j < std::min(per, idx.size()); ++j)
        sample.insert(sample.end(), f.descriptor(idx[j]), f.descriptor(idx[j]) + 128);
    }
  }
  const std::size_t n_sample = std::min(sample.size() / 128, opts.kmeans.samples);
  bow::Codebook codebook;
  const double kmeans_s = median_seconds(args.kmeans_repeats, [&] { codebook = bow::Codebook::train(sample.data(), n_sample, 128, opts.kmeans); });
  sample = {};
  add("train", "k-means (" + std::to_string(n_sample) + " x 128, K " + std::to_string(K) + ")", kmeans_s, "s");

  const auto shared_pipe = std::make_shared<const bow::Pipeline>(opts, codebook);
  const bow::Pipeline& pipe = *shared_pipe;
  const std::size_t V = pipe.dimension();
  auto t0 = Clock::now();
  const model::EncodedSet enc = model::encode_images(shared_pipe, train_paths, args.threads);
  const double encode_s = since(t0);
  add("train", "encode, " + std::to_string(threads) + " threads", 1e3 * encode_s / M, "ms/image",
      std::to_string(M / encode_s) + " images/s");

  // Gram matrix of the training histograms (the engine train_one_vs_rest runs) and libsvm.
  const svm::Kernel kernel = fit_options.kernel;
  std::vector<double> G(M * M);
  const double gram_s = median_seconds(TR, [&] { svm::gram_matrix(kernel, enc.histograms.data(), M, enc.histograms.data(), M, V, G.data(), args.threads); });
  const double entries = 0.5 * double(M) * double(M + 1);
  const double stream_bytes = entries * 2.0 * V * sizeof(double);  // each entry streams both rows
  add("train", "Gram " + std::to_string(M) + "^2 x V " + std::to_string(V), gram_s, "s",
      std::to_string(entries * V / gram_s * 1e-9) + " G terms/s");
  add("train", "Gram: operand traffic / stream bandwidth", stream_bytes / gram_s / bwT, "x",
      ">1 = cache reuse beats streaming every row pair");
  svm::TrainOptions topts = fit_options.svm;
  topts.threads = args.threads;
  svm::KernelSvm model;
  const double train_s = median_seconds(TR, [&] {
    model = svm::train_one_vs_rest(enc.histograms.data(), M, V, data.labels, data.class_names, kernel, topts);
  });
  add("train", "libsvm, " + std::to_string(C) + " classes (minus Gram)", std::max(0.0, train_s - gram_s), "s",
      "train_one_vs_rest total " + std::to_string(train_s) + " s");
  const std::size_t S = model.support_size();
  const double full_n = 2501;
  add("train", "Gram extrapolated to 2501 train images", gram_s * (full_n * full_n) / (double(M) * M), "s",
      "n^2 scaling");
  G = {};

  // ---- per image -----------------------------------------------------------------------------------
  std::fprintf(stderr, "per-image stages on %zu VOC val images, %d repeats, S = %zu support vectors...\n", N, R, S);
  std::vector<bow::GrayImage> images(N);
  const double load_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) images[i] = pipe.load(val_paths[i]);
  });
  std::vector<float> scratch;
  std::size_t bare_desc = 0;
  const double bare_s = median_seconds(R, [&] {
    bare_desc = 0;
    for (const auto& im : images) bare_desc += bare_dsift(im, opts.dsift, scratch);
  });
  std::vector<bow::FeatureTrace> feats(N);
  const double dsift_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) feats[i] = pipe.sift().extract(images[i]);
  });
  std::size_t L = 0;
  for (const auto& f : feats) L += f.size();
  std::vector<bow::Assignment> assign(N);
  const double assign_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) assign[i] = pipe.mapper().assign(feats[i]);
  });
  // The assignment's floor: the SGEMM of the same shape (descriptors x K x 128), per image, in
  // blocks of 1024 descriptors into one reused buffer as the mapper runs it (one unblocked GEMM
  // would write a ~150 MB score matrix and be bound by memory, not arithmetic).
  const double sgemm_shape_s = median_seconds(R, [&] {
    std::vector<float> out(std::size_t{1024} * K);
    for (std::size_t i = 0; i < N; ++i)
      for (std::size_t b0 = 0; b0 < feats[i].size(); b0 += 1024) {
        const int b = static_cast<int>(std::min<std::size_t>(1024, feats[i].size() - b0));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, K, 128, -2.0f, feats[i].descriptor(b0), 128,
                    codebook.centres().data(), 128, 0.0f, out.data(), K);
        g_sink = g_sink + out[0];
      }
  });
  std::vector<bow::PoolTrace> pools(N);
  const double pool_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) pools[i] = pipe.pooler().pool(feats[i], assign[i]);
  });
  const double encode_img_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) g_sink = g_sink + pipe.encode(images[i]).histogram()[0];
  });
  std::vector<double> X(N * V);
  for (std::size_t i = 0; i < N; ++i) std::copy(pools[i].histogram.begin(), pools[i].histogram.end(), X.begin() + i * V);
  std::vector<std::vector<double>> scores(N);
  const double decision_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) scores[i] = model.decision(X.data() + i * V);
  });
  const double batch_s = median_seconds(R, [&] { g_sink = g_sink + model.decision_batch(X.data(), N, 1)[0]; });
  std::shared_ptr<const std::vector<svm::IntersectionIndex>> indices;
  double index_build_s = 0, index_s = 0;
  if (kernel.type == svm::KernelType::intersection) {
    index_build_s = median_seconds(TR, [&] {
      indices = std::make_shared<const std::vector<svm::IntersectionIndex>>(svm::build_intersection_indices(model, 1));
    });
    index_s = median_seconds(R, [&] {
      for (std::size_t i = 0; i < N; ++i)
        for (const auto& ix : *indices) g_sink = g_sink + ix.decision(X.data() + i * V);
    });
  }
  // The class each image is explained for: its top-scoring one (`bowlrp explain --top`).
  std::vector<std::size_t> top(N);
  for (std::size_t i = 0; i < N; ++i)
    top[i] = static_cast<std::size_t>(std::max_element(scores[i].begin(), scores[i].end()) - scores[i].begin());
  const decompose::Composite composite;
  std::vector<decompose::DimensionRelevance> rd(N);
  const double rd_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) rd[i] = decompose::relevance_dimensions(model, top[i], X.data() + i * V, composite);
  });
  double rd_index_s = 0;
  if (indices)
    rd_index_s = median_seconds(R, [&] {
      for (std::size_t i = 0; i < N; ++i)
        g_sink = g_sink + decompose::relevance_dimensions(model, top[i], X.data() + i * V, composite, &(*indices)[top[i]]).f;
    });
  std::vector<decompose::FeatureRelevance> rl(N);
  const double rl_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) rl[i] = decompose::relevance_features(feats[i], assign[i], pools[i], rd[i].R);
  });
  std::vector<decompose::PixelRelevance> rq(N);
  const double rq_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) rq[i] = decompose::relevance_pixels(feats[i], rl[i].R);
  });
  // The whole explanation as the tool runs it (Explainer without indices), from the trace.
  std::vector<bow::EncodeTrace> traces(N);
  for (std::size_t i = 0; i < N; ++i) {
    traces[i].features = feats[i];
    traces[i].assignment = assign[i];
    traces[i].pool = pools[i];
  }
  const auto shared_model = std::make_shared<const svm::KernelSvm>(model);
  for (std::size_t i = 0; i < N; ++i) traces[i].pipeline = pipe.fingerprint();
  const decompose::Explainer explainer(shared_model, pipe.fingerprint(), composite);
  const double explain_s = median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) g_sink = g_sink + explainer.explain(traces[i], top[i]).pixels.R[0];
  });
  const decompose::Explainer explainer_ix(shared_model, pipe.fingerprint(), composite, indices);
  const double explain_ix_s = indices ? median_seconds(R, [&] {
    for (std::size_t i = 0; i < N; ++i) g_sink = g_sink + explainer_ix.explain(traces[i], top[i]).pixels.R[0];
  }) : 0.0;
  // One MoRF pixel-flipping curve per image (LRP order, incremental path); costly, so fewer repeats.
  evaluation::PixelFlipOptions fopts;
  fopts.steps = args.flip_steps;
  const double flip_s = median_seconds(std::min(R, 3), [&] {
    for (std::size_t i = 0; i < N; ++i) {
      const evaluation::IncrementalFlipper flipper(shared_pipe, shared_model, top[i]);
      const evaluation::RegionGrid grid(images[i].width, images[i].height, fopts.region_size);
      const auto order = evaluation::relevance_order(grid.aggregate(rq[i].R.data(), rq[i].width, rq[i].height));
      g_sink = g_sink + flipper.flip_curve(images[i], traces[i], order, fopts).back();
    }
  });
  traces = {};

  const double n = static_cast<double>(N);
  auto per = [&](double s) { return 1e3 * s / n; };
  const double assign_flops = 2.0 * double(L) * K * 128;
  add("image", "load (decode + grey + cap)", per(load_s), "ms/image");
  add("image", "bare vl_dsift (floor)", per(bare_s), "ms/image", std::to_string(bare_desc / N) + " descriptors/image");
  add("image", "dense SIFT", per(dsift_s), "ms/image", std::to_string(L / N) + " descriptors/image");
  add("image", "sgemm, assignment shape (floor)", per(sgemm_shape_s), "ms/image",
      std::to_string(assign_flops / sgemm_shape_s * 1e-9) + " GFLOP/s");
  add("image", "assignment (exact hard)", per(assign_s), "ms/image",
      std::to_string(assign_flops / assign_s * 1e-9) + " GFLOP/s");
  add("image", "pooling", per(pool_s), "ms/image");
  add("image", "encode (dsift + assign + pool)", per(encode_img_s), "ms/image");
  add("image", "decision, all classes (direct S x V)", per(decision_s), "ms/image",
      "S = " + std::to_string(S) + ", V = " + std::to_string(V));
  add("image", "decision_batch, all classes", per(batch_s), "ms/image", "1 thread");
  if (indices) {
    add("image", "decision, all classes (fast index)", per(index_s), "ms/image");
    add("image", "fast index build, all classes (once)", 1e3 * index_build_s, "ms", "1 thread");
  }
  add("image", "relevance: dimensions (direct)", per(rd_s), "ms/image", "one class");
  if (indices) add("image", "relevance: dimensions (fast index)", per(rd_index_s), "ms/image", "one class");
  add("image", "relevance: features", per(rl_s), "ms/image");
  add("image", "relevance: pixels", per(rq_s), "ms/image");
  add("image", "explanation (Explainer, direct)", per(explain_s), "ms/image");
  if (indices) add("image", "explanation (Explainer, fast index)", per(explain_ix_s), "ms/image");
  add("image", "pixel-flipping curve (" + std::to_string(fopts.steps) + " steps)", per(flip_s), "ms/image",
      "incremental path, one class");

  // ---- ratios against the targets ------------------------------------------------------------------
  const double prediction_s = assign_s + pool_s + decision_s;
  const double explanation_s = rd_s + rl_s + rq_s;
  struct Ratio {
    std::string name;
    double value;
    std::string target;
    bool met;
  };
  const std::vector<Ratio> ratios = {
      {"dense SIFT / bare vl_dsift", dsift_s / bare_s, "<= 1.2", dsift_s / bare_s <= 1.2},
      {"assignment rate / sgemm 2048^3 rate", (assign_flops / assign_s) / sgemm_rate, ">= 0.5",
       (assign_flops / assign_s) / sgemm_rate >= 0.5},
      {"assignment rate / sgemm same-shape rate", sgemm_shape_s / assign_s, "(info)", true},
      {"explanation / prediction", explanation_s / prediction_s, "<= 1.2", explanation_s / prediction_s <= 1.2},
      {"explanation / decision alone", explanation_s / decision_s, "(info)", true},
      {"Explainer (direct) / prediction", explain_s / prediction_s, "(info)", true},
  };
  const std::string load_after = uptime_line();
  // CPU time / wall time of the whole run: below the thread count means other processes took the cores.
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double cpu_s = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  const double wall_s = since(t_start);
  const double peak_rss_mib = ru.ru_maxrss / 1024.0;

  std::printf("\nbowlrp_bench: VOC2007, %zu val images x %d repeats (per image, 1 thread), %zu train images "
              "(training, %d threads)\n",
              N, R, M, threads);
  std::printf("K = %d, step %d, bin sizes %s, pyramid %s, V = %zu, S = %zu; %s (after: %s)\n", K, opts.dsift.step,
              core::format_int_list(opts.dsift.bin_sizes).c_str(), core::format_pyramid(opts.pooling.pyramid).c_str(), V, S,
              load_before.c_str(),
              load_after.c_str());
  std::printf("whole run: %.0f s wall, %.0f s CPU (%.2f cores busy on average), peak RSS %.0f MiB\n", wall_s, cpu_s,
              cpu_s / wall_s, peak_rss_mib);
  std::printf("%-7s %-44s %12s  %-9s %s\n", "group", "stage", "median", "unit", "note");
  for (const Row& r : rows)
    std::printf("%-7s %-44s %12.3f  %-9s %s\n", r.group.c_str(), r.name.c_str(), r.value, r.unit.c_str(), r.note.c_str());
  std::printf("\n%-44s %10s  %-8s %s\n", "ratio", "value", "target", "");
  json jr = json::object();
  for (const Ratio& r : ratios) {
    const bool info = r.target == "(info)";
    std::printf("%-44s %10.3f  %-8s %s\n", r.name.c_str(), r.value, r.target.c_str(), info ? "" : r.met ? "met" : "NOT MET");
    jr[r.name] = {{"value", r.value}, {"target", r.target}, {"met", info ? json(nullptr) : json(r.met)}};
  }
  std::printf("prediction = assignment + pooling + decision (all classes) = %.2f ms/image; explanation = "
              "relevance dimensions + features + pixels (top class) = %.2f ms/image\n",
              per(prediction_s), per(explanation_s));

  json j = {{"tool", "bowlrp_bench"},
            {"voc_root", args.root},
            {"val_images", N},
            {"train_images", M},
            {"repeats", R},
            {"train_repeats", TR},
            {"kmeans_repeats", args.kmeans_repeats},
            {"threads", threads},
            {"words", K},
            {"step", opts.dsift.step},
            {"bin_sizes", opts.dsift.bin_sizes},
            {"pyramid", core::format_pyramid(opts.pooling.pyramid)},
            {"dimension", V},
            {"support_vectors", S},
            {"descriptors_per_image", double(L) / n},
            {"load_before", load_before},
            {"load_after", load_after},
            {"wall_s", wall_s},
            {"cpu_s", cpu_s},
            {"peak_rss_mib", peak_rss_mib},
            {"stages", stages},
            {"ratios", jr},
            {"prediction_ms_per_image", per(prediction_s)},
            {"explanation_ms_per_image", per(explanation_s)}};
  core::write_file_atomic(args.json_path, j.dump(1) + "\n");
  std::printf("JSON: %s\n", args.json_path.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bowlrp_bench: %s\n", e.what());
  return 1;
}
