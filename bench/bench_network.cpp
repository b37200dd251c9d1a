// bowlrp_bench_network: the network head against the SVM head on the same encoded VOC2007 images,
// in the same run. Not a test: it prints mAP, training time and the peak RSS of each head, and
// writes them as JSON.
//
// The encoding (and the SVM head it is compared with) comes from a model file, e.g. the
// model.bowlrp `bowlrp voc` writes; the train and test images are encoded through the feature cache
// of that run (--cache, the folder `bowlrp voc --cache` used), so only heads are trained here. For
// every --config (comma-separated key=value: hidden=a/b (or none), epochs, batch, lr, wd, dropout,
// seed) a network is trained on the train split by nn::train_network and scored on the test split
// with the devkit's 11-point AP; the model file's own head is scored on the same vectors. Peak RSS
// is the process's high-water mark after each training (VmHWM), which only grows: read it as an
// upper bound of the training's own memory.
//
// --mirror trains every head (networks and --linear-C SVMs) on the train split plus each image's
// left-right mirror (model::encode_with_mirrors, cached under keys of their own: FitOptions::
// mirror_training); --linear-C c1,c2,... also trains one-vs-rest linear SVMs with each C on the
// same rows, so the heads and both ways of training are compared on one set of vectors.
#include <bowlrp/core/parallel.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>
#include <bowlrp/nn/training.h>
#include <bowlrp/svm/linear_svm.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace bowlrp;
using Clock = std::chrono::steady_clock;

double peak_rss_gib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / (1024.0 * 1024.0);
  return 0;
}

nn::TrainOptions parse_config(const std::string& text) {
  nn::TrainOptions o;
  std::stringstream ss(text);
  std::string part;
  while (std::getline(ss, part, ',')) {
    const auto eq = part.find('=');
    if (eq == std::string::npos) throw std::invalid_argument("--config part '" + part + "': expected key=value");
    const std::string k = part.substr(0, eq), v = part.substr(eq + 1);
    if (k == "hidden") {
      o.hidden.clear();
      if (v != "none") {
        std::stringstream hs(v);
        std::string h;
        while (std::getline(hs, h, '/')) o.hidden.push_back(std::stoul(h));
      }
    } else if (k == "epochs") {
      o.epochs = std::stoi(v);
    } else if (k == "batch") {
      o.batch_size = std::stoul(v);
    } else if (k == "lr") {
      o.learning_rate = std::stod(v);
    } else if (k == "wd") {
      o.weight_decay = std::stod(v);
    } else if (k == "dropout") {
      o.dropout = std::stod(v);
    } else if (k == "seed") {
      o.seed = std::stoull(v);
    } else {
      throw std::invalid_argument("--config key '" + k + "': expected hidden, epochs, batch, lr, wd, dropout or seed");
    }
  }
  o.validate();
  return o;
}

double map_of(const std::vector<double>& F, const datasets::VocSet& set, const std::vector<char>& ok,
              std::vector<double>* aps) {
  const std::size_t C = set.classes.size();
  aps->clear();
  for (std::size_t c = 0; c < C; ++c) {
    std::vector<double> s;
    std::vector<int> l;
    for (std::size_t i = 0; i < set.ids.size(); ++i) {
      if (!ok[i]) continue;
      s.push_back(F[i * C + c]);
      l.push_back(set.label(i, c));
    }
    aps->push_back(datasets::voc07_ap(s, l));
  }
  return datasets::mean_ap(*aps);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string model_path, root = BOWLRP_DEFAULT_VOC_ROOT, cache, json_path, train_set = "train", test_set = "val";
    std::vector<std::string> configs;
    std::vector<double> linear_C;
    bool mirror = false;
    int threads = 0;
    for (int i = 1; i < argc; ++i) {
      const std::string a = argv[i];
      const auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
        return argv[++i];
      };
      if (a == "--model") model_path = value();
      else if (a == "--root") root = value();
      else if (a == "--cache") cache = value();
      else if (a == "--json") json_path = value();
      else if (a == "--train-set") train_set = value();
      else if (a == "--test-set") test_set = value();
      else if (a == "--config") configs.push_back(value());
      else if (a == "--threads") threads = std::stoi(value());
      else if (a == "--mirror") mirror = true;
      else if (a == "--linear-C") {
        std::stringstream cs(value());
        std::string c;
        while (std::getline(cs, c, ',')) linear_C.push_back(std::stod(c));
      } else throw std::invalid_argument("unknown argument " + a +
                                         " (--model M --cache DIR [--root R] [--config k=v,...]... [--mirror]"
                                         " [--linear-C c,...] [--json F])");
    }
    if (model_path.empty()) throw std::invalid_argument("--model MODEL is required (its encoding and SVM head)");
    if (configs.empty() && linear_C.empty()) configs.push_back("");
    core::init_runtime();
    const model::Model model = model::Model::load(model_path);
    const datasets::VocSet train = datasets::VocSet::load(root, train_set, model.class_names());
    const datasets::VocSet test = datasets::VocSet::load(root, test_set, model.class_names());
    std::vector<std::string> train_paths, test_paths;
    for (const auto& id : train.ids) train_paths.push_back(train.image_path(id));
    for (const auto& id : test.ids) test_paths.push_back(test.image_path(id));
    auto t0 = Clock::now();
    const model::EncodedSet tr = mirror ? model::encode_with_mirrors(model.encoding(), train_paths, threads, cache)
                                        : model::encode_images(model.encoding(), train_paths, threads, cache);
    const model::EncodedSet te = model::encode_images(model.encoding(), test_paths, threads, cache);
    std::printf("encoded %zu%s + %zu images (V = %zu) in %.1f s\n", train_paths.size(), mirror ? " x 2 (mirrors)" : "",
                test_paths.size(), tr.dim, core::seconds_since(t0));
    std::vector<std::size_t> kept;  // rows; with --mirror row n + i is image i's mirror
    for (std::size_t i = 0; i < tr.ok.size(); ++i)
      if (tr.ok[i]) kept.push_back(i);
    std::vector<double> storage;
    const double* rows = tr.rows(kept, &storage);
    const std::size_t C = model.classes();
    std::vector<int> labels(kept.size() * C);
    for (std::size_t k = 0; k < kept.size(); ++k)
      for (std::size_t c = 0; c < C; ++c) labels[k * C + c] = train.label(kept[k] % train_paths.size(), c);

    nlohmann::json out;
    std::vector<double> aps;
    const double svm_map = map_of(model.scores_batch(te.histograms.data(), test_paths.size(), threads), test, te.ok, &aps);
    std::printf("%-55s mAP %.4f  (%s)\n", "model file's head", svm_map, model.head_summary().c_str());
    out["encoding"] = model.encoding_summary();
    out["svm"] = {{"head", model.head_summary()}, {"map", svm_map}, {"aps", aps}};
    out["mirror"] = mirror;
    for (const double c : linear_C) {
      svm::TrainOptions o;
      o.C = c;
      o.threads = threads;
      t0 = Clock::now();
      const svm::LinearSvm head =
          svm::train_linear_one_vs_rest(rows, kept.size(), tr.dim, labels, model.class_names(), o);
      const double seconds = core::seconds_since(t0);
      const double m = map_of(head.decision_batch(te.histograms.data(), test_paths.size(), threads), test, te.ok, &aps);
      std::printf("%-55s mAP %.4f  train %.1f s  peak %.2f GiB\n", ("linear SVMs C = " + std::to_string(c)).c_str(), m,
                  seconds, peak_rss_gib());
      std::fflush(stdout);
      out["linear"].push_back({{"C", c}, {"map", m}, {"aps", aps}, {"train_seconds", seconds},
                               {"peak_rss_gib", peak_rss_gib()}});
    }
    for (const std::string& text : configs) {
      nn::TrainOptions o = parse_config(text);
      o.threads = threads;
      t0 = Clock::now();
      const nn::Network net = nn::train_network(rows, kept.size(), tr.dim, labels, model.class_names(), o);
      const double seconds = core::seconds_since(t0);
      const double m = map_of(net.decision_batch(te.histograms.data(), test_paths.size(), threads), test, te.ok, &aps);
      std::printf("%-55s mAP %.4f  train %.1f s  peak %.2f GiB\n", ("mlp " + text).c_str(), m, seconds, peak_rss_gib());
      std::fflush(stdout);
      out["networks"].push_back({{"config", text}, {"map", m}, {"aps", aps}, {"train_seconds", seconds},
                                 {"peak_rss_gib", peak_rss_gib()}});
    }
    if (!json_path.empty()) std::ofstream(json_path) << out.dump(1) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bowlrp_bench_network: %s\n", e.what());
    return 2;
  }
}
