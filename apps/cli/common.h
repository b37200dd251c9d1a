// Small helpers shared by the subcommands: wall-clock seconds, seed mixing, comma-separated lists,
// the line that names a skipped input.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace bowlrp::apps {

/// Wall seconds since t0.
inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// splitmix64: derives independent seeds (per image, per purpose) from one run seed, so that what
/// an image draws does not depend on the order in which threads reach it.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/// "a,b,,c" -> {"a", "b", "c"} (empty items dropped).
std::vector<std::string> split_csv(const std::string& text);

/// Prints "skipped PATH: reason" on stderr: the documented line for every input a batch leaves out.
inline void print_skipped(const std::string& path, const std::string& reason) {
  std::fprintf(stderr, "skipped %s: %s\n", path.c_str(), reason.c_str());
}

}  // namespace bowlrp::apps
