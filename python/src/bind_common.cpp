// Shared helpers of the bindings (bindings.h) and what every area uses: progress events, thread
// limits, image reading and PNG writing.
#include "bindings.h"

#include <bowlrp/core/parallel.h>
#include <bowlrp/render/heatmap.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace bowlrp::python {

// ---------------------------------------------------------------------------------------------
// Progress bridge

struct ProgressBridge::State {
  PyObject* fn = nullptr;     // the Python callable (a new reference), or null: signal checks only
  bool failed = false;        // a Python error aborted the call; later events are refused at once
  std::exception_ptr error;   // that error (py::error_already_set)
};

namespace {
/// Thrown into the library by events after the first failure (the first failure's own exception
/// is what the caller sees).
struct ProgressAborted : std::runtime_error {
  ProgressAborted() : std::runtime_error("aborted by the progress callback") {}
};
}  // namespace

ProgressBridge::ProgressBridge(const py::object& progress) : state_(std::make_shared<State>()) {
  py::object fn;
  if (progress.is_none() || (py::isinstance<py::bool_>(progress) && !progress.cast<bool>())) {
    // silent; signals are still checked
  } else if (py::isinstance<py::bool_>(progress)) {
    fn = py::module_::import("bowlrp._progress").attr("StderrBar")();
  } else if (PyCallable_Check(progress.ptr())) {
    fn = progress;
  } else {
    throw py::type_error("progress: expected None, a bool or a callable taking a bowlrp.ProgressEvent, got " +
                         py::repr(progress).cast<std::string>());
  }
  if (fn) state_->fn = fn.release().ptr();
}

ProgressBridge::~ProgressBridge() {
  // Constructed and destroyed with the GIL held; copies of fn() may outlive the bridge inside the
  // library, so they hold only the state and never touch a reference count.
  Py_XDECREF(state_->fn);
  state_->fn = nullptr;
}

core::ProgressFn ProgressBridge::fn() {
  std::shared_ptr<State> st = state_;
  return [st](const core::ProgressEvent& event) {
    py::gil_scoped_acquire gil;
    if (st->failed) throw ProgressAborted();
    try {
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();  // e.g. KeyboardInterrupt
      if (st->fn) py::handle(st->fn)(event);
    } catch (py::error_already_set&) {
      st->failed = true;
      st->error = std::current_exception();
      throw;
    }
  };
}

void ProgressBridge::rethrow() {
  if (state_->error) {
    std::exception_ptr e = state_->error;
    state_->error = nullptr;
    std::rethrow_exception(e);
  }
}

// ---------------------------------------------------------------------------------------------
// Paths and images

bool is_path(py::handle h) { return py::isinstance<py::str>(h) || py::hasattr(h, "__fspath__"); }

std::string to_path(py::handle h, const char* what) {
  if (!is_path(h))
    throw py::type_error(std::string(what) + ": expected a str or os.PathLike, got " +
                         py::repr(h).cast<std::string>());
  py::object os = py::module_::import("os");
  std::string path = os.attr("fsdecode")(os.attr("fspath")(h)).cast<std::string>();
  // The C library would cut the path at the NUL and open another file; Python's open() refuses it too.
  if (path.find('\0') != std::string::npos)
    throw py::value_error(std::string(what) + ": embedded null byte in " + py::repr(h).cast<std::string>());
  return path;
}

namespace {
std::string describe(const py::array& a) {
  std::string shape = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) shape += (i ? ", " : "") + std::to_string(a.shape(i));
  if (a.ndim() == 1) shape += ",";
  return "shape " + shape + ") dtype " + py::str(a.dtype()).cast<std::string>();
}
}  // namespace

ArrayImage::ArrayImage(py::handle h, const std::string& what, long long max_pixels) {
  if (!py::isinstance<py::array>(h))
    throw py::type_error(what + ": expected a numpy array or an image path, got " +
                         py::str(py::type::of(h).attr("__name__")).cast<std::string>());
  py::array a = py::reinterpret_borrow<py::array>(h);
  const char kind = a.dtype().kind();
  const std::string expected =
      ": expected a uint8 array HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA), or a float array HxW (grey, values in [0, 1]), got ";
  const bool shape_ok = a.ndim() == 2 || (a.ndim() == 3 && (a.shape(2) == 1 || a.shape(2) == 3 || a.shape(2) == 4));
  if (!shape_ok || a.shape(0) < 1 || a.shape(1) < 1) throw py::value_error(what + expected + describe(a));
  // Before any copy (a stride-0 view of a few bytes can stand for gigabytes) and before the sides
  // are narrowed to int.
  constexpr py::ssize_t kMaxSide = std::numeric_limits<int>::max();
  if (a.shape(0) > kMaxSide || a.shape(1) > kMaxSide)
    throw py::value_error(what + ": " + describe(a) + " has a side above " + std::to_string(kMaxSide) + " pixels");
  const long long pixels = static_cast<long long>(a.shape(0)) * static_cast<long long>(a.shape(1));
  if (max_pixels > 0 && pixels > max_pixels)
    throw py::value_error(what + ": a " + std::to_string(a.shape(1)) + "x" + std::to_string(a.shape(0)) + " array (" +
                          std::to_string(pixels) + " pixels): more than the limit of " + std::to_string(max_pixels) +
                          " pixels (max_pixels), refused before any copy");
  height_ = static_cast<int>(a.shape(0));
  width_ = static_cast<int>(a.shape(1));
  channels_ = a.ndim() == 3 ? static_cast<int>(a.shape(2)) : 1;
  if (kind == 'u' && a.itemsize() == 1) {
    array_ = py::array_t<unsigned char, py::array::c_style>::ensure(a);
  } else if (kind == 'f') {
    if (channels_ != 1) throw py::value_error(what + expected + describe(a));
    floating_ = true;
    array_ = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    const float* p = static_cast<const float*>(array_.data());
    const std::size_t n = static_cast<std::size_t>(width_) * height_;
    for (std::size_t i = 0; i < n; ++i)
      if (!(p[i] >= 0.0f && p[i] <= 1.0f))
        throw py::value_error(what + ": a float image must hold grey values in [0, 1], got " + std::to_string(p[i]) +
                              " at index " + std::to_string(i));
  } else {
    throw py::type_error(what + expected + describe(a));
  }
  if (!array_) throw py::error_already_set();
}

bow::GrayImage ArrayImage::convert(const bow::ImageLoader& loader) const {
  if (floating_) return loader.from_gray(static_cast<const float*>(array_.data()), width_, height_);
  const auto* p = static_cast<const unsigned char*>(array_.data());
  if (channels_ == 1) return loader.from_bgr8(p, width_, height_, 1);
  // RGB(A) -> BGR(A): bow::ImageLoader::from_bgr8 wants OpenCV's channel order.
  const std::size_t n = static_cast<std::size_t>(width_) * height_;
  std::vector<unsigned char> bgr(n * channels_);
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* s = p + i * channels_;
    unsigned char* d = bgr.data() + i * channels_;
    d[0] = s[2];
    d[1] = s[1];
    d[2] = s[0];
    if (channels_ == 4) d[3] = s[3];
  }
  return loader.from_bgr8(bgr.data(), width_, height_, channels_);
}

render::Bgr8Image ArrayImage::bgr8() const {
  const std::size_t n = static_cast<std::size_t>(width_) * height_;
  render::Bgr8Image out;
  out.width = width_;
  out.height = height_;
  out.data.resize(n * 3);
  if (floating_) {
    const float* p = static_cast<const float*>(array_.data());
    for (std::size_t i = 0; i < n; ++i) {
      const auto v = static_cast<unsigned char>(std::lround(p[i] * 255.0f));
      out.data[3 * i] = out.data[3 * i + 1] = out.data[3 * i + 2] = v;
    }
    return out;
  }
  const auto* p = static_cast<const unsigned char*>(array_.data());
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* s = p + i * channels_;
    unsigned char* d = out.data.data() + 3 * i;
    if (channels_ == 1) {
      d[0] = d[1] = d[2] = s[0];
    } else {
      d[0] = s[2];
      d[1] = s[1];
      d[2] = s[0];
    }
  }
  return out;
}

Inputs read_inputs(py::handle x, const char* what, long long max_pixels) {
  Inputs in;
  if (is_path(x)) {
    in.single = true;
    in.paths.push_back(to_path(x, what));
    return in;
  }
  if (py::isinstance<py::array>(x)) {
    in.single = true;
    in.arrays = true;
    in.images.emplace_back(x, what, max_pixels);
    return in;
  }
  if (!py::isinstance<py::iterable>(x))
    throw py::type_error(std::string(what) + ": expected an image path, a numpy image or a list of either, got " +
                         py::str(py::type::of(x).attr("__name__")).cast<std::string>());
  std::size_t i = 0;
  bool seen_path = false, seen_array = false;
  for (py::handle item : x) {
    const std::string name = std::string(what) + "[" + std::to_string(i++) + "]";
    if (is_path(item)) {
      seen_path = true;
      in.paths.push_back(to_path(item, name.c_str()));
    } else {
      seen_array = true;
      in.images.emplace_back(item, name, max_pixels);
    }
    if (seen_path && seen_array)
      throw py::type_error(std::string(what) + ": give either image paths or numpy images, not both (" + name +
                           " breaks the pattern)");
  }
  in.arrays = seen_array;
  return in;
}

py::array_t<unsigned char> rgb_array(const render::Bgr8Image& image) {
  py::array_t<unsigned char> a({static_cast<py::ssize_t>(image.height), static_cast<py::ssize_t>(image.width),
                                static_cast<py::ssize_t>(3)});
  unsigned char* d = a.mutable_data();
  const std::size_t n = static_cast<std::size_t>(image.width) * image.height;
  for (std::size_t i = 0; i < n; ++i) {
    d[3 * i] = image.data[3 * i + 2];
    d[3 * i + 1] = image.data[3 * i + 1];
    d[3 * i + 2] = image.data[3 * i];
  }
  return a;
}

render::Bgr8Image bgr8_from_rgb(py::handle array, const std::string& what) { return ArrayImage(array, what).bgr8(); }

void set_read_only(py::array& a) { a.attr("setflags")(py::arg("write") = false); }

py::array_t<bool> bool_array(const std::vector<char>& v) {
  py::array_t<bool> a(static_cast<py::ssize_t>(v.size()));
  bool* d = a.mutable_data();
  for (std::size_t i = 0; i < v.size(); ++i) d[i] = v[i] != 0;
  return a;
}

// ---------------------------------------------------------------------------------------------

void BindCommon(py::module_& m) {
  py::class_<core::ProgressEvent>(m, "ProgressEvent",
                                 "One progress report of a stage, handed to a `progress` callable. Called from "
                                 "worker threads, never twice at once, with the GIL held.")
      .def_property_readonly(
          "kind",
          [](const core::ProgressEvent& e) {
            switch (e.kind) {
              case core::ProgressEvent::Kind::start: return "start";
              case core::ProgressEvent::Kind::step: return "step";
              case core::ProgressEvent::Kind::finish: return "finish";
              case core::ProgressEvent::Kind::note: return "note";
            }
            return "step";
          },
          "'start' (done = 0), 'step', 'finish' or 'note' (a line to show, in text).")
      .def_readonly("stage", &core::ProgressEvent::stage, "Stage name, e.g. 'encode train'.")
      .def_readonly("done", &core::ProgressEvent::done, "Units done so far.")
      .def_readonly("total", &core::ProgressEvent::total, "Units in the stage.")
      .def_readonly("text", &core::ProgressEvent::text, "For notes: the line to show.")
      .def("__iter__", [](const core::ProgressEvent& e) { return py::iter(py::make_tuple(e.stage, e.done, e.total)); },
           "Unpacks as (stage, done, total).")
      .def("__repr__", [](const core::ProgressEvent& e) {
        return "ProgressEvent(stage=" + py::repr(py::str(e.stage)).cast<std::string>() + ", done=" +
               std::to_string(e.done) + ", total=" + std::to_string(e.total) + ")";
      });

  m.attr("MAX_THREADS") = core::kMaxThreads;
  m.def("resolve_threads", &core::resolve_threads, py::arg("threads") = 0,
        "Worker threads a thread-count option means: threads if > 0, else the number of cores "
        "(ValueError outside 0 .. MAX_THREADS).");

  m.def(
      "read_image",
      [](py::object path) {
        const std::string p = to_path(path);
        render::Bgr8Image image;
        {
          py::gil_scoped_release release;
          image = render::load_bgr8(p);
        }
        return rgb_array(image);
      },
      py::arg("path"),
      "Reads an image file as a uint8 HxWx3 RGB array (grey files are replicated to three channels). "
      "Raises RuntimeError naming the path if it cannot be decoded.");
  m.def(
      "write_png",
      [](py::object path, py::handle rgb) {
        const std::string p = to_path(path);
        const render::Bgr8Image image = bgr8_from_rgb(rgb, "image");
        py::gil_scoped_release release;
        render::write_png(p, image);
      },
      py::arg("path"), py::arg("image"),
      "Writes a uint8 HxWx3 RGB (or HxW grey, HxWx4 RGBA without its alpha) array as a PNG file, atomically. "
      "Raises RuntimeError naming the path on failure.");
}

std::size_t class_argument(const model::Model& m, py::handle cls) {
  if (py::isinstance<py::str>(cls)) return m.class_index(cls.cast<std::string>());
  if (py::isinstance<py::bool_>(cls) || !py::hasattr(cls, "__index__"))
    throw py::type_error("class_: expected a class name or an index, got " + py::repr(cls).cast<std::string>());
  const long long i = cls.attr("__index__")().cast<long long>();
  if (i < 0 || static_cast<std::size_t>(i) >= m.classes())
    throw py::index_error("class_: index " + std::to_string(i) + " outside 0 .. " + std::to_string(m.classes() - 1));
  return static_cast<std::size_t>(i);
}

py::dict timings_dict(const std::vector<std::pair<std::string, double>>& t) {
  py::dict d;
  for (const auto& [k, v] : t) d[py::str(k)] = v;
  return d;
}

}  // namespace bowlrp::python
