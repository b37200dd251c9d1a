// `bowlrp fix`: artefact compensation (evaluation/artefact.h) by projection (P-ClArC, --method project)
// or augmentation and refitting on --data (A-ClArC, --method augment), from a SpRAy cluster (--artefact
// report.json:cluster=N) or a user's regions (--regions regions.json).
#include "cli/commands.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/core/option_text.h>
#include <bowlrp/evaluation/artefact.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/model/fit.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace bowlrp::apps {

std::pair<std::string, int> parse_artefact_spec(const std::string& spec) {
  const std::string key = ":cluster=";
  const std::size_t at = spec.rfind(key);
  const std::string form = "expected REPORT.json:cluster=N (bowlrp spray's report.json and a cluster number)";
  if (at == std::string::npos || at == 0) throw std::invalid_argument("--artefact " + core::quoted(spec) + ": " + form);
  const std::string number = spec.substr(at + key.size());
  std::size_t used = 0;
  int cluster = -1;
  try {
    cluster = std::stoi(number, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (number.empty() || used != number.size() || cluster < 0)
    throw std::invalid_argument("--artefact " + core::quoted(spec) + ": cluster " + core::quoted(number) +
                                " is not a number >= 0; " + form);
  return {spec.substr(0, at), cluster};
}

namespace {

// The artefact's effect on class `cls` before and after the fix (evaluation::compare_fix) on the --check
// images, the regions' images and the --test set: printed, and written to --report DIR.
void print_effect(const FixArgs& args, const model::Model& before, const model::Model& after, const std::string& cls,
                  const std::vector<evaluation::ArtefactRegion>& regions, const core::ProgressFn& progress) {
  if (args.check.empty()) return;
  const datasets::ImageWalk walk = datasets::find_images(args.check);
  for (const auto& p : walk.problems) print_skipped(p.path, p.reason);
  model::LabelledImages test;
  if (!args.test.empty()) {
    test = model::LabelledImages::from_folder(args.test);
    for (const auto& s : test.unlisted) print_skipped(s.path, s.reason);
  }
  evaluation::FixComparisonOptions o;
  o.seed = args.seed;
  o.artefact.fill = evaluation::flip_fill_from_string(args.fill);
  o.artefact.seed = args.seed;
  o.artefact.threads = args.run.threads;
  const std::size_t c = before.class_index(cls);
  const evaluation::FixComparison r = check_values(
      [&] { return evaluation::compare_fix(before, after, c, regions, walk.files, test, o, progress); });
  for (const auto& f : r.failures) print_skipped(f.path, f.reason);
  std::printf("check, class %s, before -> after the fix:\n", cls.c_str());
  std::printf("  score rise from pasting the artefact into %zu images   %+.4f -> %+.4f\n", r.others_used,
              r.before.pasted_rise, r.after.pasted_rise);
  std::printf("  positive relevance in the artefact region (%zu images)  %.4f -> %.4f (area %.4f)\n", r.region_used,
              r.before.relevance_share, r.after.relevance_share, r.area_share);
  std::printf("  causal drop f(x) - f(x erased) (%zu images)           %+.4f -> %+.4f\n", r.region_used,
              r.before.causal_drop, r.after.causal_drop);
  if (r.test_used)
    std::printf("  test set (%zu images): accuracy %.4f -> %.4f, mAP %.4f -> %.4f\n", r.test_used, r.before.accuracy,
                r.after.accuracy, r.before.mean_ap, r.after.mean_ap);
  if (!args.report.empty()) {
    write_fix_report(args.report, before, after, regions, r, "bowlrp fix: class " + cls + ", before and after");
    std::printf("report: %s/index.html, %s/report.json\n", args.report.c_str(), args.report.c_str());
  }
}

// A-ClArC: the artefact pasted into the other classes' training images, the model refitted.
int run_augment(const FixArgs& args, const model::Model& model, const std::vector<evaluation::ArtefactRegion>& regions,
                const evaluation::ArtefactOptions& o, const std::pair<std::string, int>& spray,
                const core::ProgressFn& progress) {
  evaluation::AugmentOptions ao;
  ao.artefact = o;
  ao.share = args.share;
  ao.erase_own = args.erase_own;
  ao.seed = args.seed;
  check_values([&] { ao.validate(); });
  std::string cls = args.class_name;
  if (cls.empty()) cls = evaluation::spray_report_class(spray.first);
  (void)check_values([&] { return model.class_index(cls); });
  const model::LabelledImages data = model::LabelledImages::from_folder(args.data);
  for (const auto& s : data.unlisted) print_skipped(s.path, s.reason);
  const auto it = std::find(data.class_names.begin(), data.class_names.end(), cls);
  if (it == data.class_names.end())
    throw UsageError("--class " + core::quoted(cls) + ": not a class folder of --data " + core::quoted(args.data));
  std::size_t pasted = 0;
  const model::LabelledImages augmented = evaluation::augment_artefact(
      model, data, static_cast<std::size_t>(it - data.class_names.begin()), regions, ao, &pasted);
  model::FitOptions fo = model::FitOptions::from_model(model);
  fo.threads = args.run.threads;
  const model::Model fixed = model::fit(augmented, fo, progress);
  fixed.save(args.out);
  std::printf("artefact of class %s from %zu regions pasted into %zu training images of the other classes (of %zu "
              "training images; seed %llu%s)\n",
              cls.c_str(), regions.size(), pasted, data.images.size(), static_cast<unsigned long long>(args.seed),
              args.erase_own ? ", erased from the class's own" : "");
  std::printf("fixed model: %s (A-ClArC: refitted, %s)\n", args.out.c_str(), fixed.head_summary().c_str());
  print_effect(args, model, fixed, cls, regions, progress);
  return data.unlisted.empty() ? kExitOk : kExitSomeFailed;
}

}  // namespace

int run_fix(const FixArgs& args) {
  evaluation::ArtefactOptions o;
  std::pair<std::string, int> spray;
  check_values([&] {
    if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
    if (args.out.empty()) throw std::invalid_argument("--out FIXED.bowlrp is required");
    if (args.artefact.empty() == args.regions.empty())
      throw std::invalid_argument("give the artefact as --artefact REPORT.json:cluster=N or as --regions regions.json "
                                  "(one of them)");
    if (args.method != "project" && args.method != "augment")
      throw std::invalid_argument("--method " + core::quoted(args.method) + ": expected project or augment");
    if (args.method == "augment" && args.data.empty())
      throw std::invalid_argument("--method augment refits the model: give its training set as --data DIR (a folder per class)");
    if (args.method == "project" && !args.data.empty())
      throw std::invalid_argument("--data is for --method augment (the projection needs no training set)");
    if ((args.method == "augment" || !args.check.empty()) && args.class_name.empty() && !args.regions.empty())
      throw std::invalid_argument("--regions with --method augment or --check: give the artefact's class as --class C");
    if ((!args.report.empty() || !args.test.empty()) && args.check.empty())
      throw std::invalid_argument(std::string(args.report.empty() ? "--test" : "--report") +
                                  " compares the model before and after the fix: give images of other classes as "
                                  "--check IMAGES_OR_FOLDERS");
    if (!args.artefact.empty()) spray = parse_artefact_spec(args.artefact);
    o.fill = evaluation::flip_fill_from_string(args.fill);
    if (args.clamp != "auto") o.clamp = bow::projection_clamp_from_string(args.clamp);
    o.seed = args.seed;
    o.threads = args.run.threads;
    o.validate();
  });
  if (!args.report.empty()) check_report_dir(args.report);  // before the work, not after it
  const model::Model model = model::Model::load(args.model);
  if (model.artefact_projection() && args.method == "project")
    std::fprintf(stderr, "bowlrp: note: %s already holds an artefact projection; it is replaced (one per model)\n",
                 args.model.c_str());
  if (o.clamp && *o.clamp == bow::ProjectionClamp::none && model.head_needs_non_negative_inputs())
    throw UsageError("--clamp none: the model's " + model.head_summary() +
                     " needs inputs >= 0, which the projection can make negative; use --clamp non-negative (or auto)");
  const std::vector<evaluation::ArtefactRegion> regions = args.regions.empty()
                                                              ? evaluation::spray_artefact_regions(spray.first, spray.second)
                                                              : evaluation::read_artefact_regions(args.regions);
  const core::ProgressFn progress = progress_display(args.run.quiet);
  if (args.method == "augment") return run_augment(args, model, regions, o, spray, progress);
  const evaluation::ArtefactEncodings e = evaluation::artefact_encodings(model, regions, o, progress);
  for (const auto& f : e.failures) print_skipped(f.path, f.reason);
  const bow::ArtefactProjection projection = evaluation::artefact_projection(model, e, o);
  const model::Model fixed = model.with_artefact_projection(projection);
  fixed.save(args.out);

  // What the projection removes: the artefact coordinate vᵀ(Φ - z) of the images with and without it.
  double with = 0, without = 0;
  for (std::size_t i = 0; i < e.size(); ++i) {
    with += projection.coordinate(e.with.data() + i * e.V);
    without += projection.coordinate(e.without.data() + i * e.V);
  }
  std::printf("artefact direction from %zu images (%zu skipped), %s\n", e.size(), e.failures.size(),
              args.regions.empty() ? ("SpRAy cluster " + std::to_string(spray.second) + " of " + spray.first).c_str()
                                   : ("regions of " + args.regions).c_str());
  std::printf("  artefact coordinate v.(phi - z): %.6g with the artefact, %.6g erased (mean); projected to 0\n",
              with / static_cast<double>(e.size()), without / static_cast<double>(e.size()));
  std::printf("  projection clamp: %s\n", bow::to_string(projection.clamp()).c_str());
  std::printf("fixed model: %s (P-ClArC projection before the %s)\n", args.out.c_str(), model.head_summary().c_str());
  if (!args.check.empty())
    print_effect(args, model, fixed, args.class_name.empty() ? evaluation::spray_report_class(spray.first) : args.class_name,
                 regions, progress);
  return e.failures.empty() ? kExitOk : kExitSomeFailed;
}

}  // namespace bowlrp::apps
