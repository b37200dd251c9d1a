// The registration point of the encodings: every encoding kind is one alternative of Encoding, listed
// here once, in the order of the model file's kinds. Everything else is derived from this list: a
// trace (Trace) is the forward record of one image through an encoding, one alternative per kind
// (the type the stage's encode() returns), and a kind's model-level knowledge (name, model-file codec,
// fit, summaries) is a specialisation of model::EncodingTraits in the kind's own files
// (model/kinds/*.h), which the compiler demands for every alternative listed here.
//
// Every trace keeps the dense SIFT features (frames with their pixel supports), the classifier
// input Φ(x) (V values, histogram()) and the fingerprint of the pipeline that made it (pipeline),
// which is what the layers shared by every encoding (the head, pixels, flipping) read through the
// helpers below.
#pragma once

#include <bowlrp/core/digest.h>
#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/bow/vlad.h>

#include <memory>
#include <utility>
#include <variant>
#include <vector>

namespace bowlrp::bow {

/// An encoding (image -> Φ(x)), shared: one alternative per encoding kind.
using Encoding = std::variant<std::shared_ptr<const Pipeline>, std::shared_ptr<const FisherPipeline>,
                              std::shared_ptr<const VladPipeline>>;

/// The trace type of an encoding stage: what its encode() returns.
template <class Stage>
using TraceOf = decltype(std::declval<const Stage&>().encode(std::declval<const GrayImage&>()));

/// The variant of the traces of a variant of shared stages.
template <class E>
struct TracesOf;
/// (specialisation for std::variant<std::shared_ptr<const S>...>)
template <class... Stages>
struct TracesOf<std::variant<std::shared_ptr<const Stages>...>> {
  using type = std::variant<TraceOf<Stages>...>;  ///< one trace per stage
};

/// A trace of any encoding kind.
using Trace = TracesOf<Encoding>::type;

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
