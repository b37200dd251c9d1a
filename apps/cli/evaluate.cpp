// `bowlrp evaluate` and `bowlrp demo`: a model on a folder-per-class test set
// (evaluation::evaluate_folder), reported as report.json and index.html.
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/core/option_text.h>
#include <bowlrp/evaluation/shapes_experiment.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int run_evaluate(const EvaluateArgs& args) {
  evaluation::FolderEvaluationOptions o;
  check_values([&] {
    if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
    if (args.data.empty()) throw std::invalid_argument("--data DIR is required");
    if (args.out.empty()) throw std::invalid_argument("--out DIR is required");
    o = args.options.options();
    o.threads = args.run.threads;
    o.validate();
  });
  const model::Model model = model::Model::load(args.model);
  check_values([&] {
    refuse_bias_for_network(args.options.text("bias"), model);
    (void)model.explainer(o.quality.composite);  // the rules against the head
  });
  const evaluation::FolderEvaluation ev =
      evaluation::evaluate_folder(model, args.data, o, progress_display(args.run.quiet));
  for (const auto& f : ev.failures) print_skipped(f.path, f.reason);
  const ReportData report = folder_report(ev, o, "bowlrp evaluation: " + args.data);
  write_folder_report(args.out, report, ev);
  std::fputs(folder_summary_text(report, ev, args.out).c_str(), stdout);
  return ev.failures.empty() ? kExitOk : kExitSomeFailed;
}

DemoResult run_demo(const DemoArgs& args) {
  const auto t_start = Clock::now();
  evaluation::ShapesExperimentOptions o;
  check_values([&] {
    o = args.options.options();
    o.folder = (fs::u8path(args.out) / "shapes").u8string();
    o.fit.threads = args.run.threads;
    o.fit.pipeline.validate();
    o.validate();
  });
  const evaluation::ShapesExperiment ex = evaluation::run_shapes_experiment(o, progress_display(args.run.quiet));
  const evaluation::FolderEvaluation& ev = ex.evaluation;
  for (const auto& f : ev.failures) print_skipped(f.path, f.reason);
  for (std::size_t k = 0; k < ev.quality_results.size(); ++k)
    if (!ev.quality_results[k].error.empty())
      std::fprintf(stderr, "explanation quality of %s failed: %s\n", ev.paths[ev.explained_images[k]].c_str(),
                   ev.quality_results[k].error.c_str());
  evaluation::write_shapes_results(ex, args.out);
  write_folder_report(args.out, shapes_report(ex, o, core::seconds_since(t_start)), ev);
  return ex.summary();
}

int run_demo_command(const DemoArgs& args) {
  const auto t0 = Clock::now();
  const DemoResult r = run_demo(args);
  const double t = core::seconds_since(t0);
  std::printf("demo: %zu training and %zu test images of synthetic shapes, in %.1f s\n", r.train_images,
              r.test_images, t);
  std::printf("  test accuracy                      %.3f (mAP %.3f)\n", r.test_accuracy, r.map);
  std::printf("  positive relevance on the object   %.3f (the object covers %.3f of the image)\n",
              r.positive_in_mask, r.mask_area);
  for (const auto& [name, v] : r.aopc) std::printf("  AOPC %-29s %.4f\n", name.c_str(), v);
  std::printf("  worst conservation error           %.2e (relative)\n", r.max_conservation_error);
  std::printf("  report in %s/index.html, heatmaps in %s/heatmaps, model in %s/model.bowlrp\n", args.out.c_str(),
              args.out.c_str(), args.out.c_str());
  return r.checks_hold() ? kExitOk : kExitCheckFailed;
}

int run_compare(const CompareArgs& args) {
  const std::vector<std::string> given = args.names_csv.empty() ? std::vector<std::string>{} : split_csv(args.names_csv);
  const std::vector<std::string> heatmaps =
      args.heatmaps_csv.empty() ? std::vector<std::string>{} : split_csv(args.heatmaps_csv);
  check_values([&] {
    if (args.reports.empty())
      throw std::invalid_argument("compare: no report given; expected report.json files or run folders");
    if (!given.empty() && given.size() != args.reports.size())
      throw std::invalid_argument("compare: --names " + core::quoted(args.names_csv) + " names " +
                                  std::to_string(given.size()) + " runs for " + std::to_string(args.reports.size()) +
                                  " reports; give one per report or none");
    if (!heatmaps.empty() && heatmaps.size() != args.reports.size())
      throw std::invalid_argument("compare: --heatmaps " + core::quoted(args.heatmaps_csv) + " names " +
                                  std::to_string(heatmaps.size()) + " folders for " +
                                  std::to_string(args.reports.size()) + " reports; give one per report or none");
  });
  const CompareRuns c = read_compare_runs(args.reports, given);
  write_compare(args.out, c, heatmaps);
  std::printf("%-28s", "");
  for (const auto& n : c.names) std::printf(" %14s", n.c_str());
  std::printf("\n%-28s", "mAP");
  for (const auto& r : c.runs) std::printf(" %14.4f", r.value("map", 0.0));
  for (const char* o : {"lrp", "occlusion", "sensitivity", "random"}) {
    std::printf("\n%-28s", (std::string("AOPC ") + o).c_str());
    for (const auto& r : c.runs)
      std::printf(" %14s", r.contains("aopc") && r["aopc"].contains(o) ? fixed(r["aopc"][o].get<double>(), 4).c_str() : "-");
  }
  std::printf("\nreport     %s\n", (fs::u8path(args.out) / "index.html").u8string().c_str());
  return kExitOk;
}

}  // namespace bowlrp::apps
