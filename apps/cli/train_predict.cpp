#include "cli/commands.h"
#include "cli/common.h"
#include "cli/json_out.h"

#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/svm/classifier.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <stdexcept>

#include <bowlrp/bow/io.h>

namespace bowlrp::apps {
namespace fs = std::filesystem;

namespace {

// Share of examples whose sign agrees with the label, over all (image, class) pairs with a label.
double binary_accuracy(const svm::SvmModel& model, const EncodedSet& set, const std::vector<int>& labels) {
  const std::size_t C = model.classes().size();
  std::size_t right = 0, total = 0;
  for (std::size_t i = 0; i < set.ok.size(); ++i) {
    if (!set.ok[i]) continue;
    const std::vector<double> f = model.decision(set.row(i));
    for (std::size_t c = 0; c < C; ++c) {
      const int y = labels[i * C + c];
      if (y == 0) continue;
      ++total;
      right += (f[c] > 0) == (y > 0);
    }
  }
  return total ? double(right) / total : 0.0;
}

// Share of images whose highest-scoring class is their (single) positive label.
double top1_accuracy(const svm::SvmModel& model, const EncodedSet& set, const std::vector<int>& labels) {
  const std::size_t C = model.classes().size();
  std::size_t right = 0, total = 0;
  for (std::size_t i = 0; i < set.ok.size(); ++i) {
    if (!set.ok[i]) continue;
    const std::vector<double> f = model.decision(set.row(i));
    const std::size_t top = std::max_element(f.begin(), f.end()) - f.begin();
    ++total;
    right += labels[i * C + top] > 0;
  }
  return total ? double(right) / total : 0.0;
}

}  // namespace

int run_train(const TrainArgs& args) {
  if (args.out.empty()) throw std::invalid_argument("--out MODEL is required");
  if (args.data.empty() == args.voc.empty()) throw std::invalid_argument("give exactly one of --data DIR or --voc ROOT");
  args.run.validate();
  const auto t0 = std::chrono::steady_clock::now();
  const bow::PipelineOptions options = args.pipeline.pipeline_options();
  const svm::Kernel kernel = args.pipeline.kernel_spec();
  const svm::TrainOptions topts = args.pipeline.train_options();

  TrainingData data;
  bool single_label = true;
  // Entries of the folder that could not even be listed or stat'ed: skipped like unreadable images.
  std::vector<std::pair<std::string, std::string>> not_listed;
  if (!args.data.empty()) {
    const datasets::FolderDataset set = datasets::FolderDataset::scan(args.data);
    for (const auto& p : set.problems) {
      not_listed.emplace_back(p.path, p.reason);
      print_skipped(p.path, p.reason);  // now, in case training fails
    }
    if (set.classes.size() < 2)
      throw std::invalid_argument("'" + args.data + "' has a single class folder ('" + set.classes[0] +
                                  "'): one-vs-rest training needs at least two classes");
    data.class_names = set.classes;
    for (const auto& im : set.images) {
      data.paths.push_back(im.path);
      for (std::size_t c = 0; c < set.classes.size(); ++c) data.labels.push_back(int(c) == im.label ? 1 : -1);
    }
  } else {
    const datasets::VocSet set = datasets::VocSet::load(args.voc, args.set, split_csv(args.classes));
    data.class_names = set.classes;
    for (std::size_t i = 0; i < set.ids.size(); ++i) data.paths.push_back(set.image_path(set.ids[i]));
    data.labels = set.labels;  // 0 = difficult only: left out of that class's training
    single_label = false;
  }
  if (!args.run.quiet)
    std::fprintf(stderr, "training on %zu images, %zu classes, K = %d, kernel %s\n", data.paths.size(),
                 data.class_names.size(), options.kmeans.words, svm::to_string(kernel.type).c_str());
  std::vector<std::pair<std::string, std::string>> skipped;
  StageTimes times;
  EncodedSet encoded;
  const svm::Classifier classifier =
      train_classifier(data, options, kernel, topts, args.run, &skipped, &times, &encoded);
  svm::save_classifier(args.out, classifier);

  for (const auto& [path, why] : skipped) print_skipped(path, why);
  skipped.insert(skipped.begin(), not_listed.begin(), not_listed.end());
  const double acc = single_label ? top1_accuracy(classifier.svm, encoded, data.labels)
                                  : binary_accuracy(classifier.svm, encoded, data.labels);
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("model      %s\n", args.out.c_str());
  std::printf("classes    %zu (", data.class_names.size());
  for (std::size_t c = 0; c < data.class_names.size(); ++c)
    std::printf("%s%s", c ? ", " : "", data.class_names[c].c_str());
  std::printf(")\nimages     %zu used, %zu skipped\n", data.paths.size() + not_listed.size() - skipped.size(),
              skipped.size());
  std::printf("dimension  %zu, support vectors %zu\n", classifier.svm.dim(), classifier.svm.support_size());
  std::printf("training accuracy %.4f (%s)\n", acc, single_label ? "top-1" : "per-class sign, mean over pairs");
  std::printf("time       codebook sample %.1fs, k-means %.1fs, encode %.1fs, SVMs %.1fs, total %.1fs\n",
              times.codebook_extract, times.kmeans, times.encode, times.svm, total);
  return skipped.empty() ? kExitOk : kExitSomeFailed;
}

int run_predict(const PredictArgs& args) {
  if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
  if (args.paths.empty()) throw std::invalid_argument("give at least one image or folder to predict");
  args.run.validate();
  const svm::Classifier classifier = svm::load_classifier(args.model);
  const bow::Pipeline pipeline(classifier.options, classifier.codebook);
  const datasets::ImageWalk walk = datasets::find_images(args.paths);
  const std::vector<std::string>& paths = walk.files;
  const EncodedSet set = encode_images(pipeline, paths, args.run, "predict");
  const auto& classes = classifier.svm.classes();
  // Unreadable images hold zero rows: scored like the rest, then left out of the results.
  const std::vector<double> F = classifier.svm.decision_batch(set.histograms.data(), paths.size(), args.run.threads);
  nlohmann::json out = nlohmann::json::array();
  std::size_t labelled = 0, right = 0, predicted = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!set.ok[i]) continue;  // listed with its reason below
    nlohmann::json item;
    set_path(item, "image", paths[i]);
    const double* f = F.data() + i * classes.size();
    const std::size_t top = std::max_element(f, f + classes.size()) - f;
    nlohmann::json s = nlohmann::json::object();
    std::printf("%s\t%s", paths[i].c_str(), classes[top].name.c_str());
    for (std::size_t c = 0; c < classes.size(); ++c) {
      s[classes[c].name] = f[c];
      std::printf("\t%s=%.17g", classes[c].name.c_str(), f[c]);
    }
    std::printf("\n");
    item["scores"] = s;
    item["predicted"] = classes[top].name;
    out.push_back(item);
    ++predicted;
    // Folder-per-class input: the parent folder names the true class.
    const std::string parent = fs::u8path(paths[i]).parent_path().filename().u8string();
    for (std::size_t c = 0; c < classes.size(); ++c)
      if (classes[c].name == parent) {
        ++labelled;
        right += c == top;
      }
  }
  // Failures: paths the walk could not read, then images that did not decode; each in the JSON too,
  // with its reason instead of scores, so the file accounts for every input.
  std::vector<std::pair<std::string, std::string>> failed;
  for (const auto& p : walk.problems) failed.emplace_back(p.path, p.reason);
  failed.insert(failed.end(), set.failures.begin(), set.failures.end());
  for (const auto& [path, why] : failed) {
    print_skipped(path, why);
    nlohmann::json item;
    set_path(item, "image", path);
    item["error"] = why;
    out.push_back(item);
  }
  if (labelled)
    std::fprintf(stderr, "accuracy %.4f (%zu/%zu images whose folder names a class)\n", double(right) / labelled, right,
                 labelled);
  if (!failed.empty())
    std::fprintf(stderr, "predicted %zu images; %zu inputs failed (listed above)\n", predicted, failed.size());
  if (!args.json.empty()) bow::write_file_atomic(args.json, dump_json(out, 1) + "\n");
  return failed.empty() ? kExitOk : kExitSomeFailed;
}

}  // namespace bowlrp::apps
