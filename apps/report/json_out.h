// JSON written by the tool: the library's UTF-8-safe writing (core/json_text.h).
#pragma once

#include <bowlrp/core/json_text.h>

namespace bowlrp::apps {

using core::dump_json;
using core::set_path;

}  // namespace bowlrp::apps
