// The model file's container, shared by every kind's codec (internal, not installed): where the
// fields sit (format_version 1 or 2), the strict readers that name a refused field, the array table
// and the data section, the bounds on stored values and the checks shared by the heads. The
// container (layout, class list, array table, tiling, checksum) is model_file.cpp; each kind's
// codec (an encoding's options and arrays, a head's fields and arrays, their checks) is an
// EncodingCodec<S> or HeadCodec<S> specialisation in model/src/kinds/<kind>_codec.{h,cpp}, included
// by model/src/kinds/codecs.h. The file format itself is documented in model/model_file.h.
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/core/pyramid.h>
#include <bowlrp/model/kinds.h>
#include <bowlrp/model/model_file.h>
#include <bowlrp/nn/network.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace bowlrp::model::file_format {

using nlohmann::json;

constexpr std::size_t kSift = bow::FeatureTrace::kDim;  // 128

// Where a model's fields sit in its file: format_version 1 (Bag-of-Words + kernel SVM only) keeps
// "pipeline", "kernel" and "support_size" at the top; format_version 2 nests them under "encoding"
// and "head". Every message names the field as the file spells it.
struct Fields {
  std::uint64_t version = 1;
  std::string pipeline = "pipeline";          // the encoding's options
  std::string kernel = "kernel";              // the kernel of a kernel-SVM head
  std::string support_size = "support_size";  // S of a kernel-SVM head
  static Fields of(std::uint64_t version) {
    if (version == 1) return {};
    return {version, "encoding.pipeline", "head.kernel", "head.support_size"};
  }
};

inline json pyramid_to_json(const std::vector<core::PyramidLevel>& levels) {
  json pyramid = json::array();
  for (const core::PyramidLevel& l : levels) pyramid.push_back({{"cols", l.cols}, {"rows", l.rows}});
  return pyramid;
}

// An array as the writer lays it out: its table entry and its bytes, as contiguous pieces in order.
struct OutArray {
  std::string name, dtype;
  std::vector<std::size_t> shape;
  std::vector<std::pair<const void*, std::size_t>> pieces;
  std::size_t nbytes() const {
    std::size_t n = 0;
    for (const auto& p : pieces) n += p.second;
    return n;
  }
};

template <class T>
OutArray out_array(std::string name, std::vector<std::size_t> shape, const std::vector<T>& values) {
  return {std::move(name), sizeof(T) == 4 ? "<f4" : "<f8", std::move(shape), {{values.data(), values.size() * sizeof(T)}}};
}

// ---- bounds on the stored values ----
// Inputs of the heads are the encodings' vectors. A Bag-of-Words histogram entry is a mean of
// mapping weights in [0, 1], then optionally square-rooted and L1/L2-normalised, so x lies in
// [0, 1]^V (up to a few roundings). A Fisher vector has unit L2 norm (or is 0), so x lies in
// [-1, 1]^V. Support vectors are such vectors too. For x, s in [0, 1]^V (or, for the kernels allowed
// over Fisher vectors, linear, hik and rbf, in [-1, 1]^V) a kernel is at most
//   k_max = sum_u w_u |u|   (linear, hik, chi2 as 2ab/(a+b) <= sqrt(ab), hellinger; |u| = block length)
//   k_max = sum_u w_u       (rbf, expchi2),
// so |f_c(x)| <= |b_c| + k_max sum_i |coef_ci| for a kernel head and |f_c(x)| <= |b_c| + sum_d |w_cd|
// for a linear one. A model is refused unless this bound is at most kMaxDecision = 1e150 for every
// class: then f_c, f_c^2 and sums of them over any number of images and classes stay far below
// DBL_MAX (~1.8e308) whatever the rounding. Every stored value is first capped at kMaxValue = 1e100,
// so that the product of any two is finite as well.
constexpr double kMaxValue = 1e100;
constexpr double kMaxDecision = 1e150;
// A histogram or Fisher-vector entry may exceed 1 in magnitude by a few roundings.
constexpr double kMaxHistogram = 1 + 1e-6;
// SIFT descriptors are non-negative with unit L2 norm (RootSIFT ones too), so a visual word or the
// PCA mean, their mean, lies in [0, 1], and so does every entry of a unit principal axis in magnitude.
constexpr double kMaxCentre = 1 + 1e-6;
// A local Fisher descriptor x_l = [P (s - m); xy] has |x_lj| <= |s - m| <= 2, so the trained
// mixture's means (convex combinations of them) do too; kMaxGmmMean leaves room for any rounding.
// Variances are floored at kMinVariance by training; with both bounds the float log-likelihood
// weights -1/(2 sigma^2), mu/sigma^2 and the Fisher sums of any image stay finite.
constexpr double kMaxGmmMean = 1e3;
constexpr double kMinVariance = 1e-12;
// A network head has 1 .. kMaxLayers dense layers of 1 .. kMaxWidth neurons each (n_1 .. n_L; n_0 is
// dim), far beyond any trained one: with them every layer's weight count n_l n_{l-1} fits 64 bits.
constexpr std::uint64_t kMaxLayers = nn::kMaxLayers;
constexpr std::uint64_t kMaxWidth = nn::kMaxWidth;

// The vectors a head reads, by encoding.
struct InputDomain {
  double lo, hi;
  const char* vectors;  // for messages: the vectors, then the box they lie in
  const char* value;    // what a support value is expected to be
  const char* signed_vectors;  // for a signed domain, the vectors' plural name ("Fisher vectors"), else null
};

inline std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return json(v).dump();  // shortest round-trip form
}

// A string as JSON text, with control and non-ASCII characters escaped: safe in any message.
inline std::string escaped(const std::string& s) { return json(s).dump(-1, ' ', true, json::error_handler_t::replace); }

[[noreturn]] inline void out_of(const std::string& field, double v, const std::string& expected) {
  throw std::invalid_argument(field + " = " + number_text(v) + ": expected " + expected);
}

// Entry i of an array of rows of `cols` values (cols 0: a vector), as the file names it.
inline std::string entry(const std::string& array, std::size_t i, std::size_t cols) {
  if (cols == 0) return array + "[" + std::to_string(i) + "]";
  return array + "[" + std::to_string(i / cols) + "][" + std::to_string(i % cols) + "]";
}

// Every value of an array in [lo, hi] (false for NaN).
template <class T>
inline void check_range(const std::vector<T>& values, const std::string& array, std::size_t cols, double lo, double hi,
                 const std::string& expected) {
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!(values[i] >= lo && values[i] <= hi)) out_of(entry(array, i, cols), values[i], expected);
}

// ---- strict reading of the header ----
// Every value is read through its dotted field name, so that a refusal names the field, the value
// found and what was expected. The loader prefixes "model file '<path>' has ".
struct HeaderError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A value as the file spells it, shortened and escaped.
inline std::string brief(const json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array of " + std::to_string(v.size()) + " values";
  std::string s = v.dump(-1, ' ', true, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

// Checks that j is an object with every required key and no key beyond the required and optional
// ones; `scope` says who defines the fields ("format_version 1", ...).
inline const json& object(const json& j, const std::string& name, const std::string& scope,
                          const std::vector<std::string>& required, const std::vector<std::string>& optional) {
  const std::string prefix = name.empty() ? "" : name + ".";
  if (!j.is_object()) throw HeaderError((name.empty() ? "a header" : name) + " that is " + brief(j) + ": expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (std::find(required.begin(), required.end(), it.key()) == required.end() &&
        std::find(optional.begin(), optional.end(), it.key()) == optional.end()) {
      const std::string key = escaped(it.key());
      throw HeaderError("an unknown field " + prefix + key.substr(1, key.size() - 2) + " (" + scope +
                        " defines no such field)");
    }
  for (const std::string& k : required)
    if (!j.contains(k)) throw HeaderError("the required field " + prefix + k + " missing");
  return j;
}

// object() with the names listed in place.
inline const json& object(const json& j, const std::string& name, const std::string& scope,
                          std::initializer_list<const char*> required, std::initializer_list<const char*> optional = {}) {
  return object(j, name, scope, std::vector<std::string>(required.begin(), required.end()),
                std::vector<std::string>(optional.begin(), optional.end()));
}

inline std::string scope_of(const Fields& f) { return "format_version " + std::to_string(f.version); }

inline std::uint64_t read_uint(const json& v, const std::string& name, std::uint64_t lo, std::uint64_t hi) {
  if (v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0)) {
    const auto x = v.get<std::uint64_t>();
    if (x >= lo && x <= hi) return x;
  }
  throw HeaderError(name + " = " + brief(v) + ": expected an integer in [" + std::to_string(lo) + ", " +
                    std::to_string(hi) + "]");
}

inline int read_int(const json& v, const std::string& name, int lo) {
  return static_cast<int>(read_uint(v, name, static_cast<std::uint64_t>(lo), std::numeric_limits<int>::max()));
}

inline double read_number(const json& v, const std::string& name, double lo = -kMaxValue, double hi = kMaxValue) {
  if (v.is_number()) {
    const double x = v.get<double>();
    if (x >= lo && x <= hi) return x;  // false for NaN and infinities
  }
  throw HeaderError(name + " = " + brief(v) + ": expected a number in [" + number_text(lo) + ", " + number_text(hi) + "]");
}

inline std::string read_string(const json& v, const std::string& name) {
  if (!v.is_string()) throw HeaderError(name + " = " + brief(v) + ": expected a string");
  return v.get<std::string>();
}

inline bool read_bool(const json& v, const std::string& name) {
  if (!v.is_boolean()) throw HeaderError(name + " = " + brief(v) + ": expected true or false");
  return v.get<bool>();
}

inline const json& read_array(const json& v, const std::string& name, std::size_t min_size) {
  if (!v.is_array() || v.size() < min_size)
    throw HeaderError(name + " = " + brief(v) + ": expected an array of at least " + std::to_string(min_size) + " values");
  return v;
}

// An enumeration spelt as a string, parsed by its module's from_string.
template <class F>
auto read_enum(const json& v, const std::string& name, F from_string) {
  const std::string s = read_string(v, name);
  try {
    return from_string(s);
  } catch (const std::invalid_argument& e) {
    throw HeaderError(name + " = " + brief(v) + ": " + e.what());
  }
}

inline std::string at(const std::string& name, std::size_t i) { return name + "[" + std::to_string(i) + "]"; }

// A spatial pyramid, [{"cols", "rows"}], with its total cell count checked to fit an int (the
// options' cells() are ints; each level has at most 64 x 64 cells once validated, but not yet).
inline std::vector<core::PyramidLevel> read_pyramid(const json& j, const std::string& name, const std::string& scope) {
  const json& pyramid = read_array(j, name, 1);
  std::vector<core::PyramidLevel> levels;
  for (std::size_t i = 0; i < pyramid.size(); ++i) {
    const std::string level = at(name, i);
    const json& l = object(pyramid[i], level, scope, {"cols", "rows"});
    levels.push_back({read_int(l.at("cols"), level + ".cols", 1), read_int(l.at("rows"), level + ".rows", 1)});
  }
  return levels;
}

inline void check_cells(const std::vector<core::PyramidLevel>& levels, const std::string& name) {
  // Count in 64 bits (each level is validated to at most 64 x 64 cells before this runs).
  std::uint64_t cells = 0;
  for (const core::PyramidLevel& l : levels) cells += static_cast<std::uint64_t>(l.cols) * l.rows;
  if (cells > static_cast<std::uint64_t>(std::numeric_limits<int>::max()))
    throw HeaderError(name + " of " + std::to_string(cells) + " cells: expected at most " +
                      std::to_string(std::numeric_limits<int>::max()));
}

// ---- an options struct's record (core/option_schema.h): its schema's recorded options ----
// Each option with a key is the JSON field `key` (dotted: nested objects), in the form of its type:
//   boolean true | false     integer 12     real 0.5     choice "hik"     int_list [4, 6, 8]
//   pyramid [{"cols": 1, "rows": 1}, ...]   pooling the exponent p, or "inf" for max pooling
// Reading is strict: every object must hold exactly the schema's fields (InFile::optional and
// when_true ones may be missing), and each value is checked by the schema's own setter and range,
// with the refusal naming the field as the file spells it.

// The JSON value of a recorded option from its canonical text.
inline json record_json_value(const core::OptionInfo& o, const std::string& text) {
  switch (o.type) {
    case core::OptionType::boolean: return core::parse_bool(text, o.key);
    case core::OptionType::integer:
      if (!text.empty() && text[0] == '-') return static_cast<std::int64_t>(core::parse_integer(text, o.key, std::numeric_limits<long long>::min(), std::numeric_limits<long long>::max()));
      return static_cast<std::uint64_t>(core::parse_unsigned(text, o.key));
    case core::OptionType::real: return core::parse_real(text, o.key);
    case core::OptionType::choice: return text;
    case core::OptionType::int_list: {
      json a = json::array();
      if (text != "none")
        for (const std::string& item : core::split_csv(text)) a.push_back(core::parse_integer(item, o.key, std::numeric_limits<long long>::min(), std::numeric_limits<long long>::max()));
      return a;
    }
    case core::OptionType::pyramid: return pyramid_to_json(core::parse_pyramid(text, o.key));
    case core::OptionType::pooling: {
      const double p = core::parse_pooling(text, o.key);
      return std::isinf(p) ? json("inf") : json(p);
    }
    default: throw std::logic_error("model file: the option " + o.name + " has a type no record holds");
  }
}

// A recorded option's canonical text from its JSON value `v`, the field `name` of the file; throws
// HeaderError naming it unless v has the type's form and lies in the option's range.
inline std::string record_text_from_json(const core::OptionInfo& o, const json& v, const std::string& name,
                                     const std::string& scope) {
  const core::OptionRange& r = o.range;
  const std::string range = r.describe().empty() ? "" : " " + r.describe();
  switch (o.type) {
    case core::OptionType::boolean: return core::format_bool(read_bool(v, name));
    case core::OptionType::integer:
      if (!v.is_number_integer()) throw HeaderError(name + " = " + brief(v) + ": expected an integer" + range);
      if (!r.contains(v.get<double>())) throw HeaderError(name + " = " + brief(v) + ": expected an integer" + range);
      return v.dump();
    case core::OptionType::real: {
      const double x = read_number(v, name);
      if (!r.contains(x)) throw HeaderError(name + " = " + brief(v) + ": expected a number" + range);
      return core::format_real(x);
    }
    case core::OptionType::choice: return read_string(v, name);
    case core::OptionType::int_list: {
      const json& a = read_array(v, name, 1);
      const auto lo = static_cast<std::uint64_t>(r.min.value_or(0));
      const auto hi = static_cast<std::uint64_t>(r.max.value_or(std::numeric_limits<int>::max()));
      std::string t;
      for (std::size_t i = 0; i < a.size(); ++i) t += (i ? "," : "") + std::to_string(read_uint(a[i], at(name, i), lo, hi));
      return t;
    }
    case core::OptionType::pyramid: return core::format_pyramid(read_pyramid(v, name, scope));
    case core::OptionType::pooling:
      if (v.is_string()) {
        if (v.get<std::string>() != "inf") throw HeaderError(name + " = " + brief(v) + ": expected a number or \"inf\"");
        return core::format_pooling(std::numeric_limits<double>::infinity());
      }
      return core::format_pooling(read_number(v, name, 0));
    default: throw std::logic_error("model file: the option " + o.name + " has a type no record holds");
  }
}

// Checks that j holds exactly the objects and fields of `keys` (dotted; each with how the file
// holds it) below `name`.
inline void check_record_objects(const json& j, const std::string& name, const std::string& scope,
                                 const std::vector<std::pair<std::string, core::InFile>>& keys) {
  std::vector<std::string> required, optional;  // this level's names, first-seen order
  std::map<std::string, std::vector<std::pair<std::string, core::InFile>>> below;
  auto note = [](std::vector<std::string>& list, const std::string& k) {
    if (std::find(list.begin(), list.end(), k) == list.end()) list.push_back(k);
  };
  for (const auto& [key, in_file] : keys) {
    const std::size_t dot = key.find('.');
    const std::string head = key.substr(0, dot);
    const bool needed = in_file == core::InFile::always;
    if (dot != std::string::npos) below[head].emplace_back(key.substr(dot + 1), in_file);
    if (needed) note(required, head);
  }
  for (const auto& [key, in_file] : keys) {
    const std::string head = key.substr(0, key.find('.'));
    if (std::find(required.begin(), required.end(), head) == required.end()) note(optional, head);
  }
  object(j, name, scope, required, optional);
  for (const auto& [head, inner] : below)
    if (j.contains(head)) check_record_objects(j.at(head), name + "." + head, scope, inner);
}

// Where a recorded key sits in its record: "dsift.step" is /dsift/step.
inline json::json_pointer record_pointer(const std::string& key) {
  std::string path = "/" + key;
  std::replace(path.begin(), path.end(), '.', '/');
  return json::json_pointer(path);
}

// The JSON record of s: its schema's recorded options.
template <class S>
json record_json(const core::OptionSchema<S>& schema, const S& s) {
  json j = json::object();
  for (const core::OptionSpec<S>& o : schema) {
    if (o.key.empty()) continue;
    const std::optional<std::string> text = o.get(s);
    if (!text || (o.in_file == core::InFile::when_true && *text == core::format_bool(false))) continue;
    j[record_pointer(o.key)] = record_json_value(o, *text);
  }
  return j;
}

// Options read from the record j (the field `name` of the file), strictly; missing InFile::optional
// fields keep S's defaults, missing when_true ones read as false. `own`: further required fields of
// j that the caller reads itself.
template <class S>
S read_record(const core::OptionSchema<S>& schema, const json& j, const std::string& name, const std::string& scope,
              const std::vector<std::string>& own = {}) {
  std::vector<std::pair<std::string, core::InFile>> keys;
  for (const core::OptionSpec<S>& o : schema)
    if (!o.key.empty()) keys.emplace_back(o.key, o.in_file);
  for (const std::string& k : own) keys.emplace_back(k, core::InFile::always);
  check_record_objects(j, name, scope, keys);
  S s;
  for (const core::OptionSpec<S>& o : schema) {
    if (o.key.empty()) continue;
    const json::json_pointer at = record_pointer(o.key);
    const json* v = j.contains(at) ? &j.at(at) : nullptr;
    const std::string field = name + "." + o.key;
    if (!v) {
      if (o.in_file == core::InFile::when_true) o.set(s, core::format_bool(false), field);
      continue;
    }
    const std::string text = record_text_from_json(o, *v, field, scope);
    // A choice's setter names what it expected after "<what>: "; the others name the value.
    const std::string what = o.type == core::OptionType::choice ? field + " = " + brief(*v) : field;
    try {
      o.set(s, text, what);
    } catch (const std::invalid_argument& e) {
      throw HeaderError(e.what());
    }
  }
  return s;
}


// One array a layout holds: the table entry it must have.
struct ArraySpec {
  std::string name;
  const char* dtype;
  std::vector<std::uint64_t> shape;
  std::string meaning;  // the shape in the header's terms
  std::uint64_t item() const { return dtype[2] == '4' ? 4 : 8; }
};

// One entry of the header's "arrays" table.
struct ArrayEntry {
  std::size_t index = 0;  // position in the table
  std::string dtype;
  std::vector<std::uint64_t> shape;
  std::uint64_t offset = 0, nbytes = 0;
};

inline std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// The arrays' bytes, by name, once their sizes and places are checked.
struct DataSection {
  const char* data;
  const std::vector<ArraySpec>& specs;
  const std::vector<ArrayEntry>& arrays;
  const ArrayEntry& find(const std::string& name) const {
    for (std::size_t k = 0; k < specs.size(); ++k)
      if (specs[k].name == name) return arrays[k];
    throw std::logic_error("model file: no array " + name + " in this layout");
  }
  template <class T>
  std::vector<T> take(const std::string& name) const {
    const ArrayEntry& a = find(name);
    std::vector<T> v(a.nbytes / sizeof(T));
    if (a.nbytes) std::memcpy(v.data(), data + a.offset, a.nbytes);
    return v;
  }
  // Row r of a C x n array of doubles.
  std::vector<double> row(const char* name, std::size_t r, std::size_t n) const {
    std::vector<double> v(n);
    if (n) std::memcpy(v.data(), data + find(name).offset + r * n * sizeof(double), n * sizeof(double));
    return v;
  }
};

// Runs a header reader on the writer's own options, so that nothing is saved that loading refuses
// (the reader's bounds go beyond the options' validate(), e.g. dsift.magnif >= 0.01).
template <class Read>
void check_written_options(const json& pipeline, const Fields& fields, Read read) {
  try {
    read(pipeline, fields);
  } catch (const HeaderError& e) {
    throw std::invalid_argument(e.what());
  }
}

template <class Class, class Member>
OutArray class_rows(std::string name, std::size_t n, const std::vector<Class>& classes, Member member) {
  OutArray a{std::move(name), "<f8", {classes.size(), n}, {}};
  for (const Class& c : classes) a.pieces.emplace_back((c.*member).data(), n * sizeof(double));
  return a;
}

// Class names end up in reports, file names and terminals: non-empty, valid UTF-8 (no overlong
// forms, surrogates or values past U+10FFFF), without control characters (C0, DEL, C1) or
// line/paragraph separators.
inline void check_class_name(const std::string& name, std::size_t c) {
  const std::string field = "classes[" + std::to_string(c) + "].name " + escaped(name);
  if (name.empty()) throw std::invalid_argument(field + " is empty: expected a printable name");
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  const std::size_t n = name.size();
  for (std::size_t i = 0; i < n;) {
    const unsigned char b = p[i];
    std::uint32_t cp = b;
    std::size_t len = 1;
    if (b >= 0xC2 && b <= 0xDF) cp = b & 0x1F, len = 2;
    else if (b >= 0xE0 && b <= 0xEF) cp = b & 0x0F, len = 3;
    else if (b >= 0xF0 && b <= 0xF4) cp = b & 0x07, len = 4;
    else if (b >= 0x80) len = 0;
    bool ok = len > 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (ok) ok = !(len == 3 && cp < 0x800) && !(len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) && !(cp >= 0xD800 && cp <= 0xDFFF);
    if (!ok) throw std::invalid_argument(field + " is not valid UTF-8 (at byte " + std::to_string(i) + ")");
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "U+%04X", static_cast<unsigned>(cp));
      throw std::invalid_argument(field + " contains the " + (cp >= 0x2028 ? "line separator " : "control character ") +
                                  hex + ": expected printable UTF-8");
    }
    i += len;
  }
}

// Printable, unique names, one per class.
inline void check_class_names(const std::vector<std::string>& names) {
  std::map<std::string, std::size_t> seen;
  for (std::size_t c = 0; c < names.size(); ++c) {
    check_class_name(names[c], c);
    if (const auto [it, fresh] = seen.emplace(names[c], c); !fresh)
      throw std::invalid_argument("classes[" + std::to_string(c) + "].name " + escaped(names[c]) + " repeats classes[" +
                                  std::to_string(it->second) + "].name: expected unique names");
  }
}

template <class Class>
std::vector<std::string> names_of(const std::vector<Class>& classes) {
  std::vector<std::string> names;
  for (const Class& c : classes) names.push_back(c.name);
  return names;
}

inline void check_bias(double bias, std::size_t c) {
  if (!(std::abs(bias) <= kMaxValue))
    out_of("classes[" + std::to_string(c) + "].bias", bias, "a value in [-1e+100, 1e+100]");
}

[[noreturn]] inline void decision_too_large(std::size_t c, const std::string& name, double bound, const InputDomain& domain,
                                     const std::string& how) {
  throw std::invalid_argument("classes[" + std::to_string(c) + "] (" + escaped(name) + ") can reach a decision of magnitude " +
                              number_text(bound) + " on " + domain.vectors + " (" + how + "): expected at most 1e+150");
}

/// The input box of the heads over an encoding kind (its codec's domain(); model_file.cpp).
const InputDomain& domain_of(const std::string& encoding);

/// One encoding kind's part of the model file (specialised per kind in model/src/kinds/<kind>_codec.h):
///   using Options                     the stage's options type
///   format_version_1                  whether format_version 1 holds this encoding (with a kernel-SVM head)
///   domain()                          the box the encoding's vectors lie in (heads' bounds)
///   write_options(o), read_options(j, fields)            its "pipeline" object
///   array_specs(o, fields)            its arrays, in file order (before the head's)
///   check_dimension(o, specs, arrays, V, fields)         dim against its options (before the head's sizes)
///   check_room(o, data_bytes, fields) its arrays against the data section (after the head's sizes)
///   read(o, data, V, fields)          the stage from its checked arrays (value checks first)
///   write(stage, V, fields, &options) its arrays, after the checks a reader applies, and its options' JSON
template <class Stage>
struct EncodingCodec;

/// The options of every encoding kind, one alternative per kind (in bow::Encoding's order).
template <class E>
struct OptionsOf;
/// (specialisation for the list of shared stages)
template <class... Stages>
struct OptionsOf<std::variant<std::shared_ptr<const Stages>...>> {
  using type = std::variant<typename EncodingCodec<Stages>::Options...>;  ///< one per kind
};

}  // namespace bowlrp::model::file_format

namespace bowlrp::model::file_format {

/// One head kind's part of the model file (specialised per kind in model/src/kinds/<kind>_codec.h):
///   Header                            what the header says of the head beyond its kind, dim and classes
///   format_version_1                  whether format_version 1 holds this head (with a Bag-of-Words encoding)
///   classes_have_bias                 whether "classes" entries carry a "bias" (an mlp's are its biases_L)
///   read_header(hd, scope, fields)    the "head" object of format_version 2 (every field, nothing else)
///   check_header(h, V, C)             the header against dim and the class count
///   array_specs(h, V, C, fields)      its arrays, in file order (after the encoding's)
///   check_room(h, V, C, data_bytes, fields)              its arrays against the data section
///   read(h, names, biases, data, V, encoding, fields)    the head from its checked arrays (value bounds first)
///   write(head, V, encoding, fields, &head_json, &classes)  its arrays after a reader's checks, its JSON
template <class Stage>
struct HeadCodec;

/// The header part of every head kind, one alternative per kind (in decompose::Head's order).
template <class H>
struct HeadersOf;
/// (specialisation for the list of shared heads)
template <class... Stages>
struct HeadersOf<std::variant<std::shared_ptr<const Stages>...>> {
  using type = std::variant<typename HeadCodec<Stages>::Header...>;  ///< one per kind
};

}  // namespace bowlrp::model::file_format
