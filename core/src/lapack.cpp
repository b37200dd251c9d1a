#include <bowlrp/core/lapack.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>

extern "C" {
// LAPACK through OpenBLAS (gfortran calling convention: hidden lengths of the character arguments).
void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a, const int* lda,
             const double* vl, const double* vu, const int* il, const int* iu, const double* abstol, int* m, double* w,
             double* z, const int* ldz, int* isuppz, double* work, const int* lwork, int* iwork, const int* liwork,
             int* info, std::size_t jobz_len, std::size_t range_len, std::size_t uplo_len);
}

namespace bowlrp::core {

void symmetric_eigenpairs(std::vector<double> a, int n, int il, int iu, const std::string& who,
                          std::vector<double>* w, std::vector<double>* z) {
  if (n < 1 || il < 1 || iu < il || iu > n || a.size() != static_cast<std::size_t>(n) * n)
    throw std::invalid_argument(who + ": eigenpairs " + std::to_string(il) + ".." + std::to_string(iu) + " of a " +
                                std::to_string(n) + " x " + std::to_string(n) + " matrix requested");
  const char jobz = 'V', range = 'I', uplo = 'L';
  const int m = iu - il + 1;
  const double vl = 0, vu = 0, abstol = 0;
  int found = 0, info = 0;
  w->assign(static_cast<std::size_t>(n), 0.0);
  z->assign(static_cast<std::size_t>(n) * m, 0.0);
  std::vector<int> isuppz(2 * static_cast<std::size_t>(std::max(1, m)));
  int lwork = -1, liwork = -1, iwork_query = 0;
  double work_query = 0;
  dsyevr_(&jobz, &range, &uplo, &n, a.data(), &n, &vl, &vu, &il, &iu, &abstol, &found, w->data(), z->data(), &n,
          isuppz.data(), &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1, 1);
  if (info != 0) throw std::runtime_error(who + ": LAPACK dsyevr workspace query failed (info " + std::to_string(info) + ")");
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<double> work(static_cast<std::size_t>(lwork));
  std::vector<int> iwork(static_cast<std::size_t>(liwork));
  dsyevr_(&jobz, &range, &uplo, &n, a.data(), &n, &vl, &vu, &il, &iu, &abstol, &found, w->data(), z->data(), &n,
          isuppz.data(), work.data(), &lwork, iwork.data(), &liwork, &info, 1, 1, 1);
  if (info != 0 || found != m)
    throw std::runtime_error(who + ": LAPACK dsyevr failed (info " + std::to_string(info) + ", " + std::to_string(found) +
                             " of " + std::to_string(m) + " eigenpairs)");
  w->resize(static_cast<std::size_t>(m));
}

}  // namespace bowlrp::core
