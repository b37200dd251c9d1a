// Datasets (submodule _bowlrp.datasets): the synthetic shapes generator, folder-per-class sets and
// image walks.
#include "bindings.h"

#include <bowlrp/datasets/folder.h>
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/datasets/voc.h>

namespace bowlrp::python {

namespace {

using SO = datasets::ShapesOptions;

std::shared_ptr<const Knobs<SO>> make_shapes_knobs() {
  Knobs<SO> k;
  k.push_back(Knob<SO>{"classes", "subset of 'circle', 'square', 'triangle', 'cross'",
                       [](const SO& o) { return py::object(py::cast(o.classes)); },
                       [](SO& o, py::handle h) {
                         if (py::isinstance<py::str>(h)) throw py::type_error("option classes: expected a list of class names, got a str");
                         o.classes = h.cast<std::vector<std::string>>();
                       }});
  k.push_back(field_knob<SO>("images_per_class", "images generated per class", [](SO& o) -> int& { return o.images_per_class; }));
  k.push_back(field_knob<SO>("width", "image width, px", [](SO& o) -> int& { return o.width; }));
  k.push_back(field_knob<SO>("height", "image height, px", [](SO& o) -> int& { return o.height; }));
  k.push_back(field_knob<SO>("min_scale", "smallest object side / min(width, height)", [](SO& o) -> double& { return o.min_scale; }));
  k.push_back(field_knob<SO>("max_scale", "largest object side / min(width, height)", [](SO& o) -> double& { return o.max_scale; }));
  k.push_back(field_knob<SO>("max_rotation", "largest rotation in degrees, either sense", [](SO& o) -> double& { return o.max_rotation; }));
  k.push_back(field_knob<SO>("seed", "everything random derives from it", [](SO& o) -> std::uint64_t& { return o.seed; }));
  return std::make_shared<const Knobs<SO>>(std::move(k));
}

py::list problems_list(const std::vector<datasets::WalkProblem>& p) {
  py::list l;
  for (const datasets::WalkProblem& x : p) l.append(py::make_tuple(x.path, x.reason));
  return l;
}

}  // namespace

void BindDatasets(py::module_& root) {
  py::module_ m = root.def_submodule("datasets", "Image sets: synthetic shapes, folder-per-class sets, image walks, VOC class names.");
  static const auto shapes_knobs = make_shapes_knobs();
  bind_options<SO>(m, "ShapesOptions", "Options of the synthetic shapes generator.", shapes_knobs, [](const SO& o) { o.validate(); });

  m.def("write_shapes", [](py::object root_dir, py::handle options, const py::kwargs& kw) {
    const SO o = options_from(options, kw, *shapes_knobs, "write_shapes");
    const std::string r = to_path(root_dir, "root");
    py::gil_scoped_release release;
    return datasets::write_shapes(o, r);
  }, py::arg("root"), py::kw_only(), py::arg("options") = py::none(),
     "Writes the seeded synthetic shapes set as ROOT/images/<class>/<class>_NNNN.png (a folder-per-class set) and "
     "its object masks as ROOT/masks/<class>/<class>_NNNN.png; returns the number of images. Keyword knobs: see "
     "ShapesOptions (e.g. images_per_class=12, width=96, height=96).");
  m.def("generate_shape", [](int index, py::handle options, const py::kwargs& kw) {
    const SO o = options_from(options, kw, *shapes_knobs, "generate_shape");
    datasets::ShapeImage s;
    {
      py::gil_scoped_release release;
      s = datasets::generate_shape(o, index);
    }
    render::Bgr8Image bgr;
    bgr.width = s.width;
    bgr.height = s.height;
    bgr.data = s.bgr;
    py::array_t<bool> mask({static_cast<py::ssize_t>(s.height), static_cast<py::ssize_t>(s.width)});
    for (std::size_t i = 0; i < s.mask.size(); ++i) mask.mutable_data()[i] = s.mask[i] != 0;
    py::dict d;
    d["class_name"] = s.class_name;
    d["image"] = rgb_array(bgr);
    d["mask"] = mask;
    d["scale"] = s.scale;
    d["center"] = py::make_tuple(s.center_x, s.center_y);
    d["rotation"] = s.rotation;
    return d;
  }, py::arg("index"), py::kw_only(), py::arg("options") = py::none(),
     "Image `index` of the set in memory: a dict with class_name, image (uint8 RGB), mask (bool, the object), "
     "scale, center (x, y) and rotation. IndexError outside the set.");
  m.def("shape_mask_path", &datasets::shape_mask_path, py::arg("image_path"),
        "Mask path of an image written by write_shapes (ROOT/images/C/F.png -> ROOT/masks/C/F.png).");
  m.def("scan_folder", [](py::object root_dir) {
    const std::string r = to_path(root_dir, "root");
    datasets::FolderDataset set;
    {
      py::gil_scoped_release release;
      set = datasets::FolderDataset::scan(r);
    }
    py::list paths, labels;
    for (const datasets::LabelledImage& i : set.images) {
      paths.append(i.path);
      labels.append(set.classes[i.label]);
    }
    py::dict d;
    d["classes"] = set.classes;
    d["paths"] = paths;
    d["labels"] = labels;
    d["problems"] = problems_list(set.problems);
    return d;
  }, py::arg("root"),
     "Lists ROOT/<class>/<image> as the library does (sorted; hidden entries, top-level files and other extensions "
     "ignored): a dict with classes, paths, labels (class name per path) and problems [(path, reason)]. "
     "RuntimeError naming the folder when it is missing or holds no class folder with images.");
  m.def("find_images", [](std::vector<std::string> paths) {
    datasets::ImageWalk w;
    {
      py::gil_scoped_release release;
      w = datasets::find_images(paths);
    }
    return py::make_tuple(w.files, problems_list(w.problems));
  }, py::arg("paths"), "Image files under the given files and folders (recursive), and the entries that could not be read: (files, problems).");
  m.def("has_image_extension", &datasets::has_image_extension, py::arg("path"));
  m.def("voc_classes", &datasets::voc_classes, "The 20 VOC classes in the official order.");
}

}  // namespace bowlrp::python
