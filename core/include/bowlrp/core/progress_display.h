// A progress display for programs that drive the library (the command-line tool among them): the
// library's progress reports (ProgressFn, parallel.h) drawn as one line per stage on stderr: the
// stage, a bar, count / total, rate and the time left (when it ends: the time it took). A line
// redraws at most ~10 times a second on a terminal, and every 10% (plus at the end) when stderr is
// not a terminal, so that logs stay short. Notes are printed as they come.
#pragma once

#include <bowlrp/core/parallel.h>

namespace bowlrp::core {

/// The display above (quiet: draws nothing and prints only the notes that start with "warning: ").
/// Not thread-safe by itself: the library serialises its calls.
ProgressFn progress_display(bool quiet = false);

}  // namespace bowlrp::core
