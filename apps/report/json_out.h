// JSON written by the tool. File names on Linux are bytes, not text: a name that is not valid UTF-8
// cannot be a JSON string, and nlohmann::json throws (type_error 316) when asked to dump one, which
// would lose a whole batch of results at the last step. So paths go in through set_path (a display
// form with U+FFFD for each bad byte, plus the exact bytes in hex) and every file is written through
// dump_json, which replaces rather than throws should some other string carry bad bytes.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace bowlrp::apps {

/// Whether `s` is well-formed UTF-8 (shortest forms, no surrogates, at most U+10FFFF).
bool is_utf8(const std::string& s);

/// `s` with each byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
std::string utf8_display(const std::string& s);

/// The bytes of `s` as lowercase hex, two digits each.
std::string hex_bytes(const std::string& s);

/// j[key] = path when it is UTF-8; otherwise j[key] = utf8_display(path) and j[key + "_hex"] =
/// hex_bytes(path), so the exact name can be recovered.
void set_path(nlohmann::json& j, const std::string& key, const std::string& path);

/// j.dump(indent) that never throws: any remaining invalid UTF-8 is replaced by U+FFFD.
std::string dump_json(const nlohmann::json& j, int indent);

}  // namespace bowlrp::apps
