#include "report/json_out.h"

#include <bowlrp/core/utf8.h>

namespace bowlrp::apps {

void set_path(nlohmann::json& j, const std::string& key, const std::string& path) {
  if (core::is_utf8(path)) {
    j[key] = path;
    return;
  }
  j[key] = core::utf8_display(path);
  j[key + "_hex"] = core::hex_bytes(path);
}

std::string dump_json(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace bowlrp::apps
