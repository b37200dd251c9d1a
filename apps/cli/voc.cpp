// `bowlrp voc`: runs evaluation::run_voc_protocol and writes what it measured: the devkit's results
// files, the model, report.json and index.html.
#include "cli/commands.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/core/io.h>

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

  const ReportData report = voc_report(ev, o, args.model, load_seconds);
  write_voc_report(args.out, report, ev, o);
  std::fputs(voc_summary_text(report, ev, args.out).c_str(), stdout);
  return ev.failed_test.size() || ev.skipped_train.size() ? kExitSomeFailed : kExitOk;
}

}  // namespace bowlrp::apps
