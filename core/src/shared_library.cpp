#include <bowlrp/core/shared_library.h>

#include <dlfcn.h>

#include <stdexcept>

namespace bowlrp::core {

namespace {

std::string last_error() {
  const char* e = dlerror();
  return e ? e : "unknown error";
}

}  // namespace

SharedLibrary::SharedLibrary(const void* anchor, const std::string& file_name) {
  Dl_info info{};
  if (!dladdr(anchor, &info) || !info.dli_fname)
    throw std::runtime_error("cannot load " + file_name + ": the folder of the bowlrp library asking for it is unknown (dladdr failed)");
  const std::string self = info.dli_fname;
  const auto slash = self.rfind('/');
  path_ = (slash == std::string::npos ? std::string(".") : self.substr(0, slash)) + "/" + file_name;
  dlerror();
  handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!handle_)
    throw std::runtime_error("cannot load " + path_ + " (installed beside " + self + "): " + last_error());
}

SharedLibrary::~SharedLibrary() {
  if (handle_) dlclose(handle_);
}

void* SharedLibrary::symbol(const char* name) const {
  dlerror();
  void* p = dlsym(handle_, name);
  if (!p) throw std::runtime_error(path_ + " has no symbol " + name + ": " + last_error());
  return p;
}

}  // namespace bowlrp::core
