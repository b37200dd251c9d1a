// Every kind the model layer knows, and the generic ways to reach one: the traits of each listed
// encoding (bow::Encoding, bow/trace.h) and head (decompose::Head, decompose/head.h), and lookups by
// name. Adding a kind: its stage and relevance partner in their modules, one alternative in the list,
// its traits in model/kinds/<kind>.h (+ .cpp), and one include below (docs/extending.md).
#pragma once

#include <bowlrp/bow/trace.h>
#include <bowlrp/decompose/head.h>
#include <bowlrp/model/kind_traits.h>
#include <bowlrp/model/kinds/bag_of_words.h>
#include <bowlrp/model/kinds/explicit_map_svm.h>
#include <bowlrp/model/kinds/fisher_vector.h>
#include <bowlrp/model/kinds/kernel_svm.h>
#include <bowlrp/model/kinds/linear_svm.h>
#include <bowlrp/model/kinds/network.h>
#include <bowlrp/model/kinds/vlad.h>

#include <string>
#include <vector>

namespace bowlrp::model {

/// A model's encoding, shared (one alternative per encoding kind).
using Encoding = bow::Encoding;
/// The forward record of one image through a model's encoding (one alternative per encoding kind).
using Trace = bow::Trace;
/// A model's head, shared (one alternative per head kind).
using Head = decompose::Head;
using bow::head_input;

/// The traits of the stage held by a shared pointer.
template <class Shared>
using EncodingTraitsOf = EncodingTraits<StageOf<Shared>>;
/// The same for heads.
template <class Shared>
using HeadTraitsOf = HeadTraits<StageOf<Shared>>;

/// The names of the encoding kinds, in list order ("bag-of-words", "fisher-vector", ...).
std::vector<std::string> encoding_kind_names();
/// The names of the head kinds, in list order ("kernel-svm", "linear-svm", "mlp", ...).
std::vector<std::string> head_kind_names();
/// The kind name of a name or alias ("fisher" -> "fisher-vector"); throws std::invalid_argument listing them.
std::string encoding_kind_from_string(const std::string& name);
/// The same for heads ("linear" -> "linear-svm").
std::string head_kind_from_string(const std::string& name);

/// Calls f(KindTag<S>{}) for the encoding kind named `kind` (a canonical name); throws
/// std::invalid_argument listing the names for another one.
template <class F>
decltype(auto) visit_encoding_kind(const std::string& kind, F&& f);
/// The same for head kinds.
template <class F>
decltype(auto) visit_head_kind(const std::string& kind, F&& f);

namespace detail {
/// Throws std::invalid_argument: `name` is no kind of `what` ("encoding" or "head"), listing them.
[[noreturn]] void throw_unknown_kind(const char* what, const std::string& name);
template <class Variant, template <class> class Traits, class F, std::size_t I = 0>
decltype(auto) visit_kind(const std::string& kind, const char* what, F& f) {
  using Stage = StageOf<std::variant_alternative_t<I, Variant>>;
  if (kind == Traits<Stage>::name) return f(KindTag<Stage>{});
  if constexpr (I + 1 < std::variant_size_v<Variant>) {
    return visit_kind<Variant, Traits, F, I + 1>(kind, what, f);
  } else {
    throw_unknown_kind(what, kind);
  }
}
}  // namespace detail

template <class F>
decltype(auto) visit_encoding_kind(const std::string& kind, F&& f) {
  return detail::visit_kind<Encoding, EncodingTraits>(kind, "encoding", f);
}
template <class F>
decltype(auto) visit_head_kind(const std::string& kind, F&& f) {
  return detail::visit_kind<Head, HeadTraits>(kind, "head", f);
}

}  // namespace bowlrp::model
