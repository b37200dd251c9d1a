// Relevance of the histogram dimensions for one class of an explicit-map linear SVM
// (svm::AdditiveMapSvm, svm/additive_map_svm.h):
//   f(x) = b + w . Psi(x) = b + sum_d sum_j w_(d(2n+1)+j) psi_j(x_d)
// is a sum of per-dimension terms, so it decomposes exactly:
//   R_d = beta_d + sum_j w_(d(2n+1)+j) psi_j(x_d)        (beta_d from the BiasPolicy, see rules.h)
// and sum_d R_d + absorbed = f(x) up to rounding (SvmMethod::exact), for V (2n+1) products. f(x) is the
// head's own decision (LinearSvm over Psi(x), its fixed summation order), computed independently of
// R, so the residual f - sum R - absorbed is rounding only.
#pragma once

#include <bowlrp/decompose/rules.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/svm/additive_map_svm.h>
#include <bowlrp/svm/fast_intersection.h>

#include <cstddef>
#include <vector>

namespace bowlrp::decompose {

/// R_d = sum_j w_(d(2n+1)+j) psi_j(h_d) + beta_d for class cls (SvmMethod::exact); throws
/// std::out_of_range for a bad class and std::invalid_argument for an invalid rule.
DimensionRelevance relevance_dimensions(const svm::AdditiveMapSvm& model, std::size_t cls, const double* h,
                                        const SvmRule& rule);
/// The Explainer's head layer for an explicit-map head (the composite's SVM rule; `index` must be null).
DimensionRelevance relevance_head(const svm::AdditiveMapSvm& model, std::size_t cls, const double* h,
                                  const Composite& composite, const svm::IntersectionIndex* index);
/// Checks an explicit-map head before any image: intersection indices must be null (std::invalid_argument).
void check_head(const svm::AdditiveMapSvm& model, const Composite& composite,
                const std::vector<svm::IntersectionIndex>* indices);

}  // namespace bowlrp::decompose
