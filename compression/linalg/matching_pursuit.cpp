#include "matcomp/compression/linalg/matching_pursuit.h"

#include <algorithm>
#include <cmath>

#include "matcomp/compression/util.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"

namespace mc {

Tensor SparseRows::to_dense() const {
  Tensor out = Tensor::zeros({rows, cols});
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t e = row_ptr[static_cast<size_t>(i)]; e < row_ptr[static_cast<size_t>(i) + 1]; ++e)
      out.data()[i * cols + col[static_cast<size_t>(e)]] += val[static_cast<size_t>(e)];
  return out;
}

SparseRows batch_omp(const Tensor& signals, const Tensor& dictionary, int64_t nnz) {
  check_matrix(signals, "omp (signals)");
  check_matrix(dictionary, "omp (dictionary)");
  MC_CHECK(signals.size(1) == dictionary.size(1), ShapeError,
           "omp: signals " << to_string(signals.shape()) << " and dictionary " << to_string(dictionary.shape())
                           << " need the same row length (atoms are the dictionary's rows)");
  const int64_t K = dictionary.size(0);
  MC_CHECK(nnz >= 1 && nnz <= K, ValueError, "omp: nnz " << nnz << " outside [1, atoms = " << K << "]");
  const Tensor gram = matmul(dictionary, dictionary, Trans::No, Trans::Yes);  // G (K, K) = D D^T
  const Tensor alpha0 = matmul(signals, dictionary, Trans::No, Trans::Yes);   // (s, K) = X D^T
  const int64_t s = signals.size(0), n = signals.size(1);
  std::vector<double> norms2(static_cast<size_t>(s));
  for (int64_t i = 0; i < s; ++i) {
    double t = 0;
    for (int64_t j = 0; j < n; ++j) t += static_cast<double>(signals.data()[i * n + j]) * signals.data()[i * n + j];
    norms2[static_cast<size_t>(i)] = t;
  }
  return batch_omp_precomputed(gram, alpha0, norms2, nnz);
}

SparseRows batch_omp_precomputed(const Tensor& gram, const Tensor& alpha0, const std::vector<double>& norms2, int64_t nnz) {
  const int64_t K = gram.size(0), s = alpha0.size(0);
  MC_CHECK(gram.size(1) == K && alpha0.size(1) == K && static_cast<int64_t>(norms2.size()) == s, ShapeError,
           "omp: Gram " << to_string(gram.shape()) << " and correlations " << to_string(alpha0.shape()) << " disagree");
  const int64_t t_max = std::min(nnz, K);
  std::vector<int32_t> idx(static_cast<size_t>(s * t_max));
  std::vector<float> val(static_cast<size_t>(s * t_max));
  std::vector<int64_t> used(static_cast<size_t>(s));
  const float* G = gram.data();

  // Per-signal work only: no BLAS inside this region (OpenBLAS + OpenMP nesting is unsafe).
#pragma omp parallel
  {
    std::vector<float> alpha(static_cast<size_t>(K));
    std::vector<char> chosen(static_cast<size_t>(K));
    std::vector<double> L(static_cast<size_t>(t_max * t_max));  // lower-triangular Cholesky of G_II
    std::vector<double> w(static_cast<size_t>(t_max)), gamma(static_cast<size_t>(t_max)), rhs(static_cast<size_t>(t_max));
    std::vector<int32_t> I(static_cast<size_t>(t_max));
#pragma omp for schedule(dynamic, 16)
    for (int64_t sig = 0; sig < s; ++sig) {
      const float* a0 = alpha0.data() + sig * K;
      std::copy(a0, a0 + K, alpha.begin());
      std::fill(chosen.begin(), chosen.end(), 0);
      // Stop once the best correlation is negligible against the signal itself.
      const double stop = 1e-7 * std::sqrt(norms2[static_cast<size_t>(sig)]);
      int64_t k = 0;
      for (; k < t_max; ++k) {
        int64_t best = -1;
        float best_abs = -1.0f;
        for (int64_t j = 0; j < K; ++j) {
          const float v = std::abs(alpha[static_cast<size_t>(j)]);
          if (!chosen[static_cast<size_t>(j)] && v > best_abs) {
            best_abs = v;
            best = j;
          }
        }
        if (best < 0 || best_abs <= stop) break;
        // Grow the Cholesky factor: solve L w = G_{I, best}, new diagonal sqrt(G_bb - w.w).
        const float* g_best = G + best * K;
        double ww = 0;
        for (int64_t r = 0; r < k; ++r) {
          double acc = g_best[I[static_cast<size_t>(r)]];
          for (int64_t c = 0; c < r; ++c) acc -= L[static_cast<size_t>(r * t_max + c)] * w[static_cast<size_t>(c)];
          w[static_cast<size_t>(r)] = acc / L[static_cast<size_t>(r * t_max + r)];
          ww += w[static_cast<size_t>(r)] * w[static_cast<size_t>(r)];
        }
        const double diag2 = static_cast<double>(g_best[best]) - ww;
        if (!(diag2 > 1e-10 * std::max(1.0, static_cast<double>(g_best[best])))) break;  // dependent atom
        for (int64_t c = 0; c < k; ++c) L[static_cast<size_t>(k * t_max + c)] = w[static_cast<size_t>(c)];
        L[static_cast<size_t>(k * t_max + k)] = std::sqrt(diag2);
        I[static_cast<size_t>(k)] = static_cast<int32_t>(best);
        chosen[static_cast<size_t>(best)] = 1;
        const int64_t size = k + 1;
        // gamma = (L L^T)^{-1} alpha0_I: forward then back substitution.
        for (int64_t r = 0; r < size; ++r) {
          double acc = a0[I[static_cast<size_t>(r)]];
          for (int64_t c = 0; c < r; ++c) acc -= L[static_cast<size_t>(r * t_max + c)] * rhs[static_cast<size_t>(c)];
          rhs[static_cast<size_t>(r)] = acc / L[static_cast<size_t>(r * t_max + r)];
        }
        for (int64_t r = size - 1; r >= 0; --r) {
          double acc = rhs[static_cast<size_t>(r)];
          for (int64_t c = r + 1; c < size; ++c) acc -= L[static_cast<size_t>(c * t_max + r)] * gamma[static_cast<size_t>(c)];
          gamma[static_cast<size_t>(r)] = acc / L[static_cast<size_t>(r * t_max + r)];
        }
        if (size == t_max) {
          k = size;
          break;  // alpha is not needed after the last atom
        }
        // alpha = alpha0 - G_{:, I} gamma (G symmetric: row I_r is column I_r).
        std::copy(a0, a0 + K, alpha.begin());
        for (int64_t r = 0; r < size; ++r) {
          const float gr = static_cast<float>(gamma[static_cast<size_t>(r)]);
          const float* grow = G + static_cast<int64_t>(I[static_cast<size_t>(r)]) * K;
          for (int64_t j = 0; j < K; ++j) alpha[static_cast<size_t>(j)] -= gr * grow[j];
        }
      }
      used[static_cast<size_t>(sig)] = k;
      for (int64_t r = 0; r < k; ++r) {
        idx[static_cast<size_t>(sig * t_max + r)] = I[static_cast<size_t>(r)];
        val[static_cast<size_t>(sig * t_max + r)] = static_cast<float>(gamma[static_cast<size_t>(r)]);
      }
    }
  }

  SparseRows out;
  out.rows = s;
  out.cols = K;
  out.row_ptr.resize(static_cast<size_t>(s) + 1);
  out.row_ptr[0] = 0;
  for (int64_t i = 0; i < s; ++i) out.row_ptr[static_cast<size_t>(i) + 1] = out.row_ptr[static_cast<size_t>(i)] + used[static_cast<size_t>(i)];
  out.col.resize(static_cast<size_t>(out.row_ptr.back()));
  out.val.resize(out.col.size());
  for (int64_t i = 0; i < s; ++i) {
    const int64_t base = out.row_ptr[static_cast<size_t>(i)];
    for (int64_t r = 0; r < used[static_cast<size_t>(i)]; ++r) {
      out.col[static_cast<size_t>(base + r)] = idx[static_cast<size_t>(i * t_max + r)];
      out.val[static_cast<size_t>(base + r)] = val[static_cast<size_t>(i * t_max + r)];
    }
  }
  return out;
}

}  // namespace mc
