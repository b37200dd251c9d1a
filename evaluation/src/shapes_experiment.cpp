#include <bowlrp/evaluation/shapes_experiment.h>

#include <bowlrp/core/io.h>
#include <bowlrp/core/json_text.h>
#include <bowlrp/render/heatmap.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

namespace bowlrp::evaluation {
namespace fs = std::filesystem;

ShapesExperimentOptions ShapesExperimentOptions::defaults() {
  ShapesExperimentOptions o;
  o.shapes.images_per_class = 200;
  o.fit.pipeline.kmeans.words = 512;
  o.fit.pipeline.pooling.pyramid = {core::PyramidLevel{1, 1}};
  o.fit.pipeline.kmeans.samples = 50000;
  o.fit.pipeline.image.max_side = 0;
  o.fit.training_accuracy = false;
  o.evaluation.quality.occlusion_patch = 16;
  o.evaluation.gallery = 4;
  return o;
}

const core::OptionSchema<ShapesExperimentOptions>& ShapesExperimentOptions::schema() {
  using O = ShapesExperimentOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::integer_option<O>("images_per_class", "--images-per-class", "synthetic images per class",
                                        [](O& o) -> int& { return o.shapes.images_per_class; },
                                        OptionRange::at_least(1)));
    s.push_back(core::real_option<O>("test_fraction", "--test-fraction", "share of each class held out for testing",
                                     [](O& o) -> double& { return o.test_fraction; }, OptionRange{0, true, 1, true}));
    core::append_nested(&s, model::FitOptions::schema(), [](O& o) -> model::FitOptions& { return o.fit; },
                        {"threads", "cache_dir"});
    core::append_nested(&s, FolderEvaluationOptions::schema(), [](O& o) -> FolderEvaluationOptions& { return o.evaluation; },
                        {"masks", "no_masks", "threads", "cache_dir"});
    return s;
  }();
  return schema;
}

void ShapesExperimentOptions::validate() const {
  if (folder.empty()) throw std::invalid_argument("ShapesExperimentOptions.folder: empty; expected a folder to write the set to");
  if (!(test_fraction > 0 && test_fraction < 1))
    throw std::invalid_argument("ShapesExperimentOptions.test_fraction = " + std::to_string(test_fraction) +
                                ": expected a value in (0, 1)");
  fit.validate();
  FolderEvaluationOptions e = evaluation;
  e.masks.clear();  // the mask folder is made by the experiment
  e.validate();
}

ShapesExperiment run_shapes_experiment(const ShapesExperimentOptions& options, const core::ProgressFn& progress) {
  options.validate();
  ShapesExperiment ex;
  const std::uint64_t seed = options.fit.pipeline.kmeans.seed;
  datasets::ShapesOptions sopts = options.shapes;
  sopts.seed = seed;
  // A fresh set: files of an earlier, larger run must not join this one.
  std::error_code ec;
  fs::remove_all(fs::u8path(options.folder), ec);
  const auto t0 = std::chrono::steady_clock::now();
  ex.images_written = datasets::write_shapes(sopts, options.folder);
  ex.generate_seconds = core::seconds_since(t0);
  core::progress_note(progress, "shapes",
                     "wrote " + std::to_string(ex.images_written) + " synthetic images to " + options.folder);
  const std::string images = (fs::u8path(options.folder) / "images").u8string();
  datasets::FolderDataset::scan(images).split(options.test_fraction, seed, &ex.train, &ex.test);
  ex.model = model::fit(model::LabelledImages::from_folder(ex.train), options.fit, progress, &ex.fit);
  FolderEvaluationOptions eo = options.evaluation;
  eo.threads = options.fit.threads;
  eo.masks = (fs::u8path(options.folder) / "masks").u8string();
  eo.quality.flip.seed = seed;
  eo.quality.seed = seed;
  ex.evaluation = evaluate_folder(*ex.model, ex.test, images, eo, progress);
  return ex;
}

ShapesSummary ShapesExperiment::summary() const {
  const FolderEvaluation& ev = evaluation;
  return {train.images.size(), test.images.size(), ev.accuracy, ev.mean_relevance_in_mask, ev.mean_mask_area,
          ev.max_conservation_error, ev.map, ev.quality.aopc(), ev.classes};
}

std::string ShapesSummary::json() const {
  const nlohmann::json j = {{"train_images", train_images},
                            {"test_images", test_images},
                            {"test_accuracy", test_accuracy},
                            {"map", map},
                            {"aopc", aopc},
                            {"positive_relevance_in_mask", positive_in_mask},
                            {"mask_area_fraction", mask_area},
                            {"max_conservation_error", max_conservation_error},
                            {"classes", classes}};
  return core::dump_json(j, 1) + "\n";
}

void write_shapes_results(const ShapesExperiment& ex, const std::string& dir) {
  const fs::path out = fs::u8path(dir);
  const fs::path heat_dir = out / "heatmaps";
  fs::create_directories(heat_dir);
  ex.model->save((out / "model.bowlrp").u8string());
  const FolderEvaluation& ev = ex.evaluation;
  render::HeatmapFileOptions gallery_files;  // <stem>.heatmap.png, <stem>.edges.png, <stem>.relevance.npy
  gallery_files.views = {render::HeatmapView::heatmap, render::HeatmapView::edges};
  for (const auto& g : ev.gallery) {
    const std::string stem = (heat_dir / fs::u8path(ev.paths[g.index]).stem()).u8string();
    render::write_heatmap_files(stem, g.relevance, gallery_files, &g.image);
  }
  core::write_file_atomic((out / "demo.json").u8string(), ex.summary().json());
}

}  // namespace bowlrp::evaluation
