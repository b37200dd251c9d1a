// JSON written by the tool. File names on Linux are bytes, not text: a name that is not valid UTF-8
// cannot be a JSON string, and nlohmann::json throws (type_error 316) when asked to dump one, which
// would lose a whole batch of results at the last step. So paths go in through set_path (a display
// form with U+FFFD for each bad byte, plus the exact bytes in hex) and every file is written through
// dump_json, which replaces rather than throws should some other string carry bad bytes.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace bowlrp::apps {

/// j[key] = path when it is UTF-8; otherwise j[key] = core::utf8_display(path) and j[key + "_hex"] =
/// core::hex_bytes(path) (core/utf8.h), so the exact name can be recovered.
void set_path(nlohmann::json& j, const std::string& key, const std::string& path);

/// j.dump(indent) that never throws: any remaining invalid UTF-8 is replaced by U+FFFD.
std::string dump_json(const nlohmann::json& j, int indent);

}  // namespace bowlrp::apps
