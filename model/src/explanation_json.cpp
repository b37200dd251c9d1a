// The JSON summary of one explanation (explain.h: explanation_json), written by `bowlrp explain` and
// returned by Python's Explanation.to_json().
#include <bowlrp/model/explain.h>

#include <bowlrp/core/json_text.h>
#include <bowlrp/decompose/support_attribution.h>

#include <cmath>
#include <stdexcept>

namespace bowlrp::model {
namespace {

// The listed training images of a decision (ExplainOptions::training_images), ranked from 1.
nlohmann::json training_images_json(const Model& model, const ImageExplanation& r, std::size_t k) {
  const double f = r.explanation.dimensions.f;
  const auto list = [&](const std::vector<ListedTrainingImage>& listed) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t rank = 0; rank < listed.size(); ++rank) {
      const ListedTrainingImage& t = listed[rank];
      nlohmann::json e = {{"rank", rank + 1},
                          {"support_index", t.support_index},
                          {"contribution", t.contribution},
                          {"share", f != 0 ? nlohmann::json(t.contribution / f) : nlohmann::json(nullptr)}};
      if (t.image) {
        core::set_path(e, "image", t.image->path);
        e["mirrored"] = t.image->mirrored;
      } else {
        e["image"] = nullptr;
        e["mirrored"] = nullptr;
      }
      e["training_map"] = !t.training_pixels.R.empty();
      if (!t.training_error.empty()) e["training_map_error"] = t.training_error;
      out.push_back(std::move(e));
    }
    return out;
  };
  const bool maps = decompose::require_attribution_head(model.head(), "explanation_json").kernel().sum_decomposable();
  return {{"k", k},
          {"support_size", model.support_size()},
          {"maps", maps},
          {"supporting", list(r.supporting)},
          {"opposing", list(r.opposing)}};
}

}  // namespace

std::string explanation_json(const Model& model, const ImageExplanation& r, const ExplainOptions& options) {
  if (!r.error.empty())
    throw std::invalid_argument("explanation_json: the explanation of '" + r.path + "' failed (" + r.error +
                                "): there is nothing to summarise");
  const decompose::Explanation& e = r.explanation;
  const decompose::ConservationReport& report = r.conservation;
  const bool exact = e.dimensions.method == decompose::SvmMethod::exact;
  nlohmann::json j;
  core::set_path(j, "image", r.path);
  j["class"] = e.class_name;
  j["score"] = e.dimensions.f;
  j["bias"] = e.dimensions.bias;
  // The policy applied to the SVM bias; a network head has none to apply (its layers' biases follow
  // their rules, "network" below), so none is reported.
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
  // What the encoding layer's ε stabiliser kept (0 for Bag-of-Words), so that
  // f = Σ R_q + absorbed + absorbed_features + unassigned to rounding.
  j["absorbed_features"] = e.features.absorbed;
  j["encoding"] = model.encoding_kind();
  for (const auto& [field, value] : model.encoding_rule_fields(options.composite)) j[field] = value;
  // "conserved": every layer, the head's included, within the conservation tolerance.
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
  if (e.projection.applied) {
    // The artefact projection between the encoding and the head (P-ClArC): the head's relevance of Φ'
    // (upper, = relevance_sum.dimensions), that of Φ (lower, what the encoding split) and what the
    // stage absorbed: upper = lower + absorbed. Only for a model with one (none: no field).
    j["projection"] = {{"upper", e.projection.upper},
                       {"lower", e.projection.total()},
                       {"absorbed", e.projection.absorbed()},
                       {"absorbed_bias", e.projection.absorbed_bias},
                       {"absorbed_clamp", e.projection.absorbed_clamp},
                       {"absorbed_zero", e.projection.absorbed_zero},
                       {"relative_residual", report.projection_relative_residual},
                       {"conserved", report.projection_conserved}};
  }
  if (!report.network_layers.empty()) {
    // Every dense layer, input layer first: what came in (upper), went down (lower) and was absorbed
    // by the rule, so that f = Σ_d R_d + Σ absorbed and upper = lower + absorbed per layer.
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
  if (options.training_images > 0) j["training_images"] = training_images_json(model, r, options.training_images);
  // Never throws on text: any other invalid UTF-8 (a class name) is replaced by U+FFFD.
  return core::dump_json(j, 1) + "\n";
}

}  // namespace bowlrp::model
