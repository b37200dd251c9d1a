// Helpers shared by the test suites: data paths, temporary folders, the loud skip.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <sys/wait.h>
#include <iostream>
#include <random>
#include <string>

namespace bowlrp::test {

/// Whether calling f throws E whose message contains every needle (a missing needle is logged).
template <class E, class F>
inline bool throws_with(F&& f, std::initializer_list<std::string> needles) {
  try {
    f();
  } catch (const E& e) {
    const std::string m = e.what();
    for (const std::string& n : needles)
      if (m.find(n) == std::string::npos) {
        BOOST_TEST_MESSAGE("message '" + m + "' lacks '" + n + "'");
        return false;
      }
    return true;
  } catch (...) {
    return false;
  }
  return false;
}

/// VOC2007 root: $BOWLRP_VOC_ROOT, else the CMake option BOWLRP_VOC_ROOT
/// (default ../shared/datasets/voc2007/VOCdevkit/VOC2007 beside the source tree).
inline std::string voc_root() {
  if (const char* env = std::getenv("BOWLRP_VOC_ROOT"); env && *env) return env;
  return BOWLRP_DEFAULT_VOC_ROOT;
}

/// Whether the real VOC data is present; if not, says so loudly on stderr. In CI (CI=true) the
/// data must be there, so its absence fails the test instead of skipping it.
inline bool have_voc() {
  namespace fs = std::filesystem;
  const std::string root = voc_root();
  if (fs::exists(fs::path(root) / "ImageSets" / "Main" / "train.txt")) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") {
    BOOST_FAIL("PASCAL VOC2007 not found at " + root + " (set BOWLRP_VOC_ROOT); CI must use it");
  }
  std::cerr << "\n*** SKIPPED: PASCAL VOC2007 not found at " << root
            << " (set BOWLRP_VOC_ROOT or -DBOWLRP_VOC_ROOT) ***\n\n";
  return false;
}

/// A fresh temporary folder removed at scope exit.
class TempDir {
 public:
  TempDir() {
    namespace fs = std::filesystem;
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("bowlrp_test_" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// The folder.
  const std::filesystem::path& path() const { return path_; }
  /// A path inside the folder.
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

#ifdef BOWLRP_CLI
/// Runs the bowlrp executable with `args` (shell-quoted by the caller); returns its exit code and
/// puts stdout + stderr in *output.
inline int run_cli(const std::string& args, std::string* output = nullptr) {
  TempDir tmp;
  const std::string log = tmp / "log.txt";
  const std::string cmd = std::string(BOWLRP_CLI) + " " + args + " > '" + log + "' 2>&1";
  const int status = std::system(cmd.c_str());
  std::ifstream in(log, std::ios::binary);
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  // Under BOWLRP_SANITIZE the child's sanitizer reports land in its captured output, and a test that
  // expects a non-zero exit code would not notice them: any report fails the calling test here.
  for (const char* report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", ": runtime error: "})
    if (text.find(report) != std::string::npos) BOOST_ERROR("bowlrp " << args << ": sanitizer report\n" << text);
  if (output) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

/// n seeded pseudo-random bytes.
inline std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng() & 0xff);
  return s;
}

}  // namespace bowlrp::test
