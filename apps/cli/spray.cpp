// `bowlrp spray`: evaluation::spray_images over files, folders or a VOC set, then the report.
#include "cli/commands.h"
#include "report/json_out.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/core/io.h>
#include <bowlrp/core/option_text.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/render/heatmap.h>

#include <cstdio>
#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

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

  // The most typical members of each cluster, explained again for their pictures.
  const evaluation::SprayResult& r = a.result;
  const std::size_t C = static_cast<std::size_t>(r.clusters);
  std::vector<std::string> shown;
  std::vector<std::pair<std::size_t, std::size_t>> slot;  // (cluster, rank) of each shown image
  for (std::size_t c = 0; c < C; ++c)
    for (std::size_t q = 0; q < std::min<std::size_t>(static_cast<std::size_t>(args.members), r.ranked_members[c].size()); ++q) {
      shown.push_back(paths[a.analysed[r.ranked_members[c][q]]]);
      slot.emplace_back(c, q);
    }
  std::vector<std::vector<std::pair<ReportPicture, ReportPicture>>> pictures(C);
  for (std::size_t c = 0; c < C; ++c)
    pictures[c].resize(std::min<std::size_t>(static_cast<std::size_t>(args.members), r.ranked_members[c].size()));
  model::ExplainOptions eo;
  eo.composite = o.composite;
  eo.class_index = cls;
  eo.threads = o.threads;
  render::HeatmapOptions hopts;
  hopts.scaling = render::HeatmapScaling::percentile;
  hopts.percentile = 99.5;
  std::mutex mutex;
  model::explain_files(model, shown, eo, [&](model::ImageExplanation&& e) {
    if (!e.error.empty()) return;
    const render::Bgr8Image image = render::decode_bgr8(e.bytes, e.path);
    std::pair<ReportPicture, ReportPicture> p{encode_picture(image, 200, true),
                                              encode_picture(render::render_heatmap(e.explanation.pixels, hopts, &image), 200, false)};
    const std::lock_guard<std::mutex> lock(mutex);
    pictures[slot[e.index].first][slot[e.index].second] = std::move(p);
  });
  const fs::path out = fs::u8path(args.out);
  fs::create_directories(out);
  core::write_file_atomic((out / "report.json").u8string(),
                         dump_json(spray_json(a, model.class_names(), static_cast<std::size_t>(args.members)), 1) + "\n");
  core::write_file_atomic((out / "index.html").u8string(),
                         spray_html(a, "bowlrp spray: class " + args.class_name + ", " + std::to_string(r.images) + " images",
                                    pictures));
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
