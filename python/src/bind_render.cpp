// Rendering: the library's heatmaps (render::render_heatmap, the CLI's PNGs) as uint8 RGB arrays,
// and the colour maps for the numpy-only path of bowlrp.render.
#include "bindings.h"
#include "explanation.h"
#include "options.h"
#include "schema_knobs.h"

#include <bowlrp/render/heatmap.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace bowlrp::python {

namespace {

using HO = render::HeatmapOptions;

/// A relevance map to render: the explanation's own (no copy) or a copy of a float array.
struct Relevance {
  const decompose::PixelRelevance* map = nullptr;
  decompose::PixelRelevance owned;
  std::string path;  // the explained image file, if any
};

Relevance relevance_arg(py::handle h) {
  Relevance r;
  if (py::isinstance<PyExplanation>(h)) {
    const PyExplanation& e = h.cast<const PyExplanation&>();
    if (!e.result.error.empty()) throw py::value_error("relevance: the explanation failed: " + e.result.error);
    r.map = &e.result.explanation.pixels;
    r.path = e.result.path;
    return r;
  }
  auto a = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(h);
  if (!a || a.ndim() != 2 || a.shape(0) < 1 || a.shape(1) < 1)
    throw py::value_error("relevance: expected an Explanation or a float array H x W (H, W >= 1)");
  r.owned.height = static_cast<int>(a.shape(0));
  r.owned.width = static_cast<int>(a.shape(1));
  r.owned.R.assign(a.data(), a.data() + a.size());
  // One inf scales the rest to 0 and a NaN paints black: refused as the numpy renderers refuse it.
  const auto bad = std::find_if(r.owned.R.begin(), r.owned.R.end(), [](double v) { return !std::isfinite(v); });
  if (bad != r.owned.R.end()) {
    const std::size_t i = static_cast<std::size_t>(bad - r.owned.R.begin());
    throw py::value_error("relevance: the map holds non-finite values (" + std::to_string(*bad) + " at row " +
                          std::to_string(i / r.owned.width) + ", column " + std::to_string(i % r.owned.width) + ")");
  }
  r.map = &r.owned;
  return r;
}

/// The background image: an array, a path, or (None) the explanation's file when the view needs one.
std::optional<render::Bgr8Image> image_arg(py::handle image, const Relevance& r, const HO& o) {
  if (!image.is_none()) {
    if (is_path(image)) {
      const std::string p = to_path(image, "image");
      py::gil_scoped_release release;
      return render::load_bgr8(p);
    }
    return bgr8_from_rgb(image, "image");
  }
  if (o.view != render::HeatmapView::heatmap && !r.path.empty()) {
    py::gil_scoped_release release;
    return render::load_bgr8(r.path);
  }
  return std::nullopt;
}

py::array_t<unsigned char> render(py::handle relevance, py::handle image, py::handle options, const py::kwargs& kw) {
  const HO o = options_from(options, kw, *heatmap_knobs(), "render_heatmap");
  const Relevance r = relevance_arg(relevance);
  const std::optional<render::Bgr8Image> bg = image_arg(image, r, o);
  render::Bgr8Image out;
  {
    py::gil_scoped_release release;
    out = render::render_heatmap(*r.map, o, bg ? &*bg : nullptr);
  }
  return rgb_array(out);
}

}  // namespace

std::shared_ptr<const Knobs<HO>> heatmap_knobs() {
  static const auto knobs = std::make_shared<const Knobs<HO>>(schema_knobs(HO::schema()));
  return knobs;
}

void BindRender(py::module_& m) {
  auto heatmap_cls = bind_options<HO>(m, "HeatmapOptions", "Options of the library's heatmap rendering (the CLI's PNGs).",
                                      heatmap_knobs(), [](const HO& o) { o.validate(); });
  bind_schema(heatmap_cls, HO::schema());

  m.def("render_heatmap", &render, py::arg("relevance"), py::arg("image") = py::none(), py::kw_only(),
        py::arg("options") = py::none(),
        "Renders a relevance map with the library's renderer (render::render_heatmap, the pixels of `bowlrp "
        "explain`'s PNGs) as a uint8 H x W x 3 RGB array. R is scaled symmetrically, v = clip(R / s, -1, 1) with s = "
        "max |R| (or a percentile of |R|), so 0 is the map's neutral colour, red is for the class and blue against. "
        "relevance: an Explanation (its map is used without a copy) or a float array H x W. image: uint8 RGB array "
        "or path, needed by the 'edges' and 'mask' views (an Explanation of a file supplies its own). Keyword knobs: "
        "see HeatmapOptions.");
  m.def("write_heatmap_png", [](py::object path, py::handle relevance, py::handle image, py::handle options, const py::kwargs& kw) {
    const std::string p = to_path(path);
    const HO o = options_from(options, kw, *heatmap_knobs(), "write_heatmap_png");
    const Relevance r = relevance_arg(relevance);
    const std::optional<render::Bgr8Image> bg = image_arg(image, r, o);
    py::gil_scoped_release release;
    render::write_png(p, *r.map, o, bg ? &*bg : nullptr);
  }, py::arg("path"), py::arg("relevance"), py::arg("image") = py::none(), py::kw_only(), py::arg("options") = py::none(),
     "Renders as render_heatmap and writes the PNG atomically (the same bytes as `bowlrp explain`).");
  m.def("write_heatmap_files", [](py::object base, py::handle relevance, py::handle image, py::handle views,
                                  py::handle options, const py::kwargs& kw) {
    const std::string b = to_path(base);
    render::HeatmapFileOptions f;
    f.heatmap = options_from(options, kw, *heatmap_knobs(), "write_heatmap_files");
    const auto& view_option = *core::find_option(render::HeatmapFileOptions::schema(), "views");
    // One name (or "all") as a str, or a sequence of names.
    const std::optional<std::string> text =
        py::isinstance<py::str>(views) ? std::optional<std::string>(views.cast<std::string>()) : option_text(views, view_option);
    if (text) view_option.set(f, *text, "views");
    f.validate();
    const Relevance r = relevance_arg(relevance);
    HO needs = f.heatmap;  // the image is read when a view needs it
    for (const render::HeatmapView v : f.views)
      if (v != render::HeatmapView::heatmap) needs.view = v;
    const std::optional<render::Bgr8Image> bg = image_arg(image, r, needs);
    py::gil_scoped_release release;
    render::write_heatmap_files(b, *r.map, f, bg ? &*bg : nullptr);
  }, py::arg("base"), py::arg("relevance"), py::arg("image") = py::none(), py::kw_only(),
     py::arg("views") = "heatmap", py::arg("options") = py::none(),
     "Writes what `bowlrp explain` writes for one image: <base>.<view>.png for each view ('heatmap', 'edges', "
     "'mask', a list of them, or 'all'; every view is drawn before the first file is written) and "
     "<base>.relevance.npy, atomically (render::write_heatmap_files). Keyword knobs: see HeatmapOptions.");
  m.def("write_npy", [](py::object path, py::handle relevance) {
    const std::string p = to_path(path);
    const Relevance r = relevance_arg(relevance);
    py::gil_scoped_release release;
    render::write_npy(p, *r.map);
  }, py::arg("path"), py::arg("relevance"), "Writes R as float32 H x W .npy (as `bowlrp explain`).");
  m.def("colormap_names", &render::colormap_names, "Names of the diverging colour maps.");
  m.def("apply_colormap", [](py::array_t<double, py::array::forcecast> v, const std::string& name) {
    render::colormap_bgr(name, 0.0);  // ValueError for an unknown name, listing the known ones
    std::vector<py::ssize_t> shape(v.shape(), v.shape() + v.ndim());
    shape.push_back(3);
    py::array_t<unsigned char> out(shape);
    auto in = py::array_t<double, py::array::c_style | py::array::forcecast>::ensure(v);
    const double* s = in.data();
    unsigned char* d = out.mutable_data();
    const py::ssize_t n = in.size();
    for (py::ssize_t i = 0; i < n; ++i)
      if (std::isnan(s[i])) throw py::value_error("apply_colormap: value " + std::to_string(i) + " is NaN");
    {
      py::gil_scoped_release release;
      for (py::ssize_t i = 0; i < n; ++i) {
        const auto bgr = render::colormap_bgr(name, std::clamp(s[i], -1.0, 1.0));
        d[3 * i] = bgr[2];
        d[3 * i + 1] = bgr[1];
        d[3 * i + 2] = bgr[0];
      }
    }
    return out;
  }, py::arg("values"), py::arg("colormap") = "bwr",
     "Colours of values in [-1, 1] (clipped) under a diverging map as uint8 RGB (shape + (3,)): the colours of the "
     "library's renderer, 0 the neutral colour, v > 0 reds, v < 0 blues.");
}

}  // namespace bowlrp::python
