#include "cli/progress.h"

#include <cstdio>

namespace bowlrp::apps {

void print_skipped(const std::string& path, const std::string& reason) {
  std::fprintf(stderr, "skipped %s: %s\n", path.c_str(), reason.c_str());
}

}  // namespace bowlrp::apps
