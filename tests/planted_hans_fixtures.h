// The planted Clever-Hans strategy of SpRAy's tests (evaluation/spray), shared with
// bench/spray_preprocessing.cpp: shapes images with a black-and-white checkerboard in the top-left
// corner, and the fit options of the small model trained on them.
#pragma once

#include <bowlrp/datasets/shapes.h>
#include <bowlrp/model/fit.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cstddef>
#include <filesystem>
#include <string>

namespace bowlrp::test {

/// Writes shapes image `index` as PNG, with a `marker` x `marker` px checkerboard of 4 x 4 squares at (2, 2) if marked.
inline std::string write_marked(const bowlrp::datasets::ShapesOptions& o, int index, bool marked, const std::string& path,
                                int marker = 16) {
  bowlrp::datasets::ShapeImage im = bowlrp::datasets::generate_shape(o, index);
  const int square = marker / 4;
  if (marked)
    for (int y = 2; y < 2 + marker; ++y)
      for (int x = 2; x < 2 + marker; ++x)
        for (int ch = 0; ch < 3; ++ch)
          im.bgr[(static_cast<std::size_t>(y) * im.width + x) * 3 + ch] = ((x / square + y / square) % 2) ? 255 : 0;
  const cv::Mat m(im.height, im.width, CV_8UC3, im.bgr.data());
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  cv::imwrite(path, m);
  return path;
}

/// Fit options of the planted model: 64 words from 20 000 descriptors, step 3, images at full size.
inline bowlrp::model::FitOptions planted_fit_options() {
  bowlrp::model::FitOptions fo;
  fo.pipeline.kmeans.words = 64;
  fo.pipeline.kmeans.samples = 20000;
  fo.pipeline.dsift.step = 3;
  fo.pipeline.image.max_side = 0;
  fo.training_accuracy = false;
  return fo;
}

}  // namespace bowlrp::test
