// A feed-forward ReLU network head as the model layer sees it (nn::Network, f_c(x) = z_{L,c}(x);
// relevance: decompose/network_relevance.h; training: nn/training.h, libtorch loaded on demand).
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/model/kind_traits.h>
#include <bowlrp/nn/network.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace bowlrp::model {

/// The network head kind.
template <>
struct HeadTraits<nn::Network> {
  static constexpr const char* name = "mlp";         ///< kind name
  static constexpr const char* alias = "network";    ///< short name
  /// the bias policy does not apply: each layer's rule treats its biases
  static constexpr bool applies_svm_bias = false;
  static constexpr const char* training_stage = "train network";  ///< fit()'s stage name
  /// "network (ReLU) 1024-512-20, 2 dense layers".
  static std::string summary(const nn::Network& head, std::size_t classes);
  /// Nothing beyond the model's checks.
  static void check(const nn::Network& head);
  /// Whether its inputs must be >= 0 (an artefact projection over it must clamp: Model::with_artefact_projection).
  static bool needs_non_negative_inputs(const nn::Network&) { return false; }
  /// |df_cls/dΦ| at h (backpropagated through the ReLUs).
  static std::vector<double> sensitivity(const nn::Network& head, std::size_t cls, const std::vector<double>& h);
  /// Parameter layers cascading randomisation replaces, output first (its dense layers).
  static std::size_t parameter_layers(const nn::Network& head);
  /// The head with its top `layers` parameter layers randomised (Model::with_randomised_head); throws
  /// std::invalid_argument for more layers than parameter_layers.
  static std::shared_ptr<const nn::Network> randomised(const nn::Network& head, std::size_t layers, std::uint64_t seed);
  /// b_c of every class (a network's output-layer biases).
  static std::vector<double> biases(const nn::Network& head);
  /// Checks rules against the head a fit will train, before training (std::invalid_argument).
  static void check_rules(const FitOptions& options, const decompose::Composite& composite);
  /// Validates the network training options of a fit.
  static void validate(const FitOptions& options);
  /// Trains the network (nn::train_network; progress from the trainer).
  /// Has no support vectors: `support_rows` is left empty.
  static std::shared_ptr<const nn::Network> train(const double* rows, std::size_t n, std::size_t dim,
                                                  const std::vector<int>& labels,
                                                  const std::vector<std::string>& class_names,
                                                  const FitOptions& options, const svm::TrainOptions& svm_options,
                                                  const core::ProgressFn& progress,
                                                  std::vector<std::size_t>* support_rows);
  /// Sets the options of a fit that rebuilds this head (the hidden sizes).
  static void restore(const nn::Network& head, FitOptions& options);
};

}  // namespace bowlrp::model
