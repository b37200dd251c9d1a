// The compiled half of the Python package bowlrp: module _bowlrp, one Bind* function per area.
//
// Import sets up the runtime exactly as the command-line tool does (core::init_runtime: a
// single-threaded BLAS), which the bit-identical agreement of Python and CLI results relies on.
// C++ exceptions arrive as Python exceptions with the same message: std::invalid_argument ->
// ValueError, std::out_of_range -> IndexError, std::runtime_error and std::logic_error ->
// RuntimeError (pybind11's standard translation).
#include "bindings.h"

#include <bowlrp/core/parallel.h>

#ifndef BOWLRP_VERSION
#define BOWLRP_VERSION "unknown"
#endif

PYBIND11_MODULE(_bowlrp, m) {
  namespace py = pybind11;
  m.doc() =
      "bowlrp: Bag-of-Words + kernel SVM image classification explained pixel by pixel with Layer-wise "
      "Relevance Propagation (Bach et al. 2015). The compiled core of the bowlrp package; use `import bowlrp`.";
  m.attr("__version__") = BOWLRP_VERSION;
  bowlrp::core::init_runtime();
  bowlrp::python::BindCommon(m);
  bowlrp::python::BindDatasets(m);
  bowlrp::python::BindModel(m);
  bowlrp::python::BindExplain(m);
  bowlrp::python::BindRender(m);
  bowlrp::python::BindEvaluation(m);
  bowlrp::python::BindSpray(m);
  bowlrp::python::BindTiming(m);
}
