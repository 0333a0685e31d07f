// The layers' own matrix product: C = A B where A is read in place through two strides and
// B is row-major, so that im2col's columns feed the product as they are. With OpenBLAS's sgemm
// both operands are first copied into packed panels on every call; for the CIFAR model's conv2
// that copy re-reads each chunk's 1.8 MB of columns three times a step. Here the columns are
// only broadcast from, one float at a time, and the other operand (the kernel W, or G
// transposed: a few hundred KB) is streamed as it lies. The dense layers (`affine`) use it
// too: on their small-batch shapes it is ahead of OpenBLAS (PTB's softmax, the CNN's local3),
// and so does the fused LSTM (each step's 20 x 200 x 800 recurrent product).
//
// Built only where the compiler targets AVX-512 (the default -march=native on such a
// machine); elsewhere `builtin_gemm_compiled()` is false and the layers keep OpenBLAS.
#pragma once

#include <cstdint>

namespace mc {

// The matrix product behind conv2d, affine (dense layers, the PTB softmax, and compressed
// layers' products through their dense Â) and the fused LSTM: OpenBLAS's sgemm or the builtin
// kernel below. The default is builtin where it is compiled; the environment variable
// MATCOMP_GEMM=openblas|builtin overrides it for a process (read once; the older
// MATCOMP_CONV_GEMM, which chose the convolutions' only, is refused with a message), and
// set_layer_gemm for the rest of it (tests and benchmarks compare the two). The factors' own products (x B C and the like) stay on OpenBLAS.
enum class LayerGemm { OpenBlas, Builtin };
bool builtin_gemm_compiled();
LayerGemm layer_gemm();
// What the environment asks for (the default where MATCOMP_GEMM is unset); ValueError naming
// the variable for a bad value, builtin where it is not compiled, or the old name set.
LayerGemm layer_gemm_from_environment();
void set_layer_gemm(LayerGemm g);  // Builtin where it is not compiled: ValueError
const char* layer_gemm_name(LayerGemm g);

// C (m, n) = A (m, depth) B (depth, n), overwriting C, single-threaded unless called outside
// an OpenMP parallel region with more than one thread (then the row tiles are shared out;
// every entry is the same sum in the same order either way).
//   A(i, d) = a[i * a_row + d * a_depth]    (any strides: im2col's columns read either way)
//   B(d, j) = b[d * ldb + j]
//   C(i, j) -> c[i * c_row + j * c_col]      (c_col = 1: row-major; c_row = 1: transposed)
// Each entry is a fused multiply-add chain over each block of 128 steps of d, the blocks' sums
// then added in order.
void builtin_gemm(int64_t m, int64_t n, int64_t depth, const float* a, int64_t a_row, int64_t a_depth,
                  const float* b, int64_t ldb, float* c, int64_t c_row, int64_t c_col);

// C (k, n) = A^T B for row-major A (m, k) and B (m, n), C row-major: a weight gradient
// (x^T dy), with A read through its strides as the left operand (no transposed copy).
void builtin_gemm_at_b(int64_t m, int64_t k, int64_t n, const float* a, const float* b, float* c);

// The same product with A gathered through two offset tables, so that a convolution's
// windows are read where they lie in a padded input instead of being copied into columns:
//   A(i, d) = a[row_offsets[i] + depth_offsets[d]]
// (row i an output pixel, row_offsets[i] its window's corner; d a tap (kh, kw, c),
// depth_offsets[d] its place from the corner; or the two swapped for dW). Same tiles, same
// order of sums as builtin_gemm.
void builtin_gemm_gathered(int64_t m, int64_t n, int64_t depth, const float* a, const int64_t* row_offsets,
                           const int64_t* depth_offsets, const float* b, int64_t ldb, float* c, int64_t c_row,
                           int64_t c_col);

}  // namespace mc
