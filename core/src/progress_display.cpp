#include <bowlrp/core/progress_display.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace bowlrp::core {
namespace {

using Clock = std::chrono::steady_clock;

// Progress of one stage's loop: count, total, rate and ETA on one line of stderr.
class Progress {
 public:
  Progress(std::string label, std::size_t total)
      : label_(std::move(label)), total_(total), tty_(::isatty(STDERR_FILENO) != 0), start_(Clock::now()),
        last_draw_(start_) {}
  ~Progress() { finish(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void tick(std::size_t n = 1);
  void finish() {
    if (finished_.exchange(true)) return;
    std::lock_guard<std::mutex> lock(mutex_);
    draw(done_.load(), true);
  }

 private:
  void draw(std::size_t done, bool final);
  std::string label_;
  std::size_t total_;
  bool tty_;
  std::atomic<std::size_t> done_{0};
  std::atomic<bool> finished_{false};
  std::mutex mutex_;
  Clock::time_point start_, last_draw_;
  std::size_t last_decile_ = 0;
};

void Progress::tick(std::size_t n) {
  const std::size_t done = done_.fetch_add(n) + n;
  const auto now = Clock::now();
  if (tty_) {
    std::unique_lock<std::mutex> lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock() || now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(done, false);
  } else if (total_ > 0) {
    const std::size_t decile = done * 10 / total_;
    std::lock_guard<std::mutex> lock(mutex_);
    if (decile > last_decile_ && done < total_) {
      last_decile_ = decile;
      draw(done, false);
    }
  }
}

void Progress::draw(std::size_t done, bool final) {
  const double t = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = t > 0 ? done / t : 0.0;
  char line[256];
  const double eta = rate > 0 && total_ > done ? (total_ - done) / rate : 0.0;
  if (total_ > 0) {
    const int width = 24;
    const int filled = static_cast<int>(width * std::min<double>(1.0, double(done) / total_));
    std::string bar(filled, '#');
    bar.resize(width, '.');
    std::snprintf(line, sizeof line, "%-18s [%s] %zu/%zu  %.1f/s  %s %.1fs", label_.c_str(), bar.c_str(), done,
                  total_, rate, final ? "took" : "eta", final ? t : eta);
  } else {
    std::snprintf(line, sizeof line, "%-18s %zu  %.1f/s  %.1fs", label_.c_str(), done, rate, t);
  }
  std::fprintf(stderr, tty_ ? "\r%s\033[K%s" : "%s%s", line, final || !tty_ ? "\n" : "");
  std::fflush(stderr);
}

}  // namespace

ProgressFn progress_display(bool quiet) {
  if (quiet)  // warnings (e.g. a cache that cannot be written) are shown all the same
    return [](const ProgressEvent& e) {
      if (e.kind == ProgressEvent::Kind::note && e.text.rfind("warning: ", 0) == 0)
        std::fprintf(stderr, "%s\n", e.text.c_str());
    };
  auto bars = std::make_shared<std::map<std::string, std::unique_ptr<Progress>>>();
  return [bars](const ProgressEvent& e) {
    using Kind = ProgressEvent::Kind;
    switch (e.kind) {
      case Kind::note:
        std::fprintf(stderr, "%s\n", e.text.c_str());
        return;
      case Kind::start:
        (*bars)[e.stage] = std::make_unique<Progress>(e.stage, e.total);
        return;
      case Kind::step: {
        auto it = bars->find(e.stage);
        if (it == bars->end()) it = bars->emplace(e.stage, std::make_unique<Progress>(e.stage, e.total)).first;
        it->second->tick(1);
        return;
      }
      case Kind::finish: {
        auto it = bars->find(e.stage);
        if (it != bars->end()) {
          it->second->finish();
          bars->erase(it);
        }
        return;
      }
    }
  };
}

}  // namespace bowlrp::core
