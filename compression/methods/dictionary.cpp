#include "matcomp/compression/methods/dictionary.h"

#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "matcomp/compression/util.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/affine_op.h"
#include "matcomp/core/lapack.h"
#include "matcomp/core/rng.h"

namespace mc {

int64_t dictionary_stored_bits(int64_t m, int64_t n, int64_t atoms, int64_t nnz_per_row) {
  return m * nnz_per_row * (32 + index_bits(atoms)) + atoms * n * 32;
}

DictionaryMatrix::DictionaryMatrix(std::vector<int64_t> row_ptr, std::vector<int32_t> col, Tensor values, Tensor dictionary)
    : row_ptr_(std::move(row_ptr)), col_(std::move(col)), values_(std::move(values)), d_(std::move(dictionary)) {
  MC_CHECK(row_ptr_.size() >= 2 && row_ptr_.front() == 0 && row_ptr_.back() == static_cast<int64_t>(col_.size()) &&
               values_.numel() == static_cast<int64_t>(col_.size()) && d_.dim() == 2,
           ShapeError, "dictionary: inconsistent sparse codes (" << col_.size() << " indices, " << values_.numel() << " values)");
  for (size_t i = 0; i + 1 < row_ptr_.size(); ++i)
    MC_CHECK(row_ptr_[i] <= row_ptr_[i + 1], ValueError, "dictionary: row pointers decrease at row " << i);
  for (int32_t c : col_)
    MC_CHECK(c >= 0 && c < d_.size(0), ValueError, "dictionary: atom index " << c << " outside [0, " << d_.size(0) << ")");
  values_ = values_.view({-1});
}

DictionaryMatrix::DictionaryMatrix(const SparseRows& codes, Tensor dictionary)
    : DictionaryMatrix(codes.row_ptr, codes.col,
                       Tensor::from({static_cast<int64_t>(codes.val.size())}, codes.val), std::move(dictionary)) {}

std::vector<Factor> DictionaryMatrix::factors() const {
  const double uses = static_cast<double>(nnz()) / static_cast<double>(atoms());
  return {{"D", d_, true, static_cast<float>(1.0 / std::max(uses, 1.0))}, {"X_values", values_, true}};
}

nlohmann::json DictionaryMatrix::settings() const {
  int64_t max_row = 0;
  for (size_t i = 0; i + 1 < row_ptr_.size(); ++i) max_row = std::max(max_row, row_ptr_[i + 1] - row_ptr_[i]);
  return {{"atoms", atoms()}, {"nnz", max_row}};
}

int64_t DictionaryMatrix::stored_bits() const {
  const int64_t m = rows();
  int64_t lo = std::numeric_limits<int64_t>::max(), hi = 0;
  for (int64_t i = 0; i < m; ++i) {
    const int64_t c = row_ptr_[static_cast<size_t>(i) + 1] - row_ptr_[static_cast<size_t>(i)];
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  const int64_t counts = lo == hi ? 0 : m * index_bits(hi + 1);
  return nnz() * (32 + index_bits(atoms())) + atoms() * cols() * 32 + counts;
}

std::map<std::string, NpyArray> DictionaryMatrix::integer_state() const {
  std::vector<int32_t> ptr(row_ptr_.size());
  for (size_t i = 0; i < ptr.size(); ++i) ptr[i] = static_cast<int32_t>(row_ptr_[i]);
  return {{"row_ptr", to_npy_array(ptr, {static_cast<int64_t>(ptr.size())})},
          {"atoms", pack_codes(col_, {static_cast<int64_t>(col_.size())}, atoms() - 1)}};
}

Tensor DictionaryMatrix::codes_dense() const {
  const int64_t m = rows(), K = atoms();
  Tensor x = Tensor::zeros({m, K});
  for (int64_t i = 0; i < m; ++i)
    for (int64_t e = row_ptr_[static_cast<size_t>(i)]; e < row_ptr_[static_cast<size_t>(i) + 1]; ++e)
      x.data()[i * K + col_[static_cast<size_t>(e)]] += values_.data()[e];
  return x;
}

Tensor DictionaryMatrix::materialize() const { return matmul(codes_dense(), d_); }

void DictionaryMatrix::materialize_backward(const Tensor& d_dense, std::vector<Tensor>& grads) const {
  const int64_t m = rows(), n = cols();
  Tensor& gd = grad_slot(grads, 0, d_, 2);
  Tensor& gv = grad_slot(grads, 1, values_, 2);
  gemm(codes_dense(), Trans::Yes, d_dense, Trans::No, gd, 1.0f, 1.0f);  // dD (K, n) += X^T dÂ
  // dX_ij = dÂ_i: . D_j: for the stored (i, j) only: the support is fixed.
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i)
    for (int64_t e = row_ptr_[static_cast<size_t>(i)]; e < row_ptr_[static_cast<size_t>(i) + 1]; ++e) {
      const float* dr = d_dense.data() + i * n;
      const float* atom = d_.data() + static_cast<int64_t>(col_[static_cast<size_t>(e)]) * n;
      double acc = 0;
      for (int64_t j = 0; j < n; ++j) acc += static_cast<double>(dr[j]) * atom[j];
      gv.data()[e] += static_cast<float>(acc);
    }
}

Tensor DictionaryMatrix::sparse_left(const Tensor& x) const {
  // t (batch, K) = x (batch, m) X (m, K): each batch row walks X's rows, scattering x_bi X_i:.
  const int64_t batch = x.size(0), m = rows(), K = atoms();
  Tensor t = Tensor::zeros({batch, K});
  const float* px = x.data();
  const float* pv = values_.data();
  const int64_t* rp = row_ptr_.data();
  const int32_t* cj = col_.data();
  float* pt = t.data();
#pragma omp parallel for schedule(static)
  for (int64_t b = 0; b < batch; ++b) {
    const float* xr = px + b * m;
    float* tr = pt + b * K;
    for (int64_t i = 0; i < m; ++i) {
      const float xi = xr[i];
      if (xi == 0.0f) continue;
      for (int64_t e = rp[i]; e < rp[i + 1]; ++e) tr[cj[e]] += xi * pv[e];
    }
  }
  return t;
}

void DictionaryMatrix::product(const Tensor& x, Tensor& y, float beta) const {
  MC_CHECK(x.dim() == 2 && x.size(1) == rows(), ShapeError,
           "dictionary multiply: input " << to_string(x.shape()) << " does not fit a " << rows() << "x" << cols() << " matrix");
  const Tensor t = sparse_left(x);
  gemm(t, Trans::No, d_, Trans::No, y, 1.0f, beta);  // y (batch, n) = t D + beta y
}

void DictionaryMatrix::multiply(const Tensor& x, Tensor& y) const { product(x, y, 0.0f); }

void DictionaryMatrix::multiply_add_bias(const Tensor& x, const Tensor& bias, Tensor& y) const {
  fill_rows(bias, y);
  product(x, y, 1.0f);
}

void DictionaryMatrix::multiply_backward(const Tensor& x, const Tensor& dy, Tensor* dx, std::vector<Tensor>& grads) const {
  const int64_t batch = x.size(0), m = rows(), K = atoms();
  const Tensor t = sparse_left(x);                          // (batch, K)
  const Tensor dt = matmul(dy, d_, Trans::No, Trans::Yes);  // (batch, K) = dy D^T
  Tensor& gd = grad_slot(grads, 0, d_, 2);
  Tensor& gv = grad_slot(grads, 1, values_, 2);
  gemm(t, Trans::Yes, dy, Trans::No, gd, 1.0f, 1.0f);       // dD (K, n) += t^T dy
  // dX_ij = sum_b x_bi dt_bj, only on the support; each row i owns its entries. Through x^T
  // (m, batch) and dt^T (K, batch) every entry is a dot product of two contiguous rows; read
  // in place, x and dt would be walked with strides m and K (the CNN's local3: 2304 floats).
  const Tensor xt = transpose_2d(x), dtt = transpose_2d(dt);
  const float* pxt = xt.data();
  const float* pdtt = dtt.data();
  float* pgv = gv.data();
  const int64_t* rp = row_ptr_.data();
  const int32_t* cj = col_.data();
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; ++i)
    for (int64_t e = rp[i]; e < rp[i + 1]; ++e) {
      const float* xr = pxt + i * batch;
      const float* dr = pdtt + static_cast<int64_t>(cj[e]) * batch;
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t b = 0; b < batch; ++b) acc += static_cast<double>(xr[b]) * dr[b];
      pgv[e] += static_cast<float>(acc);
    }
  if (dx != nullptr) {
    MC_CHECK(dx->dim() == 2 && dx->size(0) == batch && dx->size(1) == m, ShapeError,
             "dictionary multiply_backward: dx " << to_string(dx->shape()) << ", expected [" << batch << ", " << m << "]");
    // dx (batch, m) = dt X^T: dx_bi = sum over row i's entries of X_ij dt_bj.
    const float* pv = values_.data();
    const float* pdt = dt.data();
    float* pdx = dx->data();
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < batch; ++b) {
      const float* dtr = pdt + b * K;
      float* dxr = pdx + b * m;
      for (int64_t i = 0; i < m; ++i) {
        float acc = 0;
        for (int64_t e = rp[i]; e < rp[i + 1]; ++e) acc += pv[e] * dtr[cj[e]];
        dxr[i] = acc;
      }
    }
    dx->mark_modified();
  }
}

// ---------------------------------------------------------------------------------------------
DictionaryCompressor::DictionaryCompressor(DictionarySettings settings) : s_(settings) {
  MC_CHECK(s_.atoms >= 1, ValueError, "dictionary: atoms must be at least 1, got " << s_.atoms);
  MC_CHECK(s_.nnz >= 1, ValueError, "dictionary: nnz must be at least 1, got " << s_.nnz);
  MC_CHECK(s_.nnz <= s_.atoms, ValueError,
           "dictionary: nnz " << s_.nnz << " exceeds the number of atoms " << s_.atoms << " (a row cannot use more atoms than exist)");
  MC_CHECK(s_.iters >= 0, ValueError, "dictionary: iters must be >= 0, got " << s_.iters);
}

double DictionaryCompressor::ratio_for(int64_t m, int64_t n) const {
  return static_cast<double>(dictionary_stored_bits(m, n, s_.atoms, s_.nnz)) / static_cast<double>(dense_bits(m, n));
}

namespace {

void normalize_rows(Tensor& d, Rng& rng) {
  const int64_t K = d.size(0), n = d.size(1);
  for (int64_t j = 0; j < K; ++j) {
    float* r = d.data() + j * n;
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += static_cast<double>(r[i]) * r[i];
    if (!(s > 1e-20)) {  // a zero atom helps nobody: replace it by a random direction
      for (int64_t i = 0; i < n; ++i) r[i] = rng.normal();
      s = 0;
      for (int64_t i = 0; i < n; ++i) s += static_cast<double>(r[i]) * r[i];
    }
    const float inv = static_cast<float>(1.0 / std::sqrt(s));
    for (int64_t i = 0; i < n; ++i) r[i] *= inv;
  }
}

std::vector<double> row_norms2(const Tensor& a) {
  const int64_t m = a.size(0), n = a.size(1);
  std::vector<double> out(static_cast<size_t>(m));
  for (int64_t i = 0; i < m; ++i) {
    double s = 0;
    for (int64_t j = 0; j < n; ++j) s += static_cast<double>(a.data()[i * n + j]) * a.data()[i * n + j];
    out[static_cast<size_t>(i)] = s;
  }
  return out;
}

// Pads every row to exactly t entries with zero-valued unused atoms, so the stored size is
// exactly the formula (no per-row counts) and the padding can still train.
void pad_rows(SparseRows& x, int64_t t) {
  SparseRows out;
  out.rows = x.rows;
  out.cols = x.cols;
  out.row_ptr.resize(static_cast<size_t>(x.rows) + 1);
  for (int64_t i = 0; i < x.rows; ++i) {
    out.row_ptr[static_cast<size_t>(i)] = static_cast<int64_t>(out.col.size());
    const int64_t b = x.row_ptr[static_cast<size_t>(i)], e = x.row_ptr[static_cast<size_t>(i) + 1];
    for (int64_t k = b; k < e; ++k) {
      out.col.push_back(x.col[static_cast<size_t>(k)]);
      out.val.push_back(x.val[static_cast<size_t>(k)]);
    }
    int32_t next = 0;
    for (int64_t have = e - b; have < t; ++have) {
      while (std::find(x.col.begin() + b, x.col.begin() + e, next) != x.col.begin() + e) ++next;
      out.col.push_back(next++);
      out.val.push_back(0.0f);
    }
  }
  out.row_ptr.back() = static_cast<int64_t>(out.col.size());
  x = std::move(out);
}

}  // namespace

DictionaryResult DictionaryCompressor::learn(const Tensor& a, Rng& rng) const {
  check_matrix(a, "dictionary");
  const int64_t m = a.size(0), n = a.size(1), K = s_.atoms, t = s_.nnz;
  MC_CHECK(K <= m, ValueError,
           "dictionary: " << K << " atoms for a matrix of " << m << " rows; atoms must be at most m (they start as rows of A)");
  check_smaller_than_dense("dictionary", dictionary_stored_bits(m, n, K, t), m, n,
                           "use fewer atoms or nonzeros (stored: m*nnz*(32 + ceil(log2 atoms)) + atoms*n*32 bits)");
  // Init: a seeded random subset of K distinct rows of A, normalised.
  Tensor d = Tensor::empty({K, n});
  const std::vector<int64_t> perm = rng.permutation(m);
  for (int64_t j = 0; j < K; ++j)
    std::copy(a.data() + perm[static_cast<size_t>(j)] * n, a.data() + (perm[static_cast<size_t>(j)] + 1) * n, d.data() + j * n);
  normalize_rows(d, rng);

  const std::vector<double> norms2 = row_norms2(a);
  double total2 = 0;
  for (double v : norms2) total2 += v;
  DictionaryResult result;
  double best_err = std::numeric_limits<double>::infinity();
  SparseRows best_x;
  Tensor best_d;
  Tensor xtx = Tensor::empty({K, K});
  Tensor rhs = Tensor::empty({K, n});
  for (int it = 0; it <= s_.iters; ++it) {
    // Coding: Batch-OMP with the Gram and all correlations from two sgemms.
    const Tensor gram = matmul(d, d, Trans::No, Trans::Yes);    // (K, K)
    const Tensor alpha0 = matmul(a, d, Trans::No, Trans::Yes);  // (m, K)
    SparseRows x = batch_omp_precomputed(gram, alpha0, norms2, t);
    // Residuals row by row through X's nonzeros: m t n multiply-adds, where the dense product
    // X D would cost m K n (K / t times more: 32x at 256 atoms, 136x at 1087).
    std::vector<double> resid(static_cast<size_t>(m), 0.0);
#pragma omp parallel
    {
      std::vector<float> r(static_cast<size_t>(n));
#pragma omp for schedule(static)
      for (int64_t i = 0; i < m; ++i) {
        std::copy(a.data() + i * n, a.data() + (i + 1) * n, r.begin());
        for (int64_t e = x.row_ptr[static_cast<size_t>(i)]; e < x.row_ptr[static_cast<size_t>(i) + 1]; ++e) {
          const float v = x.val[static_cast<size_t>(e)];
          const float* atom = d.data() + static_cast<int64_t>(x.col[static_cast<size_t>(e)]) * n;
          for (int64_t j = 0; j < n; ++j) r[static_cast<size_t>(j)] -= v * atom[j];
        }
        double s2 = 0;
        for (int64_t j = 0; j < n; ++j) s2 += static_cast<double>(r[static_cast<size_t>(j)]) * r[static_cast<size_t>(j)];
        resid[static_cast<size_t>(i)] = s2;
      }
    }
    double err2 = 0;
    for (double v : resid) err2 += v;
    const double rel = total2 > 0 ? std::sqrt(err2 / total2) : std::sqrt(err2);
    result.rel_errors.push_back(rel);
    if (rel < best_err) {
      best_err = rel;
      best_x = x;
      best_d = d.clone();
    }
    if (it == s_.iters) break;

    // Dictionary update (MOD): D = argmin ||A - X D||_F, from the normal equations
    // (X^T X) D = X^T A, solved by Cholesky (sposv). A tiny ridge keeps it definite; an unused
    // atom (zero row and column) gets a unit diagonal and comes out zero, then is re-seeded.
    // X^T X (K, K) and X^T A (K, n) through X's nonzeros (m t^2 and m t n multiply-adds; dense
    // sgemms would cost m K^2 and m K n). X^T A in column bands, so threads never share a row.
    xtx.fill(0.0f);
    for (int64_t i = 0; i < m; ++i) {
      const int64_t b = x.row_ptr[static_cast<size_t>(i)], e = x.row_ptr[static_cast<size_t>(i) + 1];
      for (int64_t p = b; p < e; ++p) {
        float* xrow = xtx.data() + static_cast<int64_t>(x.col[static_cast<size_t>(p)]) * K;
        for (int64_t q = b; q < e; ++q) xrow[x.col[static_cast<size_t>(q)]] += x.val[static_cast<size_t>(p)] * x.val[static_cast<size_t>(q)];
      }
    }
    rhs.fill(0.0f);
    constexpr int64_t kBand = 64;
#pragma omp parallel for schedule(static)
    for (int64_t j0 = 0; j0 < n; j0 += kBand) {
      const int64_t j1 = std::min(n, j0 + kBand);
      for (int64_t i = 0; i < m; ++i) {
        const float* arow = a.data() + i * n;
        for (int64_t p = x.row_ptr[static_cast<size_t>(i)]; p < x.row_ptr[static_cast<size_t>(i) + 1]; ++p) {
          const float v = x.val[static_cast<size_t>(p)];
          float* dst = rhs.data() + static_cast<int64_t>(x.col[static_cast<size_t>(p)]) * n;
          for (int64_t j = j0; j < j1; ++j) dst[j] += v * arow[j];
        }
      }
    }
    double trace = 0;
    for (int64_t j = 0; j < K; ++j) trace += xtx.data()[j * K + j];
    const float ridge = static_cast<float>(1e-6 * std::max(trace / static_cast<double>(K), 1e-30));
    std::vector<int64_t> unused;
    for (int64_t j = 0; j < K; ++j) {
      if (xtx.data()[j * K + j] == 0.0f) {
        xtx.data()[j * K + j] = 1.0f;
        unused.push_back(j);
      } else {
        xtx.data()[j * K + j] += ridge;
      }
    }
    Tensor sol = rhs.clone();
    const lapack_int info = LAPACKE_sposv(LAPACK_ROW_MAJOR, 'U', static_cast<lapack_int>(K), static_cast<lapack_int>(n),
                                          xtx.data(), static_cast<lapack_int>(K), sol.data(), static_cast<lapack_int>(n));
    if (info != 0) sol = lstsq(x.to_dense(), a);  // not definite after all: fall back to the SVD solver
    d = sol;
    // Unused atoms restart at the worst-represented rows of A.
    std::vector<int64_t> order(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) order[static_cast<size_t>(i)] = i;
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(unused.size(), order.size())),
                      order.end(), [&](int64_t p, int64_t q) { return resid[static_cast<size_t>(p)] > resid[static_cast<size_t>(q)]; });
    for (size_t u = 0; u < unused.size() && u < order.size(); ++u)
      std::copy(a.data() + order[u] * n, a.data() + (order[u] + 1) * n, d.data() + unused[u] * n);
    normalize_rows(d, rng);
  }
  pad_rows(best_x, t);
  result.matrix = std::make_unique<DictionaryMatrix>(best_x, best_d);
  return result;
}

std::unique_ptr<CompressedMatrix> DictionaryCompressor::compress(const Tensor& a, Rng& rng) const {
  return std::move(learn(a, rng).matrix);
}

}  // namespace mc
