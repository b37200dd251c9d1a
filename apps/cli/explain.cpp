#include "cli/commands.h"
#include "report/json_out.h"
#include "cli/progress.h"

#include <bowlrp/core/io.h>
#include <bowlrp/core/option_text.h>
#include <bowlrp/datasets/folder.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/model/model.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

ExplainArgs::ExplainArgs() : colormap(render::HeatmapOptions{}.colormap) {}

int run_explain(const ExplainArgs& args) {
  // Every value is checked before the model is read and again against it (exit 1), before any output.
  model::ExplainOptions options;
  std::vector<render::HeatmapView> views;
  render::HeatmapOptions hopts;
  check_values([&] {
    if (args.model.empty()) throw std::invalid_argument("--model MODEL is required");
    if (args.out.empty()) throw std::invalid_argument("--out DIR is required");
    if (args.paths.empty()) throw std::invalid_argument("give at least one image or folder to explain");
    options = args.options.options();
    options.threads = args.run.threads;
    if (args.class_name && args.class_name->empty())
      throw std::invalid_argument("--class '': expected a class name of the model (or --top)");
    options.validate();
    if (args.view == "all")
      views = {render::HeatmapView::heatmap, render::HeatmapView::edges, render::HeatmapView::mask};
    else
      views = {render::heatmap_view_from_string(args.view)};
    if (!(args.clip > 0 && args.clip <= 100))
      throw std::invalid_argument("--clip " + std::to_string(args.clip) +
                                  ": expected a percentile in (0, 100] (100 = max |R|)");
    hopts.colormap = args.colormap;
    if (args.clip < 100) {
      hopts.scaling = render::HeatmapScaling::percentile;
      hopts.percentile = args.clip;
    }
    hopts.validate();
  });
  const model::Model model = model::Model::load(args.model);
  check_values([&] {
    if (args.class_name) options.class_index = model.class_index(*args.class_name);
    refuse_bias_for_network(args.options.text("bias"), model);
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
      const decompose::Explanation& e = r.explanation;
      const decompose::ConservationReport& report = r.conservation;
      warnings[i] = r.warning;
      const std::string base = (fs::u8path(args.out) / fs::u8path(stems[i])).u8string();
      const render::Bgr8Image image = render::decode_bgr8(r.bytes, paths[i]);
      writing = true;
      for (const render::HeatmapView view : views) {
        render::HeatmapOptions o = hopts;
        o.view = view;
        const std::string suffix = view == render::HeatmapView::heatmap ? ".heatmap.png"
                                   : view == render::HeatmapView::edges ? ".edges.png"
                                                                           : ".mask.png";
        render::write_png(base + suffix, e.pixels, o, &image);
      }
      render::write_npy(base + ".relevance.npy", e.pixels);
      const bool exact = e.dimensions.method == decompose::SvmMethod::exact;
      nlohmann::json j;
      set_path(j, "image", paths[i]);
      j["class"] = e.class_name;
      j["score"] = e.dimensions.f;
      j["bias"] = e.dimensions.bias;
      // The policy applied to the SVM bias; a network head has none to apply (its layers' biases
      // follow their rules, "network" below), so none is reported.
      if (!model.head_applies_svm_bias())
        j["bias_policy"] = nullptr;
      else
        j["bias_policy"] = decompose::to_string(options.composite.svm.bias);
      j["method"] = decompose::to_string(e.dimensions.method);
      j["relevance_sum"] = {
          {"dimensions", e.dimensions.total()}, {"features", e.features.total()}, {"pixels", e.pixels.total()}};
      j["absorbed"] = e.dimensions.absorbed;
      j["residual"] = e.dimensions.residual;
      j["unassigned"] = {{"features", e.features.unassigned}, {"pixels", e.pixels.unassigned}};
      // What the Fisher layer's ε stabiliser kept (0 for Bag-of-Words), so that
      // f = Σ R_q + absorbed + absorbed_features + unassigned to rounding.
      j["absorbed_features"] = e.features.absorbed;
      j["encoding"] = model.encoding_kind();
      for (const auto& [field, value] : model.encoding_rule_fields(options.composite)) j[field] = value;
      // "conserved": every layer, the SVM one included, within the conservation tolerance.
      j["conserved"] = report.ok();
      j["layers"] = {{"svm", report.svm_conserved}, {"features", report.features_conserved},
                     {"pixels", report.pixels_conserved}};
      nlohmann::json svm = {{"rule", decompose::to_string(report.method)},
                            {"conserved", report.svm_conserved},
                            {"residual", std::fabs(report.residual)},
                            {"relative_residual", report.relative_residual},
                            {"tolerance", report.tolerance}};
      if (report.method != decompose::SvmMethod::exact) {
        svm["root_found"] = report.root_found;
        svm["f_root"] = report.f_root;
      }
      if (report.method == decompose::SvmMethod::integrated_gradients) {
        svm["quadrature_error"] = report.quadrature_error;
        svm["quadrature_segments"] = e.dimensions.quadrature_segments;
      }
      j["svm"] = std::move(svm);
      if (!report.network_layers.empty()) {
        // Every dense layer, input layer first: what came in (upper), went down (lower) and was
        // absorbed by the rule, so that f = Σ_d R_d + Σ absorbed and upper = lower + absorbed per layer.
        nlohmann::json layers = nlohmann::json::array();
        for (std::size_t l = 0; l < report.network_layers.size(); ++l) {
          const decompose::NetworkLayerCheck& c = report.network_layers[l];
          const decompose::LayerTotals& t = e.dimensions.layers.at(l);
          layers.push_back({{"layer", l + 1}, {"rule", c.rule}, {"inputs", t.inputs}, {"outputs", t.outputs},
                            {"upper", c.upper}, {"lower", c.lower}, {"absorbed", c.absorbed},
                            {"relative_residual", c.relative_residual}, {"conserved", c.conserved}});
        }
        j["network"] = {{"composite", decompose::to_string(options.composite.network)},
                        {"conserved", report.network_conserved},
                        {"layers", std::move(layers)}};
      }
      j["width"] = e.pixels.width;
      j["height"] = e.pixels.height;
      j["features"] = r.features;
      if (!exact) {
        j["root_found"] = e.dimensions.root_found;
        j["f_root"] = e.dimensions.f_root;
      }
      core::write_file_atomic(base + ".json", dump_json(j, 1) + "\n");
    } catch (const std::exception& ex) {
      if (writing) throw;
      errors[i] = ex.what();
    }
  };
  model::explain_files(model, paths, options, write, progress_display(args.run.quiet));
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
