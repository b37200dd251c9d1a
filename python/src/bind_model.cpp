// Model: load / save / fit / predict, FitOptions as keyword knobs, FitReport and Predictions.
#include "bindings.h"

#include <bowlrp/bow/artefact_projection.h>
#include "options.h"
#include "schema_knobs.h"

#include <bowlrp/core/io.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>
#include <bowlrp/model/predict.h>
#include <bowlrp/svm/kernel.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

namespace bowlrp::python {

namespace {

using FO = model::FitOptions;

template <class V>
py::tuple as_tuple(const std::vector<V>& v) {
  py::tuple t(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) t[i] = py::cast(v[i]);
  return t;
}

// ---------------------------------------------------------------------------------------------
// Fitting

/// Labels of a Python sequence as class-name strings (str or int values).
std::vector<std::string> label_names(py::handle labels, std::size_t n) {
  std::vector<std::string> names;
  std::size_t i = 0;
  for (py::handle y : py::iter(labels)) {
    if (py::isinstance<py::str>(y))
      names.push_back(y.cast<std::string>());
    else if (!py::isinstance<py::bool_>(y) && py::hasattr(y, "__index__"))
      names.push_back(py::str(y.attr("__index__")()).cast<std::string>());
    else
      throw py::type_error("labels[" + std::to_string(i) + "]: expected a class name (str) or an int, got " +
                           py::repr(y).cast<std::string>());
    ++i;
  }
  if (names.size() != n)
    throw py::value_error("labels: expected one label per image (" + std::to_string(n) + "), got " +
                          std::to_string(names.size()));
  return names;
}

struct FitResult {
  model::Model model;
  model::FitReport report;
};

py::object fit(py::handle data, py::handle labels, py::handle class_names, py::handle options, py::object progress,
               bool want_report, const py::kwargs& kw) {
  const FO opts = options_from(options, kw, *fit_knobs(), "fit");
  model::LabelledImages set;
  if (is_path(data) && labels.is_none()) {
    const std::string dir = to_path(data, "data");
    py::gil_scoped_release release;
    set = model::LabelledImages::from_folder(dir);
  } else {
    if (labels.is_none())
      throw py::value_error("fit: labels are required unless data is a folder DATA/<class>/<image>");
    const Inputs in = read_inputs(data, "data", opts.pipeline.image.max_pixels);
    if (in.single) throw py::type_error("fit: data must be a folder or a list of images, got a single image");
    std::vector<bow::GrayImage> grey;
    if (in.arrays) {  // decoded as predict() decodes them, with the fitted model's size cap
      py::gil_scoped_release release;
      const bow::ImageLoader loader(opts.pipeline.image);
      for (const ArrayImage& a : in.images) grey.push_back(a.convert(loader));
    }
    const py::array matrix = py::isinstance<py::array>(labels) ? py::reinterpret_borrow<py::array>(labels) : py::array();
    if (matrix && matrix.ndim() == 2) {
      // Multi-label: images x classes in {1, -1, 0}.
      if (class_names.is_none()) throw py::value_error("fit: a label matrix needs class_names");
      const std::size_t n = in.size();
      set.class_names = class_names.cast<std::vector<std::string>>();
      auto lab = py::array_t<int, py::array::c_style | py::array::forcecast>::ensure(matrix);
      if (static_cast<std::size_t>(lab.shape(0)) != n || static_cast<std::size_t>(lab.shape(1)) != set.class_names.size())
        throw py::value_error("fit: labels has shape (" + std::to_string(lab.shape(0)) + ", " + std::to_string(lab.shape(1)) +
                              "), expected (images, classes) = (" + std::to_string(n) + ", " +
                              std::to_string(set.class_names.size()) + ")");
      set.labels.assign(lab.data(), lab.data() + lab.size());
      set.single_label = false;
      if (in.arrays)
        set.images = std::move(grey);
      else
        set.images = in.paths;
      set.validate();
    } else {
      if (!class_names.is_none()) throw py::value_error("fit: class_names goes with a label matrix only");
      const std::vector<std::string> names = label_names(labels, in.size());
      set = in.arrays ? model::LabelledImages::from_images(std::move(grey), names)
                      : model::LabelledImages::from_paths(in.paths, names);
    }
  }
  FitResult r = with_progress(progress, [&](const core::ProgressFn& fn) {
    model::FitReport report;
    model::Model m = model::fit(set, opts, fn, &report);
    return FitResult{std::move(m), std::move(report)};
  });
  py::object m = py::cast(std::move(r.model));
  if (!want_report) return m;
  return py::make_tuple(m, py::cast(std::move(r.report)));
}

// ---------------------------------------------------------------------------------------------
// Prediction

/// A batch of predictions with the model's class names.
struct PyPredictions {
  model::Predictions p;
  std::vector<std::string> class_names;
};

PyPredictions predict(const model::Model& m, py::handle images, int threads, const std::string& cache_dir,
                      py::object progress) {
  model::PredictOptions o;
  o.threads = threads;
  o.cache_dir = cache_dir;
  o.validate();
  const Inputs in = read_inputs(images);
  PyPredictions out;
  out.class_names = m.class_names();
  out.p = with_progress(progress, [&](const core::ProgressFn& fn) {
    if (!in.arrays) return model::predict_files(m, in.paths, o, fn);
    std::vector<bow::GrayImage> grey;
    grey.reserve(in.images.size());
    for (const ArrayImage& a : in.images) grey.push_back(a.convert(m.loader()));
    return model::predict_images(m, std::move(grey), o, fn);
  });
  return out;
}

/// AttributeError for a property only some kinds of model have.
[[noreturn]] void no_attribute(const model::Model& s, const char* name, const char* kind) {
  throw py::attribute_error("Model." + std::string(name) + ": only " + kind + " models have it; this one is " +
                            s.encoding_kind() + " + " + s.head_kind());
}

/// The encoding stage of type S of a model, for a property of that kind only (AttributeError otherwise).
template <class S>
const S& encoding_for(const model::Model& s, const char* property) {
  if (const auto p = s.encoding_if<S>()) return *p;
  no_attribute(s, property, model::EncodingTraits<S>::name);
}

/// The head of type S of a model, for a property of that kind only (AttributeError otherwise).
template <class S>
const S& head_for(const model::Model& s, const char* property) {
  if (const auto p = s.head_if<S>()) return *p;
  no_attribute(s, property, model::HeadTraits<S>::name);
}

py::list skipped_list(const std::vector<model::Skipped>& s) {
  py::list l;
  for (const model::Skipped& x : s) l.append(py::make_tuple(x.path, x.reason));
  return l;
}

}  // namespace

std::shared_ptr<const Knobs<model::FitOptions>> fit_knobs() {
  static const auto knobs = std::make_shared<const Knobs<model::FitOptions>>(schema_knobs(model::FitOptions::schema()));
  return knobs;
}

py::list skipped_to_list(const std::vector<model::Skipped>& s) { return skipped_list(s); }

void BindModel(py::module_& m) {
  auto fit_options = bind_options<FO>(
      m, "FitOptions",
      "Options of fit(): the encoding (dense SIFT; codebook, mapping, pooling for bag-of-words; PCA, mixture, "
      "pyramid for fisher-vector; vlad), the head, kernel, SVM and run options, as flat keyword knobs made from "
      "bowlrp::model::FitOptions::schema().",
      fit_knobs(), [](const FO& o) { o.validate(); });
  bind_schema(fit_options, model::FitOptions::schema());

  py::class_<model::FitReport>(m, "FitReport", "What fit() saw besides the model.")
      .def_property_readonly("skipped", [](const model::FitReport& r) { return skipped_list(r.skipped); },
                             "Images (and folder entries) left out, as (path, reason), in input order.")
      .def_readonly("used", &model::FitReport::used, "Images trained on.")
      .def_readonly("training_accuracy", &model::FitReport::training_accuracy,
                    "Top-1 (single-label) or per-class sign accuracy on the training images.")
      .def_property_readonly("times", [](const model::FitReport& r) {
        py::dict d;
        d["codebook_extract"] = r.times.codebook_extract;
        d["kmeans"] = r.times.kmeans;
        d["encode"] = r.times.encode;
        d["svm"] = r.times.svm;
        return d;
      }, "Wall seconds per stage.")
      .def_property_readonly("histograms", [](py::object self) {
        const auto& e = self.cast<const model::FitReport&>().encoded;
        return view(e.histograms.data(), {static_cast<py::ssize_t>(e.ok.size()), static_cast<py::ssize_t>(e.dim)}, self);
      }, "Φ(x) of the training images (histograms or Fisher vectors), images x V (read-only view; zeros where an "
         "image failed).")
      .def_property_readonly("encoded", [](const model::FitReport& r) { return bool_array(r.encoded.ok); },
                             "True where the training image was encoded.");

  py::class_<PyPredictions>(m, "Predictions", "Scores of a batch of images; failed images keep their row.")
      .def_property_readonly("scores", [](py::object self) {
        const auto& p = self.cast<const PyPredictions&>().p;
        return view(p.scores.data(), {static_cast<py::ssize_t>(p.size()), static_cast<py::ssize_t>(p.classes)}, self);
      }, "f_c(x), images x classes float64 (read-only view; failed rows hold the scores of a zero histogram).")
      .def_property_readonly("top", [](const PyPredictions& p) {
        std::vector<std::int64_t> t(p.p.top.begin(), p.p.top.end());
        return copy_array(t);
      }, "Index of the top-scoring class per image (0 where failed).")
      .def_property_readonly("labels", [](const PyPredictions& p) {
        py::list l;
        for (std::size_t i = 0; i < p.p.size(); ++i)
          l.append(p.p.ok[i] ? py::object(py::str(p.class_names[p.p.top[i]])) : py::object(py::none()));
        return l;
      }, "Name of the top-scoring class per image (None where the image failed).")
      .def_property_readonly("ok", [](const PyPredictions& p) { return bool_array(p.p.ok); }, "True where the image was read and encoded.")
      .def_property_readonly("errors", [](const PyPredictions& p) { return p.p.errors; }, "Reason per image ('' where ok).")
      .def_readonly("class_names", &PyPredictions::class_names, "The model's classes, in score order.")
      .def("__len__", [](const PyPredictions& p) { return p.p.size(); })
      .def("__repr__", [](const PyPredictions& p) {
        std::size_t failed = 0;
        for (char c : p.p.ok) failed += c ? 0 : 1;
        return "Predictions(" + std::to_string(p.p.size()) + " images, " + std::to_string(p.p.classes) + " classes, " +
               std::to_string(failed) + " failed)";
      });

  using Rows = py::array_t<double, py::array::c_style | py::array::forcecast>;
  py::class_<bow::ArtefactProjection, std::shared_ptr<bow::ArtefactProjection>>(
      m, "ArtefactProjection",
      "P-ClArC's artefact projection Φ' = Φ - v vᵀ(Φ - z) between an encoding and a head (v of unit length, "
      "z the reference point), optionally clamped at 0 (clamp 'non-negative'). Immutable.")
      .def(py::init([](Rows direction, Rows reference, const std::string& clamp) {
             if (direction.ndim() != 1 || reference.ndim() != 1)
               throw py::value_error("ArtefactProjection: expected 1-D direction and reference");
             const double* v = direction.data();
             const double* z = reference.data();
             return bow::ArtefactProjection(std::vector<double>(v, v + direction.shape(0)),
                                            std::vector<double>(z, z + reference.shape(0)),
                                            bow::projection_clamp_from_string(clamp));
           }),
           py::arg("direction"), py::arg("reference"), py::arg("clamp") = "none",
           "A projection along direction (normalised here) through reference; ValueError for a zero or non-finite "
           "direction or lengths that differ.")
      .def_static("from_encodings", [](Rows with_artefact, Rows without_artefact, const std::string& clamp) {
             if (with_artefact.ndim() != 2 || without_artefact.ndim() != 2 || with_artefact.shape(1) != without_artefact.shape(1))
               throw py::value_error("ArtefactProjection.from_encodings: expected two 2-D arrays (n, V) of encodings with the "
                                     "same V");
             return bow::ArtefactProjection::from_encodings(
                 with_artefact.data(), static_cast<std::size_t>(with_artefact.shape(0)), without_artefact.data(),
                 static_cast<std::size_t>(without_artefact.shape(0)), static_cast<std::size_t>(with_artefact.shape(1)),
                 bow::projection_clamp_from_string(clamp));
           }, py::arg("with_artefact"), py::arg("without_artefact"), py::arg("clamp") = "none",
           "ClArC's mean-difference direction: v ∝ mean(with_artefact) - mean(without_artefact), z = "
           "mean(without_artefact), from encodings Φ (Model.encode) of images with the artefact and without it (e.g. "
           "the same images with it erased).")
      .def_property_readonly("direction", [](const bow::ArtefactProjection& p) { return copy_array(p.direction()); },
                             "v, of unit length (a copy).")
      .def_property_readonly("reference", [](const bow::ArtefactProjection& p) { return copy_array(p.reference()); },
                             "z, the reference point (a copy).")
      .def_property_readonly("clamp", [](const bow::ArtefactProjection& p) { return bow::to_string(p.clamp()); },
                             "'none' or 'non-negative'.")
      .def_property_readonly("dimension", &bow::ArtefactProjection::dimension, "V.")
      .def("project", [](const bow::ArtefactProjection& p, Rows X) {
             if (X.ndim() != 2 || static_cast<std::size_t>(X.shape(1)) != p.dimension())
               throw py::value_error("ArtefactProjection.project: expected encodings of shape (n, " +
                                     std::to_string(p.dimension()) + ")");
             return copy_array(p.project_batch(X.data(), static_cast<std::size_t>(X.shape(0))),
                               {X.shape(0), X.shape(1)});
           }, py::arg("encodings"), "Φ' of n encodings (n x V).")
      .def("__repr__", [](const bow::ArtefactProjection& p) {
        return "ArtefactProjection(V=" + std::to_string(p.dimension()) + ", clamp='" + bow::to_string(p.clamp()) + "')";
      });

  py::class_<model::Model>(m, "Model",
                           "A trained model: an encoding (bag-of-words or fisher-vector: image -> Φ(x), V values) + a one-vs-rest "
                           "SVM head (kernel-svm or linear-svm: Φ(x) -> f_c(x)) + class names. Properties of one kind "
                           "only (words, support_size, kernel, gamma, components, pca_dimension, weights, ...) raise "
                           "AttributeError on models of another kind. Immutable and cheap to copy; safe to use from "
                           "several threads.")
      .def_static("load", [](py::object path) {
        const std::string p = to_path(path);
        py::gil_scoped_release release;
        return model::Model::load(p);
      }, py::arg("path"), "Reads a model file; RuntimeError naming the path and the problem.")
      .def("save", [](const model::Model& self, py::object path) {
        const std::string p = to_path(path);
        py::gil_scoped_release release;
        self.save(p);
      }, py::arg("path"), "Writes the model file atomically.")
      .def_property_readonly("class_names", &model::Model::class_names, "Class names, in score order.")
      .def_property_readonly("n_classes", &model::Model::classes, "Number of classes C.")
      .def("class_index", &model::Model::class_index, py::arg("name"),
           "Index of a class; ValueError listing the known names.")
      .def_property_readonly("dimension", &model::Model::dimension, "V, the length of the head input Φ(x).")
      .def_property_readonly("encoding", [](const model::Model& s) { return s.encoding_kind(); },
                             "The encoding: 'bag-of-words' or 'fisher-vector'.")
      .def_property_readonly("head", [](const model::Model& s) { return s.head_kind(); },
                             "The head: 'kernel-svm' or 'linear-svm'.")
      .def_property_readonly("encoding_kind", [](const model::Model& s) { return s.encoding_kind(); },
                             "Same as encoding.")
      .def_property_readonly("head_kind", [](const model::Model& s) { return s.head_kind(); },
                             "Same as head.")
      .def_property_readonly("encoding_summary", &model::Model::encoding_summary,
                             "One line describing the encoding, e.g. 'bag-of-words, 1024 words, hard mapping, ...'.")
      .def_property_readonly("head_summary", &model::Model::head_summary,
                             "One line describing the head, e.g. 'kernel SVM (hik), 1877 support vectors'.")
      .def_property_readonly("words", [](const model::Model& s) {
        return encoding_for<bow::Pipeline>(s, "words").codebook().size();
      }, "K, visual words of the codebook (bag-of-words models; AttributeError for other encodings).")
      .def_property_readonly("components", [](const model::Model& s) {
        return encoding_for<bow::FisherPipeline>(s, "components").parameters().components();
      }, "K, Gaussians of the mixture (fisher-vector models; AttributeError for other encodings).")
      .def_property_readonly("pca_dimension", [](const model::Model& s) {
        return encoding_for<bow::FisherPipeline>(s, "pca_dimension").parameters().pca_dimension();
      }, "D, SIFT dimensions kept by PCA (fisher-vector models; AttributeError for other encodings).")
      .def_property_readonly("descriptor_dimension", [](const model::Model& s) {
        return encoding_for<bow::FisherPipeline>(s, "descriptor_dimension").parameters().descriptor_dimension();
      }, "G, length of a local descriptor: D, + 2 with append_xy (fisher-vector models; AttributeError otherwise).")
      .def_property_readonly("fisher_parameters", [](py::object self) {
        const model::Model& s = self.cast<const model::Model&>();
        const bow::FisherParameters& p = encoding_for<bow::FisherPipeline>(s, "fisher_parameters").parameters();
        const py::ssize_t K = p.components(), D = p.pca_dimension(), G = p.descriptor_dimension();
        py::dict d;
        d["pca_mean"] = view(p.mean.data(), {static_cast<py::ssize_t>(p.mean.size())}, self);
        d["pca_projection"] = view(p.projection.data(), {D, 128}, self);
        d["gmm_means"] = view(p.means.data(), {K, G}, self);
        d["gmm_variances"] = view(p.variances.data(), {K, G}, self);
        d["gmm_priors"] = view(p.priors.data(), {K}, self);
        return d;
      }, "The learned PCA and mixture under the model file's array names: pca_mean (128), pca_projection (D x 128), "
         "gmm_means and gmm_variances (K x G), gmm_priors (K); read-only float64 views (fisher-vector models; "
         "AttributeError otherwise).")
      .def_property_readonly("support_size", [](const model::Model& s) {
        return head_for<svm::KernelSvm>(s, "support_size").support_size();
      }, "S, shared support vectors of the SVM head (kernel-SVM heads; AttributeError for linear heads).")
      .def_property_readonly("kernel", [](const model::Model& s) {
        return svm::to_string(head_for<svm::KernelSvm>(s, "kernel").kernel().type);
      }, "Kernel name of the head ('hik', 'rbf', ...; kernel-SVM heads; AttributeError for linear heads).")
      .def_property_readonly("gamma", [](const model::Model& s) {
        return head_for<svm::KernelSvm>(s, "gamma").kernel().gamma;
      }, "Kernel width of rbf/expchi2 heads (0 for the other kernels; AttributeError for linear heads).")
      .def_property_readonly("weights", [](const model::Model& s) {
        const svm::LinearSvm& h = head_for<svm::LinearSvm>(s, "weights");
        py::array_t<double> a({static_cast<py::ssize_t>(h.classes().size()), static_cast<py::ssize_t>(h.dim())});
        double* out = a.mutable_data();
        for (const svm::LinearClass& c : h.classes()) out = std::copy(c.weights.begin(), c.weights.end(), out);
        return a;
      }, "w_c of every class, C x V float64 (a copy), so that f_c(x) = biases[c] + weights[c] @ Φ(x) (linear-SVM "
         "heads; AttributeError for kernel heads).")
      .def_property_readonly("biases", [](const model::Model& s) {
        return copy_array(s.biases());
      }, "b_c of every class (the output layer's biases for mlp heads).")
      .def_property_readonly("head_parameter_layers", &model::Model::head_parameter_layers,
                             "Parameter layers of the head that cascading randomisation replaces, output first "
                             "(kernel / linear SVM: 1; mlp: its dense layers).")
      .def("with_artefact_projection", &model::Model::with_artefact_projection, py::arg("projection"),
           "This model with an artefact projection between its encoding and its head (P-ClArC): predict, scores, "
           "decision, explain and every evaluation score the projected encodings. ValueError for another dimension, "
           "or for clamp 'none' over a head that needs inputs >= 0 (chi2, hellinger, expchi2).")
      .def("without_artefact_projection", &model::Model::without_artefact_projection,
           "This model without its artefact projection.")
      .def_property_readonly("artefact_projection", [](const model::Model& s) -> py::object {
        if (!s.artefact_projection()) return py::none();
        return py::cast(bow::ArtefactProjection(*s.artefact_projection()));
      }, "The model's ArtefactProjection, or None.")
      .def("with_randomised_head", &model::Model::with_randomised_head, py::arg("layers"), py::arg("seed") = 0,
           "This model with the top `layers` parameter layers of its head randomised (each output's incoming "
           "weights shuffled by a seeded permutation, biases kept; the encoding shared): Adebayo et al.'s "
           "cascading model-parameter randomisation. ValueError for more layers than head_parameter_layers.")
      .def_property_readonly("layers", [](py::object self) {
        const model::Model& s = self.cast<const model::Model&>();
        py::list out;
        for (const nn::DenseLayer& l : head_for<nn::Network>(s, "layers").layers()) {
          py::dict d;
          d["weights"] = view(l.weights.data(), {static_cast<py::ssize_t>(l.outputs), static_cast<py::ssize_t>(l.inputs)}, self);
          d["biases"] = view(l.biases.data(), {static_cast<py::ssize_t>(l.outputs)}, self);
          out.append(d);
        }
        return out;
      }, "The network's dense layers, input layer first: dicts of read-only float64 views 'weights' (n_l x n_{l-1}) "
         "and 'biases' (n_l), so that z_l = weights @ a + biases, a = max(0, z) between layers and f = z_L "
         "(mlp heads; AttributeError for SVM heads).")
      .def_property_readonly("hidden_sizes", [](const model::Model& s) {
        return as_tuple(head_for<nn::Network>(s, "hidden_sizes").hidden_sizes());
      }, "Sizes of the network's hidden layers (mlp heads; AttributeError for SVM heads).")
      .def_property_readonly("fingerprint", [](const model::Model& s) { return s.fingerprint().hex(); },
                             "Digest of the encoding (options and codebook or PCA + mixture), 32 hex digits.")
      .def("fit_options", [](const model::Model& s) {
        return FO::from_model(s);
      }, "FitOptions holding this model's encoding, its encoding options, its head (None when it is the encoding's "
         "default) and kernel type (SVM training options are not stored in a model file and keep their defaults).")
      .def("predict", &predict, py::arg("images"), py::kw_only(), py::arg("threads") = 0, py::arg("cache_dir") = "",
           py::arg("progress") = py::none(),
           "Scores image files or numpy images (uint8 HxW / HxWx3 RGB / HxWx4 RGBA, float HxW in [0, 1]); one path "
           "or array counts as a batch of one. Images are encoded in parallel and scored by the head in one batch: "
           "the same numbers as `bowlrp predict`. Unreadable files keep their row (ok False, errors[i] says why). "
           "Releases the GIL.")
      .def("scores", [](const model::Model& self, py::handle image, int threads) {
        if (!is_path(image) && !py::isinstance<py::array>(image))
          throw py::type_error("scores: expected one image path or numpy image (use predict() for a batch)");
        PyPredictions p = predict(self, image, threads, "", py::none());
        if (!p.p.ok[0]) {
          // The batch keeps only the message: encoding again raises the failure with its own type
          // (ValueError for an image too small, as explain() raises it); RuntimeError otherwise.
          const Inputs in = read_inputs(image, "image");
          {
            py::gil_scoped_release release;
            if (in.arrays) self.encode(in.images[0].convert(self.loader()));
            else self.encode_file(in.paths[0]);
          }
          throw std::runtime_error(p.p.errors[0]);
        }
        return copy_array(p.p.scores);
      }, py::arg("image"), py::kw_only(), py::arg("threads") = 0,
         "f_c(x) of one image for every class (RuntimeError with the library's message if it cannot be read).")
      .def("encode", [](const model::Model& self, py::handle image) {
        const Inputs in = read_inputs(image, "image");
        if (!in.single) throw py::type_error("encode: expected one image path or numpy image");
        std::vector<double> h;
        {
          py::gil_scoped_release release;
          const model::Trace t = in.arrays ? self.encode(in.images[0].convert(self.loader()))
                                           : self.encode_file(in.paths[0]);
          h = model::head_input(t);
        }
        return copy_array(h);
      }, py::arg("image"), "Φ(x) (V values), what the head scores: the histogram (bag-of-words) or the improved "
                            "Fisher vector (fisher-vector).")
      .def("decision", [](const model::Model& self, py::array_t<double, py::array::c_style | py::array::forcecast> X, int threads) {
        if (X.ndim() != 2 || static_cast<std::size_t>(X.shape(1)) != self.dimension())
          throw py::value_error("decision: expected encodings Φ(x) of shape (n, " + std::to_string(self.dimension()) + ")");
        for (py::ssize_t i = 0; i < X.size(); ++i)
          if (!std::isfinite(X.data()[i]))
            throw py::value_error("decision: encoding " + std::to_string(i / X.shape(1)) + " holds a non-finite value (" +
                                  std::to_string(X.data()[i]) + " at column " + std::to_string(i % X.shape(1)) + ")");
        std::vector<double> s;
        {
          py::gil_scoped_release release;
          s = self.scores_batch(X.data(), static_cast<std::size_t>(X.shape(0)), threads);
        }
        return copy_array(s, {X.shape(0), static_cast<py::ssize_t>(self.classes())});
      }, py::arg("histograms"), py::kw_only(), py::arg("threads") = 0,
         "Scores of n encodings Φ(x) (n x V, e.g. from encode or FitReport.histograms) as n x C: the head alone.")
      .def("__repr__", [](const model::Model& s) {
        std::string names;
        for (const std::string& n : s.class_names()) names += (names.empty() ? "" : ", ") + n;
        return "Model(classes=[" + names + "], encoding=" + py::repr(py::str(s.encoding_summary())).cast<std::string>() +
               ", head=" + py::repr(py::str(s.head_summary())).cast<std::string>() + ", dimension=" +
               std::to_string(s.dimension()) + ")";
      });

  m.def("load", [](py::object path) {
    const std::string p = to_path(path);
    py::gil_scoped_release release;
    return model::Model::load(p);
  }, py::arg("path"), "Reads a model file (Model.load).");

  m.def("fit", &fit, py::arg("data"), py::arg("labels") = py::none(), py::kw_only(), py::arg("class_names") = py::none(),
        py::arg("options") = py::none(), py::arg("progress") = py::none(), py::arg("report") = false,
        "Fits a model by the protocol of `bowlrp train`: seeded codebook, histograms, one-vs-rest kernel SVMs;\n"
        "with encoding='fisher' (or 'fisher-vector') seeded PCA + mixture, Fisher vectors, one-vs-rest linear SVMs\n"
        "(head='kernel' / 'linear' / 'mlp' picks the head; None: the encoding's default; mlp heads take hidden=,\n"
        "epochs=, batch_size=, learning_rate=, weight_decay=, dropout=).\n\n"
        "data: a folder DATA/<class>/<image> (labels None), or a list of image paths or of numpy images with\n"
        "labels = one class name (str or int) per image, or an images x classes matrix in {1, -1, 0} with\n"
        "class_names. options: a FitOptions; keyword knobs (words=..., kernel=..., C=..., seed=..., threads=...;\n"
        "for Fisher vectors encoding=, head=, pca=, components=, fisher_samples=, fisher_pyramid=, append_xy=,\n"
        "root_sift=, ...)\n"
        "override it (see FitOptions for every knob and its default). Unreadable images are skipped and\n"
        "reported. Returns the Model, or (Model, FitReport) with report=True. Releases the GIL.");

  m.def("fit_voc", [](py::object root, const std::string& image_set, std::vector<std::string> classes, py::handle options,
                      py::object progress, bool want_report, const py::kwargs& kw) {
    const FO opts = options_from(options, kw, *fit_knobs(), "fit_voc");
    const std::string r = to_path(root, "root");
    FitResult res = with_progress(progress, [&](const core::ProgressFn& fn) {
      const model::LabelledImages set = model::LabelledImages::from_voc(datasets::VocSet::load(r, image_set, classes));
      model::FitReport report;
      model::Model mo = model::fit(set, opts, fn, &report);
      return FitResult{std::move(mo), std::move(report)};
    });
    py::object mo = py::cast(std::move(res.model));
    if (!want_report) return mo;
    return py::object(py::make_tuple(mo, py::cast(std::move(res.report))));
  }, py::arg("root"), py::arg("image_set") = "train", py::arg("classes") = std::vector<std::string>{}, py::kw_only(),
     py::arg("options") = py::none(), py::arg("progress") = py::none(), py::arg("report") = false,
     "Fits on a PASCAL VOC image set (multi-label; 'difficult' images left out of their class), as "
     "`bowlrp train --voc`. classes: subset of the 20 (empty: all).");
}

}  // namespace bowlrp::python
