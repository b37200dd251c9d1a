// Text that must become JSON. File names on Linux are bytes, not text: a name that is not
// well-formed UTF-8 (Unicode table 3-7: shortest forms, no surrogates, at most U+10FFFF) cannot be a
// JSON string. Writers show such a name with U+FFFD for each bad byte and keep the exact bytes in hex
// beside it, so that no result is lost and the name can be recovered.
#pragma once

#include <string>

namespace bowlrp::core {

/// Whether `s` is well-formed UTF-8.
bool is_utf8(const std::string& s);

/// `s` with each byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD.
std::string utf8_display(const std::string& s);

/// The bytes of `s` as lowercase hex, two digits each.
std::string hex_bytes(const std::string& s);

}  // namespace bowlrp::core
