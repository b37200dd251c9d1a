// Python keywords made from the library's option schemas (core/option_schema.h): one knob per
// option, converting a Python value to the option's canonical text by its type (and back), so that
// the bindings describe and parse no option of their own.
#pragma once

#include "bindings.h"

#include <bowlrp/core/option_schema.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace bowlrp::python {

/// The canonical text of Python value h for option o (None: unset); TypeError / ValueError name it.
template <class S>
std::optional<std::string> option_text(py::handle h, const core::OptionSpec<S>& o) {
  const std::string& name = o.name;
  const auto refuse = [&](const std::string& expected) {
    throw py::type_error("option " + name + ": expected " + expected + ", got " + py::repr(h).cast<std::string>());
  };
  const auto whole = [&](py::handle x) -> std::string {
    if (py::isinstance<py::bool_>(x) || !py::hasattr(x, "__index__")) refuse("an int");
    return py::str(x.attr("__index__")()).cast<std::string>();
  };
  const auto sequence = [&](const std::string& of) {
    if (py::isinstance<py::str>(h) || !py::isinstance<py::iterable>(h)) refuse("a sequence of " + of);
  };
  if (h.is_none()) {
    if (o.nullable) return std::nullopt;
    refuse(core::python_annotation(o.type, false));
  }
  switch (o.type) {
    case core::OptionType::boolean: return core::format_bool(cast_value<bool>(h, name));
    case core::OptionType::integer: return whole(h);
    case core::OptionType::real: return core::format_real(cast_value<double>(h, name));
    case core::OptionType::text:
    case core::OptionType::choice: return cast_value<std::string>(h, name);
    case core::OptionType::pooling:
      if (py::isinstance<py::str>(h)) return h.cast<std::string>();
      return core::format_pooling(cast_value<double>(h, name));
    case core::OptionType::pyramid: {
      if (py::isinstance<py::str>(h)) return h.cast<std::string>();
      sequence("(cols, rows) pairs");
      std::string t;
      for (py::handle level : py::iter(h)) {
        if (py::isinstance<py::str>(level) || !py::isinstance<py::sequence>(level) || py::len(level) != 2)
          refuse("'COLSxROWS,...' or a sequence of (cols, rows) pairs");
        const py::sequence pair = py::reinterpret_borrow<py::sequence>(level);
        t += (t.empty() ? "" : ",") + whole(pair[0]) + "x" + whole(pair[1]);
      }
      return t;  // empty: refused by the parser as "at least one level"
    }
    case core::OptionType::int_list: {
      sequence("ints");
      std::string t;
      for (py::handle x : py::iter(h)) t += (t.empty() ? "" : ",") + whole(x);
      return t.empty() ? std::string("none") : t;
    }
    case core::OptionType::text_list: {
      sequence("names");
      std::string t;
      for (py::handle x : py::iter(h)) {
        const std::string item = cast_value<std::string>(x, name);
        if (item.empty() || item.find(',') != std::string::npos)
          throw py::value_error("option " + name + ": " + py::repr(x).cast<std::string>() +
                                " is not a name (empty, or holding a comma)");
        t += (t.empty() ? "" : ",") + item;
      }
      return t;
    }
    case core::OptionType::real_list: {
      sequence("numbers");
      std::vector<double> v;
      for (py::handle x : py::iter(h)) v.push_back(cast_value<double>(x, name));
      return core::format_real_list(v);
    }
  }
  return std::nullopt;
}

/// The Python value of option o's canonical text (None when unset).
template <class S>
py::object option_value(const std::optional<std::string>& text, const core::OptionSpec<S>& o) {
  if (!text) return py::none();
  const auto items = [&]() {
    std::vector<std::string> v;
    if (*text != "none" && !text->empty()) v = core::split_items(*text, o.name);
    return v;
  };
  switch (o.type) {
    case core::OptionType::boolean: return py::bool_(*text == "true");
    case core::OptionType::integer: return py::int_(py::str(*text));
    case core::OptionType::real: return py::float_(core::parse_real(*text, o.name));
    case core::OptionType::int_list: {
      const std::vector<std::string> v = items();
      py::tuple t(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) t[i] = py::int_(py::str(v[i]));
      return std::move(t);
    }
    case core::OptionType::real_list: {
      const std::vector<double> v = core::parse_real_list(*text, o.name);
      py::tuple t(v.size());
      for (std::size_t i = 0; i < v.size(); ++i) t[i] = py::float_(v[i]);
      return std::move(t);
    }
    case core::OptionType::text_list: return py::cast(core::split_csv(*text));
    default: return py::str(*text);
  }
}

/// One knob per option of the schema.
template <class S>
Knobs<S> schema_knobs(const core::OptionSchema<S>& schema) {
  Knobs<S> knobs;
  for (const core::OptionSpec<S>& o : schema)
    knobs.push_back(Knob<S>{o.name, o.help, [o](const S& s) { return option_value(o.get(s), o); },
                            [o](S& s, py::handle h) { o.set(s, option_text(h, o), "option " + o.name); }});
  return knobs;
}

/// Adds cls.schema(): every option as a dict (name, flag, help, type as the stubs annotate it,
/// nullable, range, choices, default), in order; what the stubs are checked against.
template <class S, class Class>
void bind_schema(Class& cls, const core::OptionSchema<S>& schema) {
  cls.def_static("schema", [&schema]() {
    py::list out;
    const S defaults{};
    for (const core::OptionSpec<S>& o : schema) {
      py::dict d;
      d["name"] = o.name;
      d["flag"] = o.flag;
      d["negated_flag"] = o.negated_flag;
      d["help"] = o.help;
      d["type"] = core::python_annotation(o.type, o.nullable);
      d["nullable"] = o.nullable;
      d["range"] = o.range.describe();
      d["choices"] = o.choices;
      d["required"] = o.required;
      d["default"] = option_value(o.get(defaults), o);
      out.append(d);
    }
    return out;
  }, "Every option as a dict (name, flag, help, type, nullable, range, choices, default), in order: the "
     "library's one description, from which the keywords and the command-line flags are made.");
}

}  // namespace bowlrp::python
