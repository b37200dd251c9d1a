// The VLAD encoding as the model layer sees it (bow::VladPipeline: dense SIFT -> RootSIFT -> nearest
// codebook centre -> residual sums per pyramid cell -> signed square root, intra- and L2
// normalisation, V = K x 128 x cells; relevance: decompose/vlad_relevance.h).
#pragma once

#include <bowlrp/bow/vlad.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kind_traits.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::model {

/// The VLAD kind.
template <>
struct EncodingTraits<bow::VladPipeline> {
  static constexpr const char* name = "vlad";   ///< kind name
  static constexpr const char* alias = "vlad";  ///< short name (the same)
  static constexpr const char* dimension_note = " (words x 128 x pyramid cells)";  ///< how V is made
  static constexpr const char* training_stage = "k-means";   ///< what follows the descriptor sample
  static constexpr const char* default_head = "linear-svm";  ///< fit()'s head when none is given
  static constexpr bool mirrors_by_default = true;           ///< as Fisher vectors
  static constexpr bool non_negative = false;                ///< Φ_d is signed (in [-1, 1])
  /// "vlad, RootSIFT, 256 words, signed square root, intra-normalised, pyramid 1x1, V = 32768".
  static std::string summary(const bow::VladPipeline& stage);
  /// {"vlad_epsilon", ε of the VLAD layer} (the composite's Fisher-layer rule, FisherRule).
  static std::vector<std::pair<std::string, double>> rule_fields(const decompose::Composite& composite);
  /// |df/dΦ| through the VLAD split (ε rule), made non-negative per feature, then to pixels.
  static std::vector<double> sensitivity(const bow::VladPipeline& stage, const bow::VladTrace& trace,
                                         const std::vector<double>& gradient);
  /// Validates the VLAD options of a fit (image and dense SIFT from FitOptions::pipeline).
  static void validate(const FitOptions& options);
  /// C of the SVMs (FitOptions::svm.C).
  static double svm_C(const FitOptions& options);
  /// "256 words (VLAD)".
  static std::string fit_summary(const FitOptions& options);
  /// Trains the codebook of RootSIFT descriptors on the seeded sample (bow::train_vlad_codebook).
  static std::shared_ptr<const bow::VladPipeline> train(const FitOptions& options, const LabelledImages& data,
                                                        const core::ProgressFn& progress,
                                                        std::vector<Skipped>* failures, StageTimes* times);
  /// Sets the options of a fit that rebuilds this stage.
  static void restore(const bow::VladPipeline& stage, FitOptions& options);
};

}  // namespace bowlrp::model
