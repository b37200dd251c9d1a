// libbowlrp_imgcodecs.so: the only bowlrp library that links libopencv_imgcodecs; bow::imdecode and
// bow::imencode (bowlrp/bow/imgcodecs.h) load it on first use.
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <string>
#include <vector>

extern "C" __attribute__((visibility("default"))) void bowlrp_imdecode(const cv::Mat& buf, int flags, cv::Mat& out) {
  out = cv::imdecode(buf, flags);
}

extern "C" __attribute__((visibility("default"))) bool bowlrp_imencode(const std::string& ext, const cv::Mat& image,
                                                                      std::vector<unsigned char>& buf,
                                                                      const std::vector<int>& params) {
  return cv::imencode(ext, image, buf, params);
}
