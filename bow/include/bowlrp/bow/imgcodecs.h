// OpenCV's image codecs (cv::imdecode, cv::imencode) without linking libopencv_imgcodecs, which
// maps about 120 further libraries (GDAL, GDCM, OpenEXR, ...) at start-up: the calls go to
// libbowlrp_imgcodecs.so (bow/imgcodecs/), loaded on the first one (core::SharedLibrary). JPEGs are
// read by libjpeg directly (image.h) and never come here. Callers include <opencv2/imgcodecs.hpp>
// for the flag constants only; this header needs no OpenCV header.
#pragma once

#include <string>
#include <vector>

namespace cv {
class Mat;
}

namespace bowlrp::bow {

/// cv::imdecode(buf, flags): an empty Mat if OpenCV cannot decode the bytes; throws what OpenCV
/// throws, and std::runtime_error naming libbowlrp_imgcodecs.so if that cannot be loaded.
cv::Mat imdecode(const cv::Mat& buf, int flags);
/// cv::imencode(ext, image, buf, params): false if OpenCV cannot encode the image; throws as imdecode.
bool imencode(const std::string& ext, const cv::Mat& image, std::vector<unsigned char>& buf,
              const std::vector<int>& params = {});

}  // namespace bowlrp::bow
