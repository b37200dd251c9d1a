// The fixed-order affine sum b + w . x behind every decision of the explicit-weight heads
// (svm::LinearSvm and each dense layer of nn::Network).
//
// Summation order (the determinism contract of both heads): 4 lanes by index mod 4, lane k summing
// w_i x_i for i = k, k + 4, ... in increasing i, combined as (lane0 + lane1) + (lane2 + lane3), then
// b + that sum. One compiled function (without FMA contraction) so that a score has the same bits
// whichever head, caller or thread computed it.
#pragma once

#include <cstddef>

namespace bowlrp::core {

/// b + Σ_i w_i x_i over n values in the fixed order above.
double fixed_order_affine(double b, const double* w, const double* x, std::size_t n);

}  // namespace bowlrp::core
