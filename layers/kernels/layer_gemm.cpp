// Register tiles of C: MR rows by NV vectors of 16 columns, all MR * NV accumulators in
// zmm registers (24 of the 32 for the widest tile). Each step d loads B's row segment (NV
// vectors), broadcasts MR entries of A's column d and issues MR * NV fused multiply-adds, so
// there are at most 10 loads for 24 FMAs and no operand is copied. The tile's B segment over
// all d (depth x 64 floats: 400 KB for conv2's W) stays in L2 across the row tiles; A's
// entries come one cache line per step.
#include "matcomp/layers/kernels/layer_gemm.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "matcomp/core/error.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace mc {

namespace {

constexpr const char* kNotBuilt =
    "this build has no builtin product (it needs AVX-512: configure with MATCOMP_NATIVE=ON on a machine that has it)";

}  // namespace

LayerGemm layer_gemm_from_environment() {
  // The variable's old name chose the convolutions' product only; a run that still sets it
  // would now also move the dense layers, so it stops and says so rather than guess.
  const char* old = std::getenv("MATCOMP_CONV_GEMM");
  MC_CHECK(old == nullptr || *old == '\0', ValueError,
           "MATCOMP_CONV_GEMM was renamed MATCOMP_GEMM, which chooses the product of the dense layers as well as "
           "the convolutions; unset it and set MATCOMP_GEMM=" << old << " instead");
  const char* env = std::getenv("MATCOMP_GEMM");
  if (env == nullptr || *env == '\0') return builtin_gemm_compiled() ? LayerGemm::Builtin : LayerGemm::OpenBlas;
  const std::string v = env;
  if (v == "openblas") return LayerGemm::OpenBlas;
  MC_CHECK(v == "builtin", ValueError, "MATCOMP_GEMM=" << v << ": expected openblas or builtin");
  MC_CHECK(builtin_gemm_compiled(), ValueError, "MATCOMP_GEMM=builtin: " << kNotBuilt);
  return LayerGemm::Builtin;
}

namespace {

LayerGemm& current() {
  static LayerGemm g = layer_gemm_from_environment();
  return g;
}

}  // namespace

bool builtin_gemm_compiled() {
#if defined(__AVX512F__)
  return true;
#else
  return false;
#endif
}

LayerGemm layer_gemm() { return current(); }

void set_layer_gemm(LayerGemm g) {
  MC_CHECK(g != LayerGemm::Builtin || builtin_gemm_compiled(), ValueError, "set_layer_gemm(Builtin): " << kNotBuilt);
  current() = g;
}

const char* layer_gemm_name(LayerGemm g) { return g == LayerGemm::Builtin ? "builtin" : "openblas"; }

#if defined(__AVX512F__)

namespace {

constexpr int64_t kDepthBlock = 128;

// How a tile reads A: adjacent rows (a_row == 1, constant broadcast offsets), any two strides,
// or two offset tables (A(i, d) = a[rows[i] + depths[d]]: a convolution's windows in place).
enum class AMode { Row1, Strided, Tables };

struct AOperand {
  const float* a;
  int64_t row, depth;                   // Row1, Strided
  const int64_t* rows;                  // Tables
  const int64_t* depths;                // Tables
};

// C tile (MR, 16 * NV) at rows [i0, i0 + MR) of A and the NV vectors of B starting at b; the
// last vector's columns beyond the matrix are masked off (`last`).
template <int MR, int NV, AMode kMode>
void tile(int64_t depth, const AOperand& A, int64_t i0, const float* b, int64_t ldb, __mmask16 last, int cols,
          float* c, int64_t c_row, int64_t c_col) {
  // Sums over blocks of kDepthBlock steps in registers, the blocks' sums added up in t: a
  // chain of 1600 float additions (conv2) would carry about 3x the rounding error of
  // OpenBLAS's blocked sums (its K blocks): with blocks of 128 the error on conv2 is below
  // OpenBLAS's (max 1.0e-5 against 1.9e-5 for outputs of size ~10, Conv2dOp tests).
  alignas(64) float t[MR][16 * NV];
  __m512 acc[MR][NV];
  const float* base = kMode == AMode::Tables ? A.a : A.a + i0 * A.row;
  std::array<int64_t, MR> off{};
  for (int i = 0; i < MR; ++i) off[i] = kMode == AMode::Tables ? A.rows[i0 + i] : i * A.row;
  for (int64_t d0 = 0; d0 < depth; d0 += kDepthBlock) {
#pragma GCC unroll 24
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_setzero_ps();
    for (int64_t d = d0, d1 = std::min(depth, d0 + kDepthBlock); d < d1; ++d) {
      const float* ad = base + (kMode == AMode::Tables ? A.depths[d] : d * A.depth);
      __m512 bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        bv[v] = v + 1 < NV ? _mm512_loadu_ps(b + 16 * v) : _mm512_maskz_loadu_ps(last, b + 16 * v);
#pragma GCC unroll 24
      for (int i = 0; i < MR; ++i) {
        const __m512 ai = _mm512_set1_ps(ad[kMode == AMode::Row1 ? i : off[i]]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
      }
      b += ldb;
    }
#pragma GCC unroll 24
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v)
        _mm512_store_ps(&t[i][16 * v], d0 == 0 ? acc[i][v] : _mm512_add_ps(_mm512_load_ps(&t[i][16 * v]), acc[i][v]));
  }
  if (c_col == 1) {
    for (int i = 0; i < MR; ++i)
      for (int v = 0; v < NV; ++v) {
        const __m512 row = _mm512_load_ps(&t[i][16 * v]);
        if (v + 1 < NV)
          _mm512_storeu_ps(c + i * c_row + 16 * v, row);
        else
          _mm512_mask_storeu_ps(c + i * c_row + 16 * v, last, row);
      }
  } else {
    // Transposed store (the engine's (cout, pixels) outputs): one strided run of MR floats per
    // column. Against MR * NV * 16 * depth FMAs, negligible.
    for (int j = 0; j < cols; ++j)
      for (int i = 0; i < MR; ++i) c[i * c_row + j * c_col] = t[i][j];
  }
}

// Rows per tile for NV vectors: as many as keep MR * NV accumulators within 24 registers.
constexpr int rows_for(int nv) { return nv == 4 ? 6 : nv == 3 ? 8 : 12; }
constexpr int kMaxRows = 12;

using TileFn = void (*)(int64_t, const AOperand&, int64_t, const float*, int64_t, __mmask16, int, float*, int64_t,
                        int64_t);

template <int NV, AMode kMode, int... Rows>
constexpr std::array<TileFn, kMaxRows + 1> tiles_for(std::integer_sequence<int, Rows...>) {
  return {nullptr, &tile<(Rows + 1 <= rows_for(NV) ? Rows + 1 : 1), NV, kMode>...};
}

template <AMode kMode>
struct TileTable {
  using Seq = std::make_integer_sequence<int, kMaxRows>;
  static constexpr std::array<std::array<TileFn, kMaxRows + 1>, 5> table = {
      std::array<TileFn, kMaxRows + 1>{}, tiles_for<1, kMode>(Seq{}), tiles_for<2, kMode>(Seq{}),
      tiles_for<3, kMode>(Seq{}), tiles_for<4, kMode>(Seq{})};
};

using Table = std::array<std::array<TileFn, kMaxRows + 1>, 5>;

void run_tiles(const Table& table, int64_t m, int64_t n, int64_t depth, const AOperand& A, const float* b,
               int64_t ldb, float* c, int64_t c_row, int64_t c_col) {
  if (m <= 0 || n <= 0) return;
  const int64_t col_blocks = (n + 63) / 64;
  // Work items: (column block, row tile). Column blocks outermost, so the row tiles that
  // share a B panel run one after another on a thread.
  struct Block {
    int nv, rows;
    int64_t tiles;
  };
  auto block = [&](int64_t jb) {
    const int64_t cols = std::min<int64_t>(64, n - jb * 64);
    const int nv = static_cast<int>((cols + 15) / 16), rows = rows_for(nv);
    return Block{nv, rows, (m + rows - 1) / rows};
  };
  int64_t items = 0;
  for (int64_t jb = 0; jb < col_blocks; ++jb) items += block(jb).tiles;
  auto run = [&](int64_t jb, int64_t ti) {
    const Block blk = block(jb);
    const int64_t j0 = jb * 64, cols = std::min<int64_t>(64, n - j0);
    const int64_t i0 = ti * blk.rows, rows = std::min<int64_t>(blk.rows, m - i0);
    const int tail = static_cast<int>(cols - 16 * (blk.nv - 1));
    const __mmask16 last = static_cast<__mmask16>(tail == 16 ? 0xFFFFu : (1u << tail) - 1);
    if (depth <= 0) {
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) c[(i0 + i) * c_row + (j0 + j) * c_col] = 0.0f;
      return;
    }
    table[blk.nv][rows](depth, A, i0, b + j0, ldb, last, static_cast<int>(cols), c + i0 * c_row + j0 * c_col, c_row,
                        c_col);
  };
  const bool threaded = !omp_in_parallel() && omp_get_max_threads() > 1 && items > 1;
  if (!threaded) {
    for (int64_t jb = 0; jb < col_blocks; ++jb)
      for (int64_t ti = 0, t = block(jb).tiles; ti < t; ++ti) run(jb, ti);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t it = 0; it < items; ++it) {
    int64_t jb = 0, ti = it;
    while (ti >= block(jb).tiles) ti -= block(jb++).tiles;
    run(jb, ti);
  }
}

}  // namespace

void builtin_gemm(int64_t m, int64_t n, int64_t depth, const float* a, int64_t a_row, int64_t a_depth,
                  const float* b, int64_t ldb, float* c, int64_t c_row, int64_t c_col) {
  const AOperand A{a, a_row, a_depth, nullptr, nullptr};
  if (a_row == 1)
    run_tiles(TileTable<AMode::Row1>::table, m, n, depth, A, b, ldb, c, c_row, c_col);
  else
    run_tiles(TileTable<AMode::Strided>::table, m, n, depth, A, b, ldb, c, c_row, c_col);
}

void builtin_gemm_gathered(int64_t m, int64_t n, int64_t depth, const float* a, const int64_t* row_offsets,
                           const int64_t* depth_offsets, const float* b, int64_t ldb, float* c, int64_t c_row,
                           int64_t c_col) {
  const AOperand A{a, 0, 0, row_offsets, depth_offsets};
  run_tiles(TileTable<AMode::Tables>::table, m, n, depth, A, b, ldb, c, c_row, c_col);
}

#else  // no AVX-512: the layers never call it

void builtin_gemm(int64_t, int64_t, int64_t, const float*, int64_t, int64_t, const float*, int64_t, float*, int64_t,
                  int64_t) {
  MC_CHECK(false, ValueError, "builtin_gemm: " << kNotBuilt);
}

void builtin_gemm_gathered(int64_t, int64_t, int64_t, const float*, const int64_t*, const int64_t*, const float*,
                           int64_t, float*, int64_t, int64_t) {
  MC_CHECK(false, ValueError, "builtin_gemm_gathered: " << kNotBuilt);
}

#endif

void builtin_gemm_at_b(int64_t m, int64_t k, int64_t n, const float* a, const float* b, float* c) {
  builtin_gemm(k, n, m, a, 1, k, b, n, c, n, 1);  // A^T (i, d) = a[d * k + i]
}

}  // namespace mc
