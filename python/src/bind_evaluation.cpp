// Evaluation: explanation quality of (image, class) pairs (pixel-flipping curves and AOPC of the LRP,
// occlusion, sensitivity and random orderings; localisation in the user's masks or boxes), its
// aggregation (QualityTotals), the metrics of one relevance map (map_metrics.h), the folder-per-class
// evaluation, the PASCAL VOC protocol and the before/after comparison of an artefact fix (compare_fix).
#include "bindings.h"
#include "options.h"
#include "schema_knobs.h"

#include <bowlrp/evaluation/artefact.h>
#include <bowlrp/evaluation/localisation.h>
#include <bowlrp/evaluation/randomisation.h>
#include <bowlrp/evaluation/map_metrics.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/evaluation/folder_evaluation.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/model/model.h>

#include <cmath>
#include <optional>

namespace bowlrp::python {

py::list skipped_to_list(const std::vector<model::Skipped>& s);  // bind_model.cpp

namespace {

using QO = evaluation::QualityOptions;
using FEO = evaluation::FolderEvaluationOptions;
using VO = evaluation::VocProtocolOptions;


// ---------------------------------------------------------------------------------------------
// Regions from numpy masks and boxes

using Regions = std::vector<std::pair<std::string, evaluation::RegionMask>>;

/// Ground truth given by the user, converted with the GIL held; regions(width, height) needs no GIL.
struct UserRegions {
  std::vector<std::pair<std::string, evaluation::RegionMask>> masks;  // full-size masks
  std::vector<bow::Box> boxes;
  bool has_boxes = false;
  evaluation::RegionMask void_mask;  // width 0: none

  bool empty() const { return masks.empty() && !has_boxes; }

  Regions regions(int width, int height) const {
    const auto check = [&](const evaluation::RegionMask& m, const std::string& name) {
      if (m.width != width || m.height != height)
        throw std::invalid_argument(name + " is " + std::to_string(m.width) + "x" + std::to_string(m.height) +
                                    " (W x H), the image " + std::to_string(width) + "x" + std::to_string(height));
    };
    Regions out;
    for (const auto& [name, m] : masks) {
      check(m, "mask '" + name + "'");
      out.emplace_back(name, m);
    }
    if (has_boxes) out.emplace_back("boxes", evaluation::mask_from_boxes(width, height, boxes));
    if (void_mask.width) {
      check(void_mask, "void mask");
      for (auto& [name, m] : out)
        for (std::size_t i = 0; i < m.values.size(); ++i)
          if (void_mask.values[i]) m.values[i] = 255;
    }
    return out;
  }
};

evaluation::RegionMask region_mask(py::handle a, const std::string& what) {
  auto arr = py::array_t<unsigned char, py::array::c_style | py::array::forcecast>::ensure(
      py::module_::import("numpy").attr("asarray")(a).attr("__ne__")(0));
  if (!arr || arr.ndim() != 2) throw py::value_error(what + ": expected a bool or integer array H x W (non-zero = inside)");
  evaluation::RegionMask m;
  m.height = static_cast<int>(arr.shape(0));
  m.width = static_cast<int>(arr.shape(1));
  m.values.assign(arr.data(), arr.data() + arr.size());
  return m;
}

UserRegions user_regions(py::handle mask, py::handle boxes, bool voc_boxes, py::handle void_mask) {
  UserRegions r;
  if (!mask.is_none()) {
    if (py::isinstance<py::dict>(mask)) {
      for (auto item : py::reinterpret_borrow<py::dict>(mask)) {
        const std::string name = py::str(item.first);
        r.masks.emplace_back(name, region_mask(item.second, "mask['" + name + "']"));
      }
    } else {
      r.masks.emplace_back("mask", region_mask(mask, "mask"));
    }
  }
  if (!boxes.is_none()) {
    r.has_boxes = true;
    for (py::handle b : py::iter(boxes)) {
      const auto t = b.cast<std::tuple<int, int, int, int>>();
      if (std::get<2>(t) < std::get<0>(t) || std::get<3>(t) < std::get<1>(t))
        throw py::value_error("boxes: (xmin, ymin, xmax, ymax) = " + py::repr(b).cast<std::string>() +
                              " is inverted: expected xmax >= xmin and ymax >= ymin");
      r.boxes.push_back(voc_boxes ? evaluation::voc_box_to_pixels(std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t))
                                  : bow::Box{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)});
    }
  }
  if (!void_mask.is_none()) r.void_mask = region_mask(void_mask, "void");
  return r;
}

// ---------------------------------------------------------------------------------------------
// Arguments of the map metrics (evaluation/map_metrics.h)

using MapArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

/// A relevance map: an Explanation (its .relevance) or anything numpy turns into a float array H x W.
/// Non-finite values and empty maps are refused by the library (ValueError).
MapArray map_array(py::handle relevance, const std::string& fn) {
  auto r = MapArray::ensure(py::hasattr(relevance, "relevance") ? relevance.attr("relevance")
                                                                 : py::reinterpret_borrow<py::object>(relevance));
  if (!r || r.ndim() != 2) throw py::value_error(fn + ": expected an Explanation or a float array H x W");
  return r;
}

/// The mask of a map metric: non-zero = inside, and the pixels where `void_mask` is non-zero left out.
evaluation::RegionMask metric_mask(py::handle mask, py::handle void_mask, const std::string& fn) {
  evaluation::RegionMask m = region_mask(mask, fn + ": mask");
  if (!void_mask.is_none()) {
    const evaluation::RegionMask v = region_mask(void_mask, fn + ": void");
    if (v.width != m.width || v.height != m.height)
      throw py::value_error(fn + ": the void mask is " + std::to_string(v.width) + "x" + std::to_string(v.height) +
                            " (W x H), the mask " + std::to_string(m.width) + "x" + std::to_string(m.height));
    for (std::size_t i = 0; i < m.values.size(); ++i)
      if (v.values[i]) m.values[i] = 255;
  }
  return m;
}

/// Binds f(relevance) -> float of a map metric without a mask.
template <class F>
void def_map_metric(py::module_& m, const char* name, F f, const char* doc) {
  m.def(name, [name, f](py::handle relevance) {
    const MapArray r = map_array(relevance, name);
    const int h = static_cast<int>(r.shape(0)), w = static_cast<int>(r.shape(1));
    py::gil_scoped_release release;
    return f(r.data(), w, h);
  }, py::arg("relevance"), doc);
}

/// Binds f(relevance, mask) -> float of a map metric against a mask.
template <class F>
void def_mask_metric(py::module_& m, const char* name, F f, const char* doc) {
  m.def(name, [name, f](py::handle relevance, py::handle mask, py::handle void_mask) {
    const MapArray r = map_array(relevance, name);
    const evaluation::RegionMask region = metric_mask(mask, void_mask, name);
    const int h = static_cast<int>(r.shape(0)), w = static_cast<int>(r.shape(1));
    py::gil_scoped_release release;
    return f(r.data(), w, h, region);
  }, py::arg("relevance"), py::arg("mask"), py::kw_only(), py::arg("void") = py::none(), doc);
}

evaluation::RegionsFn regions_fn(UserRegions r) {
  if (r.empty()) return {};
  return [r = std::move(r)](int w, int h) { return r.regions(w, h); };
}

// ---------------------------------------------------------------------------------------------

py::dict curves_dict(const evaluation::FlipCurves& c) {
  py::dict d;
  for (const auto& [name, curve] : c) d[py::str(name)] = copy_array(curve);
  return d;
}

py::dict localisation_dict(const evaluation::Localisation& l) {
  py::dict d;
  d["relevance_share"] = l.relevance_share;
  d["area_share"] = l.area_share;
  d["positive_total"] = l.positive_total;
  d["share_defined"] = l.share_defined();
  d["pointing_hit"] = l.pointing_hit;
  d["pointing_defined"] = l.pointing_defined;
  d["point"] = py::make_tuple(l.point_x, l.point_y);
  return d;
}

py::dict summary_dict(const evaluation::LocalisationSummary& s) {
  py::dict d;
  d["images"] = s.images;
  d["share_images"] = s.share_images;
  d["mean_relevance_share"] = s.mean_relevance_share;
  d["mean_area_share"] = s.mean_area_share;
  d["hits"] = s.hits;
  d["pointing_accuracy"] = s.pointing_accuracy;
  return d;
}


evaluation::QualityResult evaluate_one(const model::Model& m, py::handle image, py::handle cls, py::handle mask,
                                       py::handle boxes, bool voc_boxes, py::handle void_mask, py::handle options,
                                       const py::kwargs& kw) {
  const QO o = options_from(options, kw, *quality_knobs(), "evaluate_explanation");
  o.validate();
  const Inputs in = read_inputs(image, "image");
  if (!in.single) throw py::type_error("evaluate_explanation: expected one image (use evaluate_explanations for a batch)");
  const UserRegions ur = user_regions(mask, boxes, voc_boxes, void_mask);
  if (in.arrays) ur.regions(in.images[0].width(), in.images[0].height());  // sizes checked up front: ValueError
  std::optional<std::size_t> c;
  if (!cls.is_none()) c = class_argument(m, cls);
  evaluation::QualityResult r;
  {
    py::gil_scoped_release release;
    const bow::GrayImage g = in.arrays ? in.images[0].convert(m.loader()) : m.load_image(in.paths[0]);
    // A mask of the wrong size is a ValueError for a file as for an array (and as from localise).
    if (!in.arrays) ur.regions(g.original_width, g.original_height);
    if (!c) c = model::top_class(m.scores(m.encode(g)));
    const decompose::Explainer explainer = m.explainer(o.composite);
    const evaluation::IncrementalFlipper flipper = evaluation::IncrementalFlipper(m, *c);
    r = evaluation::evaluate_explanation(m, explainer, flipper, g, *c, o, regions_fn(ur));
  }
  if (!r.error.empty()) throw std::runtime_error(r.error);
  return r;
}

std::vector<evaluation::QualityResult> evaluate_many(const model::Model& m, py::handle jobs, int threads, py::object progress,
                                                     py::handle options, const py::kwargs& kw) {
  const QO o = options_from(options, kw, *quality_knobs(), "evaluate_explanations");
  o.validate();
  const auto type_name = [](py::handle h) { return py::str(py::type::of(h).attr("__name__")).cast<std::string>(); };
  if (py::isinstance<py::array>(jobs) || is_path(jobs) || !py::isinstance<py::iterable>(jobs))
    throw py::type_error("evaluate_explanations: jobs: expected a list of (path, class_) pairs or dicts, got " +
                         type_name(jobs) + " (evaluate_explanation takes one image)");
  std::vector<evaluation::QualityJob> js;
  std::size_t i = 0;
  for (py::handle j : py::iter(jobs)) {
    const std::string what = "jobs[" + std::to_string(i++) + "]";
    evaluation::QualityJob job;
    if (py::isinstance<py::dict>(j)) {
      const py::dict d = py::reinterpret_borrow<py::dict>(j);
      for (auto item : d) {
        const std::string key = py::str(item.first);
        if (key != "path" && key != "class_" && key != "mask" && key != "boxes" && key != "voc_boxes" && key != "void")
          throw py::type_error(what + ": unknown key '" + key + "' (known: path, class_, mask, boxes, voc_boxes, void)");
      }
      if (!d.contains("path") || !d.contains("class_")) throw py::value_error(what + ": expected keys 'path' and 'class_'");
      const auto get = [&](const char* k) { return d.contains(k) ? py::object(d[k]) : py::object(py::none()); };
      job.path = to_path(d["path"], (what + "['path']").c_str());
      job.cls = class_argument(m, d["class_"]);
      const py::object vb = get("voc_boxes");
      job.regions = regions_fn(user_regions(get("mask"), get("boxes"), !vb.is_none() && vb.cast<bool>(), get("void")));
    } else {
      if (!py::isinstance<py::tuple>(j) && !py::isinstance<py::list>(j))
        throw py::type_error(what + ": expected a (path, class_) pair or a dict, got " + type_name(j));
      const py::tuple t = py::reinterpret_borrow<py::object>(j).cast<py::tuple>();
      if (t.size() != 2) throw py::value_error(what + ": expected (path, class_) or a dict with path, class_, mask, boxes");
      job.path = to_path(t[0], (what + "[0]").c_str());
      job.cls = class_argument(m, t[1]);
    }
    js.push_back(std::move(job));
  }
  return with_progress(progress, [&](const core::ProgressFn& fn) { return evaluation::evaluate_explanations(m, js, o, threads, fn); });
}


}  // namespace

std::shared_ptr<const Knobs<QO>> quality_knobs() {
  static const auto knobs = std::make_shared<const Knobs<QO>>(schema_knobs(QO::schema()));
  return knobs;
}

namespace {

// ---------------------------------------------------------------------------------------------
// compare_fix: regions from dicts, the numbers as numpy arrays

py::array_t<double> doubles(const std::vector<double>& v) { return py::array_t<double>(static_cast<py::ssize_t>(v.size()), v.data()); }

evaluation::ArtefactRegion region_from_dict(const py::handle& h, std::size_t k) {
  const std::string where = "compare_fix: regions[" + std::to_string(k) + "]";
  if (!py::isinstance<py::dict>(h)) throw py::type_error(where + ": expected a dict {image, x, y, width, height}");
  const py::dict d = py::reinterpret_borrow<py::dict>(h);
  for (const char* key : {"image", "x", "y", "width", "height"})
    if (!d.contains(key)) throw py::value_error(where + ": no \"" + key + "\"");
  evaluation::ArtefactRegion r;
  r.image = py::str(d["image"]);
  r.boxes.push_back({d["x"].cast<double>(), d["y"].cast<double>(), d["width"].cast<double>(), d["height"].cast<double>()});
  if (!(r.boxes[0].width > 0) || !(r.boxes[0].height > 0)) throw py::value_error(where + ": width and height must be > 0");
  r.relative = d.contains("relative") && d["relative"].cast<bool>();
  return r;
}

py::dict fix_numbers(const evaluation::FixNumbers& n) {
  py::dict d;
  d["causal_drop"] = n.causal_drop;
  d["relevance_share"] = n.relevance_share;
  d["pasted_rise"] = n.pasted_rise;
  d["accuracy"] = n.accuracy;
  d["mean_ap"] = n.mean_ap;
  d["ap"] = doubles(n.ap);
  d["region_scores"] = doubles(n.region_scores);
  d["erased_scores"] = doubles(n.erased_scores);
  d["relevance_shares"] = doubles(n.relevance_shares);
  d["other_scores"] = doubles(n.other_scores);
  d["pasted_scores"] = doubles(n.pasted_scores);
  const std::size_t T = n.test_scores.size(), C = T ? n.test_scores[0].size() : 0;
  py::array_t<double> ts({static_cast<py::ssize_t>(T), static_cast<py::ssize_t>(C)});
  auto w = ts.mutable_unchecked<2>();
  for (std::size_t i = 0; i < T; ++i)
    for (std::size_t c = 0; c < C; ++c) w(i, c) = n.test_scores[i][c];
  d["test_scores"] = ts;
  return d;
}

void bind_compare_fix(py::module_& m) {
  m.def("compare_fix", [](const model::Model& before, const model::Model& after, const std::string& class_name,
                          const py::list& regions, const std::vector<std::string>& others,
                          const std::vector<std::string>& test_images, const std::vector<std::string>& test_labels,
                          std::uint64_t seed, const std::string& fill, int threads) {
    std::vector<evaluation::ArtefactRegion> rs;
    for (std::size_t k = 0; k < regions.size(); ++k) rs.push_back(region_from_dict(regions[k], k));
    if (test_images.size() != test_labels.size())
      throw py::value_error("compare_fix: " + std::to_string(test_images.size()) + " test images but " +
                            std::to_string(test_labels.size()) + " test labels");
    evaluation::FixComparisonOptions o;
    o.seed = seed;
    o.artefact.fill = evaluation::flip_fill_from_string(fill);
    o.artefact.seed = seed;
    o.artefact.threads = threads;
    const std::size_t cls = before.class_index(class_name);
    evaluation::FixComparison c;
    {
      py::gil_scoped_release release;
      const model::LabelledImages test =
          test_images.empty() ? model::LabelledImages{} : model::LabelledImages::from_paths(test_images, test_labels);
      c = evaluation::compare_fix(before, after, cls, rs, others, test, o);
    }
    py::dict d;
    d["class"] = class_name;
    d["area_share"] = c.area_share;
    d["area_shares"] = doubles(c.area_shares);
    d["other_patch"] = c.other_patch;
    d["test_classes"] = c.test_classes;
    d["region_used"] = c.region_used;
    d["others_used"] = c.others_used;
    d["test_used"] = c.test_used;
    d["before"] = fix_numbers(c.before);
    d["after"] = fix_numbers(c.after);
    d["failures"] = skipped_to_list(c.failures);
    return d;
  }, py::arg("before"), py::arg("after"), py::arg("class_name"), py::arg("regions"), py::arg("others"),
     py::arg("test_images") = std::vector<std::string>{}, py::arg("test_labels") = std::vector<std::string>{},
     py::kw_only(), py::arg("seed") = 0, py::arg("fill") = "mean", py::arg("threads") = 0,
     "The proof that an artefact fix held (evaluation::compare_fix): the artefact of `regions` (dicts {image, x, y, "
     "width, height[, relative]}, file pixels unless relative) measured on the model before and after the fix. "
     "Returns a dict: area_share (mean share of the region images' pixels in their region), and per model "
     "('before', 'after') causal_drop (mean f(x) - f(x with the region erased)), relevance_share (mean share of the "
     "class's positive relevance in the region), pasted_rise (mean f rise of `others` with the artefact pasted in), "
     "accuracy and mean_ap on the test set (test_images with a class name each; NaN without), and the per-image "
     "numpy arrays; images one model could not read are left out of both (failures).");
}

}  // namespace

void BindEvaluation(py::module_& m) {
  bind_compare_fix(m);
  auto quality = bind_options<QO>(m, "QualityOptions",
                                   "Settings of the explanation-quality measurements (pixel flipping, occlusion, rules).",
                                   quality_knobs(), [](const QO& o) { o.validate(); });
  bind_schema(quality, QO::schema());
  static const auto folder_knobs = std::make_shared<const Knobs<FEO>>(schema_knobs(FEO::schema()));
  auto folder_cls = bind_options<FEO>(m, "FolderEvaluationOptions", "Options of evaluate_folder.", folder_knobs,
                                      [](const FEO& o) { o.validate(); });
  bind_schema(folder_cls, FEO::schema());
  static const auto voc_knobs = std::make_shared<const Knobs<VO>>(schema_knobs(VO::schema()));
  auto voc_cls = bind_options<VO>(m, "VocProtocolOptions",
                                  "Options of run_voc_protocol: the sets, the fit and the quality settings.", voc_knobs,
                                  [](const VO& o) { o.validate(); });
  bind_schema(voc_cls, VO::schema());

  py::class_<evaluation::Localisation>(m, "Localisation", "Scores of one relevance map against one region.")
      .def_readonly("relevance_share", &evaluation::Localisation::relevance_share, "Positive relevance inside / overall (0 if undefined).")
      .def_readonly("area_share", &evaluation::Localisation::area_share, "Region pixels / non-void pixels (a uniform map's share).")
      .def_readonly("positive_total", &evaluation::Localisation::positive_total, "Σ R+ over non-void pixels.")
      .def_property_readonly("share_defined", &evaluation::Localisation::share_defined, "Whether relevance_share is defined.")
      .def_readonly("pointing_hit", &evaluation::Localisation::pointing_hit, "Pointing game outcome.")
      .def_readonly("pointing_defined", &evaluation::Localisation::pointing_defined, "False for a constant map (a miss).")
      .def_property_readonly("point", [](const evaluation::Localisation& l) { return py::make_tuple(l.point_x, l.point_y); },
                             "(x, y) of the smoothed map's maximum.")
      .def("to_dict", &localisation_dict)
      .def("__repr__", [](const evaluation::Localisation& l) { return "Localisation(" + py::repr(localisation_dict(l)).cast<std::string>() + ")"; });

  py::class_<evaluation::LocalisationSummary>(m, "LocalisationSummary", "Means of localisation scores over images.")
      .def_readonly("images", &evaluation::LocalisationSummary::images)
      .def_readonly("share_images", &evaluation::LocalisationSummary::share_images)
      .def_readonly("mean_relevance_share", &evaluation::LocalisationSummary::mean_relevance_share)
      .def_readonly("mean_area_share", &evaluation::LocalisationSummary::mean_area_share)
      .def_readonly("hits", &evaluation::LocalisationSummary::hits)
      .def_readonly("pointing_accuracy", &evaluation::LocalisationSummary::pointing_accuracy)
      .def("to_dict", &summary_dict)
      .def("__repr__", [](const evaluation::LocalisationSummary& s) { return "LocalisationSummary(" + py::repr(summary_dict(s)).cast<std::string>() + ")"; });

  py::class_<evaluation::MeanInterval>(m, "MeanInterval", "A mean over images and its Student-t interval mean ± half_width.")
      .def_readonly("n", &evaluation::MeanInterval::n, "Values averaged.")
      .def_readonly("mean", &evaluation::MeanInterval::mean, "Their mean (NaN when n = 0).")
      .def_readonly("sd", &evaluation::MeanInterval::sd, "Sample standard deviation (NaN when n < 2).")
      .def_readonly("half_width", &evaluation::MeanInterval::half_width, "t quantile * sd / sqrt(n) (NaN when n < 2).")
      .def_readonly("level", &evaluation::MeanInterval::level, "Coverage of the interval.")
      .def("__repr__", [](const evaluation::MeanInterval& i) {
        return "MeanInterval(n=" + std::to_string(i.n) + ", mean=" + py::repr(py::float_(i.mean)).cast<std::string>() +
               ", half_width=" + py::repr(py::float_(i.half_width)).cast<std::string>() + ")";
      });
  m.def("spearman_correlation", [](py::handle a, py::handle b) {
    const MapArray x = map_array(a, "spearman_correlation"), y = map_array(b, "spearman_correlation");
    if (x.shape(0) != y.shape(0) || x.shape(1) != y.shape(1))
      throw py::value_error("spearman_correlation: the maps differ in shape");
    py::gil_scoped_release release;
    return evaluation::spearman_correlation(x.data(), y.data(), static_cast<std::size_t>(x.size()));
  }, py::arg("a"), py::arg("b"), "Spearman rank correlation of |a| and |b| (ties: average ranks; 0 if either is constant).");
  m.def("map_ssim", [](py::handle a, py::handle b) {
    const MapArray x = map_array(a, "map_ssim"), y = map_array(b, "map_ssim");
    if (x.shape(0) != y.shape(0) || x.shape(1) != y.shape(1)) throw py::value_error("map_ssim: the maps differ in shape");
    py::gil_scoped_release release;
    return evaluation::map_ssim(x.data(), y.data(), static_cast<int>(x.shape(1)), static_cast<int>(x.shape(0)));
  }, py::arg("a"), py::arg("b"),
        "SSIM of |a| / max|a| and |b| / max|b| (7 x 7 uniform windows, data range 1, the valid windows only).");
  py::class_<evaluation::RandomisationLevel>(m, "RandomisationLevel",
                                             "One step of the sanity checks and each method's similarity to the original.")
      .def_readonly("name", &evaluation::RandomisationLevel::name, "'head k/L' or 'random logit'.")
      .def_readonly("layers", &evaluation::RandomisationLevel::layers, "Head layers randomised (0: random logit).")
      .def_readonly("compared_class", &evaluation::RandomisationLevel::compared_class, "Class whose map was compared.")
      .def_property_readonly("spearman", [](const evaluation::RandomisationLevel& l) {
        std::map<std::string, double> d;
        for (const auto& [k, v] : l.methods) d[k] = v.spearman;
        return d;
      }, "Method -> Spearman correlation of |R| with the original map.")
      .def_property_readonly("ssim", [](const evaluation::RandomisationLevel& l) {
        std::map<std::string, double> d;
        for (const auto& [k, v] : l.methods) d[k] = v.ssim;
        return d;
      }, "Method -> SSIM with the original map.")
      .def("__repr__", [](const evaluation::RandomisationLevel& l) { return "RandomisationLevel(" + py::repr(py::str(l.name)).cast<std::string>() + ")"; });
  m.def("randomisation_check", [](const model::Model& mo, py::handle image, py::handle cls, std::uint64_t seed,
                                  py::handle options, const py::kwargs& kw) {
    const QO o = options_from(options, kw, *quality_knobs(), "randomisation_check");
    o.validate();
    const Inputs in = read_inputs(image, "image");
    if (!in.single) throw py::type_error("randomisation_check: expected one image");
    std::optional<std::size_t> c;
    if (!cls.is_none()) c = class_argument(mo, cls);
    py::gil_scoped_release release;
    const bow::GrayImage g = in.arrays ? in.images[0].convert(mo.loader()) : mo.load_image(in.paths[0]);
    if (!c) c = model::top_class(mo.scores(mo.encode(g)));
    return evaluation::randomisation_check(mo, g, *c, o, seed);
  }, py::arg("model"), py::arg("image"), py::arg("class_") = py::none(), py::kw_only(), py::arg("seed") = 0,
        py::arg("options") = py::none(),
        "Sanity checks (Adebayo et al. 2018) of the LRP, sensitivity and occlusion maps of one image and class "
        "(default: the top class): the head randomised layer by layer from the output, then a random other class; "
        "a list of RandomisationLevel. options / keyword knobs: QualityOptions (rules, occlusion patch).");
  m.def("mean_interval", &evaluation::mean_interval, py::arg("values"), py::arg("level") = 0.95,
        "Mean, sample standard deviation and Student-t interval at `level` of the values (ValueError for a "
        "non-finite value or a level outside (0, 1)).");

  py::class_<evaluation::QualityResult>(m, "QualityResult", "What one (image, class) pair gave.")
      .def_property_readonly("curves", [](const evaluation::QualityResult& r) { return curves_dict(r.curves); },
                             "Flipping curve f(x^0) .. f(x^L) per ordering ('lrp', 'occlusion', 'sensitivity', 'random').")
      .def_property_readonly("aopc", [](const evaluation::QualityResult& r) {
        py::dict d;
        for (const auto& [name, curve] : r.curves) d[py::str(name)] = evaluation::aopc(curve);
        return d;
      }, "AOPC = 1/(L+1) Σ_k f(x^0) - f(x^k) per ordering.")
      .def_property_readonly("localisation", [](const evaluation::QualityResult& r) {
        py::dict d;
        for (const auto& [key, v] : r.localisation)
          if (!v.empty()) d[py::str(key)] = v.front();
        return d;
      }, "Localisation per '<ordering>_<region>' (regions: 'mask' or the mask dict's names, 'boxes').")
      .def_readonly("metrics", &evaluation::QualityResult::metrics,
                    "Per-image metrics: metric -> method -> value ('aopc', 'aopc_lerf', 'abc', 'sparseness', "
                    "'complexity', 'mass_accuracy_<region>', 'rank_accuracy_<region>', 'auc_<region>').")
      .def_readonly("conservation_error", &evaluation::QualityResult::conservation_error,
                    "|f - Σ R_q - absorbed - unassigned| / max(1, |f|).")
      .def_readonly("error", &evaluation::QualityResult::error, "Non-empty when the pair could not be processed.")
      .def_property_readonly("ok", [](const evaluation::QualityResult& r) { return r.error.empty(); })
      .def("__repr__", [](const evaluation::QualityResult& r) {
        if (!r.error.empty()) return "QualityResult(error=" + py::repr(py::str(r.error)).cast<std::string>() + ")";
        std::string s = "QualityResult(aopc={";
        bool first = true;
        for (const auto& [name, curve] : r.curves) {
          s += (first ? "'" : ", '") + name + "': " + py::repr(py::float_(evaluation::aopc(curve))).cast<std::string>();
          first = false;
        }
        return s + "})";
      });

  py::class_<evaluation::QualityTotals>(m, "QualityTotals", "Aggregate of many QualityResults.")
      .def(py::init<>())
      .def("add", &evaluation::QualityTotals::add, py::arg("result"), "Adds one pair (pairs with an error are not counted).")
      .def("aopc", &evaluation::QualityTotals::aopc, "AOPC of the mean curve per ordering.")
      .def("localisation_summaries", &evaluation::QualityTotals::localisation_summaries,
           "LocalisationSummary per '<ordering>_<region>'.")
      .def("metric_summaries", &evaluation::QualityTotals::metric_summaries,
           "MeanInterval (95%) of every per-image metric: metric -> method -> MeanInterval.")
      .def("names", [](const evaluation::QualityTotals& t) { return t.flips.names(); }, "Orderings seen.")
      .def("mean_curve", [](const evaluation::QualityTotals& t, const std::string& name) { return copy_array(t.flips.mean_curve(name)); },
           py::arg("name"), "Mean flipping curve of an ordering.")
      .def("count", [](const evaluation::QualityTotals& t, const std::string& name) { return t.flips.count(name); }, py::arg("name"))
      .def_readonly("max_conservation_error", &evaluation::QualityTotals::max_conservation_error, "Worst pair.")
      .def_readonly("explained", &evaluation::QualityTotals::explained, "Pairs without error.")
      .def("__repr__", [](const evaluation::QualityTotals& t) {
        return "QualityTotals(explained=" + std::to_string(t.explained) + ", aopc=" + py::repr(py::cast(t.aopc())).cast<std::string>() + ")";
      });

  m.def("aopc", [](const std::vector<double>& curve) { return evaluation::aopc(curve); }, py::arg("curve"),
        "1/(L+1) Σ_k f_0 - f_k of a flipping curve f_0 .. f_L.");
  m.def("summarise", &evaluation::summarise, py::arg("scores"), "Means of Localisation scores over images.");
  const evaluation::LocalisationOptions lo;
  m.def("localise", [](py::handle relevance, py::handle mask, py::handle boxes, bool voc_boxes, py::handle void_mask, double sigma,
                       double tolerance) {
    auto r = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(
        py::hasattr(relevance, "relevance") ? relevance.attr("relevance") : py::reinterpret_borrow<py::object>(relevance));
    if (!r || r.ndim() != 2) throw py::value_error("localise: expected an Explanation or a float array H x W");
    for (py::ssize_t i = 0; i < r.size(); ++i)
      if (!std::isfinite(r.data()[i]))
        throw py::value_error("localise: the relevance map holds non-finite values (" + std::to_string(r.data()[i]) +
                              " at index " + std::to_string(i) + ")");
    if (mask.is_none() == boxes.is_none()) throw py::value_error("localise: give exactly one of mask and boxes");
    const UserRegions ur = user_regions(mask, boxes, voc_boxes, void_mask);
    if (ur.masks.size() > 1) throw py::value_error("localise: give one mask (not a dict)");
    const int h = static_cast<int>(r.shape(0)), w = static_cast<int>(r.shape(1));
    const Regions regions = ur.regions(w, h);
    evaluation::LocalisationOptions o;
    o.sigma = sigma;
    o.tolerance = tolerance;
    py::gil_scoped_release release;
    return evaluation::localise(r.data(), w, h, regions.front().second, o);
  }, py::arg("relevance"), py::arg("mask") = py::none(), py::arg("boxes") = py::none(), py::kw_only(),
     py::arg("voc_boxes") = false, py::arg("void") = py::none(), py::arg("sigma") = lo.sigma, py::arg("tolerance") = lo.tolerance,
     "Localisation of a relevance map (Explanation or H x W array) in a region: mask (H x W, non-zero = inside) or "
     "boxes [(xmin, ymin, xmax, ymax)] (0-based half-open pixels; voc_boxes=True: VOC 1-based inclusive). void: "
     "pixels left out of every sum. sigma/tolerance: the pointing game's smoothing and hit radius (px).");

  // Metrics of one relevance map: numpy H x W arrays (or an Explanation) in, a float out.
  using evaluation::RegionMask;
  def_map_metric(m, "sparseness", [](const double* r, int w, int h) { return evaluation::sparseness(r, w, h); },
                 "Gini index of |R| (Chalasani et al. 2020; Quantus Sparseness): 0 for an even map, (n-1)/n when one "
                 "pixel holds all; 0 for the all-zero map. relevance: Explanation or H x W array.");
  def_map_metric(m, "complexity", [](const double* r, int w, int h) { return evaluation::complexity(r, w, h); },
                 "Shannon entropy (nats) of |R| / Σ|R| (Bhatt et al. 2020; Quantus Complexity): 0 when one pixel "
                 "holds all, ln n for an even map and for the all-zero map.");
  def_mask_metric(m, "relevance_mass_accuracy",
                  [](const double* r, int w, int h, const RegionMask& k) { return evaluation::relevance_mass_accuracy(r, w, h, k); },
                  "Σ R+ inside the mask / Σ R+ (Arras et al. 2022); 0 without positive relevance. mask: H x W, non-zero "
                  "= inside (at least one pixel); void: pixels left out.");
  def_mask_metric(m, "relevance_rank_accuracy",
                  [](const double* r, int w, int h, const RegionMask& k) { return evaluation::relevance_rank_accuracy(r, w, h, k); },
                  "Share of the K most relevant pixels (K = mask size) inside the mask (Arras et al. 2022); ties at the "
                  "K-th value split evenly.");
  def_mask_metric(m, "mask_auc",
                  [](const double* r, int w, int h, const RegionMask& k) { return evaluation::mask_auc(r, w, h, k); },
                  "ROC AUC of the relevance as a score for the mask's pixels, ties counted half; 0.5 when every "
                  "non-void pixel is inside.");
  m.def("pointing_game", [](py::handle relevance, py::handle mask, double tolerance, py::handle void_mask) {
    const MapArray r = map_array(relevance, "pointing_game");
    const RegionMask region = metric_mask(mask, void_mask, "pointing_game");
    const int h = static_cast<int>(r.shape(0)), w = static_cast<int>(r.shape(1));
    evaluation::PointingGameOptions o;
    o.tolerance = tolerance;
    py::gil_scoped_release release;
    return evaluation::pointing_game(r.data(), w, h, region, o).hit;
  }, py::arg("relevance"), py::arg("mask"), py::kw_only(), py::arg("tolerance") = evaluation::PointingGameOptions{}.tolerance,
     py::arg("void") = py::none(),
     "TorchRay's pointing game: True when the map's first maximum (row-major) lies strictly closer than "
     "`tolerance` px to a mask pixel. No smoothing.");
  m.def("lerf_morf_area", &evaluation::lerf_morf_area, py::arg("fractions"), py::arg("lerf"), py::arg("morf"),
        "Area between the LeRF and MoRF flipping curves over the removal fractions (trapezoid rule), divided by "
        "the fraction range: the mean of LeRF - MoRF, in score units.");

  m.def("evaluate_explanation", &evaluate_one, py::arg("model"), py::arg("image"), py::arg("class_") = py::none(), py::kw_only(),
        py::arg("mask") = py::none(), py::arg("boxes") = py::none(), py::arg("voc_boxes") = false, py::arg("void") = py::none(),
        py::arg("options") = py::none(),
        "Explains class_ (name or index; None: the top class) of one image (path or numpy array) and measures it: "
        "flipping curves and AOPC of the LRP, occlusion, sensitivity and random orderings, conservation, and "
        "localisation in the given ground truth: mask (H x W array, or a dict name -> array; non-zero = object), "
        "boxes [(xmin, ymin, xmax, ymax)] (0-based half-open; voc_boxes=True for VOC 1-based inclusive boxes), "
        "void (pixels ignored). options: a QualityOptions; keyword knobs override it. Raises RuntimeError with the "
        "library's message when the pair cannot be processed. Releases the GIL.");
  m.def("evaluate_explanations", &evaluate_many, py::arg("model"), py::arg("jobs"), py::kw_only(), py::arg("threads") = 0,
        py::arg("progress") = py::none(), py::arg("options") = py::none(),
        "Measures many pairs in parallel. jobs: (path, class_) tuples or dicts with keys path, class_ and optionally "
        "mask, boxes, voc_boxes, void. Returns QualityResults in job order (failed pairs carry .error), "
        "independent of the thread count.");

  py::class_<evaluation::FolderEvaluation>(m, "FolderEvaluation", "What a folder evaluation measured.")
      .def_readonly("classes", &evaluation::FolderEvaluation::classes)
      .def_readonly("paths", &evaluation::FolderEvaluation::paths)
      .def_property_readonly("truth", [](const evaluation::FolderEvaluation& e) {
        return copy_array(std::vector<std::int64_t>(e.truth.begin(), e.truth.end()));
      }, "True class per image.")
      .def_property_readonly("scores", [](const evaluation::FolderEvaluation& e) {
        return copy_array(e.scores, {static_cast<py::ssize_t>(e.paths.size()), static_cast<py::ssize_t>(e.classes.size())});
      }, "images x C.")
      .def_property_readonly("predicted", [](const evaluation::FolderEvaluation& e) {
        return copy_array(std::vector<std::int64_t>(e.predicted.begin(), e.predicted.end()));
      })
      .def_property_readonly("ok", [](const evaluation::FolderEvaluation& e) { return bool_array(e.ok); })
      .def_property_readonly("failures", [](const evaluation::FolderEvaluation& e) { return skipped_to_list(e.failures); })
      .def_readonly("accuracy", &evaluation::FolderEvaluation::accuracy)
      .def_property_readonly("confusion", [](const evaluation::FolderEvaluation& e) {
        std::vector<std::int64_t> c(e.confusion.begin(), e.confusion.end());
        return copy_array(c, {static_cast<py::ssize_t>(e.classes.size()), static_cast<py::ssize_t>(e.classes.size())});
      }, "C x C counts [true][predicted].")
      .def_property_readonly("ap", [](const evaluation::FolderEvaluation& e) { return copy_array(e.ap); }, "VOC07 11-point AP per class.")
      .def_property_readonly("ap_area", [](const evaluation::FolderEvaluation& e) { return copy_array(e.ap_area); })
      .def_readonly("map", &evaluation::FolderEvaluation::map)
      .def_readonly("map_area", &evaluation::FolderEvaluation::map_area)
      .def_readonly("masks", &evaluation::FolderEvaluation::masks)
      .def_readonly("masked_images", &evaluation::FolderEvaluation::masked_images)
      .def_property_readonly("relevance_in_mask", [](const evaluation::FolderEvaluation& e) { return copy_array(e.relevance_in_mask); },
                             "Per image: share of positive LRP relevance on the object (NaN: no mask).")
      .def_property_readonly("mask_area", [](const evaluation::FolderEvaluation& e) { return copy_array(e.mask_area); },
                             "Per image: share of the image the object covers (NaN: no mask).")
      .def_readonly("mean_relevance_in_mask", &evaluation::FolderEvaluation::mean_relevance_in_mask)
      .def_readonly("mean_mask_area", &evaluation::FolderEvaluation::mean_mask_area)
      .def_readonly("max_conservation_error", &evaluation::FolderEvaluation::max_conservation_error)
      .def_property_readonly("gallery", [](const evaluation::FolderEvaluation& e) {
        py::list l;
        for (const auto& g : e.gallery) {
          py::dict d;
          d["index"] = g.index;
          d["path"] = g.index < e.paths.size() ? e.paths[g.index] : std::string();
          d["relevance"] = copy_array(g.relevance.R, {g.relevance.height, g.relevance.width});
          d["image"] = rgb_array(g.image);
          l.append(d);
        }
        return l;
      }, "Kept heatmaps: dicts with index (into paths), path, relevance (H x W, true class) and image (uint8 RGB).")
      .def_property_readonly("explained_images", [](const evaluation::FolderEvaluation& e) {
        return copy_array(std::vector<std::int64_t>(e.explained_images.begin(), e.explained_images.end()));
      })
      .def_readonly("quality_results", &evaluation::FolderEvaluation::quality_results)
      .def_readonly("quality", &evaluation::FolderEvaluation::quality)
      .def_readonly("quality_per_class", &evaluation::FolderEvaluation::quality_per_class,
                    "QualityTotals per class of the explained images.")
      .def_property_readonly("timings", [](const evaluation::FolderEvaluation& e) { return timings_dict(e.timings); })
      .def("__repr__", [](const evaluation::FolderEvaluation& e) {
        return "FolderEvaluation(" + std::to_string(e.paths.size()) + " images, accuracy=" +
               py::repr(py::float_(e.accuracy)).cast<std::string>() + ", map=" + py::repr(py::float_(e.map)).cast<std::string>() + ")";
      });

  m.def("evaluate_folder", [](const model::Model& mo, py::object data, py::handle options, py::object progress, const py::kwargs& kw) {
    const FEO o = options_from(options, kw, *folder_knobs, "evaluate_folder");
    const std::string d = to_path(data, "data");
    return with_progress(progress, [&](const core::ProgressFn& fn) { return evaluation::evaluate_folder(mo, d, o, fn); });
  }, py::arg("model"), py::arg("data"), py::kw_only(), py::arg("options") = py::none(), py::arg("progress") = py::none(),
     "Evaluates a model on DATA/<class>/<image> (what `bowlrp evaluate` runs): accuracy, confusion, AP per class, "
     "and the explanation quality of `explain` images per class (localised in MASKS/<class>/<stem>.png where "
     "present). Keyword knobs: see FolderEvaluationOptions. Releases the GIL.");

  py::class_<evaluation::GalleryItem>(m, "GalleryItem", "One gallery picture of the VOC protocol.")
      .def_readonly("group", &evaluation::GalleryItem::group)
      .def_readonly("id", &evaluation::GalleryItem::id)
      .def_readonly("class_name", &evaluation::GalleryItem::class_name)
      .def_readonly("score", &evaluation::GalleryItem::score)
      .def_readonly("label", &evaluation::GalleryItem::label)
      .def_property_readonly("image", [](const evaluation::GalleryItem& g) { return rgb_array(g.image); }, "uint8 RGB.")
      .def_property_readonly("heatmap", [](const evaluation::GalleryItem& g) { return rgb_array(g.heatmap); }, "uint8 RGB.")
      .def_readonly("note", &evaluation::GalleryItem::note);

  py::class_<evaluation::VocEvaluation>(m, "VocEvaluation", "What the VOC protocol measured.")
      .def_readonly("classes", &evaluation::VocEvaluation::classes)
      .def_readonly("test_ids", &evaluation::VocEvaluation::test_ids)
      .def_property_readonly("scores", [](const evaluation::VocEvaluation& e) {
        std::vector<double> flat;
        for (const auto& row : e.scores) flat.insert(flat.end(), row.begin(), row.end());
        return copy_array(flat, {static_cast<py::ssize_t>(e.scores.size()), static_cast<py::ssize_t>(e.test_ids.size())});
      }, "classes x test images (-inf where unreadable).")
      .def_property_readonly("labels", [](const evaluation::VocEvaluation& e) {
        std::vector<int> flat;
        for (const auto& row : e.labels) flat.insert(flat.end(), row.begin(), row.end());
        return copy_array(flat, {static_cast<py::ssize_t>(e.labels.size()), static_cast<py::ssize_t>(e.test_ids.size())});
      }, "classes x test images in {1, -1, 0}.")
      .def_property_readonly("ap", [](const evaluation::VocEvaluation& e) { return copy_array(e.ap); }, "VOC07 11-point AP per class.")
      .def_property_readonly("ap_area", [](const evaluation::VocEvaluation& e) { return copy_array(e.ap_area); }, "VOC2010+ AP per class.")
      .def_readonly("map", &evaluation::VocEvaluation::map)
      .def_readonly("map_area", &evaluation::VocEvaluation::map_area)
      .def_readonly("train_images", &evaluation::VocEvaluation::train_images)
      .def_property_readonly("failed_test", [](const evaluation::VocEvaluation& e) { return skipped_to_list(e.failed_test); })
      .def_property_readonly("skipped_train", [](const evaluation::VocEvaluation& e) { return skipped_to_list(e.skipped_train); })
      .def_readonly("quality", &evaluation::VocEvaluation::quality)
      .def_readonly("quality_per_class", &evaluation::VocEvaluation::quality_per_class,
                    "QualityTotals per explained class.")
      .def_readonly("quality_failures", &evaluation::VocEvaluation::quality_failures)
      .def_readonly("gallery", &evaluation::VocEvaluation::gallery)
      .def_property_readonly("timings", [](const evaluation::VocEvaluation& e) { return timings_dict(e.timings); })
      .def_property_readonly("timing_items", [](const evaluation::VocEvaluation& e) {
        py::dict d;
        for (const auto& [k, v] : e.timing_items) d[py::str(k)] = v;
        return d;
      })
      .def_readonly("person_boxes_missing", &evaluation::VocEvaluation::person_boxes_missing)
      .def_readonly("model", &evaluation::VocEvaluation::model, "The evaluated Model.")
      .def("__repr__", [](const evaluation::VocEvaluation& e) {
        return "VocEvaluation(" + std::to_string(e.classes.size()) + " classes, " + std::to_string(e.test_ids.size()) +
               " test images, map=" + py::repr(py::float_(e.map)).cast<std::string>() + ")";
      });

  m.def("run_voc_protocol", [](py::object root, py::object model, py::handle options, py::object progress, const py::kwargs& kw) {
    VO o = options_from(options, kw, *voc_knobs, "run_voc_protocol");
    if (!root.is_none()) o.root = to_path(root, "root");
    std::optional<model::Model> given;
    if (!model.is_none()) given = model.cast<model::Model>();
    return with_progress(progress, [&](const core::ProgressFn& fn) { return evaluation::run_voc_protocol(o, given, fn); });
  }, py::arg("root") = py::none(), py::kw_only(), py::arg("model") = py::none(), py::arg("options") = py::none(),
     py::arg("progress") = py::none(),
     "Runs the PASCAL VOC protocol (what `bowlrp voc` runs): fits on train_set unless a model is given, AP per class "
     "on test_set, explanation quality on `explain` positives per class, a gallery. Keyword knobs: see "
     "VocProtocolOptions. Releases the GIL.");
}

}  // namespace bowlrp::python
