#include "cli/commands.h"
#include "report/json_out.h"
#include "cli/progress.h"

#include <bowlrp/core/io.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/predict.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

int run_train(const TrainArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  const model::FitOptions options = check_values([&] {
    if (args.out.empty()) throw std::invalid_argument("--out MODEL is required");
    if (args.data.empty() == args.voc.empty()) throw std::invalid_argument("give exactly one of --data DIR or --voc ROOT");
    model::FitOptions o = args.pipeline.fit_options();
    o.threads = args.run.threads;
    o.cache_dir = args.cache;
    o.validate();
    return o;
  });
  core::check_output_file(args.out);  // before the training, not after it
  model::LabelledImages data;
  if (!args.data.empty()) {
    data = model::LabelledImages::from_folder(args.data);
    for (const auto& p : data.unlisted) print_skipped(p.path, p.reason);  // now, in case training fails
  } else {
    data = model::LabelledImages::from_voc(datasets::VocSet::load(args.voc, args.set, split_csv(args.classes)));
  }
  if (!args.run.quiet)
    std::fprintf(stderr, "training on %zu images, %zu classes, K = %d, kernel %s\n", data.images.size(),
                 data.class_names.size(), options.pipeline.kmeans.words, svm::to_string(options.kernel.type).c_str());
  model::FitReport report;
  const model::Model model = model::fit(data, options, progress_display(args.run.quiet), &report);
  model.save(args.out);

  for (std::size_t k = data.unlisted.size(); k < report.skipped.size(); ++k)
    print_skipped(report.skipped[k].path, report.skipped[k].reason);
  const double total = core::seconds_since(t0);
  std::printf("model      %s\n", args.out.c_str());
  std::printf("classes    %zu (", data.class_names.size());
  for (std::size_t c = 0; c < data.class_names.size(); ++c)
    std::printf("%s%s", c ? ", " : "", data.class_names[c].c_str());
  std::printf(")\nimages     %zu used, %zu skipped\n", report.used, report.skipped.size());
  std::printf("encoding   %s\nhead       %s\n", model.encoding_summary().c_str(), model.head_summary().c_str());
  std::printf("training accuracy %.4f (%s)\n", report.training_accuracy,
              data.single_label ? "top-1" : "per-class sign, mean over pairs");
  std::printf("time       descriptor sample %.1fs, %s %.1fs, encode %.1fs, SVMs %.1fs, total %.1fs\n",
              report.times.codebook_extract,
              model.encoding_training_stage().c_str(),
              report.times.kmeans, report.times.encode, report.times.svm, total);
  return report.skipped.empty() ? kExitOk : kExitSomeFailed;
}

int run_predict(const PredictArgs& args) {
  model::PredictOptions options;
  check_values([&] {
    if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
    if (args.paths.empty()) throw std::invalid_argument("give at least one image or folder to predict");
    options.threads = args.run.threads;
    options.validate();
  });
  if (!args.json.empty()) core::check_output_file(args.json);  // before the work
  const model::Model model = model::Model::load(args.model);
  const datasets::ImageWalk walk = datasets::find_images(args.paths);
  const std::vector<std::string>& paths = walk.files;
  const model::Predictions p = model::predict_files(model, paths, options, progress_display(args.run.quiet));
  const std::vector<std::string>& classes = model.class_names();
  nlohmann::json out = nlohmann::json::array();
  std::size_t labelled = 0, right = 0, predicted = 0;
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!p.ok[i]) continue;  // listed with its reason below
    nlohmann::json item;
    set_path(item, "image", paths[i]);
    const double* f = p.row(i);
    const std::size_t top = p.top[i];
    nlohmann::json s = nlohmann::json::object();
    std::printf("%s\t%s", paths[i].c_str(), classes[top].c_str());
    for (std::size_t c = 0; c < classes.size(); ++c) {
      s[classes[c]] = f[c];
      std::printf("\t%s=%.17g", classes[c].c_str(), f[c]);
    }
    std::printf("\n");
    item["scores"] = s;
    item["predicted"] = classes[top];
    out.push_back(item);
    ++predicted;
    // Folder-per-class input: the parent folder names the true class.
    const std::string parent = fs::u8path(paths[i]).parent_path().filename().u8string();
    for (std::size_t c = 0; c < classes.size(); ++c)
      if (classes[c] == parent) {
        ++labelled;
        right += c == top;
      }
  }
  // Failures: paths the walk could not read, then images that did not decode; each in the JSON too,
  // with its reason instead of scores, so the file accounts for every input.
  std::vector<std::pair<std::string, std::string>> failed;
  for (const auto& w : walk.problems) failed.emplace_back(w.path, w.reason);
  for (std::size_t i = 0; i < paths.size(); ++i)
    if (!p.ok[i]) failed.emplace_back(paths[i], p.errors[i]);
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
  if (!args.json.empty()) core::write_file_atomic(args.json, dump_json(out, 1) + "\n");
  return failed.empty() ? kExitOk : kExitSomeFailed;
}

}  // namespace bowlrp::apps
