// Selected eigenpairs of a real symmetric matrix, by LAPACK's dsyevr (OpenBLAS ships it): the one
// place that declares LAPACK (PCA of the Fisher-vector encoding, the spectral embedding of SpRAy).
//
// For the symmetric n x n matrix A (row-major and column-major agree; dsyevr reads the lower
// triangle in column-major order, i.e. the upper triangle in row-major order) it returns the
// eigenvalues of ranks il..iu (1-based, ascending) in w and their unit eigenvectors as the columns
// of z (n x m column-major, m = iu - il + 1), each defined up to its sign. abstol = 0 (LAPACK's
// default accuracy), so the result is a deterministic function of A's bytes.
#pragma once

#include <string>
#include <vector>

namespace bowlrp::core {

/// Eigenpairs il..iu (1-based, ascending, 1 <= il <= iu <= n) of the symmetric n x n matrix a:
/// eigenvalues in *w (m = iu - il + 1 values), eigenvectors as columns of *z (n x m, column-major).
/// Throws std::runtime_error starting with `who` when LAPACK fails.
void symmetric_eigenpairs(std::vector<double> a, int n, int il, int iu, const std::string& who,
                          std::vector<double>* w, std::vector<double>* z);

}  // namespace bowlrp::core
