// Internal: the exact squared distance of mapping.h, shared by the mapper and k-means.
//
// dist2(x, c) = sum_j (x_j - c_j)^2 over floats widened to double, accumulated in eight fma lanes
// combined pairwise in a fixed order. Explicit std::fma keeps the value independent of compiler
// contraction; the lanes break the dependency chain and vectorise. Its value depends only on the two
// vectors, never on the caller, batch or thread.
#pragma once

// Function multi-versioning on x86-64 (ifunc, chosen once at load time). Every operation in the
// cloned functions is a single IEEE-rounded float or double operation (or an explicit fma), so each
// clone gives the same bits; only the speed differs.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define BOWLRP_CLONES(isa) __attribute__((target_clones(isa, "default")))
#endif
#endif
#ifndef BOWLRP_CLONES
#define BOWLRP_CLONES(isa)
#endif

namespace bowlrp::bow::detail {

/// Exact squared distance of two dim-long float vectors (see the note above).
double exact_dist2(const float* x, const float* c, int dim);

}  // namespace bowlrp::bow::detail
