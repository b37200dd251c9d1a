#include "cli/commands.h"
#include "cli/progress.h"
#include "report/report.h"

#include <bowlrp/core/io.h>
#include <bowlrp/core/option_text.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/model/model.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

int run_explain(const ExplainArgs& args) {
  // Every value is checked before the model is read and again against it (exit 1), before any output.
  model::ExplainOptions options;
  render::HeatmapFileOptions heatmaps;
  check_values([&] {
    if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
    if (args.out.empty()) throw std::invalid_argument("--out DIR is required");
    if (args.paths.empty()) throw std::invalid_argument("give at least one image or folder to explain");
    options = args.options.options();
    options.threads = args.run.threads;
    if (args.class_name && args.class_name->empty())
      throw std::invalid_argument("--class '': expected a class name of the model (or --top)");
    options.validate();
    heatmaps = args.heatmaps.options();
    heatmaps.validate();
  });
  const model::Model model = model::Model::load(args.model);
  check_values([&] {
    if (args.class_name) options.class_index = model.class_index(*args.class_name);
    refuse_bias_for_network(args.options.text("bias"), model);
    model::check_training_images(model, options, "--training-images " + args.options.text("training_images").value_or(""));
    (void)model.explainer(options.composite);  // the rules against the head (one rule per layer, ...)
  });

  const datasets::ImageWalk walk = datasets::find_images(args.paths);
  const std::vector<std::string>& paths = walk.files;
  const std::vector<std::string> stems = datasets::unique_output_stems(paths);
  for (std::size_t i = 0; i < paths.size(); ++i)
    if (stems[i] != fs::u8path(paths[i]).stem().u8string())
      std::fprintf(stderr, "note: %s shares its name with another input: written as %s.*\n", paths[i].c_str(),
                   (fs::u8path(args.out) / fs::u8path(stems[i])).u8string().c_str());
  fs::create_directories(fs::u8path(args.out));
  std::vector<std::string> errors(paths.size());
  std::vector<std::string> warnings(paths.size());
  // --training-images: each explained image's row of the page training-images.html.
  std::vector<std::optional<TrainingImagesRow>> rows(options.training_images > 0 ? paths.size() : 0);
  std::mutex rows_mutex;
  const auto write = [&](model::ImageExplanation&& r) {
    const std::size_t i = r.index;
    if (!r.error.empty()) {
      errors[i] = r.error;
      return;
    }
    // An output that cannot be written (full disk, a device in the way) stops the command with
    // exit 2: it is not a bad input, and every later image would fail the same way.
    bool writing = false;
    try {
      warnings[i] = r.warning;
      const std::string base = (fs::u8path(args.out) / fs::u8path(stems[i])).u8string();
      const render::Bgr8Image image = render::decode_bgr8(r.bytes, paths[i]);
      writing = true;
      render::write_heatmap_files(base, r.explanation.pixels, heatmaps, &image);
      // --training-images: each listed training image's matching maps, on this image and on it, by rank.
      for (const auto& [side, listed] : {std::pair{"supporting", &r.supporting}, std::pair{"opposing", &r.opposing}})
        for (std::size_t k = 0; k < listed->size(); ++k) {
          const std::string name = base + "." + side + "-" + std::to_string(k + 1);
          if (!(*listed)[k].test_pixels.R.empty()) render::write_npy(name + ".npy", (*listed)[k].test_pixels);
          if (!(*listed)[k].training_pixels.R.empty())
            render::write_npy(name + ".training.npy", (*listed)[k].training_pixels);
        }
      core::write_file_atomic(base + ".json", model::explanation_json(model, r, options));
      if (!rows.empty()) {
        TrainingImagesRow row = training_images_row(r, image, 200);
        const std::lock_guard<std::mutex> lock(rows_mutex);
        rows[i] = std::move(row);
      }
    } catch (const std::exception& ex) {
      if (writing) throw;
      errors[i] = ex.what();
    }
  };
  model::explain_files(model, paths, options, write, progress_display(args.run.quiet));
  if (!rows.empty()) {
    std::vector<TrainingImagesRow> page;
    for (auto& row : rows)
      if (row) page.push_back(std::move(*row));
    core::write_file_atomic((fs::u8path(args.out) / "training-images.html").u8string(),
                            training_images_html(page, "Training images behind the decisions of " + args.model));
  }
  std::size_t failed = 0, broken = 0;
  for (const auto& p : walk.problems) print_skipped(p.path, p.reason);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!errors[i].empty()) {
      ++failed;
      print_skipped(paths[i], errors[i]);
    } else if (!warnings[i].empty()) {
      ++broken;
      std::fprintf(stderr, "warning: relevance of %s is not conserved: %s (see its .json)\n", paths[i].c_str(),
                   warnings[i].c_str());
    }
  }
  std::printf("explained %zu of %zu images into %s\n", paths.size() - failed, paths.size(), args.out.c_str());
  if (!walk.problems.empty()) std::printf("%zu input paths could not be read (listed above)\n", walk.problems.size());
  return failed || broken || !walk.problems.empty() ? kExitSomeFailed : kExitOk;
}

}  // namespace bowlrp::apps
