// Submodule _bowlrp._timing: C++-side timing loops over the library's own batch calls, so that
// bench/bench_python.py can compare a Python call with the same work done without Python in the
// same process (same model, same files, same thread count). Not part of the public API.
#include "bindings.h"

#include <bowlrp/model/explain.h>
#include <bowlrp/model/model.h>
#include <bowlrp/model/predict.h>

#include <chrono>
#include <vector>

namespace bowlrp::python {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void BindTiming(py::module_& root) {
  py::module_ m = root.def_submodule("_timing", "C++ timing loops for bench/bench_python.py (not a public API).");
  m.def("predict_files", [](const model::Model& mo, const std::vector<std::string>& paths, int threads, bool per_image) {
    model::PredictOptions o;
    o.threads = threads;
    std::size_t ok = 0;
    double seconds = 0;
    {
      py::gil_scoped_release release;
      const auto t0 = std::chrono::steady_clock::now();
      if (per_image) {
        for (const std::string& p : paths) ok += model::predict_files(mo, {p}, o).ok[0] ? 1 : 0;
      } else {
        for (char c : model::predict_files(mo, paths, o).ok) ok += c ? 1 : 0;
      }
      seconds = seconds_since(t0);
    }
    return py::make_tuple(seconds, ok);
  }, py::arg("model"), py::arg("paths"), py::arg("threads") = 1, py::arg("per_image") = true,
     "Wall seconds of model::predict_files over the paths (one call per image, or one batch), and how many were read.");
  m.def("explain_files", [](const model::Model& mo, const std::vector<std::string>& paths, int threads, bool per_image) {
    model::ExplainOptions o;
    o.threads = threads;
    std::size_t ok = 0;
    double seconds = 0;
    {
      py::gil_scoped_release release;
      const auto t0 = std::chrono::steady_clock::now();
      {
        // The same job as the Python call: every explanation is kept (in its slot; the sink runs
        // on worker threads, one slot each) until the batch is done, then released.
        std::vector<model::ImageExplanation> kept(per_image ? 1 : paths.size());
        if (per_image) {
          for (const std::string& p : paths) {
            model::explain_files(mo, {p}, o, [&kept](model::ImageExplanation&& e) { kept[0] = std::move(e); });
            ok += kept[0].error.empty() ? 1 : 0;
          }
        } else {
          model::explain_files(mo, paths, o, [&kept](model::ImageExplanation&& e) { kept[e.index] = std::move(e); });
          for (const model::ImageExplanation& e : kept) ok += e.error.empty() ? 1 : 0;
        }
      }
      seconds = seconds_since(t0);
    }
    return py::make_tuple(seconds, ok);
  }, py::arg("model"), py::arg("paths"), py::arg("threads") = 1, py::arg("per_image") = true,
     "Wall seconds of model::explain_files over the paths (one call per image, or one batch), and how many were explained.");
}

}  // namespace bowlrp::python
