// Parallel loops over images and the progress they report.
//
// Every batch in bowlrp (encoding, prediction, explanation, evaluation) runs one image per task on
// a TBB arena of a validated size and writes only to the slot of its index, so results never depend
// on the thread count. Progress is reported through a callback rather than drawn: the command-line
// tool draws a bar, Python shows its own, a library user may log or ignore it. The callback is
// called from worker threads, but never twice at once (the loop serialises the calls).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

namespace bowlrp::core {

/// Upper bound on a thread count: TBB itself crashes on arenas of ~100 000 slots, and more workers
/// than this only oversubscribe any machine bowlrp runs on.
constexpr int kMaxThreads = 1024;

/// Throws std::invalid_argument naming `what` (e.g. "threads") unless 0 <= threads <= kMaxThreads.
void validate_threads(int threads, const std::string& what = "threads");
/// Arena size of a thread-count option: threads if > 0, else the number of cores (validates first).
int resolve_threads(int threads);

/// One progress report of a stage.
struct ProgressEvent {
  /// What happened: a stage started (done = 0), advanced, finished, or a note to show.
  enum class Kind { start, step, finish, note };
  Kind kind = Kind::step;  ///< see Kind
  std::string stage;       ///< stage name, e.g. "encode train"
  std::size_t done = 0;    ///< units done so far
  std::size_t total = 0;   ///< units in the stage
  std::string text;        ///< for notes: the line to show (e.g. cache statistics)
};

/// Receives progress; called from worker threads, one call at a time. May be empty (no reports).
using ProgressFn = std::function<void(const ProgressEvent&)>;

/// Sends a note (no-op for an empty callback).
void progress_note(const ProgressFn& progress, const std::string& stage, const std::string& text);

/// Runs fn(i) for every i in [0, n) on `threads` workers (0: all cores; validated), one index per
/// task (indices are images: heavy and uneven), reporting start / step / finish of `stage` to
/// `progress`. fn must write only to slot i. Exceptions escaping fn are rethrown after the loop.
void for_each_index(std::size_t n, int threads, const std::string& stage, const ProgressFn& progress,
                    const std::function<void(std::size_t)>& fn);

/// Wall seconds since t0 (the stage timings of fits, protocols and analyses).
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// Process-wide runtime set-up for batch work: the BLAS runs single-threaded because bowlrp already
/// runs one image per core (nested BLAS threads only contend), and this also keeps every BLAS
/// result independent of the machine's core count. Called by the command-line tool and by the
/// Python module at import; idempotent.
void init_runtime();

}  // namespace bowlrp::core
