// One-vs-rest kernel SVMs as the model layer sees them (svm::KernelSvm, f_c(x) = b_c + Σ_i α_ci k(s_i, x);
// relevance: decompose/svm_relevance.h).
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kind_traits.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bowlrp::model {

/// The kernel-SVM head kind.
template <>
struct HeadTraits<svm::KernelSvm> {
  static constexpr const char* name = "kernel-svm";  ///< kind name
  static constexpr const char* alias = "kernel";     ///< short name
  static constexpr bool applies_svm_bias = true;     ///< the bias policy (--bias) applies
  static constexpr const char* training_stage = "train SVMs";  ///< fit()'s stage name
  /// "kernel SVM (hik), 1877 support vectors".
  static std::string summary(const svm::KernelSvm& head, std::size_t classes);
  /// Refuses a head without support vectors (std::invalid_argument).
  static void check(const svm::KernelSvm& head);
  /// Whether its inputs must be >= 0 (an artefact projection over it must clamp: Model::with_artefact_projection).
  static bool needs_non_negative_inputs(const svm::KernelSvm& head) { return svm::needs_non_negative_inputs(head.kernel().type); }
  /// |df_cls/dΦ| at h: for sum-decomposable kernels the per-dimension slope of k, else the analytic gradient.
  static std::vector<double> sensitivity(const svm::KernelSvm& head, std::size_t cls, const std::vector<double>& h);
  /// Parameter layers cascading randomisation replaces, output first (1: the coefficients α_ci y_i).
  static std::size_t parameter_layers(const svm::KernelSvm& head);
  /// The head with its top `layers` parameter layers randomised (Model::with_randomised_head); throws
  /// std::invalid_argument for more layers than parameter_layers.
  static std::shared_ptr<const svm::KernelSvm> randomised(const svm::KernelSvm& head, std::size_t layers, std::uint64_t seed);
  /// b_c of every class (a network's output-layer biases).
  static std::vector<double> biases(const svm::KernelSvm& head);
  /// Checks rules against the head a fit will train, before training (std::invalid_argument).
  static void check_rules(const FitOptions& options, const decompose::Composite& composite);
  /// Validates the kernel options of a fit.
  static void validate(const FitOptions& options);
  /// Trains the one-vs-rest SVMs (svm::train_one_vs_rest) on n rows; reports "train SVMs" progress.
  /// Its `support_rows`: the training row of each shared support vector.
  static std::shared_ptr<const svm::KernelSvm> train(const double* rows, std::size_t n, std::size_t dim,
                                                     const std::vector<int>& labels,
                                                     const std::vector<std::string>& class_names,
                                                     const FitOptions& options, const svm::TrainOptions& svm_options,
                                                     const core::ProgressFn& progress,
                                                     std::vector<std::size_t>* support_rows);
  /// Sets the options of a fit that rebuilds this head (the kernel).
  static void restore(const svm::KernelSvm& head, FitOptions& options);
};

}  // namespace bowlrp::model
