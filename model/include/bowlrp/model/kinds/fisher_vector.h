// The Fisher-vector encoding as the model layer sees it (bow::FisherPipeline: dense SIFT -> PCA (+ xy)
// -> GMM -> improved Fisher vector, V = 2 K G x cells; relevance: decompose/fisher_relevance.h).
#pragma once

#include <bowlrp/bow/fisher.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kind_traits.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::model {

/// The Fisher-vector kind.
template <>
struct EncodingTraits<bow::FisherPipeline> {
  static constexpr const char* name = "fisher-vector";  ///< kind name
  static constexpr const char* alias = "fisher";        ///< short name
  /// how V is made
  static constexpr const char* dimension_note = " (2 x components x descriptor dimension x pyramid cells)";
  static constexpr const char* training_stage = "PCA + GMM";  ///< what follows the descriptor sample
  static constexpr const char* default_head = "linear-svm";   ///< fit()'s head when none is given
  static constexpr bool mirrors_by_default = true;            ///< +2.2 points mAP on VOC2007 (README)
  static constexpr bool non_negative = false;  ///< Φ_d is signed (in [-1, 1])
  /// "fisher-vector, RootSIFT, PCA 80 + xy, 256 Gaussians, pyramid 1x1, V = 41984".
  static std::string summary(const bow::FisherPipeline& stage);
  /// {"fisher_epsilon", ε of the Fisher layer}.
  static std::vector<std::pair<std::string, double>> rule_fields(const decompose::Composite& composite);
  /// |df/dΦ| through the Fisher split (ε rule), made non-negative per feature, then to pixels.
  static std::vector<double> sensitivity(const bow::FisherPipeline& stage, const bow::FisherTrace& trace,
                                         const std::vector<double>& gradient);
  /// Validates the Fisher options of a fit (and refuses kernels that need non-negative inputs).
  static void validate(const FitOptions& options);
  /// C of the SVMs over Fisher vectors (FitOptions::fisher_C).
  static double svm_C(const FitOptions& options);
  /// "256 Gaussians (Fisher vectors)".
  static std::string fit_summary(const FitOptions& options);
  /// Trains PCA and the mixture on a seeded descriptor sample (model/fit.h train_fisher_parameters).
  static std::shared_ptr<const bow::FisherPipeline> train(const FitOptions& options, const LabelledImages& data,
                                                          const core::ProgressFn& progress,
                                                          std::vector<Skipped>* failures, StageTimes* times);
  /// Sets the options of a fit that rebuilds this stage.
  static void restore(const bow::FisherPipeline& stage, FitOptions& options);
};

}  // namespace bowlrp::model
