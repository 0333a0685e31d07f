// Thread count for both our OpenMP loops and OpenBLAS (the OpenMP build shares libgomp's pool).
#pragma once

namespace mc {

void set_num_threads(int n);  // n <= 0: leave the defaults
int num_threads();
// "openmp", "pthread", "serial" or "unknown": how the loaded OpenBLAS was built.
const char* blas_threading();
// The loaded OpenBLAS's build line (version, options) and the kernel it runs ("Haswell",
// "Cooperlake"...), which OPENBLAS_CORETYPE can force: both move the speed, and the kernel
// can move the last digits of a result.
const char* blas_config();
const char* blas_kernel();

}  // namespace mc
