#include <bowlrp/core/parallel.h>

#include <cblas.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <mutex>
#include <stdexcept>
#include <thread>

namespace bowlrp::core {

void validate_threads(int threads, const std::string& what) {
  if (threads < 0 || threads > kMaxThreads)
    throw std::invalid_argument(what + " " + std::to_string(threads) + ": expected 0 (all cores) or a count from 1 to " +
                                std::to_string(kMaxThreads));
}

int resolve_threads(int threads) {
  validate_threads(threads);
  if (threads > 0) return threads;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw ? static_cast<int>(hw) : 1;
}

void progress_note(const ProgressFn& progress, const std::string& stage, const std::string& text) {
  if (!progress) return;
  ProgressEvent e;
  e.kind = ProgressEvent::Kind::note;
  e.stage = stage;
  e.text = text;
  progress(e);
}

void for_each_index(std::size_t n, int threads, const std::string& stage, const ProgressFn& progress,
                    const std::function<void(std::size_t)>& fn) {
  const int workers = resolve_threads(threads);
  std::mutex mutex;
  std::size_t done = 0;
  const auto report = [&](ProgressEvent::Kind kind) {
    if (!progress) return;
    ProgressEvent e;
    e.kind = kind;
    e.stage = stage;
    e.total = n;
    e.done = done;
    progress(e);
  };
  report(ProgressEvent::Kind::start);
  tbb::task_arena arena(workers);
  arena.execute([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, n, 1),
        [&](const tbb::blocked_range<std::size_t>& r) {
          for (std::size_t i = r.begin(); i < r.end(); ++i) {
            fn(i);
            if (progress) {
              const std::lock_guard<std::mutex> lock(mutex);
              ++done;
              report(ProgressEvent::Kind::step);
            }
          }
        },
        tbb::simple_partitioner());
  });
  done = n;
  report(ProgressEvent::Kind::finish);
}

void init_runtime() { openblas_set_num_threads(1); }

}  // namespace bowlrp::core
