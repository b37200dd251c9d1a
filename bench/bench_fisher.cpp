// bowlrp_bench_fisher: the Fisher-vector encoding against the Bag-of-Words encoding on the same
// PASCAL VOC2007 images, in the same run. Not a test: it prints medians per image and the ratios of
// the Fisher-vector issue, and writes them as JSON.
//
// Models: both fitted by model::fit on the same seeded choice of --train-images VOC train images
// (20 classes; defaults of each encoding: BoW K = 1024, 1x1 + 2x2, hik; Fisher RootSIFT + PCA 80 + xy,
// 256 Gaussians, 1x1, linear SVM). Per image (--images VOC val images, one thread, median over
// --repeats):
//   dense SIFT (shared by both encodings), BoW stages after SIFT (assignment + pooling), Fisher
//   stages after SIFT (projection + posteriors + sums + normalisation), and, from the decoded image,
//   prediction = encode + scores of every class, explanation = prediction + relevance of the top
//   class at every layer (R_d, R_l, R_q). Ratios:
//   Fisher encoding / BoW encoding     (SIFT included; target <= 2; the stages alone printed too)
//   Fisher explanation / prediction    (target <= 1.2)
#include <bowlrp/core/parallel.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/model/fit.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace bowlrp;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Args {
  std::string root = BOWLRP_DEFAULT_VOC_ROOT;
  int images = 20, train_images = 60, repeats = 3, threads = 0;
  std::string json_path;
};

Args parse(int argc, char** argv) {
  Args a;
  if (const char* env = std::getenv("BOWLRP_VOC_ROOT")) a.root = env;
  for (int i = 1; i < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::printf("usage: bowlrp_bench_fisher [--voc ROOT] [--images N] [--train-images M] [--repeats R] "
                  "[--threads T] [--json FILE]\n");
      std::exit(0);
    }
    if (i + 1 >= argc) throw std::invalid_argument(k + ": missing value");
    const std::string v = argv[i + 1];
    auto to_int = [&](int lo) {
      const int x = std::stoi(v);
      if (x < lo) throw std::invalid_argument(k + " " + v + ": expected an integer >= " + std::to_string(lo));
      return x;
    };
    if (k == "--voc") a.root = v;
    else if (k == "--images") a.images = to_int(1);
    else if (k == "--train-images") a.train_images = to_int(20);
    else if (k == "--repeats") a.repeats = to_int(1);
    else if (k == "--threads") a.threads = to_int(0);
    else if (k == "--json") a.json_path = v;
    else throw std::invalid_argument("unknown option " + k + " (see --help)");
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) try {
  const Args args = parse(argc, argv);
  core::init_runtime();
  const datasets::VocSet train = datasets::VocSet::load(args.root, "train");
  const datasets::VocSet val = datasets::VocSet::load(args.root, "val");
  const std::size_t C = train.classes.size();
  model::LabelledImages data = model::LabelledImages::from_voc(train);
  {
    const std::vector<std::size_t> pick = evaluation::choose_images(train.labels, C, args.train_images, 0);
    model::LabelledImages sub = data;
    std::vector<std::string> paths;
    sub.labels.clear();
    for (std::size_t i : pick) {
      paths.push_back(data.images.paths()[i]);
      sub.labels.insert(sub.labels.end(), data.labels.begin() + i * C, data.labels.begin() + (i + 1) * C);
    }
    sub.images = std::move(paths);
    // Classes without a positive in the subset are left out of both models alike.
    model::LabelledImages kept = sub;
    kept.class_names.clear();
    kept.labels.clear();
    std::vector<std::size_t> cls;
    for (std::size_t c = 0; c < C; ++c) {
      bool pos = false;
      for (std::size_t i = 0; i < sub.images.size(); ++i) pos |= sub.labels[i * C + c] > 0;
      if (pos) cls.push_back(c), kept.class_names.push_back(sub.class_names[c]);
    }
    for (std::size_t i = 0; i < sub.images.size(); ++i)
      for (std::size_t c : cls) kept.labels.push_back(sub.labels[i * C + c]);
    data = kept;
  }
  std::printf("fitting on %zu VOC train images, %zu classes (threads %d)\n", data.images.size(),
              data.class_names.size(), args.threads);
  model::FitOptions bow_options, fisher_options;
  bow_options.threads = fisher_options.threads = args.threads;
  bow_options.training_accuracy = fisher_options.training_accuracy = false;
  fisher_options.encoding = "fisher-vector";
  auto t0 = Clock::now();
  const model::Model bow_model = model::fit(data, bow_options);
  const double bow_fit = ms_since(t0) / 1000;
  t0 = Clock::now();
  const model::Model fisher_model = model::fit(data, fisher_options);
  const double fisher_fit = ms_since(t0) / 1000;
  std::printf("fit: BoW %.1f s, Fisher %.1f s (%s)\n", bow_fit, fisher_fit, fisher_model.encoding_summary().c_str());

  const std::vector<std::size_t> pick = evaluation::choose_images(val.labels, C, args.images, 1);
  const decompose::Explainer fisher_explainer = fisher_model.explainer();
  std::vector<double> sift_ms, bow_stage_ms, fisher_stage_ms, bow_encode_ms, fisher_encode_ms, predict_ms, explain_ms,
      absorbed_share, worst_error;
  std::vector<double> features;
  for (std::size_t i : pick) {
    const bow::GrayImage image = fisher_model.load_image(val.image_path(val.ids[i]));
    std::vector<double> s, bs, fs, be, fe, p, e;
    for (int r = 0; r < args.repeats; ++r) {
      auto t = Clock::now();
      bow::FeatureTrace f = bow_model.sift().extract(image);
      s.push_back(ms_since(t));
      features.push_back(static_cast<double>(f.size()));
      t = Clock::now();
      const bow::Assignment a = bow_model.encoding_as<bowlrp::bow::Pipeline>().mapper().assign(f);
      const bow::PoolTrace pooled = bow_model.encoding_as<bowlrp::bow::Pipeline>().pooler().pool(f, a);
      bs.push_back(ms_since(t));
      t = Clock::now();
      const bow::FisherTrace ft = fisher_model.encoding_as<bowlrp::bow::FisherPipeline>().encode_features(std::move(f));
      fs.push_back(ms_since(t));
      t = Clock::now();
      (void)bow_model.encode(image);
      be.push_back(ms_since(t));
      t = Clock::now();
      (void)fisher_model.encode(image);
      fe.push_back(ms_since(t));
      t = Clock::now();
      {
        const model::Trace trace = fisher_model.encode(image);
        const std::vector<double> scores = fisher_model.scores(trace);
        (void)scores;
      }
      p.push_back(ms_since(t));
      t = Clock::now();
      {
        const model::Trace trace = fisher_model.encode(image);
        const std::vector<double> scores = fisher_model.scores(trace);
        const decompose::Explanation x = fisher_explainer.explain(trace, model::top_class(scores));
        if (r == 0) {
          const decompose::ConservationReport cr = decompose::check_conservation(x);
          absorbed_share.push_back(std::abs(cr.absorbed_features) / std::max(1e-300, std::abs(cr.f)));
          const double err = cr.end_to_end_error();
          worst_error.push_back(err);
        }
      }
      e.push_back(ms_since(t));
    }
    sift_ms.push_back(median(s));
    bow_stage_ms.push_back(median(bs));
    fisher_stage_ms.push_back(median(fs));
    bow_encode_ms.push_back(median(be));
    fisher_encode_ms.push_back(median(fe));
    predict_ms.push_back(median(p));
    explain_ms.push_back(median(e));
  }
  const double enc_ratio = median(fisher_encode_ms) / median(bow_encode_ms);
  const double stage_ratio = median(fisher_stage_ms) / median(bow_stage_ms);
  const double expl_ratio = median(explain_ms) / median(predict_ms);
  std::printf("\nper image, median over %zu VOC val images (x %d repeats), one thread, %.0f features\n", pick.size(),
              args.repeats, median(features));
  std::printf("  dense SIFT                       %8.1f ms\n", median(sift_ms));
  std::printf("  BoW stages after SIFT            %8.1f ms\n", median(bow_stage_ms));
  std::printf("  Fisher stages after SIFT         %8.1f ms\n", median(fisher_stage_ms));
  std::printf("  BoW encoding (from the image)    %8.1f ms\n", median(bow_encode_ms));
  std::printf("  Fisher encoding (from the image) %8.1f ms\n", median(fisher_encode_ms));
  std::printf("  Fisher prediction                %8.1f ms\n", median(predict_ms));
  std::printf("  Fisher explanation               %8.1f ms\n", median(explain_ms));
  std::printf("ratios\n  Fisher / BoW encoding            %8.3f  (target <= 2; stages alone %.3f)\n", enc_ratio,
              stage_ratio);
  std::printf("  Fisher explanation / prediction  %8.3f  (target <= 1.2)\n", expl_ratio);
  std::printf("conservation: median absorbed share |absorbed| / |f| %.3g, worst relative error %.3g\n",
              median(absorbed_share), *std::max_element(worst_error.begin(), worst_error.end()));
  if (!args.json_path.empty()) {
    const nlohmann::json j = {{"images", pick.size()},
                              {"repeats", args.repeats},
                              {"features_median", median(features)},
                              {"sift_ms", median(sift_ms)},
                              {"bow_stages_ms", median(bow_stage_ms)},
                              {"fisher_stages_ms", median(fisher_stage_ms)},
                              {"bow_encode_ms", median(bow_encode_ms)},
                              {"fisher_encode_ms", median(fisher_encode_ms)},
                              {"fisher_predict_ms", median(predict_ms)},
                              {"fisher_explain_ms", median(explain_ms)},
                              {"fisher_over_bow_encoding", enc_ratio},
                              {"fisher_explanation_over_prediction", expl_ratio},
                              {"absorbed_share_median", median(absorbed_share)},
                              {"worst_relative_error", *std::max_element(worst_error.begin(), worst_error.end())}};
    std::ofstream(args.json_path) << j.dump(1) << "\n";
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bowlrp_bench_fisher: error: %s\n", e.what());
  return 2;
}
