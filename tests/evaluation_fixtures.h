// Fixtures shared by the evaluation suites that need a model whose head decides where relevance goes
// (evaluation/randomisation, evaluation/robustness): a structured image, a Bag-of-Words pipeline whose
// words are the image's own descriptors, and a hand-made two-class SVM.
#pragma once

#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/svm/svm.h>

#include "svm_fixtures.h"

#include <cmath>
#include <memory>
#include <random>
#include <vector>

namespace bowlrp::test::evaluation {

// A structured 80 x 60 image (two textures and a blob) and a Bag-of-Words pipeline whose 16 words
// are descriptors of the image itself, with a 2 x 2 pyramid (V = 80): the words matter unequally,
// so the head's coefficients decide where relevance goes.
inline bowlrp::bow::GrayImage structured_image(const bowlrp::bow::ImageLoader& loader) {
  std::vector<float> px(80 * 60);
  for (int y = 0; y < 60; ++y)
    for (int x = 0; x < 80; ++x) {
      const double blob = std::exp(-((x - 55.0) * (x - 55.0) + (y - 20.0) * (y - 20.0)) / 60.0);
      const double texture = x < 40 ? 0.3 * std::sin(x * 0.9) * std::cos(y * 0.7) : 0.2 * ((x / 3 + y / 5) % 2);
      px[y * 80 + x] = static_cast<float>(0.4 + texture + 0.5 * blob);
    }
  return loader.from_gray(px.data(), 80, 60);
}

inline std::shared_ptr<const bowlrp::bow::Pipeline> structured_pipeline() {
  bowlrp::bow::PipelineOptions options;
  options.dsift.bin_sizes = {4};
  options.dsift.step = 3;
  options.pooling.pyramid = {{1, 1}, {2, 2}};
  const bowlrp::bow::GrayImage image = structured_image(bowlrp::bow::ImageLoader(options.image));
  const bowlrp::bow::FeatureTrace ft = bowlrp::bow::DenseSift(options.dsift).extract(image);
  std::vector<float> centres;
  for (std::size_t k = 0; k < 16; ++k) {
    const std::size_t l = (k * 7919) % ft.size();
    centres.insert(centres.end(), ft.descriptor(l), ft.descriptor(l) + 128);
  }
  return std::make_shared<const bowlrp::bow::Pipeline>(options, bowlrp::bow::Codebook(128, std::move(centres)));
}

// Two classes over 6 random support vectors in [0, 2/V]: a hand-made hik SVM.
inline std::shared_ptr<const bowlrp::svm::KernelSvm> hand_made_svm(std::size_t V, bowlrp::svm::KernelType type) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.0, 2.0 / V);
  std::vector<double> support(6 * V);
  for (double& v : support) v = u(rng);
  return std::make_shared<const bowlrp::svm::KernelSvm>(
      bowlrp::test::make_kernel(type), V, support,
      std::vector<bowlrp::svm::BinarySvm>{{"a", 0.1, {1.0, -0.7, 0.4, -0.2, 0.8, -0.5}},
                                          {"b", -0.2, {-0.6, 0.9, -0.3, 0.5, -0.8, 0.2}}});
}

}  // namespace bowlrp::test::evaluation
