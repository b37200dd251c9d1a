// The forward record of one image through any encoding: one alternative per encoding kind.
//
// Both alternatives keep the dense SIFT features (frames with their pixel supports), the classifier
// input Φ(x) (V values) and the fingerprint of the pipeline that made them, which is what the
// layers shared by every encoding (the head, pixels, flipping) read through the helpers below.
#pragma once

#include <bowlrp/core/digest.h>
#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/pipeline.h>

#include <variant>
#include <vector>

namespace bowlrp::bow {

/// A Bag-of-Words trace or a Fisher-vector trace.
using Trace = std::variant<EncodeTrace, FisherTrace>;

/// Φ(x), the head input of a trace (size V).
inline const std::vector<double>& head_input(const Trace& trace) {
  return std::visit([](const auto& t) -> const std::vector<double>& { return t.histogram(); }, trace);
}
/// The dense SIFT features of a trace.
inline const FeatureTrace& trace_features(const Trace& trace) {
  return std::visit([](const auto& t) -> const FeatureTrace& { return t.features; }, trace);
}
/// The fingerprint of the pipeline that made a trace.
inline const core::Digest& trace_fingerprint(const Trace& trace) {
  return std::visit([](const auto& t) -> const core::Digest& { return t.pipeline; }, trace);
}

}  // namespace bowlrp::bow
