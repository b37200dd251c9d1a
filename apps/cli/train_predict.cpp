#include "cli/commands.h"
#include "cli/progress.h"

#include <bowlrp/core/io.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/predict.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace bowlrp::apps {

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
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!p.ok[i]) continue;  // listed with its reason below
    std::printf("%s\t%s", paths[i].c_str(), classes[p.top[i]].c_str());
    for (std::size_t c = 0; c < classes.size(); ++c) std::printf("\t%s=%.17g", classes[c].c_str(), p.row(i)[c]);
    std::printf("\n");
  }
  // Failures: paths the walk could not read, then images that did not decode (in the JSON too).
  const std::vector<model::Skipped> undecoded = model::failed_rows(paths, p);
  std::vector<model::Skipped> failed;
  for (const auto& w : walk.problems) failed.push_back({w.path, w.reason});
  failed.insert(failed.end(), undecoded.begin(), undecoded.end());
  for (const auto& f : failed) print_skipped(f.path, f.reason);
  const auto [labelled, right] = model::folder_accuracy(model, paths, p);
  if (labelled)
    std::fprintf(stderr, "accuracy %.4f (%zu/%zu images whose folder names a class)\n", double(right) / labelled, right,
                 labelled);
  if (!failed.empty())
    std::fprintf(stderr, "predicted %zu images; %zu inputs failed (listed above)\n", paths.size() - undecoded.size(),
                 failed.size());
  if (!args.json.empty()) core::write_file_atomic(args.json, model::predictions_json(model, paths, p, failed));
  return failed.empty() ? kExitOk : kExitSomeFailed;
}

}  // namespace bowlrp::apps
