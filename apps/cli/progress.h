// The progress display of the commands: the library's progress reports (core::ProgressFn) drawn as
// one line per stage on stderr (count, total, rate and ETA), and the line of a skipped input.
#pragma once

#include <bowlrp/core/parallel.h>

#include <string>

namespace bowlrp::apps {

/// A progress callback drawing one line per stage and printing notes on stderr (quiet: draws nothing
/// and prints only the notes that start with "warning: "). A line redraws at most ~10 times a second
/// on a terminal and every 10% (plus at the end) when stderr is not a terminal, so logs stay short.
/// Not thread-safe by itself: the library serialises its calls.
core::ProgressFn progress_display(bool quiet);

/// Prints "skipped PATH: reason" on stderr: the documented line for every input a batch leaves out.
void print_skipped(const std::string& path, const std::string& reason);

}  // namespace bowlrp::apps
