// `bowlrp voc`: runs evaluation::run_voc_protocol and writes what it measured: the devkit's results
// files, the model, report.json and index.html.
#include "cli/commands.h"
#include "report/json_out.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/core/io.h>
#include <bowlrp/core/option_text.h>
#include <bowlrp/datasets/voc_eval.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

int run_voc_command(const VocArgs& args) {
  evaluation::VocProtocolOptions o;
  const fs::path out = fs::u8path(args.out);
  check_values([&] {
    if (args.out.empty()) throw std::invalid_argument("--out '': expected an output folder");
    o = args.protocol.options();
    o.fit.pipeline.validate();
    o.fit.threads = args.run.threads;
    if (!args.no_cache) o.fit.cache_dir = args.cache.empty() ? (out / "cache").u8string() : args.cache;
    o.validate();
  });
  std::optional<model::Model> given;
  double load_seconds = 0;
  if (!args.model.empty()) {
    const auto t0 = std::chrono::steady_clock::now();
    given = model::Model::load(args.model);
    load_seconds = core::seconds_since(t0);
    check_values([&] {
      refuse_bias_for_network(args.protocol.text("bias"), *given);
      (void)given->explainer(o.quality.composite);  // the rules against the head
    });
  }
  fs::create_directories(out);
  const evaluation::VocEvaluation ev = evaluation::run_voc_protocol(o, given, progress_display(args.run.quiet));
  const model::Model& model = *ev.model;
  model.save((out / "model.bowlrp").u8string());
  for (const auto& s : ev.skipped_train) print_skipped(s.path, s.reason);
  for (const auto& s : ev.failed_test) std::fprintf(stderr, "unreadable test image %s: %s\n", s.path.c_str(), s.reason.c_str());
  for (const auto& [what, why] : ev.quality_failures)
    std::fprintf(stderr, "explanation of %s failed: %s\n", what.c_str(), why.c_str());

  const std::size_t C = ev.classes.size(), N = ev.test_ids.size();
  for (std::size_t c = 0; c < C; ++c)
    datasets::write_voc_results((out / "results").u8string(), o.test_set, ev.classes[c], ev.test_ids, ev.scores[c]);
  const ReportData report = voc_report(ev, o, args.model, load_seconds);
  core::write_file_atomic((out / "report.json").u8string(), dump_json(voc_json(report, ev, o), 1) + "\n");
  write_report_html((out / "index.html").u8string(), report);

  std::printf("%-14s %8s %8s\n", "class", "AP07", "AParea");
  for (std::size_t c = 0; c < C; ++c)
    std::printf("%-14s %8.4f %8.4f\n", ev.classes[c].c_str(), ev.ap[c], ev.ap_area[c]);
  std::printf("%-14s %8.4f %8.4f   (%zu test images)\n", "mAP", ev.map, ev.map_area, N);
  for (const auto& [name, v] : ev.quality.aopc()) std::printf("AOPC %-10s %.4f\n", name.c_str(), v);
  for (const auto& [key, v] : report.localisation) std::printf("%-32s %.4f\n", key.c_str(), v);
  for (const auto& t : report.timings) std::printf("time %-26s %.1f s\n", t.stage.c_str(), t.seconds);
  std::printf("report: %s/index.html, %s/report.json\n", args.out.c_str(), args.out.c_str());
  return ev.failed_test.size() || ev.skipped_train.size() ? kExitSomeFailed : kExitOk;
}

}  // namespace bowlrp::apps
