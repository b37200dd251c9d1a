// JSON written by bowlrp (result files, summaries, reports), through nlohmann::json. File names on
// Linux are bytes, not text (core/utf8.h): nlohmann::json throws when asked to dump a string that is
// not UTF-8, which would lose a whole batch of results at the last step. So paths go in through
// set_path (a display form plus the exact bytes in hex) and every text is made by dump_json, which
// replaces rather than throws should some other string carry bad bytes. Header-only: a module that
// includes it uses nlohmann_json itself.
#pragma once

#include <bowlrp/core/utf8.h>

#include <nlohmann/json.hpp>

#include <string>

namespace bowlrp::core {

/// j[key] = path when it is UTF-8; otherwise j[key] = utf8_display(path) and j[key + "_hex"] =
/// hex_bytes(path), so that the exact name can be recovered.
inline void set_path(nlohmann::json& j, const std::string& key, const std::string& path) {
  if (is_utf8(path)) {
    j[key] = path;
    return;
  }
  j[key] = utf8_display(path);
  j[key + "_hex"] = hex_bytes(path);
}

/// j.dump(indent) that never throws: any remaining invalid UTF-8 is replaced by U+FFFD.
inline std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bowlrp::core
