// One-vs-rest linear SVMs over the explicit map of an additive kernel as the model layer sees them
// (svm::AdditiveMapSvm, f_c(x) = b_c + w_c · Ψ(x) = b_c + Σ_d Σ_j w_{c,d,j} ψ_j(x_d), Vedaldi & Zisserman 2012;
// relevance: decompose/additive_map_relevance.h, R_d = Σ_j w_{c,d,j} ψ_j(x_d) + β_d, exact).
// The kernel is FitOptions::kernel (hik or chi2), the map's order / period / window FitOptions::additive_map.
// Training is single-node: svm::train_additive_map_one_vs_rest (libsvm on the linear Gram matrix of Ψ(x)).
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kind_traits.h>
#include <bowlrp/svm/additive_map_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bowlrp::model {

/// The explicit-map linear SVM head kind.
template <>
struct HeadTraits<svm::AdditiveMapSvm> {
  static constexpr const char* name = "explicit-map-svm";  ///< kind name
  static constexpr const char* alias = "explicit-map";     ///< short name
  static constexpr bool applies_svm_bias = true;           ///< the bias policy (--bias) applies
  static constexpr const char* training_stage = "train SVMs";  ///< fit()'s stage name
  /// "explicit-map linear SVM (chi2, order 2), 20 weight vectors over 15360 map values".
  static std::string summary(const svm::AdditiveMapSvm& head, std::size_t classes);
  /// Nothing beyond the model's checks.
  static void check(const svm::AdditiveMapSvm& head);
  /// Whether its inputs must be >= 0: as the kernel the map approximates (svm::needs_non_negative_inputs).
  static bool needs_non_negative_inputs(const svm::AdditiveMapSvm& head) {
    return svm::needs_non_negative_inputs(head.map().options().kernel);
  }
  /// |df_cls/dx_d| = |Σ_j w_{d,j} ψ_j'(x_d)| by a central difference of the per-dimension term (step
  /// max(1e-3 x_d, 1e-6), clamped at 0 from below).
  static std::vector<double> sensitivity(const svm::AdditiveMapSvm& head, std::size_t cls, const std::vector<double>& h);
  /// Parameter layers cascading randomisation replaces, output first (1: the weights w_c over Ψ).
  static std::size_t parameter_layers(const svm::AdditiveMapSvm& head);
  /// The head with its top `layers` parameter layers randomised (each class's weights shuffled); throws
  /// std::invalid_argument for more layers than parameter_layers.
  static std::shared_ptr<const svm::AdditiveMapSvm> randomised(const svm::AdditiveMapSvm& head, std::size_t layers,
                                                               std::uint64_t seed);
  /// b_c of every class.
  static std::vector<double> biases(const svm::AdditiveMapSvm& head);
  /// Nothing to check (the SVM rule applies).
  static void check_rules(const FitOptions& options, const decompose::Composite& composite);
  /// Refuses a kernel other than hik / chi2 and bad map options (std::invalid_argument naming them).
  static void validate(const FitOptions& options);
  /// Trains single-node (svm::train_additive_map_one_vs_rest on Ψ of the rows); reports "train SVMs"
  /// progress. Keeps no support vectors: `support_rows` is left empty.
  static std::shared_ptr<const svm::AdditiveMapSvm> train(const double* rows, std::size_t n, std::size_t dim,
                                                          const std::vector<int>& labels,
                                                          const std::vector<std::string>& class_names,
                                                          const FitOptions& options,
                                                          const svm::TrainOptions& svm_options,
                                                          const core::ProgressFn& progress,
                                                          std::vector<std::size_t>* support_rows);
  /// The kernel type and the map's options.
  static void restore(const svm::AdditiveMapSvm& head, FitOptions& options);
};

}  // namespace bowlrp::model
