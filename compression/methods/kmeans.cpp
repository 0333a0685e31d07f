#include "matcomp/compression/methods/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <omp.h>

#include "matcomp/compression/util.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"

namespace mc {

int64_t kmeans_stored_bits(int64_t m, int64_t n, int64_t levels, int64_t block) {
  return levels * block * 32 + (m * n / block) * index_bits(levels);
}

// ---------------------------------------------------------------------------------------------
// 1-D k-means on sorted values.
namespace {

struct Sorted1d {
  std::vector<float> v;       // sorted values (N)
  std::vector<double> s1, s2;  // prefix sums of v and v^2 (N + 1)

  // sum over v[lo, hi) of (v - c)^2, from prefix sums; clamped at 0 against cancellation.
  double cost(int64_t lo, int64_t hi, double c) const {
    const double n = static_cast<double>(hi - lo);
    const double a = s1[static_cast<size_t>(hi)] - s1[static_cast<size_t>(lo)];
    const double b = s2[static_cast<size_t>(hi)] - s2[static_cast<size_t>(lo)];
    return std::max(0.0, b - 2.0 * c * a + n * c * c);
  }
  int64_t size() const { return static_cast<int64_t>(v.size()); }
  // First index whose value is >= t: values below the midpoint t belong to the left centroid.
  int64_t split(double t) const {
    return std::lower_bound(v.begin(), v.end(), t, [](float x, double y) { return x < y; }) - v.begin();
  }
};

// bounds[j] .. bounds[j + 1] is the range of centroid j (centroids sorted ascending).
void boundaries(const Sorted1d& d, const std::vector<double>& c, std::vector<int64_t>& bounds) {
  const size_t L = c.size();
  bounds.assign(L + 1, 0);
  bounds[L] = d.size();
  for (size_t j = 1; j < L; ++j) bounds[j] = d.split(0.5 * (c[j - 1] + c[j]));
}

double inertia(const Sorted1d& d, const std::vector<double>& c, const std::vector<int64_t>& bounds) {
  double total = 0;
  for (size_t j = 0; j < c.size(); ++j) total += d.cost(bounds[j], bounds[j + 1], c[j]);
  return total;
}

// k-means++ (D^2 sampling) in O(levels^2 log N): the D^2 mass of each centroid's range comes
// from prefix sums, and the sampled point inside a range is found by binary search on the
// (monotone) partial sums of (v - c)^2.
std::vector<double> kmeanspp_1d(const Sorted1d& d, int64_t levels, Rng& rng) {
  const int64_t n = d.size();
  std::vector<double> c{static_cast<double>(d.v[static_cast<size_t>(rng.below(static_cast<uint64_t>(n)))])};
  std::vector<int64_t> bounds;
  std::vector<double> mass;
  while (static_cast<int64_t>(c.size()) < levels) {
    boundaries(d, c, bounds);
    mass.assign(c.size(), 0.0);
    double total = 0;
    for (size_t j = 0; j < c.size(); ++j) total += mass[j] = d.cost(bounds[j], bounds[j + 1], c[j]);
    if (!(total > 0)) break;  // every value is already a centroid
    double u = rng.uniform_double() * total;
    size_t j = 0;
    while (j + 1 < c.size() && u >= mass[j]) u -= mass[j++];
    int64_t lo = bounds[j], hi = bounds[j + 1];  // smallest i in (lo, hi] with cost(lo, i) > u
    const int64_t base = lo;
    while (hi - lo > 1) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (d.cost(base, mid, c[j]) > u) hi = mid; else lo = mid;
    }
    const double pick = d.v[static_cast<size_t>(hi - 1)];
    if (std::find(c.begin(), c.end(), pick) != c.end()) {
      // Rounding in the prefix sums landed on an existing centroid: take the range's farthest end.
      const double a = d.v[static_cast<size_t>(bounds[j])], b = d.v[static_cast<size_t>(bounds[j + 1] - 1)];
      const double far = std::abs(a - c[j]) > std::abs(b - c[j]) ? a : b;
      if (std::find(c.begin(), c.end(), far) != c.end()) break;
      c.insert(std::upper_bound(c.begin(), c.end(), far), far);
    } else {
      c.insert(std::upper_bound(c.begin(), c.end(), pick), pick);
    }
  }
  // Fewer distinct values than levels: pad with copies (their ranges stay empty).
  while (static_cast<int64_t>(c.size()) < levels) c.push_back(c.back());
  return c;
}

// Evenly spaced quantiles: the init for very many levels, where O(levels^2) seeding is too slow.
std::vector<double> quantile_init(const Sorted1d& d, int64_t levels) {
  std::vector<double> c(static_cast<size_t>(levels));
  for (int64_t j = 0; j < levels; ++j)
    c[static_cast<size_t>(j)] = d.v[static_cast<size_t>((2 * j + 1) * d.size() / (2 * levels))];
  return c;
}

double lloyd_1d(const Sorted1d& d, std::vector<double>& c, int iters) {
  std::vector<int64_t> bounds, previous;
  for (int it = 0; it < iters; ++it) {
    boundaries(d, c, bounds);
    if (bounds == previous) break;  // assignments unchanged: converged
    for (size_t j = 0; j < c.size(); ++j) {
      const int64_t lo = bounds[j], hi = bounds[j + 1];
      if (hi > lo) c[j] = (d.s1[static_cast<size_t>(hi)] - d.s1[static_cast<size_t>(lo)]) / static_cast<double>(hi - lo);
    }
    std::sort(c.begin(), c.end());
    previous.swap(bounds);
  }
  boundaries(d, c, bounds);
  return inertia(d, c, bounds);
}

}  // namespace

std::vector<float> kmeans_1d_optimal(const float* values, int64_t count, int64_t levels) {
  MC_CHECK(count >= 1 && levels >= 1, ValueError, "kmeans_1d_optimal: " << levels << " levels for " << count << " values");
  std::vector<float> sorted(values, values + count);
  std::sort(sorted.begin(), sorted.end());
  // Distinct values with their counts, shifted by the mean so that the sums of squares below
  // do not cancel catastrophically.
  double mean = 0;
  for (float v : sorted) mean += v;
  mean /= static_cast<double>(count);
  std::vector<double> u;
  std::vector<int64_t> w;
  for (int64_t i = 0; i < count; ++i) {
    if (i > 0 && sorted[static_cast<size_t>(i)] == sorted[static_cast<size_t>(i) - 1]) ++w.back();
    else u.push_back(sorted[static_cast<size_t>(i)] - mean), w.push_back(1);
  }
  const int64_t U = static_cast<int64_t>(u.size());
  std::vector<float> out;
  if (levels >= U) {  // every distinct value its own level; duplicates pad (their ranges stay empty)
    for (double v : u) out.push_back(static_cast<float>(v + mean));
    while (static_cast<int64_t>(out.size()) < levels) out.push_back(out.back());
    return out;
  }
  // Prefix sums over the distinct values: count, sum, sum of squares (U + 1).
  std::vector<double> W(static_cast<size_t>(U) + 1, 0.0), S1(W), S2(W);
  for (int64_t i = 0; i < U; ++i) {
    const auto k = static_cast<size_t>(i);
    W[k + 1] = W[k] + static_cast<double>(w[k]);
    S1[k + 1] = S1[k] + static_cast<double>(w[k]) * u[k];
    S2[k + 1] = S2[k] + static_cast<double>(w[k]) * u[k] * u[k];
  }
  // Sum of squared distances to their mean of the distinct values [j, i), weighted.
  const auto cost = [&](int64_t j, int64_t i) {
    const double n = W[static_cast<size_t>(i)] - W[static_cast<size_t>(j)];
    const double a = S1[static_cast<size_t>(i)] - S1[static_cast<size_t>(j)];
    return std::max(0.0, S2[static_cast<size_t>(i)] - S2[static_cast<size_t>(j)] - a * a / n);
  };
  // D_k(i) = min over j of D_{k-1}(j) + cost(j, i): the best k clusters of the first i distinct
  // values. The best split j is non-decreasing in i (the cost satisfies the quadrangle
  // inequality), so each level is found by divide and conquer over i, O(U log U), and the
  // splits are kept for the way back: levels * (U + 1) int32.
  std::vector<double> prev(static_cast<size_t>(U) + 1), cur(static_cast<size_t>(U) + 1);
  std::vector<int32_t> split(static_cast<size_t>(levels * (U + 1)), 0);
  for (int64_t i = 0; i <= U; ++i) prev[static_cast<size_t>(i)] = i == 0 ? 0.0 : cost(0, i);
  for (int64_t k = 2; k <= levels; ++k) {
    int32_t* sk = split.data() + (k - 1) * (U + 1);
    // Solves i in [lo, hi] knowing the split lies in [jlo, jhi]; an explicit stack, not recursion.
    struct Range { int64_t lo, hi, jlo, jhi; };
    std::vector<Range> stack{{k, U, k - 1, U - 1}};
    while (!stack.empty()) {
      const Range r = stack.back();
      stack.pop_back();
      if (r.lo > r.hi) continue;
      const int64_t mid = r.lo + (r.hi - r.lo) / 2;
      double best = std::numeric_limits<double>::infinity();
      int64_t arg = r.jlo;
      for (int64_t j = r.jlo; j <= std::min(r.jhi, mid - 1); ++j) {
        const double e = prev[static_cast<size_t>(j)] + cost(j, mid);
        if (e < best) best = e, arg = j;
      }
      cur[static_cast<size_t>(mid)] = best;
      sk[mid] = static_cast<int32_t>(arg);
      stack.push_back({r.lo, mid - 1, r.jlo, arg});
      stack.push_back({mid + 1, r.hi, arg, r.jhi});
    }
    std::swap(prev, cur);
  }
  // Back from the last distinct value: each level's range and its (weighted) mean.
  out.assign(static_cast<size_t>(levels), 0.0f);
  int64_t end = U;
  for (int64_t k = levels; k >= 1; --k) {
    const int64_t start = k == 1 ? 0 : split[static_cast<size_t>((k - 1) * (U + 1) + end)];
    const double n = W[static_cast<size_t>(end)] - W[static_cast<size_t>(start)];
    out[static_cast<size_t>(k - 1)] = static_cast<float>((S1[static_cast<size_t>(end)] - S1[static_cast<size_t>(start)]) / n + mean);
    end = start;
  }
  return out;
}

std::vector<float> kmeans_1d(const float* values, int64_t count, int64_t levels, int iters, int restarts, Rng& rng) {
  Sorted1d d;
  d.v.assign(values, values + count);
  std::sort(d.v.begin(), d.v.end());
  d.s1.resize(static_cast<size_t>(count) + 1);
  d.s2.resize(static_cast<size_t>(count) + 1);
  d.s1[0] = d.s2[0] = 0;
  for (int64_t i = 0; i < count; ++i) {
    const double x = d.v[static_cast<size_t>(i)];
    d.s1[static_cast<size_t>(i) + 1] = d.s1[static_cast<size_t>(i)] + x;
    d.s2[static_cast<size_t>(i) + 1] = d.s2[static_cast<size_t>(i)] + x * x;
  }
  std::vector<double> best;
  double best_inertia = std::numeric_limits<double>::infinity();
  for (int r = 0; r < std::max(1, restarts); ++r) {
    std::vector<double> c = levels > 2048 ? quantile_init(d, levels) : kmeanspp_1d(d, levels, rng);
    const double e = lloyd_1d(d, c, iters);
    if (e < best_inertia) {
      best_inertia = e;
      best = std::move(c);
    }
    if (levels > 2048) break;  // the quantile init is deterministic: one start is enough
  }
  // Rounding the double mean to float returns exactly v when a range holds copies of one v.
  std::vector<float> out(best.size());
  for (size_t j = 0; j < best.size(); ++j) out[j] = static_cast<float>(best[j]);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Block k-means: points are the rows of P (N, b), which is A's own memory viewed as (m n / b, b).
namespace {

double sq_dist(const float* a, const float* b, int64_t dim) {
  double s = 0;
  for (int64_t i = 0; i < dim; ++i) {
    const double t = static_cast<double>(a[i]) - b[i];
    s += t * t;
  }
  return s;
}

// codes[i] = nearest centroid of point i; dist[i] its squared distance. Distances through
// ||c||^2 - 2 p.c with the p.c products from sgemm, chunk by chunk (BLAS outside the omp region).
void assign_blocks(const float* p, int64_t count, int64_t dim, const Tensor& centers, std::vector<int32_t>& codes,
                   std::vector<float>& dist) {
  const int64_t L = centers.size(0);
  std::vector<float> cnorm(static_cast<size_t>(L));
  for (int64_t j = 0; j < L; ++j) {
    double s = 0;
    for (int64_t t = 0; t < dim; ++t) s += static_cast<double>(centers.data()[j * dim + t]) * centers.data()[j * dim + t];
    cnorm[static_cast<size_t>(j)] = static_cast<float>(s);
  }
  const int64_t chunk = std::max<int64_t>(256, std::min<int64_t>(8192, (1 << 22) / std::max<int64_t>(L, 1)));
  std::vector<float> dots(static_cast<size_t>(chunk * L));
  for (int64_t start = 0; start < count; start += chunk) {
    const int64_t rows = std::min(chunk, count - start);
    // dots (rows, L) = P_chunk (rows, dim) C^T (dim, L)
    sgemm_raw(Trans::No, Trans::Yes, rows, L, dim, 1.0f, p + start * dim, dim, centers.data(), dim, 0.0f, dots.data(), L);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < rows; ++i) {
      const float* row = dots.data() + i * L;
      float best = std::numeric_limits<float>::infinity();
      int32_t arg = 0;
      for (int64_t j = 0; j < L; ++j) {
        const float e = cnorm[static_cast<size_t>(j)] - 2.0f * row[j];
        if (e < best) {
          best = e;
          arg = static_cast<int32_t>(j);
        }
      }
      codes[static_cast<size_t>(start + i)] = arg;
      dist[static_cast<size_t>(start + i)] =
          static_cast<float>(sq_dist(p + (start + i) * dim, centers.data() + arg * dim, dim));
    }
  }
}

Tensor kmeanspp_blocks(const float* p, int64_t count, int64_t dim, int64_t levels, Rng& rng) {
  Tensor c = Tensor::empty({levels, dim});
  std::vector<double> d2(static_cast<size_t>(count), std::numeric_limits<double>::infinity());
  int64_t pick = static_cast<int64_t>(rng.below(static_cast<uint64_t>(count)));
  for (int64_t j = 0; j < levels; ++j) {
    std::copy(p + pick * dim, p + (pick + 1) * dim, c.data() + j * dim);
    const float* cj = c.data() + j * dim;
    double total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (int64_t i = 0; i < count; ++i) {
      const double e = sq_dist(p + i * dim, cj, dim);
      if (e < d2[static_cast<size_t>(i)]) d2[static_cast<size_t>(i)] = e;
      total += d2[static_cast<size_t>(i)];
    }
    if (j + 1 == levels) break;
    if (!(total > 0)) {  // fewer distinct blocks than levels: repeat the last one
      for (int64_t r = j + 1; r < levels; ++r) std::copy(cj, cj + dim, c.data() + r * dim);
      break;
    }
    double u = rng.uniform_double() * total;
    pick = count - 1;
    for (int64_t i = 0; i < count; ++i) {
      u -= d2[static_cast<size_t>(i)];
      if (u < 0 && d2[static_cast<size_t>(i)] > 0) {
        pick = i;
        break;
      }
    }
  }
  return c;
}

double lloyd_blocks(const float* p, int64_t count, int64_t dim, Tensor& c, int iters, std::vector<int32_t>& codes) {
  const int64_t L = c.size(0);
  std::vector<float> dist(static_cast<size_t>(count));
  std::vector<int32_t> previous;
  std::vector<double> sums(static_cast<size_t>(L * dim));
  std::vector<int64_t> counts(static_cast<size_t>(L));
  for (int it = 0; it < iters; ++it) {
    assign_blocks(p, count, dim, c, codes, dist);
    if (codes == previous) break;
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (int64_t i = 0; i < count; ++i) {
      const int32_t k = codes[static_cast<size_t>(i)];
      ++counts[static_cast<size_t>(k)];
      for (int64_t t = 0; t < dim; ++t) sums[static_cast<size_t>(k * dim + t)] += p[i * dim + t];
    }
    for (int64_t j = 0; j < L; ++j) {
      if (counts[static_cast<size_t>(j)] > 0) {
        for (int64_t t = 0; t < dim; ++t)
          c.data()[j * dim + t] = static_cast<float>(sums[static_cast<size_t>(j * dim + t)] / static_cast<double>(counts[static_cast<size_t>(j)]));
      } else {
        // Empty cluster: move it onto the point currently worst served.
        const int64_t far = std::max_element(dist.begin(), dist.end()) - dist.begin();
        if (dist[static_cast<size_t>(far)] > 0) {
          std::copy(p + far * dim, p + (far + 1) * dim, c.data() + j * dim);
          dist[static_cast<size_t>(far)] = 0;
        }
      }
    }
    previous = codes;
  }
  assign_blocks(p, count, dim, c, codes, dist);
  double total = 0;
  for (float e : dist) total += e;
  return total;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
KMeansMatrix::KMeansMatrix(int64_t m, int64_t n, Tensor codebook, std::vector<int32_t> codes)
    : m_(m), n_(n), codebook_(std::move(codebook)), codes_(std::move(codes)) {
  MC_CHECK(codebook_.dim() == 2 && codebook_.size(1) >= 1 && n_ % codebook_.size(1) == 0 &&
               static_cast<int64_t>(codes_.size()) == m_ * n_ / codebook_.size(1),
           ShapeError,
           "kmeans: codebook " << to_string(codebook_.shape()) << " and " << codes_.size() << " codes do not fit a " << m_
                               << "x" << n_ << " matrix");
  for (int32_t c : codes_)
    MC_CHECK(c >= 0 && c < codebook_.size(0), ValueError, "kmeans: code " << c << " outside [0, " << codebook_.size(0) << ")");
}

std::vector<Factor> KMeansMatrix::factors() const {
  const double uses = static_cast<double>(m_ * n_) / static_cast<double>(levels() * block());
  return {{"codebook", codebook_, true, static_cast<float>(1.0 / std::max(uses, 1.0))}};
}

nlohmann::json KMeansMatrix::settings() const { return {{"levels", levels()}, {"block", block()}}; }

int64_t KMeansMatrix::stored_bits() const { return kmeans_stored_bits(m_, n_, levels(), block()); }

Tensor KMeansMatrix::materialize() const {
  // Â (m, n): block i of b entries is codebook row codes[i]; a gather, rows of blocks over the threads.
  Tensor out = Tensor::empty({m_, n_});
  const int64_t b = block(), count = m_ * n_ / b;
  const float* cb = codebook_.data();
  const int32_t* code = codes_.data();
  float* o = out.data();
  if (b == 1) {  // scalar quantisation, the common case: one load per entry, no inner loop
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i) o[i] = cb[code[i]];
    return out;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) {
    const float* src = cb + static_cast<int64_t>(code[i]) * b;
    for (int64_t t = 0; t < b; ++t) o[i * b + t] = src[t];
  }
  return out;
}

int64_t kmeans_scatter_chunk(int64_t entries) {
  // At least 2^16 blocks a chunk, and at least 8 codebook sizes, so the partial sums (chunks x
  // entries doubles) stay below an eighth of the blocks' count.
  return std::max<int64_t>(int64_t{1} << 16, 8 * entries);
}

void KMeansMatrix::materialize_backward(const Tensor& d_dense, std::vector<Tensor>& grads) const {
  // d codebook[c] (b) = sum of the blocks of dÂ whose code is c. The blocks are cut into chunks
  // of a fixed size (kmeans_scatter_chunk, from the shapes alone), each chunk summed in double
  // into its own partial codebook, in block order, then the partials added in chunk order: the
  // same bits for any thread count. One chunk (small matrices) is the plain sequential sum.
  Tensor& g = grad_slot(grads, 0, codebook_, 1);
  const int64_t b = block(), count = m_ * n_ / b, entries = codebook_.numel();
  const int64_t chunk = kmeans_scatter_chunk(entries);
  const int64_t chunks = (count + chunk - 1) / chunk;
  std::vector<double> partial(static_cast<size_t>(chunks * entries), 0.0);
  const float* d = d_dense.data();
  const int32_t* code = codes_.data();
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    double* acc = partial.data() + c * entries;
    const int64_t end = std::min(count, (c + 1) * chunk);
    if (b == 1) {
      for (int64_t i = c * chunk; i < end; ++i) acc[code[i]] += d[i];
    } else {
      for (int64_t i = c * chunk; i < end; ++i) {
        double* dst = acc + static_cast<int64_t>(code[i]) * b;
        for (int64_t t = 0; t < b; ++t) dst[t] += d[i * b + t];
      }
    }
  }
  float* pg = g.data();
#pragma omp parallel for schedule(static)
  for (int64_t e = 0; e < entries; ++e) {
    double sum = partial[static_cast<size_t>(e)];
    for (int64_t c = 1; c < chunks; ++c) sum += partial[static_cast<size_t>(c * entries + e)];
    pg[e] += static_cast<float>(sum);
  }
}

std::map<std::string, NpyArray> KMeansMatrix::integer_state() const {
  return {{"codes", pack_codes(codes_, {m_, n_ / block()}, levels() - 1)}};
}

KMeansCompressor::KMeansCompressor(KMeansSettings settings) : s_(settings) {
  MC_CHECK(s_.levels >= 2, ValueError, "kmeans: levels must be at least 2, got " << s_.levels);
  MC_CHECK(s_.block >= 1, ValueError, "kmeans: block must be at least 1, got " << s_.block);
  MC_CHECK(s_.iters >= 0 && s_.restarts >= 0, ValueError, "kmeans: iters and restarts must be >= 0");
  MC_CHECK(s_.levels <= (int64_t{1} << 31) - 1, ValueError, "kmeans: too many levels " << s_.levels);
}

double KMeansCompressor::ratio_for(int64_t m, int64_t n) const {
  return static_cast<double>(kmeans_stored_bits(m, n, s_.levels, s_.block)) / static_cast<double>(dense_bits(m, n));
}

std::unique_ptr<CompressedMatrix> KMeansCompressor::compress(const Tensor& a, Rng& rng) const {
  check_matrix(a, "kmeans");
  const int64_t m = a.size(0), n = a.size(1), L = s_.levels, b = s_.block;
  MC_CHECK(n % b == 0, ValueError,
           "kmeans: block " << b << " does not divide the row length " << n << " (blocks are consecutive entries of a row)");
  const int64_t count = m * n / b;
  MC_CHECK(L <= count, ValueError, "kmeans: " << L << " levels for only " << count << " blocks of " << b);
  check_smaller_than_dense("kmeans", kmeans_stored_bits(m, n, L, b), m, n,
                           "use fewer levels or a larger block (stored: levels*block*32 + (m n / block)*ceil(log2 levels) bits)");
  const int iters = s_.iters > 0 ? s_.iters : (b == 1 ? 300 : 50);
  const int restarts = s_.restarts > 0 ? s_.restarts : (b == 1 ? 4 : 1);
  Tensor codebook = Tensor::empty({L, b});
  std::vector<int32_t> codes(static_cast<size_t>(count));
  const float* p = a.data();
  // The reference's zero rule needs 3 levels: with 2 it would keep a single non-zero level.
  const bool zero_rule = s_.zero_centroid && L >= 3;
  if (b == 1) {
    std::vector<float> c = static_cast<double>(L) * static_cast<double>(count) <= kOptimal1dBudget
                               ? kmeans_1d_optimal(p, count, L)
                               : kmeans_1d(p, count, L, iters, restarts, rng);
    if (zero_rule) {
      // Sorted centroids stay sorted when the one nearest zero becomes 0 (its neighbours have
      // the opposite sign or a larger magnitude).
      size_t z = 0;
      for (size_t j = 1; j < c.size(); ++j) if (std::abs(c[j]) < std::abs(c[z])) z = j;
      c[z] = 0.0f;
    }
    std::copy(c.begin(), c.end(), codebook.data());
    // Final codes: the range between consecutive midpoints, by binary search.
    std::vector<float> mids(c.size() - 1);
    for (size_t j = 0; j + 1 < c.size(); ++j) mids[j] = static_cast<float>(0.5 * (static_cast<double>(c[j]) + c[j + 1]));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i)
      codes[static_cast<size_t>(i)] = static_cast<int32_t>(std::upper_bound(mids.begin(), mids.end(), p[i]) - mids.begin());
    // A duplicate centroid (fewer distinct values than levels) never wins ties: fine.
  } else {
    double best = std::numeric_limits<double>::infinity();
    std::vector<int32_t> trial(static_cast<size_t>(count));
    for (int r = 0; r < restarts; ++r) {
      Tensor c = kmeanspp_blocks(p, count, b, L, rng);
      const double e = lloyd_blocks(p, count, b, c, iters, trial);
      if (e < best) {
        best = e;
        codebook = c;
        codes = trial;
      }
    }
    if (zero_rule) {
      int64_t z = 0;
      double zn = std::numeric_limits<double>::infinity();
      const std::vector<float> zero(static_cast<size_t>(b), 0.0f);
      for (int64_t j = 0; j < L; ++j) {
        const double e = sq_dist(codebook.data() + j * b, zero.data(), b);
        if (e < zn) {
          zn = e;
          z = j;
        }
      }
      std::fill(codebook.data() + z * b, codebook.data() + (z + 1) * b, 0.0f);
      std::vector<float> dist(static_cast<size_t>(count));
      assign_blocks(p, count, b, codebook, codes, dist);
    }
  }
  return std::make_unique<KMeansMatrix>(m, n, std::move(codebook), std::move(codes));
}

}  // namespace mc
