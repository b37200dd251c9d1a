// The JSON summary of one explanation (explain.h: explanation_json), written by `bowlrp explain` and
// returned by Python's Explanation.to_json().
#include <bowlrp/model/explain.h>

#include <bowlrp/core/json_text.h>

#include <cmath>
#include <stdexcept>

namespace bowlrp::model {

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
  // Never throws on text: any other invalid UTF-8 (a class name) is replaced by U+FFFD.
  return core::dump_json(j, 1) + "\n";
}

}  // namespace bowlrp::model
