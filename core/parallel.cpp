#include "matcomp/core/parallel.h"

#include <cblas.h>
#include <omp.h>

namespace mc {

void set_num_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}

int num_threads() { return omp_get_max_threads(); }

const char* blas_threading() {
  switch (openblas_get_parallel()) {
    case 0: return "serial";
    case 1: return "pthread";
    case 2: return "openmp";
    default: return "unknown";
  }
}

const char* blas_config() { return openblas_get_config(); }

const char* blas_kernel() { return openblas_get_corename(); }

}  // namespace mc
