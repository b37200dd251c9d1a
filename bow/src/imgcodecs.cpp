#include <bowlrp/bow/imgcodecs.h>

#include <bowlrp/core/shared_library.h>

#include <opencv2/core.hpp>

namespace bowlrp::bow {

namespace {

using DecodeFn = void (*)(const cv::Mat&, int, cv::Mat&);
using EncodeFn = bool (*)(const std::string&, const cv::Mat&, std::vector<unsigned char>&, const std::vector<int>&);

// Opened once (a failed load is retried on the next call) and kept open.
const core::SharedLibrary& library() {
  static const core::SharedLibrary lib(reinterpret_cast<const void*>(&library), "libbowlrp_imgcodecs.so");
  return lib;
}

}  // namespace

cv::Mat imdecode(const cv::Mat& buf, int flags) {
  static const auto fn = reinterpret_cast<DecodeFn>(library().symbol("bowlrp_imdecode"));
  cv::Mat out;
  fn(buf, flags, out);
  return out;
}

bool imencode(const std::string& ext, const cv::Mat& image, std::vector<unsigned char>& buf,
              const std::vector<int>& params) {
  static const auto fn = reinterpret_cast<EncodeFn>(library().symbol("bowlrp_imencode"));
  return fn(ext, image, buf, params);
}

}  // namespace bowlrp::bow
