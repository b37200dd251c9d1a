// Explanations: the rules (Composite) and ExplainOptions as knobs, Model.explain, Explanation with
// numpy views of every relevance layer, the per-layer ConservationReport, and the training-image
// attribution of kernel-SVM heads (Model.support_contributions, support_dimension_relevance,
// support_pixel_maps; decompose/support_attribution.h).
//
// Model.explain runs model::explain_image per image in a core::for_each_index loop (images decoded or
// converted from numpy inside the loop, in parallel), so a batch of paths or arrays gets the library's
// result, frames included, with no file bytes kept.
#include "bindings.h"
#include "explanation.h"
#include "options.h"
#include "schema_knobs.h"

#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/support_attribution.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/model/model.h>

#include <optional>

namespace bowlrp::python {

namespace {

using decompose::Composite;
using EO = model::ExplainOptions;


/// One image through the library's model::explain_image (throws on error), its frames kept beside it.
PyExplanation explain_one(const model::Model& m, const bow::GrayImage& image, const EO& options) {
  PyExplanation out;
  out.result = model::explain_image(m, image, options);
  out.frames = std::move(out.result.frames);
  return out;
}

std::optional<std::size_t> class_arg(const model::Model& m, py::handle cls) {
  if (cls.is_none()) return std::nullopt;
  return class_argument(m, cls);
}

py::object explain(const model::Model& m, py::handle images, py::handle cls, py::handle options, py::object progress,
                   const py::kwargs& kw) {
  EO o = options_from(options, kw, *explain_knobs(), "explain");
  o.class_index = class_arg(m, cls);
  o.validate();
  (void)m.explainer(o.composite);  // the rules against the head (as model::explain_images), before any image
  const Inputs in = read_inputs(images);
  std::vector<PyExplanation> out(in.size());
  with_progress(progress, [&](const core::ProgressFn& fn) {
    if (in.single) {  // errors propagate with their own type
      out[0] = explain_one(m, in.arrays ? in.images[0].convert(m.loader()) : m.load_image(in.paths[0]), o);
      return 0;
    }
    core::for_each_index(in.size(), o.threads, "explain", fn, [&](std::size_t i) {
      try {
        out[i] = explain_one(m, in.arrays ? in.images[i].convert(m.loader()) : m.load_image(in.paths[i]), o);
      } catch (const std::exception& e) {
        out[i] = PyExplanation{};
        out[i].result.error = e.what();
      }
      out[i].result.index = i;
      if (!in.arrays) out[i].result.path = in.paths[i];
      if (out[i].result.error.empty()) out[i].record = model::explanation_json(m, out[i].result, o);
    });
    return 0;
  });
  if (in.single) {
    if (!in.arrays) out[0].result.path = in.paths[0];
    out[0].record = model::explanation_json(m, out[0].result, o);
    return py::cast(std::move(out[0]));
  }
  py::list l;
  for (PyExplanation& e : out) l.append(py::cast(std::move(e)));
  return l;
}

/// The network layers' checks of a report as dicts, input layer first (empty for SVM heads).
py::list network_checks_list(const decompose::ConservationReport& r) {
  py::list layers;
  for (const decompose::NetworkLayerCheck& c : r.network_layers)
    layers.append(py::dict(py::arg("rule") = c.rule, py::arg("inputs") = c.inputs, py::arg("outputs") = c.outputs,
                           py::arg("upper") = c.upper, py::arg("lower") = c.lower, py::arg("absorbed") = c.absorbed,
                           py::arg("relative_residual") = c.relative_residual, py::arg("conserved") = c.conserved));
  return layers;
}

/// A network head's per-layer totals as dicts, input layer first; `sizes` adds inputs and outputs.
py::list layer_totals_list(const std::vector<decompose::LayerTotals>& layers, bool sizes) {
  py::list out;
  for (const decompose::LayerTotals& t : layers) {
    py::dict d(py::arg("rule") = t.rule, py::arg("upper") = t.upper, py::arg("lower") = t.lower,
               py::arg("absorbed") = t.absorbed);
    if (sizes) {
      d["inputs"] = t.inputs;
      d["outputs"] = t.outputs;
    }
    out.append(d);
  }
  return out;
}

py::dict conservation_dict(const decompose::ConservationReport& r) {
  py::dict d;
  d["f"] = r.f;
  d["sum_dimensions"] = r.sum_dimensions;
  d["sum_features"] = r.sum_features;
  d["sum_pixels"] = r.sum_pixels;
  d["absorbed"] = r.absorbed;
  d["residual"] = r.residual;
  d["unassigned_features"] = r.unassigned_features;
  d["absorbed_features"] = r.absorbed_features;
  d["unassigned_pixels"] = r.unassigned_pixels;
  d["relative_residual"] = r.relative_residual;
  d["method"] = decompose::to_string(r.method);
  d["root_found"] = r.root_found;
  d["f_root"] = r.f_root;
  d["quadrature_error"] = r.quadrature_error;
  d["finite"] = r.finite;
  d["tolerance"] = r.tolerance;
  d["svm_conserved"] = r.svm_conserved;
  d["features_conserved"] = r.features_conserved;
  d["network_conserved"] = r.network_conserved;
  if (r.projection) {  // only for a model with an artefact projection: other models' dicts are as before
    d["projection"] = r.projection;
    d["sum_projected"] = r.sum_projected;
    d["absorbed_projection"] = r.absorbed_projection;
    d["projection_conserved"] = r.projection_conserved;
  }
  d["network_layers"] = network_checks_list(r);
  d["pixels_conserved"] = r.pixels_conserved;
  d["ok"] = r.ok();
  return d;
}

const decompose::Explanation& ex(const PyExplanation& e) { return e.result.explanation; }

// ---------------------------------------------------------------------------------------------
// Training-image (support-vector) attribution

/// The kernel-SVM head of a model; ValueError for other heads (the library says why nothing is offered).
const svm::KernelSvm& kernel_head(const model::Model& m, const char* what) {
  try {
    return decompose::require_attribution_head(m.head(), what);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

/// A file path as Python's str, exact for any bytes (os.fsdecode: undecodable bytes as surrogates).
py::object path_object(const std::string& path) { return py::module_::import("os").attr("fsdecode")(py::bytes(path)); }

/// The training images listed for a decision (ExplainOptions.training_images), as dicts.
py::list listed_training_images(const PyExplanation& e, const std::vector<model::ListedTrainingImage>& listed) {
  py::list out;
  const double f = ex(e).dimensions.f;
  for (const model::ListedTrainingImage& t : listed) {
    py::dict d;
    d["support_index"] = t.support_index;
    d["contribution"] = t.contribution;
    d["share"] = f != 0 ? py::object(py::float_(t.contribution / f)) : py::object(py::none());
    d["path"] = t.image ? py::object(path_object(t.image->path)) : py::object(py::none());
    d["mirrored"] = t.image ? py::object(py::bool_(t.image->mirrored)) : py::object(py::none());
    d["relevance"] = t.test_pixels.R.empty() ? py::object(py::none())
                                             : py::object(copy_array(t.test_pixels.R, {t.test_pixels.height, t.test_pixels.width}));
    const decompose::PixelRelevance& p = t.training_pixels;
    d["training_relevance"] = p.R.empty() ? py::object(py::none()) : py::object(copy_array(p.R, {p.height, p.width}));
    d["training_error"] = t.training_error.empty() ? py::object(py::none()) : py::object(py::str(t.training_error));
    out.append(std::move(d));
  }
  return out;
}

/// A 1-D float64 encoding Φ(x) of length V; ValueError otherwise (the library checks the values).
std::vector<double> encoding_argument(const model::Model& m, py::handle x, const char* what) {
  const auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(x);
  if (!a || a.ndim() != 1 || static_cast<std::size_t>(a.shape(0)) != m.dimension())
    throw py::value_error(std::string(what) + ": expected an encoding Φ(x) of shape (" + std::to_string(m.dimension()) +
                          ",) (e.g. from Model.encode)");
  return std::vector<double>(a.data(), a.data() + a.shape(0));
}

/// A support-vector index argument (an int >= 0; the library checks the range).
std::size_t support_argument(py::handle i) {
  if (py::isinstance<py::bool_>(i) || !py::hasattr(i, "__index__"))
    throw py::type_error("support_index: expected an int, got " + py::repr(i).cast<std::string>());
  const long long v = i.attr("__index__")().cast<long long>();
  if (v < 0) throw py::index_error("support_index " + std::to_string(v) + " is negative");
  return static_cast<std::size_t>(v);
}

/// A SupportContributions with the model's class names.
struct PySupportContributions {
  decompose::SupportContributions result;
  std::string class_name;
};

/// One image (path or numpy array) encoded by the model.
model::Trace encode_one(const model::Model& m, py::handle image, const char* what) {
  const Inputs in = read_inputs(image, what);
  if (!in.single) throw py::type_error(std::string(what) + ": expected one image path or numpy image");
  py::gil_scoped_release release;
  return in.arrays ? m.encode(in.images[0].convert(m.loader())) : m.encode_file(in.paths[0]);
}

py::dict feature_dict(const decompose::FeatureRelevance& f, const decompose::PixelRelevance& p) {
  py::dict d;
  d["relevance"] = copy_array(p.R, {p.height, p.width});
  d["feature_relevance"] = copy_array(f.R);
  d["feature_unassigned"] = f.unassigned;
  d["absorbed_features"] = f.absorbed;
  d["pixel_unassigned"] = p.unassigned;
  return d;
}

}  // namespace

std::shared_ptr<const Knobs<Composite>> composite_knobs() {
  static const auto knobs = std::make_shared<const Knobs<Composite>>(schema_knobs(Composite::schema()));
  return knobs;
}
std::shared_ptr<const Knobs<EO>> explain_knobs() {
  static const auto knobs = std::make_shared<const Knobs<EO>>(schema_knobs(EO::schema()));
  return knobs;
}

void BindExplain(py::module_& m) {
  // The frame record as a numpy structured dtype (views of std::vector<bow::Frame>, no copy).
  PYBIND11_NUMPY_DTYPE(bow::Box, x0, y0, x1, y1);
  PYBIND11_NUMPY_DTYPE(bow::Coverage, x0, y0, x1, y1);
  PYBIND11_NUMPY_DTYPE(bow::Frame, x, y, size, bin_size, support, cover);

  auto rules_class = bind_options<Composite>(
      m, "Rules",
      "The relevance rules (a zennit-like composite): the SVM layer's, the Fisher-vector layer's ε and the network "
      "head's rule per layer.",
      composite_knobs(), [](const Composite& c) { c.validate(); });
  bind_schema(rules_class, Composite::schema());
  auto explain_class = bind_options<EO>(m, "ExplainOptions", "Options of Model.explain: the rules, the conservation verdict and threads.",
                                  explain_knobs(), [](const EO& o) { o.validate(); });
  bind_schema(explain_class, EO::schema());

  py::class_<decompose::ConservationReport>(m, "ConservationReport",
                                            "Totals of each layer and whether they agree: f = Σ_d R_d + absorbed, "
                                            "Σ_d R_d = Σ_l R_l + unassigned features + absorbed features (the Fisher "
                                            "ε rule), Σ_l R_l = Σ_q R_q + unassigned pixels.")
      .def_readonly("f", &decompose::ConservationReport::f, "f(h), the score.")
      .def_readonly("sum_dimensions", &decompose::ConservationReport::sum_dimensions, "Σ_d R_d.")
      .def_readonly("sum_features", &decompose::ConservationReport::sum_features, "Σ_l R_l.")
      .def_readonly("sum_pixels", &decompose::ConservationReport::sum_pixels, "Σ_q R_q.")
      .def_readonly("absorbed", &decompose::ConservationReport::absorbed, "Bias kept apart.")
      .def_readonly("residual", &decompose::ConservationReport::residual, "f - Σ_d R_d - absorbed.")
      .def_readonly("unassigned_features", &decompose::ConservationReport::unassigned_features, "Relevance no feature took.")
      .def_readonly("absorbed_features", &decompose::ConservationReport::absorbed_features,
                    "Relevance the Fisher-vector layer's ε stabiliser kept (0 for bag-of-words).")
      .def_readonly("unassigned_pixels", &decompose::ConservationReport::unassigned_pixels, "Relevance of empty supports.")
      .def_readonly("relative_residual", &decompose::ConservationReport::relative_residual, "|residual| / max(1, |f|).")
      .def_property_readonly("method", [](const decompose::ConservationReport& r) { return decompose::to_string(r.method); },
                             "'exact', 'integrated-gradients', 'taylor' or 'layer-wise' (mlp heads).")
      .def_readonly("root_found", &decompose::ConservationReport::root_found)
      .def_readonly("f_root", &decompose::ConservationReport::f_root)
      .def_readonly("quadrature_error", &decompose::ConservationReport::quadrature_error)
      .def_readonly("finite", &decompose::ConservationReport::finite)
      .def_readonly("tolerance", &decompose::ConservationReport::tolerance, "Absolute tolerance used.")
      .def_readonly("svm_conserved", &decompose::ConservationReport::svm_conserved)
      .def_readonly("features_conserved", &decompose::ConservationReport::features_conserved)
      .def_readonly("pixels_conserved", &decompose::ConservationReport::pixels_conserved)
      .def_readonly("network_conserved", &decompose::ConservationReport::network_conserved,
                    "mlp heads: every dense layer balanced (upper = lower + absorbed) and linked to the next (True "
                    "for SVM heads).")
      .def_readonly("projection", &decompose::ConservationReport::projection,
                    "The model has an artefact projection (sum_dimensions is then over the projected input Φ').")
      .def_readonly("sum_projected", &decompose::ConservationReport::sum_projected,
                    "With a projection: Σ_d R_d on the encoding Φ (else sum_dimensions).")
      .def_readonly("absorbed_projection", &decompose::ConservationReport::absorbed_projection,
                    "What the artefact projection absorbed (its bias share, clamped and zero entries).")
      .def_readonly("projection_conserved", &decompose::ConservationReport::projection_conserved,
                    "sum_dimensions = sum_projected + absorbed_projection (True without a projection).")
      .def_property_readonly("network_layers", &network_checks_list, "mlp heads: the check of every dense layer, input layer first (rule, sizes, upper, lower, absorbed, "
         "relative_residual, conserved); empty for SVM heads.")
      .def_property_readonly("ok", &decompose::ConservationReport::ok, "Every layer conserves.")
      .def_property_readonly("lower_layers_ok", &decompose::ConservationReport::lower_layers_ok,
                             "The layers below the SVM conserve.")
      .def("summary", &decompose::ConservationReport::summary, "Multi-line readable summary.")
      .def("to_dict", &conservation_dict, "Every field as a dict.")
      .def("__repr__", [](const decompose::ConservationReport& r) {
        return "ConservationReport(f=" + py::repr(py::float_(r.f)).cast<std::string>() + ", method='" +
               decompose::to_string(r.method) + "', ok=" + (r.ok() ? "True" : "False") + ")";
      });

  py::class_<PyExplanation>(m, "Explanation",
                            "Relevance of one image for one class at every layer. Arrays are read-only views of the "
                            "buffers this object owns (no copies); they keep it alive.")
      .def_property_readonly("index", [](const PyExplanation& e) { return e.result.index; }, "Position in the batch.")
      .def_property_readonly("path", [](const PyExplanation& e) { return e.result.path; }, "Image file ('' for arrays).")
      .def_property_readonly("error", [](const PyExplanation& e) { return e.result.error; },
                             "Non-empty when the image could not be explained (nothing else is set).")
      .def_property_readonly("warning", [](const PyExplanation& e) { return e.result.warning; },
                             "Non-empty when the conservation verdict fails (why).")
      .def_property_readonly("ok", [](const PyExplanation& e) { return e.result.ok(); }, "Explained and conserved.")
      .def_property_readonly("class_name", [](const PyExplanation& e) { return ex(e).class_name; }, "Explained class.")
      .def_property_readonly("class_index", [](const PyExplanation& e) { return ex(e).cls; }, "Its index in the model.")
      .def_property_readonly("scores", [](py::object self) {
        const auto& s = self.cast<const PyExplanation&>().result.scores;
        return view(s.data(), {static_cast<py::ssize_t>(s.size())}, self);
      }, "f_c for every class.")
      .def_property_readonly("score", [](const PyExplanation& e) { return ex(e).dimensions.f; }, "f(h) of the explained class.")
      .def_property_readonly("bias", [](const PyExplanation& e) { return ex(e).dimensions.bias; }, "b of the class.")
      .def_property_readonly("absorbed", [](const PyExplanation& e) { return ex(e).dimensions.absorbed; },
                             "Bias kept apart (bias='absorbed'), else 0.")
      .def_property_readonly("residual", [](const PyExplanation& e) { return ex(e).dimensions.residual; },
                             "f - Σ R_d - absorbed.")
      .def_property_readonly("method", [](const PyExplanation& e) { return decompose::to_string(ex(e).dimensions.method); },
                             "How the head layer was decomposed: 'exact', 'integrated-gradients', 'taylor' or 'layer-wise' (mlp heads).")
      .def_property_readonly("root_found", [](const PyExplanation& e) { return ex(e).dimensions.root_found; })
      .def_property_readonly("f_root", [](const PyExplanation& e) { return ex(e).dimensions.f_root; })
      .def_property_readonly("quadrature_error", [](const PyExplanation& e) { return ex(e).dimensions.quadrature_error; })
      .def_property_readonly("quadrature_segments", [](const PyExplanation& e) { return ex(e).dimensions.quadrature_segments; })
      .def_property_readonly("relevance", [](py::object self) {
        const auto& p = ex(self.cast<const PyExplanation&>()).pixels;
        return view(p.R.data(), {p.height, p.width}, self);
      }, "R_q, pixel relevance at the original image size, H x W float64 (read-only view).")
      .def_property_readonly("width", [](const PyExplanation& e) { return ex(e).pixels.width; }, "Original image width.")
      .def_property_readonly("height", [](const PyExplanation& e) { return ex(e).pixels.height; }, "Original image height.")
      .def_property_readonly("pixel_unassigned", [](const PyExplanation& e) { return ex(e).pixels.unassigned; },
                             "Relevance of features with an empty support.")
      .def_property_readonly("dimension_relevance", [](py::object self) {
        const auto& R = ex(self.cast<const PyExplanation&>()).dimensions.R;
        return view(R.data(), {static_cast<py::ssize_t>(R.size())}, self);
      }, "R_d, relevance of each dimension of Φ(x) (V values).")
      .def_property_readonly("root", [](py::object self) {
        const auto& R = ex(self.cast<const PyExplanation&>()).dimensions.root;
        return view(R.data(), {static_cast<py::ssize_t>(R.size())}, self);
      }, "Differentiable rules: the root x0 (V values); empty for exact ones.")
      .def_property_readonly("feature_relevance", [](py::object self) {
        const auto& R = ex(self.cast<const PyExplanation&>()).features.R;
        return view(R.data(), {static_cast<py::ssize_t>(R.size())}, self);
      }, "R_l, relevance of each local feature (L values, the order of frames).")
      .def_property_readonly("feature_unassigned", [](const PyExplanation& e) { return ex(e).features.unassigned; },
                             "Relevance no feature could take (L = 0; for fisher-vector also an empty pyramid cell).")
      .def_property_readonly("absorbed_features", [](const PyExplanation& e) { return ex(e).features.absorbed; },
                             "Relevance the Fisher-vector layer's ε rule kept, Σ_d R_d ε / (|z_d| + ε), so that "
                             "Σ_d R_d = Σ_l R_l + feature_unassigned + absorbed_features (0 for bag-of-words; "
                             "set ε with fisher_epsilon).")
      .def_property_readonly("per_word", [](py::object self) {
        const auto& R = ex(self.cast<const PyExplanation&>()).features.per_word;
        return view(R.data(), {static_cast<py::ssize_t>(R.size())}, self);
      }, "Bag-of-words: Σ over cells of R_{c K + k}, per visual word (K values); fisher-vector: the relevance of "
         "each Gaussian component, summed over cells (K values).")
      .def_property_readonly("per_cell", [](py::object self) {
        const auto& R = ex(self.cast<const PyExplanation&>()).features.per_cell;
        return view(R.data(), {static_cast<py::ssize_t>(R.size())}, self);
      }, "Relevance of each pyramid cell (Σ over its words or components).")
      .def_property_readonly("frames", [](py::object self) {
        const auto& f = self.cast<const PyExplanation&>().frames;
        return view(f.data(), {static_cast<py::ssize_t>(f.size())}, self);
      }, "The local features as a structured array (read-only view): x, y (centre, original px), size (support side, "
         "original px), bin_size (working px), support (x0, y0, x1, y1: half-open pixel box) and cover (covered "
         "fraction of its first/last column and row).")
      .def_property_readonly("feature_positions", [](const PyExplanation& e) {
        py::array_t<double> a({static_cast<py::ssize_t>(e.frames.size()), static_cast<py::ssize_t>(2)});
        double* d = a.mutable_data();
        for (std::size_t l = 0; l < e.frames.size(); ++l) {
          d[2 * l] = e.frames[l].x;
          d[2 * l + 1] = e.frames[l].y;
        }
        return a;
      }, "Centres (x, y) of the local features in original pixels, L x 2.")
      .def_property_readonly("feature_sizes", [](const PyExplanation& e) {
        std::vector<double> s;
        for (const bow::Frame& f : e.frames) s.push_back(f.size);
        return copy_array(s);
      }, "Support side of each local feature in original pixels (L values).")
      .def_property_readonly("n_features", [](const PyExplanation& e) { return e.result.features; }, "L, local features.")
      .def_property_readonly("conservation", [](const PyExplanation& e) { return e.result.conservation; },
                             "The per-layer ConservationReport (at ExplainOptions.tolerance).")
      .def("check_conservation", [](const PyExplanation& e, double rel_tol) {
        return decompose::check_conservation(e.result.explanation, rel_tol);
      }, py::arg("rel_tol") = 1e-9, "Re-checks conservation at another relative tolerance.")
      .def_property_readonly("network_layers", [](const PyExplanation& e) {
        return layer_totals_list(ex(e).dimensions.layers, true);
      }, "mlp heads: every dense layer, input layer first: its rule, sizes, the relevance that came in (upper), went "
         "down (lower) and what the rule absorbed, so that upper = lower + absorbed and f = dimension total + Σ "
         "absorbed (empty for SVM heads).")
      .def_property_readonly("supporting", [](const PyExplanation& e) { return listed_training_images(e, e.result.supporting); },
                             "With training_images=K (kernel-SVM heads): the top K training images with c_i > 0, "
                             "largest first, as dicts: support_index, contribution (c_i), share (c_i / score; None "
                             "when the score is 0), path and mirrored (None when the model does not record them), "
                             "relevance (the matching map on this image, H x W; None for rbf / expchi2), "
                             "training_relevance (the matching map on the training file as stored, when its file is "
                             "readable and still encodes to the support vector, else None) and training_error (why "
                             "not, or None). Else [].")
      .def_property_readonly("opposing", [](const PyExplanation& e) { return listed_training_images(e, e.result.opposing); },
                             "As supporting, for the top K training images with c_i < 0, most negative first.")
      .def_property_readonly("totals", [](const PyExplanation& e) {
        py::dict d;
        d["dimensions"] = ex(e).dimensions.total();
        d["features"] = ex(e).features.total();
        d["pixels"] = ex(e).pixels.total();
        return d;
      }, "Σ R at every layer.")
      .def("to_json", [](const PyExplanation& e) {
        if (!e.result.error.empty()) throw py::value_error("to_json: the explanation failed: " + e.result.error);
        return e.record;
      }, "The JSON text `bowlrp explain` writes beside the maps (model::explanation_json): class, score, bias and its "
         "policy, relevance sums per layer, what was absorbed, the verdict per layer, the head's and each network "
         "layer's check, size and feature count (no arrays).")
      .def("to_dict", [](const PyExplanation& e) {
        py::dict d;
        if (e.result.error.empty()) d = py::module_::import("json").attr("loads")(e.record);
        d["path"] = e.result.path;
        d["error"] = e.result.error;
        if (!e.result.error.empty()) return d;
        d["conservation"] = conservation_dict(e.result.conservation);
        d["warning"] = e.result.warning;
        return d;      }, "to_json() as a dict, with path, error, warning and the whole conservation report (no arrays).")
      .def("__repr__", [](const PyExplanation& e) {
        if (!e.result.error.empty()) return "Explanation(error=" + py::repr(py::str(e.result.error)).cast<std::string>() + ")";
        return "Explanation(class_name=" + py::repr(py::str(ex(e).class_name)).cast<std::string>() + ", score=" +
               py::repr(py::float_(ex(e).dimensions.f)).cast<std::string>() + ", size=" + std::to_string(ex(e).pixels.width) +
               "x" + std::to_string(ex(e).pixels.height) + ", ok=" + (e.result.ok() ? "True" : "False") + ")";
      });


  py::class_<PySupportContributions>(
      m, "SupportContributions",
      "A kernel-SVM decision split over the shared support vectors (the training images they are): "
      "score = bias + Σ_i contributions[i], c_i = coef_ci k(s_i, Φ(x)), exact for every kernel.")
      .def_property_readonly("class_name", [](const PySupportContributions& s) { return s.class_name; }, "Explained class.")
      .def_property_readonly("class_index", [](const PySupportContributions& s) { return s.result.cls; }, "Its index.")
      .def_property_readonly("contributions", [](py::object self) {
        const auto& c = self.cast<const PySupportContributions&>().result.contributions;
        return view(c.data(), {static_cast<py::ssize_t>(c.size())}, self);
      }, "c_i, one per shared support vector (S values, the order of the model file's support_vectors; read-only "
         "view). 0 for a support vector of other classes only.")
      .def_property_readonly("bias", [](const PySupportContributions& s) { return s.result.bias; },
                             "b_c, which no training image carries.")
      .def_property_readonly("score", [](const PySupportContributions& s) { return s.result.f; },
                             "f_c(x) = bias + Σ_i c_i (the bits Model.decision gives).")
      .def("total", [](const PySupportContributions& s) { return s.result.total(); }, "Σ_i c_i.")
      .def("top_supporting", [](const PySupportContributions& s, std::size_t k) {
        const auto t = s.result.top_supporting(k);
        return copy_array(std::vector<std::int64_t>(t.begin(), t.end()));
      }, py::arg("k") = 10, "At most k support indices with c_i > 0, largest first, ties by smaller index.")
      .def("top_opposing", [](const PySupportContributions& s, std::size_t k) {
        const auto t = s.result.top_opposing(k);
        return copy_array(std::vector<std::int64_t>(t.begin(), t.end()));
      }, py::arg("k") = 10, "At most k support indices with c_i < 0, most negative first, ties by smaller index.")
      .def("__repr__", [](const PySupportContributions& s) {
        return "SupportContributions(class_name=" + py::repr(py::str(s.class_name)).cast<std::string>() + ", score=" +
               py::repr(py::float_(s.result.f)).cast<std::string>() + ", support_size=" +
               std::to_string(s.result.contributions.size()) + ")";
      });

  auto model_cls = py::reinterpret_borrow<py::class_<model::Model>>(m.attr("Model"));
  model_cls.def("explain", &explain, py::arg("images"), py::arg("class_") = py::none(), py::kw_only(),
                py::arg("options") = py::none(), py::arg("progress") = py::none(),
                "Explains the class `class_` (a name or index; None: each image's top class) of one image (path or "
                "numpy array: returns an Explanation, raising on error) or of a list of them (returns a list; failed "
                "images carry .error). options: an ExplainOptions; keyword knobs (bias=..., svm_rule=..., "
                "fisher_epsilon=..., threads=...) override it. The same numbers as `bowlrp explain`. Releases the GIL.");

  model_cls.def_property_readonly("training_images", [](const model::Model& self) {
    py::list out;
    for (const model::TrainingImage& t : self.training_images()) {
      py::dict d;
      d["path"] = path_object(t.path);
      d["mirrored"] = t.mirrored;
      out.append(std::move(d));
    }
    return out;
  }, "The training image each support vector is the encoding of (kernel-SVM heads trained from image files), one "
     "dict per support vector in the order of support_contributions: path (as training was given it) and mirrored "
     "(the support vector is its left-right mirror). [] when not known: trained from arrays, a file written before "
     "the field, or a head without support vectors.");
  model_cls.def("support_contributions", [](const model::Model& self, py::handle encoding, py::handle cls) {
    const svm::KernelSvm& head = kernel_head(self, "support_contributions");
    const std::size_t c = class_argument(self, cls);
    const std::vector<double> x = encoding_argument(self, encoding, "support_contributions");
    PySupportContributions out;
    {
      py::gil_scoped_release release;
      out.result = decompose::support_contributions(head, x, c);
    }
    out.class_name = self.class_names()[c];
    return out;
  }, py::arg("encoding"), py::arg("class_"),
     "The score of class `class_` (name or index) for an encoding Φ(x) (Model.encode) split over the support "
     "vectors: a SupportContributions, score = bias + Σ_i c_i exactly, for every kernel. Kernel-SVM heads only "
     "(ValueError otherwise: a linear head keeps only w = Σ_i α_i y_i s_i).");
  model_cls.def("support_dimension_relevance", [](const model::Model& self, py::handle encoding, py::handle cls,
                                                  py::handle support_index) {
    const svm::KernelSvm& head = kernel_head(self, "support_dimension_relevance");
    const std::size_t c = class_argument(self, cls);
    const std::vector<double> x = encoding_argument(self, encoding, "support_dimension_relevance");
    return copy_array(decompose::support_dimension_relevance(head, x, c, support_argument(support_index)));
  }, py::arg("encoding"), py::arg("class_"), py::arg("support_index"),
     "R_{i,d} = coef_ci w_d k_d(s_id, x_d) for every dimension d (V values, summing to c_i): what dimension d "
     "of the test image and of training image i contribute to c_i. Sum-decomposable kernels (linear, hik, chi2, "
     "hellinger) only: ValueError for rbf / expchi2.");
  model_cls.def("support_pixel_maps", [](const model::Model& self, py::handle image, py::handle training_image,
                                         py::handle cls, py::handle support_index, py::handle options,
                                         const py::kwargs& kw) {
    const svm::KernelSvm& head = kernel_head(self, "support_pixel_maps");
    const std::size_t c = class_argument(self, cls);
    const std::size_t i = support_argument(support_index);
    const Composite composite = options_from(options, kw, *composite_knobs(), "support_pixel_maps");
    const model::Trace test = encode_one(self, image, "image");
    const model::Trace training = encode_one(self, training_image, "training_image");
    decompose::SupportPixelMaps r;
    {
      py::gil_scoped_release release;
      r = decompose::support_pixel_maps(head, self.encoding(), test, training, c, i, composite);
    }
    py::dict d;
    d["support_index"] = r.support_index;
    d["contribution"] = r.contribution;
    d["dimension_relevance"] = copy_array(r.dimensions);
    d["test"] = feature_dict(r.test_features, r.test_pixels);
    d["training"] = feature_dict(r.training_features, r.training_pixels);
    return d;
  }, py::arg("image"), py::arg("training_image"), py::arg("class_"), py::arg("support_index"), py::kw_only(),
     py::arg("rules") = py::none(),
     "The matching maps of support vector i: its R_{i,d} pushed down the test image's and the training image's "
     "own traces. training_image must be the training image (path or numpy) whose encoding became support vector i "
     "(ValueError otherwise). Returns a dict: support_index, contribution (c_i), dimension_relevance (V), and "
     "'test' / 'training' dicts with relevance (H x W), feature_relevance, feature_unassigned, absorbed_features and "
     "pixel_unassigned. rules: a Rules; its keyword knobs (fisher_epsilon=...) override it. Sum-decomposable "
     "kernel-SVM heads only.");
}

}  // namespace bowlrp::python
