// A thread-safe progress display for long loops: count, total, rate and ETA on one line of stderr,
// and the adaptor that draws the library's progress reports (core::ProgressFn) with it.
#pragma once

#include <bowlrp/core/parallel.h>

#include <atomic>
#include <memory>
#include <map>
#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>

namespace bowlrp::apps {

/// Progress of one loop; tick() may be called from any thread. Redraws at most ~10 times a second on
/// a terminal and every 10% (plus at the end) when stderr is not a terminal, so logs stay short.
class Progress {
 public:
  /// Starts a loop of `total` steps named `label` (quiet: draw nothing).
  Progress(std::string label, std::size_t total, bool quiet = false);
  /// Draws the final line if not done yet.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  /// Counts n more steps done.
  void tick(std::size_t n = 1);
  /// Completes the line (prints the final count, rate and elapsed time).
  void finish();
  /// Seconds since construction.
  double elapsed() const;

 private:
  void draw(std::size_t done, bool final);
  std::string label_;
  std::size_t total_;
  bool quiet_;
  bool tty_;
  std::atomic<std::size_t> done_{0};
  std::atomic<bool> finished_{false};
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::size_t last_decile_ = 0;
};

/// A progress callback drawing one Progress line per stage and printing notes on stderr (quiet:
/// draws nothing and prints only the notes that start with "warning: "). Not thread-safe by itself:
/// the library serialises its calls.
core::ProgressFn progress_display(bool quiet);

/// Prints "skipped PATH: reason" on stderr: the documented line for every input a batch leaves out.
void print_skipped(const std::string& path, const std::string& reason);

}  // namespace bowlrp::apps
