// Attribution of a kernel-SVM decision to the training images that became its support vectors: which
// training images support a prediction, which oppose it, and (sum-decomposable kernels) through which
// histogram dimensions, down to the pixels of both the test and the training image.
//
// A kernel head decides f_c(x) = b_c + Σ_i coef_ci k(s_i, x)   (svm.h; coef_ci = α_i y_i of class c).
// Per support vector i:
//   c_i = coef_ci k(s_i, x),   Σ_i c_i + b_c = f_c(x)
// exactly (up to rounding) for EVERY kernel type, rbf and exp-χ² included: the decision is a sum over
// support vectors whatever the kernel. The k(s_i, x) are the model's own (KernelSvm::kernel_values)
// and f is b_c + Σ_i c_i summed in index order, which is how KernelSvm::decision combines them: f has
// the bits decision() gives. A support vector with coef_ci = 0 (a support vector of another class
// only) contributes exactly 0. Supporting vectors (c_i > 0) push f_c up, opposing ones (c_i < 0) down;
// the bias belongs to no training image and is reported apart.
//
// Sum-decomposable kernels (linear, hik, chi2, hellinger: k(s, x) = Σ_d w_d k_d(s_d, x_d), w_d the
// block weight, kernel.h) split each c_i further over the dimensions:
//   R_{i,d} = coef_ci w_d k_d(s_id, x_d),   Σ_d R_{i,d} = c_i   (up to rounding; no bias share:
// the bias is not a support vector's). Summed over i this is the head layer's exact R_d (Eq 12,
// svm_relevance.h) before the bias share. rbf and exp-χ² (k = Σ_u w_u exp(-γ D(s_u, x_u))) have no
// per-dimension term and are refused.
// k_d is symmetric, so R_{i,d} is at once what dimension d of the test image and what dimension d
// of training image i contribute to c_i: the "matching map". Pushed down the test image's trace
// (the encoding's backward rule, relevance_encoding: Eqs 14-15 for Bag-of-Words; then the pixel
// split, relevance_pixels) it shows where in the test image the resemblance to training image i
// lies; pushed down training image i's own trace, where in the training image. support_pixel_maps()
// does both; the caller re-encodes the training image with the model's pipeline (the model keeps
// the support vectors, not which images they came from), and the re-encoded histogram must equal
// s_i (checked) - a support vector may also be a training image's left-right mirror when training
// used mirrored copies.
//
// Linear heads (svm::LinearSvm) keep only w_c = Σ_i α_i y_i s_i (collapsed at training, linear_svm.h):
// the support vectors and their coefficients are not in the model, so nothing per training image can
// be computed from the model file alone, and nothing is offered here. (Per dimension, the linear
// head's own R_d = w_cd x_d is relevance_dimensions of svm_relevance.h.) Network heads (nn::Network)
// have no support vectors: their decision is no sum over training images, and nothing exact is
// offered either (no approximation such as representer points is implemented). attribution_head()
// is the one place that says which heads offer what.
//
// Cost: one kernel row (S x V terms, the cost of one prediction) for support_contributions, V terms
// for one support vector's R_{i,·}.
#pragma once

#include <bowlrp/bow/trace.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/head.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/svm/svm.h>

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::decompose {

/// The decision of one class split over the shared support vectors: f = bias + Σ_i contributions[i].
struct SupportContributions {
  std::size_t cls = 0;                ///< the explained class
  std::vector<double> contributions;  ///< c_i = coef_ci k(s_i, x), one per shared support vector (size S)
  double bias = 0.0;                  ///< b_c, which no support vector carries
  double f = 0.0;                     ///< f_c(x) = bias + Σ_i c_i in index order (the bits of KernelSvm::decision)
  /// Σ_i c_i (= f - bias up to rounding).
  double total() const;
  /// At most k indices with c_i > 0, largest c_i first, ties by smaller index (deterministic).
  std::vector<std::size_t> top_supporting(std::size_t k) const;
  /// At most k indices with c_i < 0, most negative c_i first, ties by smaller index (deterministic).
  std::vector<std::size_t> top_opposing(std::size_t k) const;
};

/// The support vectors of a head, for training-image attribution: the kernel SVMs themselves, or null
/// for a head that keeps none (linear SVMs, networks). Throws std::invalid_argument for a null head.
const svm::KernelSvm* attribution_head(const Head& head);
/// attribution_head(head), or std::invalid_argument naming `what` (the option or call that asked),
/// the head's kind and why nothing exact is offered for it.
const svm::KernelSvm& require_attribution_head(const Head& head, const std::string& what);

/// c_i of every shared support vector for class cls at x (size model.dim()); any kernel type. Throws
/// std::out_of_range for a bad class, std::invalid_argument for an empty model, a wrong length, a
/// non-finite value or (chi2, hellinger, expchi2) a negative value in x.
SupportContributions support_contributions(const svm::KernelSvm& model, const std::vector<double>& x, std::size_t cls);

/// R_{i,d} = coef_ci w_d k_d(s_id, x_d) for d = 0 .. V-1 (Σ_d R_{i,d} = c_i); sum-decomposable kernels
/// only. Throws std::invalid_argument for rbf / expchi2 (naming the kernel) and as support_contributions
/// (std::out_of_range also for a support index >= S).
std::vector<double> support_dimension_relevance(const svm::KernelSvm& model, const std::vector<double>& x,
                                                std::size_t cls, std::size_t i);

/// Support vector i's matching maps: R_{i,·} pushed down the test image's trace and down the training
/// image's trace.
struct SupportPixelMaps {
  std::size_t support_index = 0;       ///< i
  double contribution = 0.0;           ///< c_i = Σ_d R_{i,d}
  std::vector<double> dimensions;      ///< R_{i,d} (size V), shared by both maps
  FeatureRelevance test_features;      ///< R_{i,·} split over the test image's local features
  PixelRelevance test_pixels;          ///< ... and over its pixels: where the test image resembles s_i
  FeatureRelevance training_features;  ///< R_{i,·} split over the training image's local features
  PixelRelevance training_pixels;      ///< ... and over its pixels: where the training image resembles x
};

/// Support vector i's matching map on the test image only: R_{i,·} from the test trace's histogram,
/// split down it as support_pixel_maps does (its training_* members left empty; no training trace
/// needed). Throws as support_pixel_maps.
SupportPixelMaps support_test_map(const svm::KernelSvm& model, const bow::Encoding& encoding, const bow::Trace& test,
                                  std::size_t cls, std::size_t i, const Composite& composite = {});

/// The matching maps of support vector i for class cls: R_{i,·} from the test trace's histogram, then
/// the encoding's backward rule (the composite's, e.g. the Fisher ε) and the pixel split on each trace.
/// `training` must be the trace of the training image whose histogram became s_i (|h_d - s_id| <=
/// 1e-6 max(1, max_d |s_id|) for every d). Throws std::invalid_argument for a trace of another
/// encoding, kind or length, a training trace that is not s_i, and as support_dimension_relevance.
SupportPixelMaps support_pixel_maps(const svm::KernelSvm& model, const bow::Encoding& encoding,
                                    const bow::Trace& test, const bow::Trace& training, std::size_t cls, std::size_t i,
                                    const Composite& composite = {});

}  // namespace bowlrp::decompose
