// Shared pieces of the Python bindings (module _bowlrp): numpy in and out, the progress bridge,
// option "knobs" (flat keyword arguments over the library's option structs, whose defaults stay in
// C++) and the Bind* entry points, one per area and source file.
//
// GIL discipline: every call that can take long releases the GIL (py::gil_scoped_release) after its
// Python arguments have been converted, and re-acquires it only inside the progress callback.
// Arrays returned without a copy are views of a buffer owned by a bound C++ object: the array's
// base is that object, so the buffer lives as long as any view of it.
#pragma once

#include <bowlrp/bow/image.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/model/model.h>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bowlrp::python {

namespace py = pybind11;

void BindCommon(py::module_& m);
void BindDatasets(py::module_& m);
void BindModel(py::module_& m);
void BindExplain(py::module_& m);
void BindRender(py::module_& m);
void BindEvaluation(py::module_& m);
void BindSpray(py::module_& m);
void BindTiming(py::module_& m);

// ---------------------------------------------------------------------------------------------
// Progress

/// Turns the `progress` argument of a binding (None / False: silent, True: the stderr bar of
/// bowlrp._progress, or any callable taking a bowlrp.ProgressEvent) into a core::ProgressFn that
/// takes the GIL for each call. A Python exception raised by the callable (or a pending
/// KeyboardInterrupt, checked at every event) aborts the C++ call; rethrow() then re-raises it with
/// its original type once the GIL is held again.
class ProgressBridge {
 public:
  /// Must be constructed with the GIL held.
  explicit ProgressBridge(const py::object& progress);
  ProgressBridge(const ProgressBridge&) = delete;
  ProgressBridge& operator=(const ProgressBridge&) = delete;
  /// Releases the callable with the GIL held.
  ~ProgressBridge();
  /// The callback to hand to the library (valid while this bridge lives).
  core::ProgressFn fn();
  /// With the GIL held: re-raises the Python exception that aborted the call, if any.
  void rethrow();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

/// Runs f() without the GIL, with a progress bridge: f receives the core::ProgressFn. A Python error
/// raised in the callback is re-raised as itself; any other exception propagates unchanged.
template <class F>
auto with_progress(const py::object& progress, F&& f) {
  ProgressBridge bridge(progress);
  core::ProgressFn fn = bridge.fn();
  try {
    py::gil_scoped_release release;
    return f(fn);
  } catch (...) {
    bridge.rethrow();  // the callback's own exception, when that is what aborted the call
    throw;
  }
}

// ---------------------------------------------------------------------------------------------
// Paths and images

/// str or os.PathLike -> UTF-8 path; TypeError naming `what` otherwise.
std::string to_path(py::handle h, const char* what = "path");
/// Whether h is a str or an os.PathLike.
bool is_path(py::handle h);

/// A class argument (`class_`): its name or an index (`__index__`, not bool); TypeError for anything
/// else, IndexError outside 0 .. C-1, the library's ValueError for an unknown name.
std::size_t class_argument(const model::Model& m, py::handle cls);
/// Stage timings as a dict {stage: seconds}.
py::dict timings_dict(const std::vector<std::pair<std::string, double>>& t);

/// A numpy image held for conversion: uint8 HxW (grey), HxWx3 (RGB), HxWx4 (RGBA) or floating
/// HxW in [0, 1] (grey). Checked and made C-contiguous with the GIL held; convert() needs no GIL.
class ArrayImage {
 public:
  /// Throws ValueError / TypeError naming `what` (e.g. "images[3]") for other shapes or dtypes, and
  /// ValueError for more than max_pixels pixels (0: no limit) or a side above INT_MAX, before any copy.
  ArrayImage(py::handle array, const std::string& what, long long max_pixels = bow::ImageOptions{}.max_pixels);
  /// The pipeline's grey image (RGB -> BGR for bow::ImageLoader::from_bgr8, floats by from_gray).
  bow::GrayImage convert(const bow::ImageLoader& loader) const;
  /// The image as 8-bit BGR for rendering (grey and floats are replicated, floats x 255 rounded).
  render::Bgr8Image bgr8() const;
  int width() const { return width_; }
  int height() const { return height_; }
  int channels() const { return channels_; }
  bool floating() const { return floating_; }
  /// The checked C-contiguous array: uint8 (H, W[, C]) or float32 (H, W).
  const py::array& array() const { return array_; }

 private:
  py::array array_;  // C-contiguous uint8 or float32
  int width_ = 0, height_ = 0, channels_ = 1;
  bool floating_ = false;
};

/// A list of inputs that are either all paths or all numpy images (a single path or array counts
/// as a list of one; `single` says so).
struct Inputs {
  bool single = false;
  bool arrays = false;
  std::vector<std::string> paths;
  std::vector<ArrayImage> images;
  std::size_t size() const { return arrays ? images.size() : paths.size(); }
};
/// Reads `x` as above; TypeError for mixed or other inputs, ValueError for an empty list.
/// Arrays are bounded by max_pixels (ArrayImage).
Inputs read_inputs(py::handle x, const char* what = "images", long long max_pixels = bow::ImageOptions{}.max_pixels);

/// uint8 HxWx3 RGB copy of a BGR image.
py::array_t<unsigned char> rgb_array(const render::Bgr8Image& image);
/// BGR copy of a uint8 HxWx3 RGB (or HxW grey, HxWx4 RGBA) array; ValueError naming `what` otherwise.
render::Bgr8Image bgr8_from_rgb(py::handle array, const std::string& what);

// ---------------------------------------------------------------------------------------------
// numpy views

/// Marks an array read-only (views of library-owned buffers are not to be written through).
void set_read_only(py::array& a);
/// Read-only view of data[0, prod(shape)) kept alive by `owner` (no copy).
template <class T>
py::array_t<T> view(const T* data, std::vector<py::ssize_t> shape, py::handle owner) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t s = sizeof(T);
  for (std::size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= shape[i];
  }
  // A null pointer is not a valid numpy buffer even for 0 elements.
  static const T empty{};
  py::array_t<T> a(shape, strides, data ? data : &empty, owner);
  set_read_only(a);
  return a;
}
/// Copy of a vector as a 1-D (or given shape) array.
template <class T>
py::array_t<T> copy_array(const std::vector<T>& v, std::vector<py::ssize_t> shape = {}) {
  if (shape.empty()) shape = {static_cast<py::ssize_t>(v.size())};
  py::array_t<T> a(shape);
  if (!v.empty()) std::copy(v.begin(), v.end(), a.mutable_data());
  return a;
}
/// bool array of a char vector.
py::array_t<bool> bool_array(const std::vector<char>& v);

// ---------------------------------------------------------------------------------------------
// Knobs: flat keyword options over nested C++ option structs

/// One option: its keyword name, doc, and how to read it from / write it into T.
template <class T>
struct Knob {
  std::string name;
  std::string doc;
  std::function<py::object(const T&)> get;
  std::function<void(T&, py::handle)> set;
};
template <class T>
using Knobs = std::vector<Knob<T>>;

/// Converts a Python value to V, raising TypeError naming the option and the expected type.
template <class V>
V cast_value(py::handle h, const std::string& name) {
  if constexpr (std::is_same_v<V, bool>) {
    if (!py::isinstance<py::bool_>(h) && !(py::hasattr(h, "dtype") && py::str(h.attr("dtype")).cast<std::string>() == "bool"))
      throw py::type_error("option " + name + ": expected a bool, got " + py::repr(h).cast<std::string>());
  } else if constexpr (std::is_integral_v<V>) {
    if (py::isinstance<py::bool_>(h) || !py::hasattr(h, "__index__"))
      throw py::type_error("option " + name + ": expected an int, got " + py::repr(h).cast<std::string>());
    if constexpr (std::is_unsigned_v<V>) {
      if (h.attr("__index__")().cast<py::int_>() < py::int_(0))
        throw py::value_error("option " + name + ": expected an int >= 0, got " + py::repr(h).cast<std::string>());
    }
  } else if constexpr (std::is_floating_point_v<V>) {
    if (py::isinstance<py::bool_>(h) || !(py::isinstance<py::float_>(h) || py::hasattr(h, "__index__") ||
                                          py::hasattr(h, "__float__")))
      throw py::type_error("option " + name + ": expected a number, got " + py::repr(h).cast<std::string>());
  } else if constexpr (std::is_same_v<V, std::string>) {
    if (py::isinstance<py::str>(h)) return h.cast<std::string>();
    if (py::hasattr(h, "__fspath__")) return to_path(h, name.c_str());
    throw py::type_error("option " + name + ": expected a str, got " + py::repr(h).cast<std::string>());
  }
  try {
    return h.cast<V>();
  } catch (const py::cast_error&) {
    throw py::type_error("option " + name + ": cannot take " + py::repr(h).cast<std::string>());
  }
}

/// A knob reading and writing the field that `access` returns a reference to.
template <class T, class F>
Knob<T> field_knob(const std::string& name, const std::string& doc, F access) {
  using V = std::decay_t<decltype(access(std::declval<T&>()))>;
  return Knob<T>{name, doc, [access](const T& t) { return py::cast(access(const_cast<T&>(t))); },
                 [access, name](T& t, py::handle h) { access(t) = cast_value<V>(h, name); }};
}

/// A knob over an enum held as its name (to_string / from_string of the library).
template <class T, class F, class ToS, class FromS>
Knob<T> enum_knob(const std::string& name, const std::string& doc, F access, ToS to_s, FromS from_s) {
  return Knob<T>{name, doc, [access, to_s](const T& t) { return py::cast(to_s(access(const_cast<T&>(t)))); },
                 [access, from_s, name](T& t, py::handle h) { access(t) = from_s(cast_value<std::string>(h, name)); }};
}

/// The knobs of an inner struct reached through `lens` (Outer& -> Inner&), optionally leaving out names.
template <class Outer, class Inner, class L>
Knobs<Outer> lens_knobs(const Knobs<Inner>& inner, L lens, const std::vector<std::string>& except = {}) {
  Knobs<Outer> out;
  for (const Knob<Inner>& k : inner) {
    if (std::find(except.begin(), except.end(), k.name) != except.end()) continue;
    out.push_back(Knob<Outer>{k.name, k.doc, [lens, g = k.get](const Outer& o) { return g(lens(const_cast<Outer&>(o))); },
                              [lens, s = k.set](Outer& o, py::handle h) { s(lens(o), h); }});
  }
  return out;
}

/// Sets the named knobs of t from a dict (TypeError for unknown names, listing the known ones).
template <class T>
void apply_knobs(T& t, const Knobs<T>& knobs, const py::dict& values, const std::string& what) {
  for (auto item : values) {
    const std::string key = py::str(item.first);
    auto it = std::find_if(knobs.begin(), knobs.end(), [&](const Knob<T>& k) { return k.name == key; });
    if (it == knobs.end()) {
      std::string known;
      for (const Knob<T>& k : knobs) known += (known.empty() ? "" : ", ") + k.name;
      throw py::type_error(what + ": unknown option '" + key + "' (known: " + known + ")");
    }
    it->set(t, item.second);
  }
}

/// The knobs of t as a dict, in declaration order.
template <class T>
py::dict knobs_dict(const T& t, const Knobs<T>& knobs) {
  py::dict d;
  for (const Knob<T>& k : knobs) d[py::str(k.name)] = k.get(t);
  return d;
}

/// Binds T as an options class: keyword constructor over the knobs (defaults = T{}), one property
/// per knob, to_dict(), defaults(), names(), copy, equality, repr and pickling; validate() if given.
template <class T>
py::class_<T> bind_options(py::module_& m, const char* name, const std::string& doc, std::shared_ptr<const Knobs<T>> knobs,
                           std::function<void(const T&)> validate = {}) {
  std::string full_doc = doc + "\n\nKeyword options (defaults are the library's):\n";
  const T defaults{};
  for (const Knob<T>& k : *knobs)
    full_doc += "  " + k.name + " = " + py::repr(k.get(defaults)).template cast<std::string>() + ": " + k.doc + "\n";
  py::class_<T> cls(m, name, full_doc.c_str());
  const std::string cname = name;
  cls.def(py::init([knobs, cname](const py::kwargs& kw) {
            T t{};
            apply_knobs(t, *knobs, kw, cname);
            return t;
          }),
          "Options from keyword arguments; unknown names raise TypeError.");
  for (const Knob<T>& k : *knobs)
    cls.def_property(
        k.name.c_str(), [g = k.get](const T& t) { return g(t); }, [s = k.set](T& t, py::handle h) { s(t, h); },
        k.doc.c_str());
  cls.def("to_dict", [knobs](const T& t) { return knobs_dict(t, *knobs); }, "Every option as a dict, in order.");
  cls.def_static("defaults", [knobs]() { return knobs_dict(T{}, *knobs); },
                 "The library's default of every option, as a dict.");
  cls.def_static("names", [knobs]() {
    std::vector<std::string> n;
    for (const Knob<T>& k : *knobs) n.push_back(k.name);
    return n;
  }, "The option names, in order.");
  cls.def("replace", [knobs, cname](const T& t, const py::kwargs& kw) {
    T c = t;
    apply_knobs(c, *knobs, kw, cname);
    return c;
  }, "A copy with the given options changed.");
  cls.def("__copy__", [](const T& t) { return T(t); });
  cls.def("__deepcopy__", [](const T& t, py::dict) { return T(t); }, py::arg("memo"));
  cls.def("__eq__", [knobs](const T& a, py::object b) {
    if (!py::isinstance<T>(b)) return false;
    return knobs_dict(a, *knobs).equal(knobs_dict(b.cast<const T&>(), *knobs));
  });
  cls.def("__repr__", [knobs, cname](const T& t) {
    std::string s = cname + "(";
    bool first = true;
    for (const Knob<T>& k : *knobs) {
      s += (first ? "" : ", ") + k.name + "=" + py::repr(k.get(t)).template cast<std::string>();
      first = false;
    }
    return s + ")";
  });
  cls.def(py::pickle([knobs](const T& t) { return knobs_dict(t, *knobs); },
                     [knobs, cname](const py::dict& d) {
                       T t{};
                       apply_knobs(t, *knobs, d, cname);
                       return t;
                     }));
  if (validate)
    cls.def("validate", [validate](const T& t) { validate(t); },
            "Raises ValueError naming the bad field, its value and what was expected.");
  return cls;
}

/// Options of type T from an optional base object and keyword overrides.
template <class T>
T options_from(py::handle base, const py::kwargs& kw, const Knobs<T>& knobs, const std::string& what) {
  T t{};
  if (base && !base.is_none()) t = base.cast<T>();
  apply_knobs(t, knobs, kw, what);
  return t;
}

}  // namespace bowlrp::python
