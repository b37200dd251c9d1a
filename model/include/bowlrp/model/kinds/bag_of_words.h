// The Bag-of-Words encoding as the model layer sees it (bow::Pipeline: dense SIFT -> visual words ->
// pooled histogram over a spatial pyramid, V = K x cells; relevance: decompose/feature_relevance.h).
#pragma once

#include <bowlrp/bow/pipeline.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kind_traits.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::model {

/// The Bag-of-Words kind.
template <>
struct EncodingTraits<bow::Pipeline> {
  static constexpr const char* name = "bag-of-words";  ///< kind name
  static constexpr const char* alias = "bow";          ///< short name
  static constexpr const char* dimension_note = " (codebook size x pyramid cells)";  ///< how V is made
  static constexpr const char* training_stage = "k-means";  ///< what follows the descriptor sample
  static constexpr const char* default_head = "kernel-svm";  ///< fit()'s head when none is given
  static constexpr bool mirrors_by_default = false;          ///< fit() trains on mirrors by default
  static constexpr bool non_negative = true;  ///< every Φ_d >= 0 (histograms in [0, 1])
  /// "bag-of-words, 1024 words, hard mapping, p = 1, pyramid 1x1,2x2, l1".
  static std::string summary(const bow::Pipeline& stage);
  /// No rule parameter (the Bag-of-Words split has none).
  static std::vector<std::pair<std::string, double>> rule_fields(const decompose::Composite& composite);
  /// |df/dΦ| split over features by the Bag-of-Words split, then to pixels.
  static std::vector<double> sensitivity(const bow::Pipeline& stage, const bow::EncodeTrace& trace,
                                         const std::vector<double>& gradient);
  /// Validates the Bag-of-Words options of a fit.
  static void validate(const FitOptions& options);
  /// C of the SVMs (FitOptions::svm.C).
  static double svm_C(const FitOptions& options);
  /// "K = 1024".
  static std::string fit_summary(const FitOptions& options);
  /// Trains the codebook on a seeded descriptor sample of the images (model/fit.h train_codebook).
  static std::shared_ptr<const bow::Pipeline> train(const FitOptions& options, const LabelledImages& data,
                                                    const core::ProgressFn& progress, std::vector<Skipped>* failures,
                                                    StageTimes* times);
  /// Sets the options of a fit that rebuilds this stage.
  static void restore(const bow::Pipeline& stage, FitOptions& options);
};

}  // namespace bowlrp::model
