// The Python-side explanation object: the library's ImageExplanation, its frames moved beside it (the
// numpy views of `frames` point into this vector). Shared by explain, render and evaluation bindings.
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/model/explain.h>

#include <string>
#include <vector>

namespace bowlrp::python {

/// One explained image with the frames of its local features.
struct PyExplanation {
  model::ImageExplanation result;  ///< relevance at every layer, scores, conservation, verdict
  std::vector<bow::Frame> frames;  ///< L frames, the order of result.explanation.features.R
  std::string record;              ///< model::explanation_json (empty when the explanation failed)
};

}  // namespace bowlrp::python
