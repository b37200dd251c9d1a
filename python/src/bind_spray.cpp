// Spectral relevance analysis (SpRAy, evaluation/spray.h): SprayOptions and SprayImagesOptions as
// knobs, downsize_map, spray over numpy maps of any sizes, spray_images over a model's explanations,
// and SprayResult / SprayCausal / SprayAnalysis with numpy views.
//
// The library's results keep their maps as vectors of vectors and do not record the grid they are
// on; the Python objects below hold the grid (and thumbnail) sides beside them and flatten the maps
// once, so every array property is a read-only view of a buffer the object owns.
#include "bindings.h"
#include "schema_knobs.h"
#include "options.h"

#include <bowlrp/evaluation/spray.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <cstdint>

namespace bowlrp::python {

py::list skipped_to_list(const std::vector<model::Skipped>& s);  // bind_model.cpp

namespace {

using SO = evaluation::SprayOptions;
using SIO = evaluation::SprayImagesOptions;

// ---------------------------------------------------------------------------------------------
// Knobs

std::shared_ptr<const Knobs<SO>> spray_knobs() {
  static const auto knobs = std::make_shared<const Knobs<SO>>(schema_knobs(SO::schema()));
  return knobs;
}

std::shared_ptr<const Knobs<SIO>> images_knobs() {
  static const auto knobs = std::make_shared<const Knobs<SIO>>(schema_knobs(SIO::schema()));
  return knobs;
}

/// SprayImagesOptions from keywords: `spray` (a SprayOptions) first, whatever its position, then the
/// flat knobs, which override it.
void apply_images_knobs(SIO& o, const py::kwargs& kw, const std::string& what) {
  const Knobs<SIO>& knobs = *images_knobs();
  py::dict rest;
  for (auto item : kw) {
    const std::string key = py::str(item.first);
    if (key != "spray" && std::none_of(knobs.begin(), knobs.end(), [&](const Knob<SIO>& k) { return k.name == key; })) {
      std::string known = "spray";
      for (const Knob<SIO>& k : knobs) known += ", " + k.name;
      throw py::type_error(what + ": unknown option '" + key + "' (known: " + known + ")");
    }
    if (key == "spray") {
      if (!py::isinstance<SO>(item.second))
        throw py::type_error(what + ": option spray: expected a SprayOptions, got " + py::repr(item.second).cast<std::string>());
      o.spray = item.second.cast<SO>();
    } else {
      rest[item.first] = item.second;
    }
  }
  apply_knobs(o, knobs, rest, what);
}

SIO images_options(py::handle base, const py::kwargs& kw, const std::string& what) {
  SIO o{};
  if (base && !base.is_none()) {
    if (!py::isinstance<SIO>(base))
      throw py::type_error(what + ": options: expected a SprayImagesOptions, got " + py::repr(base).cast<std::string>());
    o = base.cast<SIO>();
  }
  apply_images_knobs(o, kw, what);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Result objects

py::ssize_t ss(std::size_t v) { return static_cast<py::ssize_t>(v); }

std::vector<std::int64_t> as_int64(const std::vector<std::size_t>& v) { return std::vector<std::int64_t>(v.begin(), v.end()); }

template <class T>
std::vector<T> flatten(const std::vector<std::vector<T>>& rows) {
  std::vector<T> out;
  for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
  return out;
}

/// SprayResult with its grid and flat buffers for the views.
struct PySprayResult {
  evaluation::SprayResult r;
  int grid_width = 0, grid_height = 0;
  std::vector<double> mean_maps;                     // c x gh x gw
  std::vector<std::int64_t> labels, sizes, typical;  // int64 copies of the index vectors
  std::vector<std::vector<std::int64_t>> ranked_members;
};

std::shared_ptr<PySprayResult> make_result(evaluation::SprayResult r, int gw, int gh) {
  auto p = std::make_shared<PySprayResult>();
  p->grid_width = gw;
  p->grid_height = gh;
  p->mean_maps = flatten(r.mean_maps);
  p->labels.assign(r.labels.begin(), r.labels.end());
  p->sizes = as_int64(r.sizes);
  p->typical = as_int64(r.typical);
  for (const auto& members : r.ranked_members) p->ranked_members.push_back(as_int64(members));
  p->r = std::move(r);
  return p;
}

/// SprayCausal with its grid.
struct PySprayCausal {
  evaluation::SprayCausal c;
  int grid_width = 0, grid_height = 0;
};

/// SprayAnalysis with its grid, thumbnail side and flat buffers.
struct PySprayAnalysis {
  std::vector<std::string> paths;
  std::size_t cls = 0;
  std::string class_name;
  std::vector<model::Skipped> failures;
  std::vector<std::int64_t> analysed;
  std::vector<double> scores;
  std::vector<double> grid_maps;    // n x gh x gw
  std::vector<float> thumbnails;    // n x t x t
  std::vector<float> mean_images;   // c x t x t
  std::shared_ptr<PySprayResult> result;
  std::vector<PySprayCausal> causal;
  std::vector<std::pair<std::string, double>> timings;
  int grid_width = 0, grid_height = 0, thumbnail = 0;
};

std::shared_ptr<PySprayAnalysis> make_analysis(evaluation::SprayAnalysis a, const model::Model& m) {
  auto p = std::make_shared<PySprayAnalysis>();
  p->grid_width = a.grid_width;
  p->grid_height = a.grid_height;
  p->thumbnail = a.thumbnail;
  p->paths = std::move(a.paths);
  p->cls = a.cls;
  p->class_name = a.cls < m.classes() ? m.class_names()[a.cls] : std::string();
  p->failures = std::move(a.failures);
  p->analysed = as_int64(a.analysed);
  p->scores = std::move(a.scores);
  p->grid_maps = flatten(a.grid_maps);
  p->thumbnails = flatten(a.thumbnails);
  p->mean_images = flatten(a.mean_images);
  p->result = make_result(std::move(a.result), p->grid_width, p->grid_height);
  for (evaluation::SprayCausal& c : a.causal) p->causal.push_back(PySprayCausal{std::move(c), p->grid_width, p->grid_height});
  p->timings = std::move(a.timings);
  return p;
}


std::string grid_text(int gw, int gh) { return std::to_string(gw) + "x" + std::to_string(gh); }

// ---------------------------------------------------------------------------------------------
// Inputs

/// A 2-D map copied out of numpy (with the GIL held).
struct Map {
  std::vector<double> values;  // H x W row-major
  int width = 0, height = 0;
};

Map read_map(py::handle h, const std::string& what) {
  py::object src = py::reinterpret_borrow<py::object>(h);
  if (!py::isinstance<py::array>(src) && py::hasattr(src, "relevance")) src = src.attr("relevance");  // an Explanation
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(src);
  if (!a) throw py::type_error(what + ": expected a 2-D numeric array (H x W) or an Explanation, got " + py::repr(h).cast<std::string>());
  if (a.ndim() != 2)
    throw py::value_error(what + ": expected a 2-D array (H x W), got " + std::to_string(a.ndim()) + " dimension(s)");
  Map m;
  m.height = static_cast<int>(a.shape(0));
  m.width = static_cast<int>(a.shape(1));
  m.values.assign(a.data(), a.data() + a.size());
  return m;
}

std::vector<Map> read_maps(py::handle maps) {
  std::vector<Map> out;
  if (py::isinstance<py::array>(maps)) {
    auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(maps);
    if (!a) throw py::type_error("maps: expected a numeric array");
    if (a.ndim() != 3)
      throw py::value_error("maps: expected a sequence of 2-D arrays or one n x H x W array, got an array of " +
                            std::to_string(a.ndim()) + " dimension(s)");
    const std::size_t n = static_cast<std::size_t>(a.shape(0)), hw = static_cast<std::size_t>(a.shape(1) * a.shape(2));
    for (std::size_t i = 0; i < n; ++i) {
      Map m;
      m.height = static_cast<int>(a.shape(1));
      m.width = static_cast<int>(a.shape(2));
      m.values.assign(a.data() + i * hw, a.data() + (i + 1) * hw);
      out.push_back(std::move(m));
    }
    return out;
  }
  if (py::isinstance<py::str>(maps) || !py::isinstance<py::iterable>(maps))
    throw py::type_error("maps: expected a sequence of 2-D arrays or one n x H x W array, got " +
                         py::str(py::type::of(maps).attr("__name__")).cast<std::string>());
  std::size_t i = 0;
  for (py::handle item : maps) out.push_back(read_map(item, "maps[" + std::to_string(i++) + "]"));
  return out;
}

/// Without the GIL: each map onto the grid (maps already of the grid's size are taken as they are).
std::vector<std::vector<double>> to_grid(std::vector<Map> maps, int gw, int gh) {
  std::vector<std::vector<double>> out;
  out.reserve(maps.size());
  for (Map& m : maps) {
    if (m.width == gw && m.height == gh)
      out.push_back(std::move(m.values));
    else
      out.push_back(evaluation::downsize_map(m.values.data(), m.width, m.height, gw, gh));
  }
  return out;
}

std::vector<std::string> read_paths(py::handle paths) {
  if (is_path(paths) || !py::isinstance<py::iterable>(paths))
    throw py::type_error("paths: expected a list of image paths, got " + py::str(py::type::of(paths).attr("__name__")).cast<std::string>());
  std::vector<std::string> out;
  std::size_t i = 0;
  for (py::handle p : paths) out.push_back(to_path(p, ("paths[" + std::to_string(i++) + "]").c_str()));
  return out;
}


}  // namespace

void BindSpray(py::module_& m) {
  auto spray_cls = bind_options<SO>(m, "SprayOptions",
                   "Options of spray(): the grid the maps are area-averaged onto, their preprocessing (positive part, "
                   "normalisation max | l1 | l2 | none), the k-nearest-neighbour graph, the "
                   "eigenpairs of its normalised Laplacian, the number of clusters (0: from the eigengap) and the seeded "
                   "k-means on the spectral embedding.",
                   spray_knobs(), [](const SO& o) { o.validate(); });
  bind_schema(spray_cls, SO::schema());

  auto images_cls = bind_options<SIO>(
      m, "SprayImagesOptions",
      "Options of spray_images(): the SpRAy options (flat; the k-means seed is kmeans_seed here), the thumbnails, the "
      "causal test and the relevance rules. A whole SprayOptions can be given as spray=...; flat knobs given with it "
      "override it.",
      images_knobs(), [](const SIO& o) { o.validate(); });
  bind_schema(images_cls, SIO::schema());
  images_cls.def(py::init([](const py::kwargs& kw) {
                   SIO o{};
                   apply_images_knobs(o, kw, "SprayImagesOptions");
                   return o;
                 }),
                 py::prepend(),
                 "Options from keyword arguments (spray=SprayOptions(...) and/or flat knobs, which override it); unknown "
                 "names raise TypeError.");
  images_cls.def("replace", [](const SIO& o, const py::kwargs& kw) {
    SIO c = o;
    apply_images_knobs(c, kw, "SprayImagesOptions");
    return c;
  }, py::prepend(), "A copy with the given options changed (spray=SprayOptions(...) and/or flat knobs).");
  images_cls.def_property(
      "spray", [](const SIO& o) { return o.spray; },
      [](SIO& o, const SO& s) { o.spray = s; },
      "The SpRAy options as a SprayOptions (a copy; assign a whole SprayOptions to change them).");

  py::class_<PySprayResult, std::shared_ptr<PySprayResult>>(
      m, "SprayResult",
      "What SpRAy found over n maps: the Laplacian's leading eigenvalues, the eigengap's cluster count, the spectral "
      "embedding, the labels (0 = the largest cluster) and per cluster its size, mean preprocessed map and typical member. "
      "Arrays are read-only views of buffers this object owns.")
      .def_property_readonly("images", [](const PySprayResult& r) { return r.r.images; }, "n, the maps clustered.")
      .def_property_readonly("grid_width", [](const PySprayResult& r) { return r.grid_width; }, "gw, cells across.")
      .def_property_readonly("grid_height", [](const PySprayResult& r) { return r.grid_height; }, "gh, cells down.")
      .def_property_readonly("eigenvalues", [](py::object self) {
        const auto& e = self.cast<const PySprayResult&>().r.eigenvalues;
        return view(e.data(), {ss(e.size())}, self);
      }, "λ_1 <= ... <= λ_m of the normalised Laplacian, (m,) float64.")
      .def_property_readonly("eigengap_clusters", [](const PySprayResult& r) { return r.r.eigengap_clusters; },
                             "Clusters the eigengap reads: argmax_i λ_{i+1} - λ_i.")
      .def_property_readonly("clusters", [](const PySprayResult& r) { return r.r.clusters; },
                             "c, the clusters used (given, or from the eigengap).")
      .def_property_readonly("embedding", [](py::object self) {
        const PySprayResult& r = self.cast<const PySprayResult&>();
        return view(r.r.embedding.data(), {ss(r.r.images), ss(static_cast<std::size_t>(r.r.clusters))}, self);
      }, "Row-normalised spectral coordinates, (n, c) float64.")
      .def_property_readonly("labels", [](py::object self) {
        const auto& l = self.cast<const PySprayResult&>().labels;
        return view(l.data(), {ss(l.size())}, self);
      }, "Cluster of each map, (n,) int64; 0 is the largest cluster.")
      .def_property_readonly("sizes", [](py::object self) {
        const auto& s = self.cast<const PySprayResult&>().sizes;
        return view(s.data(), {ss(s.size())}, self);
      }, "Maps per cluster, (c,) int64, decreasing.")
      .def_property_readonly("mean_maps", [](py::object self) {
        const PySprayResult& r = self.cast<const PySprayResult&>();
        return view(r.mean_maps.data(), {ss(r.r.mean_maps.size()), r.grid_height, r.grid_width}, self);
      }, "Per cluster, the mean preprocessed (normalised) map, (c, gh, gw) float64.")
      .def_property_readonly("typical", [](py::object self) {
        const auto& t = self.cast<const PySprayResult&>().typical;
        return view(t.data(), {ss(t.size())}, self);
      }, "Per cluster, the member closest to its embedding centre, (c,) int64 (n for an empty cluster).")
      .def_property_readonly("ranked_members", [](py::object self) {
        py::list l;
        for (const auto& members : self.cast<const PySprayResult&>().ranked_members)
          l.append(view(members.data(), {ss(members.size())}, self));
        return l;
      }, "Per cluster, its members (indices of the maps) by distance to the cluster's embedding centre, nearest "
         "first: a list of c int64 arrays (ranked_members[k][0] == typical[k] for a non-empty cluster).")
      .def_property_readonly("layout", [](py::object self) {
        const PySprayResult& r = self.cast<const PySprayResult&>();
        return view(r.r.layout.data(), {ss(r.r.images), 2}, self);
      }, "A 2-D picture of the graph, (n, 2) float64: each map's entries in the eigenvectors of λ_2 and λ_3 "
         "(λ_3's column is 0 when only two eigenpairs were computed).")
      .def_property_readonly("inertia", [](const PySprayResult& r) { return r.r.inertia; },
                             "Within-cluster sum of squares of the kept k-means run.")
      .def("__len__", [](const PySprayResult& r) { return r.r.images; })
      .def("__repr__", [](const PySprayResult& r) {
        std::string sizes;
        for (std::size_t s : r.r.sizes) sizes += (sizes.empty() ? "" : ", ") + std::to_string(s);
        return "SprayResult(images=" + std::to_string(r.r.images) + ", grid=" + grid_text(r.grid_width, r.grid_height) +
               ", clusters=" + std::to_string(r.r.clusters) + ", eigengap_clusters=" + std::to_string(r.r.eigengap_clusters) +
               ", sizes=[" + sizes + "])";
      });

  py::class_<PySprayCausal>(m, "SprayCausal",
                            "The causal test of one cluster: its region (the grid cells holding causal_share of the "
                            "positive relevance of its mean map) flipped in members and in images of other clusters. "
                            "A strategy in use drops f in its members far more than the same region does elsewhere.")
      .def_property_readonly("region", [](const PySprayCausal& c) {
        py::array_t<bool> a({static_cast<py::ssize_t>(c.grid_height), static_cast<py::ssize_t>(c.grid_width)});
        bool* d = a.mutable_data();
        for (std::size_t i = 0; i < c.c.region.size(); ++i) d[i] = c.c.region[i] != 0;
        return a;
      }, "Grid cells of the region, (gh, gw) bool.")
      .def_property_readonly("members", [](const PySprayCausal& c) { return c.c.members; }, "Member images re-scored.")
      .def_property_readonly("others", [](const PySprayCausal& c) { return c.c.others; }, "Images of other clusters re-scored.")
      .def_property_readonly("member_drop", [](const PySprayCausal& c) { return c.c.member_drop; },
                             "Mean f(x) - f(x with the region flipped) over the members.")
      .def_property_readonly("other_drop", [](const PySprayCausal& c) { return c.c.other_drop; },
                             "The same over the others (0 when there are none).")
      .def("__repr__", [](const PySprayCausal& c) {
        std::size_t cells = 0;
        for (char v : c.c.region) cells += v != 0;
        return "SprayCausal(cells=" + std::to_string(cells) + ", members=" + std::to_string(c.c.members) + ", others=" +
               std::to_string(c.c.others) + ", member_drop=" + py::repr(py::float_(c.c.member_drop)).cast<std::string>() +
               ", other_drop=" + py::repr(py::float_(c.c.other_drop)).cast<std::string>() + ")";
      });

  py::class_<PySprayAnalysis, std::shared_ptr<PySprayAnalysis>>(
      m, "SprayAnalysis",
      "SpRAy over the explanations of one class: the images analysed, their grid maps and thumbnails, the clustering, "
      "each cluster's mean thumbnail and causal test. Arrays are read-only views of buffers this object owns.")
      .def_readonly("paths", &PySprayAnalysis::paths, "The images given.")
      .def_readonly("cls", &PySprayAnalysis::cls, "The explained class's index.")
      .def_readonly("class_name", &PySprayAnalysis::class_name, "The explained class's name.")
      .def_property_readonly("failures", [](const PySprayAnalysis& a) { return skipped_to_list(a.failures); },
                             "Images that could not be explained, as (path, reason), in input order.")
      .def_property_readonly("analysed", [](py::object self) {
        const auto& v = self.cast<const PySprayAnalysis&>().analysed;
        return view(v.data(), {ss(v.size())}, self);
      }, "Indices into paths of the clustered images, (n,) int64, in the order of result's rows.")
      .def_property_readonly("scores", [](py::object self) {
        const auto& v = self.cast<const PySprayAnalysis&>().scores;
        return view(v.data(), {ss(v.size())}, self);
      }, "f_cls of each analysed image, (n,) float64.")
      .def_property_readonly("grid_maps", [](py::object self) {
        const PySprayAnalysis& a = self.cast<const PySprayAnalysis&>();
        return view(a.grid_maps.data(), {ss(a.analysed.size()), a.grid_height, a.grid_width}, self);
      }, "Each analysed image's pixel relevance area-averaged onto the grid (before normalisation), (n, gh, gw) float64.")
      .def_property_readonly("thumbnails", [](py::object self) {
        const PySprayAnalysis& a = self.cast<const PySprayAnalysis&>();
        return view(a.thumbnails.data(), {ss(a.analysed.size()), a.thumbnail, a.thumbnail}, self);
      }, "Each analysed image's grey working image area-averaged to thumbnail x thumbnail, (n, t, t) float32.")
      .def_readonly("result", &PySprayAnalysis::result, "The clustering (a SprayResult).")
      .def_property_readonly("mean_images", [](py::object self) {
        const PySprayAnalysis& a = self.cast<const PySprayAnalysis&>();
        return view(a.mean_images.data(), {ss(a.result->r.mean_maps.size()), a.thumbnail, a.thumbnail}, self);
      }, "Per cluster, the mean thumbnail of its members, (c, t, t) float32.")
      .def_readonly("causal", &PySprayAnalysis::causal, "Per cluster, its SprayCausal (empty when causal_images = 0).")
      .def_property_readonly("timings", [](const PySprayAnalysis& a) { return timings_dict(a.timings); },
                             "Stage -> wall seconds.")
      .def_readonly("grid_width", &PySprayAnalysis::grid_width, "gw, cells across.")
      .def_readonly("grid_height", &PySprayAnalysis::grid_height, "gh, cells down.")
      .def_readonly("thumbnail", &PySprayAnalysis::thumbnail, "t, the thumbnails' side (px).")
      .def("__repr__", [](const PySprayAnalysis& a) {
        return "SprayAnalysis(class_name=" + py::repr(py::str(a.class_name)).cast<std::string>() + ", analysed=" +
               std::to_string(a.analysed.size()) + " of " + std::to_string(a.paths.size()) + ", clusters=" +
               std::to_string(a.result->r.clusters) + ")";
      });

  m.def("downsize_map", [](py::handle map, int grid_width, int grid_height) {
    Map mp = read_map(map, "map");
    std::vector<double> g;
    {
      py::gil_scoped_release release;
      g = evaluation::downsize_map(mp.values.data(), mp.width, mp.height, grid_width, grid_height);
    }
    return copy_array(g, {grid_height, grid_width});
  }, py::arg("map"), py::arg("grid_width"), py::arg("grid_height"),
     "Area average of an H x W map (or an Explanation's relevance) onto a grid_height x grid_width grid, as SpRAy "
     "preprocesses: each cell is the mean over its rectangle of the map, fractional pixels weighted by their overlap, "
     "so sum(cells) x cell area == sum(map). The aspect ratio is not kept. Returns (grid_height, grid_width) float64.");

  m.def("spray", [](py::handle maps, py::handle options, const py::kwargs& kw) {
    const SO o = options_from(options, kw, *spray_knobs(), "spray");
    o.validate();
    std::vector<Map> in = read_maps(maps);
    py::gil_scoped_release release;
    std::vector<std::vector<double>> grid = to_grid(std::move(in), o.grid_width, o.grid_height);
    return make_result(evaluation::spray(grid, o), o.grid_width, o.grid_height);
  }, py::arg("maps"), py::arg("options") = py::none(),
     "Spectral relevance analysis (Lapuschkin et al. 2019) of n >= 2 relevance maps: each map (a 2-D array of any size, "
     "or an Explanation) is area-averaged onto the grid (downsize_map; maps of the grid's size are taken as they are; "
     "an n x gh x gw array is n maps), cut to its positive part if positive=True, scaled by "
     "normalisation (max: its largest |value|; l1: the sum of |values|; l2: its Euclidean norm; none), linked in a symmetric "
     "k-nearest-neighbour graph, embedded by the leading eigenvectors of the normalised Laplacian and clustered by "
     "seeded k-means (clusters=0: as many as the largest eigengap says, at least min_clusters). options: a SprayOptions; keyword knobs override it. "
     "Raises ValueError with the library's message for fewer than two maps, non-finite values or bad options. "
     "Deterministic for a seed. Releases the GIL.");

  m.def("spray_images", [](const model::Model& mo, py::handle paths, py::handle cls, py::handle options, py::object progress,
                           const py::kwargs& kw) {
    SIO o = images_options(options, kw, "spray_images");
    o.validate();
    const std::size_t c = class_argument(mo, cls);
    const std::vector<std::string> p = read_paths(paths);
    return with_progress(progress, [&](const core::ProgressFn& fn) {
      return make_analysis(evaluation::spray_images(mo, p, c, o, fn), mo);
    });
  }, py::arg("model"), py::arg("paths"), py::arg("class_"), py::kw_only(), py::arg("options") = py::none(),
     py::arg("progress") = py::none(),
     "SpRAy over a model's explanations: explains class_ (a name or index) on every image (in parallel), area-averages "
     "each pixel map onto the grid, clusters the maps (see spray) and, per cluster, runs the causal test: the grid "
     "cells holding causal_share of its mean map's positive relevance are flipped to noise in up to causal_images "
     "members and as many images of other clusters, and the class re-scored. Unreadable images are reported in "
     "failures (at least two must be explained, else ValueError). options: a SprayImagesOptions; keyword knobs "
     "(grid_width=..., spray=SprayOptions(...), causal_images=..., bias=..., threads=...) override it. Releases the GIL.");
}

}  // namespace bowlrp::python
