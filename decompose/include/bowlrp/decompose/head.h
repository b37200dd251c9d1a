// The classifier head of a model, as the backward pass and pixel flipping see it: one-vs-rest
// kernel SVMs (f_c(h) = b_c + Σ_i coef_ci k(s_i, h)), linear SVMs (f_c(h) = b_c + w_c · h), linear
// SVMs over an explicit additive-kernel map (f_c(h) = b_c + w_c · Ψ(h), svm/additive_map_svm.h) or a
// feed-forward ReLU network with one output per class (f_c(h) = z_{L,c}, nn/network.h), shared.
#pragma once

#include <bowlrp/nn/network.h>
#include <bowlrp/svm/additive_map_svm.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace bowlrp::decompose {

/// A classifier head: one-vs-rest kernel SVMs, linear SVMs, explicit-map linear SVMs or a network, shared.
using Head = std::variant<std::shared_ptr<const svm::KernelSvm>, std::shared_ptr<const svm::LinearSvm>,
                          std::shared_ptr<const nn::Network>, std::shared_ptr<const svm::AdditiveMapSvm>>;
/// Number of classes of a head (throws std::invalid_argument for a null head).
std::size_t head_classes(const Head& head);
/// Input length V of a head.
std::size_t head_dimension(const Head& head);
/// Name of class c of a head (throws std::out_of_range for a bad class).
const std::string& head_class_name(const Head& head, std::size_t c);
/// f_cls(h) of a head.
double head_decision(const Head& head, std::size_t cls, const double* h);
/// f_c(h) of every class.
std::vector<double> head_decisions(const Head& head, const double* h);
/// Index of a class by name; throws std::invalid_argument listing the known names.
std::size_t head_class_index(const Head& head, const std::string& name);

}  // namespace bowlrp::decompose
