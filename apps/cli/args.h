// Command-line flags made from the library's option schemas (core/option_schema.h): every option
// with a flag becomes a CLI11 option that shows its default (a switch for a boolean; --x and --no-x
// for a nullable boolean), the texts given are kept as typed, and options() applies them to the
// defaults in schema order with the library's one parser per type, naming the flag in any error. So
// the command line describes no option of its own: names, help, defaults and ranges are the library's.
#pragma once

#include <bowlrp/core/option_schema.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <CLI/CLI.hpp>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace bowlrp::apps {

/// The flags of S::schema() over defaults of S.
template <class S>
class SchemaFlags {
 public:
  /// Flags over `defaults` (shown in --help, kept where no flag is given).
  explicit SchemaFlags(S defaults = S()) : defaults_(std::move(defaults)) {}
  /// Registers one flag per option that has one; *this must outlive app->parse().
  void add_to(CLI::App* app);
  /// Sets an option's text as if its flag had been typed (by keyword; nullopt: unset).
  void give(const std::string& name, std::optional<std::string> text) { given_[name] = std::move(text); }
  /// The defaults with every given text applied; throws std::invalid_argument naming the flag.
  S options() const;
  /// The text typed for an option (nullopt: its flag was not given, or it was unset).
  std::optional<std::string> text(const std::string& name) const {
    const auto it = given_.find(name);
    return it == given_.end() ? std::nullopt : it->second;
  }
  /// The defaults.
  const S& defaults() const { return defaults_; }

 private:
  S defaults_;
  std::map<std::string, std::optional<std::string>> given_;  // keyword -> text as typed
  std::map<std::string, std::string> conflicts_;             // keyword -> "--x and --no-x"
};

/// The placeholder --help shows for a value of o's type (INT, NUM, hik|chi2|..., ...).
template <class S>
std::string type_name(const core::OptionSpec<S>& o) {
  switch (o.type) {
    case core::OptionType::integer: return "INT";
    case core::OptionType::real: return "NUM";
    case core::OptionType::int_list: return "INT,...";
    case core::OptionType::real_list: return "NUM,...";
    case core::OptionType::pyramid: return "CxR,...";
    case core::OptionType::pooling: return "POOLING";
    case core::OptionType::choice: return "NAME";
    case core::OptionType::text_list: return "NAME,...";
    default: return "TEXT";
  }
}

template <class S>
void SchemaFlags<S>::add_to(CLI::App* app) {
  for (const core::OptionSpec<S>& o : S::schema()) {
    if (o.flag.empty()) continue;
    const std::string name = o.name;
    if (o.type == core::OptionType::boolean) {
      auto set = [this, name](const std::string& value, const std::string& conflict) {
        const auto it = given_.find(name);
        if (it != given_.end() && it->second != value) conflicts_[name] = conflict;
        given_[name] = value;
      };
      const std::string no_flag = "--no-" + o.flag.substr(2);
      const std::string conflict = o.flag + " and " + no_flag;
      app->add_flag_callback(o.flag, [set, v = o.negated_flag ? "false" : "true", conflict] { set(v, conflict); },
                             o.negated_flag ? o.help + " (on unless this flag is given)" : o.help);
      if (o.nullable)
        app->add_flag_callback(no_flag, [set, conflict] { set("false", conflict); },
                               "the opposite of " + o.flag + " (neither: see " + o.flag + ")");
      continue;
    }
    CLI::Option* opt = app->add_option_function<std::string>(
        o.flag, [this, name](const std::string& v) { given_[name] = v; }, o.help);
    opt->type_name(type_name(o));
    if (o.required) opt->required();
    if (const std::optional<std::string> d = o.get(defaults_)) opt->default_str(*d);
  }
}

template <class S>
S SchemaFlags<S>::options() const {
  if (!conflicts_.empty()) throw std::invalid_argument(conflicts_.begin()->second + ": expected at most one of them");
  S s = defaults_;
  for (const core::OptionSpec<S>& o : S::schema()) {
    const auto it = given_.find(o.name);
    if (it != given_.end()) o.set(s, it->second, o.flag.empty() ? o.name : o.flag);
  }
  return s;
}

/// Fit options as typed on the command line.
struct PipelineArgs {
  SchemaFlags<model::FitOptions> flags;  ///< one flag per option of model::FitOptions::schema()
  /// The library's measured defaults.
  PipelineArgs() = default;
  /// Other defaults (the demo's).
  explicit PipelineArgs(const model::FitOptions& defaults) : flags(defaults) {}
  /// The options with every flag applied and validated; throws std::invalid_argument naming the flag
  /// (or the field, for a rule across fields).
  model::FitOptions fit_options() const;
};

/// Refuses --bias (when given) for a model whose head has no SVM bias: a network head treats each
/// layer's biases by that layer's rule. Throws std::invalid_argument.
void refuse_bias_for_network(const std::optional<std::string>& bias, const model::Model& model);

/// Run-time flags: --threads (0: all cores, validated by the library) and --quiet.
struct RunArgs {
  int threads = 0;     ///< --threads
  bool quiet = false;  ///< --quiet
};

using core::split_csv;

}  // namespace bowlrp::apps
