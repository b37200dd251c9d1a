// What the model layer knows of one kind of encoding or head, and the only place it is asked for.
//
// The kinds themselves are listed once: encodings in bow::Encoding (bow/trace.h), heads in
// decompose::Head (decompose/head.h). Each listed stage type S has, in its own files
// (model/kinds/<kind>.h and .cpp), a specialisation EncodingTraits<S> or HeadTraits<S> holding its
// name, its summaries, its defaults and training for fit(), and its sensitivity; its forward stage
// and its relevance partner (decompose: relevance_encoding / relevance_head / check_head) live with
// the stage. model/kinds.h includes every specialisation; the model, fit, the explainer, the
// evaluation and the bindings reach a kind only through std::visit over those lists, so a kind
// left out of kinds.h or missing a member is a compile error, never a silent fall-through.
//
// Why a variant and traits rather than an interface: the set of kinds is closed at build time (a
// model file names its kinds), the traces are plain values read in tight loops by the backward
// pass, and each kind's stage keeps its own concrete API (a Fisher trace's posteriors, a
// Bag-of-Words assignment) for the code that wants it; std::visit gives every generic caller
// exhaustive dispatch checked by the compiler, with no virtual call and no downcast.
//
// EncodingTraits<S> members:
//   name, alias                       the kind's name (model files, CLI, Python) and a short alias
//   summary(const S&)                 one line for `bowlrp info` / Model::encoding_summary
//   dimension_note                    how V is made, for the error of a head of another dimension
//   training_stage                    what fit() runs after the descriptor sample ("k-means", ...)
//   rule_fields(composite)            the rule parameters its backward pass used (explain JSON)
//   sensitivity(S, trace, |df/dΦ|)     the pixel map of |gradient| (evaluation's sensitivity order)
//   default_head, mirrors_by_default  fit()'s defaults for this encoding
//   non_negative                      whether every Φ_d >= 0 (kernels such as χ² need it)
//   validate(FitOptions), svm_C(FitOptions), fit_summary(FitOptions), train(...), restore(S, FitOptions)
// HeadTraits<S> members:
//   name, alias, summary(S, classes), check(S), applies_svm_bias, training_stage, sensitivity(S, cls, h),
//   needs_non_negative_inputs(S)     whether Φ must be >= 0 (χ², Hellinger, exp-χ² kernels; an artefact projection clamps)
//   parameter_layers(S), randomised(S, layers, seed)   cascading randomisation (Model::with_randomised_head)
//   validate(FitOptions), train(..., support_rows) (the training row of each support vector the head
//   keeps: its training images, model.h TrainingImage; none for heads that keep none), restore(S, FitOptions)
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace bowlrp::model {

struct FitOptions;
struct LabelledImages;
struct Skipped;
struct StageTimes;

/// The model layer's knowledge of one encoding kind (specialised per kind in model/kinds/).
template <class Stage>
struct EncodingTraits;
/// The model layer's knowledge of one head kind (specialised per kind in model/kinds/).
template <class Stage>
struct HeadTraits;

/// Refuses a cascading-randomisation depth beyond a head's parameter layers (std::invalid_argument).
void check_randomised_layers(std::size_t layers, std::size_t available);

/// The stage type held by a shared pointer (std::shared_ptr<const S> -> S).
template <class Shared>
using StageOf = std::remove_const_t<typename Shared::element_type>;

/// A type carried as a value, to hand a kind's stage type to a generic lambda (C++17).
template <class T>
struct KindTag {
  using type = T;  ///< the stage type
};

namespace detail {
template <class Variant, class F, std::size_t... I>
void for_each_kind(F& f, std::index_sequence<I...>) {
  (f(KindTag<StageOf<std::variant_alternative_t<I, Variant>>>{}), ...);
}
}  // namespace detail

/// Calls f(KindTag<S>{}) for each stage type S of a variant of shared stages, in list order.
template <class Variant, class F>
void for_each_kind(F&& f) {
  detail::for_each_kind<Variant>(f, std::make_index_sequence<std::variant_size_v<Variant>>{});
}

}  // namespace bowlrp::model
