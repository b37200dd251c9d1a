// The lines the commands print besides their results: the library's progress display
// (core/progress_display.h) and the line of a skipped input.
#pragma once

#include <bowlrp/core/progress_display.h>

#include <string>

namespace bowlrp::apps {

using core::progress_display;

/// Prints "skipped PATH: reason" on stderr: the documented line for every input a batch leaves out.
void print_skipped(const std::string& path, const std::string& reason);

}  // namespace bowlrp::apps
