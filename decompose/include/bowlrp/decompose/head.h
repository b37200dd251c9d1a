// The classifier head of a model, as the backward pass and pixel flipping see it: one-vs-rest
// kernel SVMs (f_c(h) = b_c + Σ_i coef_ci k(s_i, h)) or linear SVMs (f_c(h) = b_c + w_c · h), shared.
#pragma once

#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <memory>
#include <string>
#include <variant>

namespace bowlrp::decompose {

/// A classifier head: one-vs-rest kernel SVMs or linear SVMs, shared.
using Head = std::variant<std::shared_ptr<const svm::KernelSvm>, std::shared_ptr<const svm::LinearSvm>>;
/// Number of classes of a head (throws std::invalid_argument for a null head).
std::size_t head_classes(const Head& head);
/// Input length V of a head.
std::size_t head_dimension(const Head& head);
/// Name of class c of a head (throws std::out_of_range for a bad class).
const std::string& head_class_name(const Head& head, std::size_t c);
/// f_cls(h) of a head.
double head_decision(const Head& head, std::size_t cls, const double* h);

}  // namespace bowlrp::decompose
