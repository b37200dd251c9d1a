// Shared libraries of bowlrp's own that are loaded on first use instead of at start-up, so that a
// command pays only for what it runs: libbowlrp_nn_torch.so (network training with libtorch, ~270
// libraries) and libbowlrp_imgcodecs.so (OpenCV's image codecs, ~120 libraries through GDAL, GDCM
// and OpenEXR). Each is looked for in the folder of the bowlrp library that asks for it (found with
// dladdr), which is where the build tree and `cmake --install` put it.
#pragma once

#include <string>

namespace bowlrp::core {

/// An open shared library (RAII: dlclose on destruction; opened RTLD_NODELETE, so its code stays
/// mapped for anything it handed out). Not copyable.
class SharedLibrary {
 public:
  /// Opens `file_name` from the folder of the shared object that holds `anchor` (an address in the
  /// calling library, e.g. one of its functions). Throws std::runtime_error naming the path tried
  /// and dlerror()'s reason if it cannot be loaded.
  SharedLibrary(const void* anchor, const std::string& file_name);
  ~SharedLibrary();
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  /// The address of `name` (an extern "C" symbol). Throws std::runtime_error naming the symbol and
  /// the library if it is missing.
  void* symbol(const char* name) const;
  /// The path the library was loaded from.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  void* handle_ = nullptr;
};

}  // namespace bowlrp::core
