// `bowlrp spray`: evaluation::spray_images over files, folders or a VOC set, then the report.
#include "cli/commands.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/voc.h>

#include <cstdio>
#include <stdexcept>

namespace bowlrp::apps {

int run_spray(const SprayArgs& args) {
  evaluation::SprayImagesOptions o;
  check_values([&] {
    if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
    if (args.class_name.empty()) throw std::invalid_argument("--class '': expected a class of the model");
    if (args.out.empty()) throw std::invalid_argument("--out DIR is required");
    if (args.voc.empty() == args.paths.empty())
      throw std::invalid_argument("give images or folders, or --voc ROOT (not both)");
    if (args.members < 0)
      throw std::invalid_argument("--members " + std::to_string(args.members) + ": expected a count >= 0");
    o = args.options.options();
    o.threads = args.run.threads;
    o.validate();
  });
  const model::Model model = model::Model::load(args.model);
  const std::size_t cls = check_values([&] { return model.class_index(args.class_name); });
  std::vector<std::string> paths;
  std::size_t unreadable = 0;
  if (!args.voc.empty()) {
    const datasets::VocSet set = datasets::VocSet::load(args.voc, args.set, {args.class_name});
    for (std::size_t i = 0; i < set.ids.size(); ++i)
      if (args.all_images || set.label(i, 0) == 1) paths.push_back(set.image_path(set.ids[i]));
  } else {
    const datasets::ImageWalk walk = datasets::find_images(args.paths);
    for (const auto& p : walk.problems) print_skipped(p.path, p.reason);
    unreadable = walk.problems.size();
    paths = walk.files;
  }
  const core::ProgressFn progress = progress_display(args.run.quiet);
  const evaluation::SprayAnalysis a = evaluation::spray_images(model, paths, cls, o, progress);
  for (const auto& f : a.failures) print_skipped(f.path, f.reason);

  write_spray_report(args.out, model, a, o, static_cast<std::size_t>(args.members));
  const evaluation::SprayResult& r = a.result;
  const std::size_t C = static_cast<std::size_t>(r.clusters);
  std::printf("%zu maps of class %s in %d clusters (eigengap %d)\n", r.images, args.class_name.c_str(), r.clusters,
              r.eigengap_clusters);
  for (std::size_t c = 0; c < C; ++c) {
    std::printf("  cluster %zu: %zu images", c, r.sizes[c]);
    if (!a.causal.empty())
      std::printf(", causal drop %.4f in members (%zu) vs %.4f elsewhere (%zu)", a.causal[c].member_drop,
                  a.causal[c].members, a.causal[c].other_drop, a.causal[c].others);
    std::printf("\n");
  }
  for (const auto& [stage, s] : a.timings) std::printf("time %-20s %.1f s\n", stage.c_str(), s);
  std::printf("report: %s/index.html, %s/report.json\n", args.out.c_str(), args.out.c_str());
  return a.failures.empty() && unreadable == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace bowlrp::apps
