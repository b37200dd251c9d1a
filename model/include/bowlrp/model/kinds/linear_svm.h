// One-vs-rest linear SVMs with explicit weights as the model layer sees them (svm::LinearSvm,
// f_c(x) = b_c + w_c · x; relevance: decompose/svm_relevance.h).
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kind_traits.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bowlrp::model {

/// The linear-SVM head kind.
template <>
struct HeadTraits<svm::LinearSvm> {
  static constexpr const char* name = "linear-svm";  ///< kind name
  static constexpr const char* alias = "linear";     ///< short name
  static constexpr bool applies_svm_bias = true;     ///< the bias policy (--bias) applies
  static constexpr const char* training_stage = "train SVMs";  ///< fit()'s stage name
  /// "linear SVM, 20 weight vectors".
  static std::string summary(const svm::LinearSvm& head, std::size_t classes);
  /// Nothing beyond the model's checks.
  static void check(const svm::LinearSvm& head);
  /// Whether its inputs must be >= 0 (an artefact projection over it must clamp: Model::with_artefact_projection).
  static bool needs_non_negative_inputs(const svm::LinearSvm&) { return false; }
  /// |w_cls|.
  static std::vector<double> sensitivity(const svm::LinearSvm& head, std::size_t cls, const std::vector<double>& h);
  /// Parameter layers cascading randomisation replaces, output first (1: the weights w_c).
  static std::size_t parameter_layers(const svm::LinearSvm& head);
  /// The head with its top `layers` parameter layers randomised (Model::with_randomised_head); throws
  /// std::invalid_argument for more layers than parameter_layers.
  static std::shared_ptr<const svm::LinearSvm> randomised(const svm::LinearSvm& head, std::size_t layers, std::uint64_t seed);
  /// b_c of every class (a network's output-layer biases).
  static std::vector<double> biases(const svm::LinearSvm& head);
  /// Checks rules against the head a fit will train, before training (std::invalid_argument).
  static void check_rules(const FitOptions& options, const decompose::Composite& composite);
  /// Nothing beyond FitOptions::validate.
  static void validate(const FitOptions& options);
  /// Trains the one-vs-rest linear SVMs (svm::train_linear_one_vs_rest); reports "train SVMs" progress.
  /// Keeps no support vectors: `support_rows` is left empty.
  static std::shared_ptr<const svm::LinearSvm> train(const double* rows, std::size_t n, std::size_t dim,
                                                     const std::vector<int>& labels,
                                                     const std::vector<std::string>& class_names,
                                                     const FitOptions& options, const svm::TrainOptions& svm_options,
                                                     const core::ProgressFn& progress,
                                                     std::vector<std::size_t>* support_rows);
  /// Nothing to restore.
  static void restore(const svm::LinearSvm& head, FitOptions& options);
};

}  // namespace bowlrp::model
