#include "matcomp/core/lapack.h"

#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "matcomp/core/error.h"

namespace mc {

namespace {
void check_finite(const Tensor& a, const char* what) {
  for (float v : a.span()) MC_CHECK(std::isfinite(v), ValueError, what << ": input holds NaN or Inf");
}
}  // namespace

Svd svd(const Tensor& a) {
  MC_CHECK(a.dim() == 2, ShapeError, "svd needs a 2-D tensor, got " << to_string(a.shape()));
  const int64_t m = a.size(0), n = a.size(1), r = std::min(m, n);
  MC_CHECK(r > 0, ShapeError, "svd of an empty matrix " << to_string(a.shape()));
  check_finite(a, "svd");
  Tensor work = a.clone();  // sgesdd destroys its input
  Svd out{Tensor::empty({m, r}), Tensor::empty({r}), Tensor::empty({r, n})};
  const lapack_int info =
      LAPACKE_sgesdd(LAPACK_ROW_MAJOR, 'S', static_cast<lapack_int>(m), static_cast<lapack_int>(n), work.data(),
                     static_cast<lapack_int>(n), out.s.data(), out.u.data(), static_cast<lapack_int>(r),
                     out.vt.data(), static_cast<lapack_int>(n));
  MC_CHECK(info == 0, Error, "LAPACKE_sgesdd failed on " << to_string(a.shape()) << " (info " << info << ")");
  return out;
}

Tensor lstsq(const Tensor& a, const Tensor& b, float rcond) {
  MC_CHECK(a.dim() == 2 && b.dim() == 2 && a.size(0) == b.size(0), ShapeError,
           "lstsq: A " << to_string(a.shape()) << " and B " << to_string(b.shape()) << " need the same rows");
  const int64_t m = a.size(0), n = a.size(1), p = b.size(1);
  MC_CHECK(m > 0 && n > 0 && p > 0, ShapeError, "lstsq of empty matrices");
  check_finite(a, "lstsq (A)");
  check_finite(b, "lstsq (B)");
  Tensor work_a = a.clone();
  // sgelsd writes the solution into B, which must hold max(m, n) rows.
  const int64_t rows = std::max(m, n);
  Tensor work_b = Tensor::zeros({rows, p});
  std::copy(b.data(), b.data() + b.numel(), work_b.data());
  std::vector<float> s(static_cast<size_t>(std::min(m, n)));
  lapack_int rank = 0;
  const lapack_int info = LAPACKE_sgelsd(
      LAPACK_ROW_MAJOR, static_cast<lapack_int>(m), static_cast<lapack_int>(n), static_cast<lapack_int>(p),
      work_a.data(), static_cast<lapack_int>(n), work_b.data(), static_cast<lapack_int>(p), s.data(), rcond, &rank);
  MC_CHECK(info == 0, Error, "LAPACKE_sgelsd failed on A " << to_string(a.shape()) << " (info " << info << ")");
  return work_b.rows(0, n).clone();
}

}  // namespace mc
