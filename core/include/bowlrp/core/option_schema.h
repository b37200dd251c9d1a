// One description per option, feeding every surface that shows it.
//
// An options struct S lists its user-facing options once, as an OptionSchema<S>: per option the
// keyword (snake_case; the Python keyword), the command-line flag, one line of help, the value type,
// the valid range of a number and, for a choice, the accepted names. Values travel as canonical text,
// the form the command line types:
//
//   boolean "true" | "false"      integer "12"              real "0.001" (any strtod form)
//   text / choice "hik"           int_list "4,6,8" ("none": empty, where allowed)
//   real_list "0.5,2"             pyramid "1x1,2x2"         pooling "sum" | "max" | "pmean:P"
//
// `get` gives the text of a struct's value (std::nullopt: a nullable option left unset, for which a
// documented rule picks the value); `set` parses text with the one parser of its type
// (core/option_text.h, or the library's *_from_string for a choice), checks the range and assigns,
// throwing std::invalid_argument that names `what` (the flag or the keyword), the value and what was
// expected. The command line hands each flag's text to `set`; the Python bindings turn a Python value
// into the same text by the option's type (int -> "12", float -> its round-trip repr, a sequence ->
// "a,b,c", None -> unset) and `get`'s text back into int, float, tuple or str; the stubs are checked
// field by field against the schema (tests/python/test_stubs.py). Cross-field rules stay in each
// struct's validate().
//
// Options that change what an encoding computes are also recorded: in a model file, as the JSON
// field `key` (dotted by nesting: "dsift.step" is {"dsift": {"step": ...}}), and in the digest text
// that names a pipeline (its fingerprint and cache keys). OptionInfo::recorded says which digest
// text names an option: `encoding` options change an encoding of given trained parameters (the
// fingerprint's text), `training` options change only what training makes (the codebook or
// mixture key, whose text is the encoding text followed by them). record_text writes, in schema
// order, "key=value;" per option, the value in its digest form:
//
//   boolean 1 | 0      integer 12      real %.17g      choice hik      int_list 4,6,8,
//   pyramid 1x1,2x2,   pooling the exponent p, %.17g (sum 1, max inf)
//
// (the form of the digests since format_version 1, so that equal options keep their digests). The
// model file's JSON form, and the strict reading back, are model/src/model_file_format.h's.
#pragma once

#include <bowlrp/core/option_text.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bowlrp::core {

/// How an option's value is written (command-line text, Python type, stub annotation).
enum class OptionType {
  boolean,    ///< true / false; on the command line a switch
  integer,    ///< a whole number (the field may be int, long long, size_t or uint64)
  real,       ///< a floating-point number
  text,       ///< free text (a path)
  choice,     ///< one of OptionSpec::choices (or an alias the setter accepts)
  int_list,   ///< whole numbers separated by commas
  real_list,  ///< numbers separated by commas
  pyramid,    ///< pyramid levels COLSxROWS separated by commas
  pooling,    ///< sum, max or pmean:P
  text_list,  ///< names separated by commas (none may hold a comma)
};

/// The stub annotation of a type ("int", "Tuple[int, ...]", "Optional[str]" when nullable).
std::string python_annotation(OptionType type, bool nullable);

/// Bounds of a number (integer, real, or each item of a list).
struct OptionRange {
  std::optional<double> min;   ///< smallest allowed value (none: unbounded)
  bool min_exclusive = false;  ///< min itself is refused
  std::optional<double> max;   ///< largest allowed value (none: unbounded)
  bool max_exclusive = false;  ///< max itself is refused
  /// [v, inf).
  static OptionRange at_least(double v) { return {v, false, std::nullopt, false}; }
  /// (v, inf).
  static OptionRange above(double v) { return {v, true, std::nullopt, false}; }
  /// [a, b].
  static OptionRange closed(double a, double b) { return {a, false, b, false}; }
  /// [a, b).
  static OptionRange half_open(double a, double b) { return {a, false, b, true}; }
  /// (a, b].
  static OptionRange left_open(double a, double b) { return {a, true, b, false}; }
  /// "> 0", ">= 1", "1 .. 128", "[0, 1)" or "" when unbounded.
  std::string describe() const;
  /// Whether v lies inside (NaN never does; an unbounded range takes every finite value and ±inf).
  bool contains(double v) const;
};

/// Where an option is recorded: which digest text of a pipeline names it (every recorded option is
/// in the model file).
enum class Recorded {
  no,        ///< not recorded: a run setting (threads, a size cap, a rule)
  encoding,  ///< changes the encoding of given trained parameters: the fingerprint's text
  training,  ///< changes only what training makes (codebook, mixture): the training key's text
  file,      ///< in the model file only (a head's options: heads have no digest)
};

/// How a recorded option sits in a model file.
enum class InFile {
  always,     ///< written always, required when read
  optional,   ///< written always; a file without it (an earlier format) reads as the default
  when_true,  ///< a boolean written only when true; a file without it reads as false (and the digest text omits it when false)
};

/// What an option is, apart from the struct it reaches into.
struct OptionInfo {
  std::string name;        ///< snake_case keyword (Python) and the option's name in messages
  std::string flag;        ///< command-line flag ("--words"); empty: not on the command line
  bool negated_flag = false;  ///< boolean: the flag sets false (--no-xy for append_xy)
  std::string help;        ///< one line
  OptionType type = OptionType::text;  ///< how the value is written
  bool nullable = false;   ///< may be unset (Python None; on the command line neither --x nor --no-x)
  OptionRange range;       ///< numbers: the valid range
  std::vector<std::string> choices;  ///< choice: the canonical names
  bool required = false;   ///< the command line must give the flag
  std::string key;         ///< field in a model file and digest text, dotted by nesting; empty: not recorded
  Recorded recorded = Recorded::no;  ///< which digest text names it (recorded options have a key)
  InFile in_file = InFile::always;   ///< how a model file holds it
};

/// One option of an options struct S.
template <class S>
struct OptionSpec : OptionInfo {
  std::function<std::optional<std::string>(const S&)> get;  ///< canonical text; nullopt: unset
  /// Parses `text` (nullopt: unset, nullable options only), checks it and assigns; throws
  /// std::invalid_argument naming `what`.
  std::function<void(S&, const std::optional<std::string>& text, const std::string& what)> set;
};

/// The options of a struct, in the order they are shown.
template <class S>
using OptionSchema = std::vector<OptionSpec<S>>;

/// The spec named `name`, or nullptr.
template <class S>
const OptionSpec<S>* find_option(const OptionSchema<S>& schema, const std::string& name) {
  for (const OptionSpec<S>& o : schema)
    if (o.name == name) return &o;
  return nullptr;
}

/// The options of Inner seen from Outer through lens(Outer&) -> Inner&, appended to *out, but for
/// those named in `except` (which Outer sets itself); recorded keys get `key_prefix` + "." in front
/// (Inner is the JSON object `key_prefix` of Outer's record).
template <class Outer, class Inner, class Lens>
void append_nested(OptionSchema<Outer>* out, const OptionSchema<Inner>& inner, Lens lens,
                   const std::vector<std::string>& except = {}, const std::string& key_prefix = "") {
  for (const OptionSpec<Inner>& o : inner) {
    if (std::find(except.begin(), except.end(), o.name) != except.end()) continue;
    OptionSpec<Outer> n;
    static_cast<OptionInfo&>(n) = o;
    if (!key_prefix.empty() && !n.key.empty()) n.key = key_prefix + "." + n.key;
    n.get = [lens, g = o.get](const Outer& s) { return g(lens(const_cast<Outer&>(s))); };
    n.set = [lens, f = o.set](Outer& s, const std::optional<std::string>& text, const std::string& what) {
      f(lens(s), text, what);
    };
    out->push_back(std::move(n));
  }
}

// ---------------------------------------------------------------------------------------------
// Text of each type: one parser and one printer per type.

/// "true" / "false".
std::string format_bool(bool v);
/// Parses "true" / "false" (also 1 / 0, yes / no, on / off); throws std::invalid_argument naming `what`.
bool parse_bool(const std::string& text, const std::string& what);
/// Text of a double that reads back as it (the shortest of %.15g .. %.17g; "inf", "-inf", "nan").
std::string format_real(double v);
/// Parses a whole number in [lo, hi]; throws std::invalid_argument naming `what`.
long long parse_integer(const std::string& text, const std::string& what, long long lo, long long hi);
/// Parses a whole number >= 0 up to 2^64 - 1; throws std::invalid_argument naming `what`.
unsigned long long parse_unsigned(const std::string& text, const std::string& what);
/// Parses a number (strtod's forms, the whole text); throws std::invalid_argument naming `what`.
double parse_real(const std::string& text, const std::string& what);
/// Parses "a,b,c" into numbers; "none" is empty. Throws std::invalid_argument naming `what`.
std::vector<double> parse_real_list(const std::string& text, const std::string& what);
/// "a,b,c" with round-trip digits; "none" when empty.
std::string format_real_list(const std::vector<double>& values);
/// The items of "a,b,c"; an empty text or item is refused (std::invalid_argument naming `what`).
std::vector<std::string> split_items(const std::string& text, const std::string& what);
/// Throws std::invalid_argument "what 'text': expected <range>" unless range.contains(v).
void check_range(double v, const OptionRange& range, const std::string& what, const std::string& text);

// ---------------------------------------------------------------------------------------------
// Records: the model file's fields and the digest text.

/// `spec` recorded as `key` (the field's name in its struct's record) in the `recorded` digest text.
template <class S>
OptionSpec<S> record_as(OptionSpec<S> spec, std::string key, Recorded recorded, InFile in_file = InFile::always) {
  spec.key = std::move(key);
  spec.recorded = recorded;
  spec.in_file = in_file;
  return spec;
}

/// The digest form of an option's canonical text (see the top of this header).
std::string record_value_text(const OptionInfo& option, const std::string& text);

/// The digest text of s: "key=value;" for each option recorded as `encoding`, in schema order, then,
/// when `which` is Recorded::training, for each recorded as `training`. An InFile::when_true option
/// that is false is left out.
template <class S>
std::string record_text(const OptionSchema<S>& schema, const S& s, Recorded which) {
  std::string text;
  auto add = [&](Recorded part) {
    for (const OptionSpec<S>& o : schema) {
      if (o.recorded != part) continue;
      const std::optional<std::string> value = o.get(s);
      if (o.in_file == InFile::when_true && value == format_bool(false)) continue;
      text += o.key + "=" + (value ? record_value_text(o, *value) : std::string()) + ";";
    }
  };
  add(Recorded::encoding);
  if (which == Recorded::training) add(Recorded::training);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Specs of common field types: access(S&) returns a reference to the field.

namespace detail {
template <class S, class Access>
using FieldOf = std::remove_reference_t<decltype(std::declval<Access>()(std::declval<S&>()))>;
template <class S>
OptionSpec<S> make_spec(std::string name, std::string flag, std::string help, OptionType type) {
  OptionSpec<S> o;
  o.name = std::move(name);
  o.flag = std::move(flag);
  o.help = std::move(help);
  o.type = type;
  return o;
}
[[noreturn]] void refuse_unset(const std::string& what);
/// f(), its std::invalid_argument prefixed with `what` ("--kernel: unknown kernel 'x': ...").
template <class F>
auto prefixed(const std::string& what, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(what + ": " + e.what());
  }
}
[[noreturn]] void refuse_list(const std::string& what, const std::string& text, const OptionRange& range, bool allow_empty);
}  // namespace detail

/// A boolean field; the flag sets true, or false when `negated_flag`.
template <class S, class Access>
OptionSpec<S> bool_option(std::string name, std::string flag, std::string help, Access access, bool negated_flag = false) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::boolean);
  o.negated_flag = negated_flag;
  o.get = [access](const S& s) -> std::optional<std::string> { return format_bool(access(const_cast<S&>(s))); };
  o.set = [access](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    access(s) = parse_bool(*text, what);
  };
  return o;
}

/// An integer field (int, long long, std::size_t, std::uint64_t) with a range.
template <class S, class Access>
OptionSpec<S> integer_option(std::string name, std::string flag, std::string help, Access access, OptionRange range = {}) {
  using T = detail::FieldOf<S, Access>;
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::integer);
  o.range = range;
  o.get = [access](const S& s) -> std::optional<std::string> { return std::to_string(access(const_cast<S&>(s))); };
  o.set = [access, range](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    if constexpr (std::is_unsigned_v<T> && sizeof(T) == sizeof(unsigned long long)) {
      const unsigned long long v = parse_unsigned(*text, what);
      check_range(static_cast<double>(v), range, what, *text);
      access(s) = static_cast<T>(v);
    } else {
      const long long v = parse_integer(*text, what, static_cast<long long>(std::numeric_limits<T>::min()),
                                        static_cast<long long>(std::numeric_limits<T>::max()));
      check_range(static_cast<double>(v), range, what, *text);
      access(s) = static_cast<T>(v);
    }
  };
  return o;
}

/// A double field with a range.
template <class S, class Access>
OptionSpec<S> real_option(std::string name, std::string flag, std::string help, Access access, OptionRange range = {}) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::real);
  o.range = range;
  o.get = [access](const S& s) -> std::optional<std::string> { return format_real(access(const_cast<S&>(s))); };
  o.set = [access, range](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    const double v = parse_real(*text, what);
    check_range(v, range, what, *text);
    access(s) = v;
  };
  return o;
}

/// A std::string field taken as given (a path).
template <class S, class Access>
OptionSpec<S> text_option(std::string name, std::string flag, std::string help, Access access) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::text);
  o.get = [access](const S& s) -> std::optional<std::string> { return access(const_cast<S&>(s)); };
  o.set = [access](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    access(s) = *text;
  };
  return o;
}

/// A named value (an enum, or a kind name): to_text(value) gives its canonical name, from_text(text)
/// parses a name or an alias and throws std::invalid_argument naming what it expected; the message
/// is prefixed with `what`.
template <class S, class Access, class ToText, class FromText>
OptionSpec<S> choice_option(std::string name, std::string flag, std::string help, std::vector<std::string> choices,
                            Access access, ToText to_text, FromText from_text) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::choice);
  o.choices = std::move(choices);
  o.get = [access, to_text](const S& s) -> std::optional<std::string> { return to_text(access(const_cast<S&>(s))); };
  o.set = [access, from_text](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    access(s) = detail::prefixed(what, [&] { return from_text(*text); });
  };
  return o;
}

/// A list of whole numbers (std::vector<int> or std::vector<std::size_t>), each inside `range`;
/// `allow_empty`: "none" is the empty list (the text of an empty list).
template <class S, class Access>
OptionSpec<S> int_list_option(std::string name, std::string flag, std::string help, Access access, OptionRange range,
                              bool allow_empty) {
  using T = typename detail::FieldOf<S, Access>::value_type;
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::int_list);
  o.range = range;
  o.get = [access](const S& s) -> std::optional<std::string> {
    const auto& v = access(const_cast<S&>(s));
    if (v.empty()) return std::string("none");
    std::string t;
    for (const T& x : v) t += (t.empty() ? "" : ",") + std::to_string(x);
    return t;
  };
  o.set = [access, range, allow_empty](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    std::vector<T> out;
    if (!(*text == "none" && allow_empty)) {
      try {
        for (const std::string& item : split_items(*text, what)) {
          const long long v = parse_integer(item, what, static_cast<long long>(std::numeric_limits<T>::min()),
                                            static_cast<long long>(std::numeric_limits<T>::max() / 2));
          check_range(static_cast<double>(v), range, what, *text);
          out.push_back(static_cast<T>(v));
        }
      } catch (const std::invalid_argument&) {
        detail::refuse_list(what, *text, range, allow_empty);
      }
    }
    access(s) = std::move(out);
  };
  return o;
}

/// A list of doubles ("none": empty), each inside `range`.
template <class S, class Access>
OptionSpec<S> real_list_option(std::string name, std::string flag, std::string help, Access access, OptionRange range = {}) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::real_list);
  o.range = range;
  o.get = [access](const S& s) -> std::optional<std::string> { return format_real_list(access(const_cast<S&>(s))); };
  o.set = [access, range](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    std::vector<double> v = parse_real_list(*text, what);
    for (double x : v) check_range(x, range, what, *text);
    access(s) = std::move(v);
  };
  return o;
}

/// A field written in a text form of its own: format(value) gives the text, parse(text, what) reads
/// it (throwing std::invalid_argument naming `what`).
template <class S, class Access, class Format, class Parse>
OptionSpec<S> text_form_option(std::string name, std::string flag, std::string help, OptionType type, Access access,
                               Format format, Parse parse) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), type);
  o.get = [access, format](const S& s) -> std::optional<std::string> { return format(access(const_cast<S&>(s))); };
  o.set = [access, parse](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) detail::refuse_unset(what);
    access(s) = parse(*text, what);
  };
  return o;
}

/// Spatial pyramid levels (std::vector<PyramidLevel>) written 1x1,2x2.
template <class S, class Access>
OptionSpec<S> pyramid_option(std::string name, std::string flag, std::string help, Access access) {
  return text_form_option<S>(std::move(name), std::move(flag), std::move(help), OptionType::pyramid, access,
                             &format_pyramid, &parse_pyramid);
}

/// The p-means exponent (double) written as sum, max or pmean:P.
template <class S, class Access>
OptionSpec<S> pooling_option(std::string name, std::string flag, std::string help, Access access) {
  return text_form_option<S>(std::move(name), std::move(flag), std::move(help), OptionType::pooling, access,
                             &format_pooling, &parse_pooling);
}

/// A list of names (std::vector<std::string>) written a,b,c; the empty text is the empty list.
template <class S, class Access>
OptionSpec<S> text_list_option(std::string name, std::string flag, std::string help, Access access) {
  return text_form_option<S>(
      std::move(name), std::move(flag), std::move(help), OptionType::text_list, access,
      [](const std::vector<std::string>& v) {
        std::string t;
        for (const std::string& x : v) t += (t.empty() ? "" : ",") + x;
        return t;
      },
      [](const std::string& text, const std::string&) { return split_csv(text); });
}

/// A std::optional<std::string> field holding a name (from_text parses a name or an alias; its
/// message is prefixed with `what`); unset (nullopt) leaves the choice to a documented rule.
template <class S, class Access, class FromText>
OptionSpec<S> optional_choice_option(std::string name, std::string flag, std::string help,
                                     std::vector<std::string> choices, Access access, FromText from_text) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::choice);
  o.nullable = true;
  o.choices = std::move(choices);
  o.get = [access](const S& s) -> std::optional<std::string> { return access(const_cast<S&>(s)); };
  o.set = [access, from_text](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (!text) {
      access(s).reset();
      return;
    }
    access(s) = detail::prefixed(what, [&] { return from_text(*text); });
  };
  return o;
}

/// A std::optional<bool> field; unset (nullopt) leaves the choice to a documented rule. On the
/// command line: --x sets true, --no-x false.
template <class S, class Access>
OptionSpec<S> optional_bool_option(std::string name, std::string flag, std::string help, Access access) {
  OptionSpec<S> o = detail::make_spec<S>(std::move(name), std::move(flag), std::move(help), OptionType::boolean);
  o.nullable = true;
  o.get = [access](const S& s) -> std::optional<std::string> {
    const std::optional<bool>& v = access(const_cast<S&>(s));
    if (!v) return std::nullopt;
    return format_bool(*v);
  };
  o.set = [access](S& s, const std::optional<std::string>& text, const std::string& what) {
    if (text)
      access(s) = parse_bool(*text, what);
    else
      access(s).reset();
  };
  return o;
}

}  // namespace bowlrp::core
