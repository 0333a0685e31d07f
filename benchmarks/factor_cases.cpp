#include "factor_cases.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>

#include "matcomp/compression/methods/lowrank.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/rng.h"
#include "matcomp/formats/checkpoint.h"

namespace mc::bench {

namespace fs = std::filesystem;

std::string FactorMatrix::file_stem() const {
  std::string stem = kind + "_" + std::to_string(m) + "x" + std::to_string(n);
  for (char& c : stem)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) c = '_';
  return stem;
}

Tensor decaying_spectrum(int64_t m, int64_t n, double alpha, uint64_t seed) {
  MC_CHECK(m > 0 && n > 0, ValueError, "decaying_spectrum: empty shape " << m << "x" << n);
  const int64_t r = std::min(m, n);
  Rng rng(seed);
  Tensor gu = Tensor::empty({m, r}), gv = Tensor::empty({n, r});
  rng.fill_normal(gu, 0.0f, 1.0f);
  rng.fill_normal(gv, 0.0f, 1.0f);
  Tensor u = orthonormalize(gu);  // (m, r)
  const Tensor v = orthonormalize(gv);  // (n, r)
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < r; ++k) u.data()[i * r + k] *= static_cast<float>(std::pow(static_cast<double>(k + 1), -alpha));
  Tensor a = matmul(u, v, Trans::No, Trans::Yes);  // (m, n) = U S V^T
  double sum2 = 0;
  for (int64_t i = 0; i < a.numel(); ++i) sum2 += static_cast<double>(a.data()[i]) * a.data()[i];
  const float scale = static_cast<float>(std::sqrt(static_cast<double>(m * n) / sum2));
  for (int64_t i = 0; i < a.numel(); ++i) a.data()[i] *= scale;
  return a;
}

std::vector<FactorMatrix> synthetic_matrices(const std::vector<std::pair<int64_t, int64_t>>& shapes) {
  std::vector<FactorMatrix> out;
  for (const auto& [m, n] : shapes)
    out.push_back({"decay1", m, n, [m = m, n = n] { return decaying_spectrum(m, n, 1.0, 1000003ull * m + n); }});
  return out;
}

namespace {

// A weight worth factoring: 2-D float32.
bool is_matrix(const NpyArray& a) { return a.dtype == "<f4" && a.shape.size() == 2 && a.shape[0] > 0 && a.shape[1] > 0; }

FactorMatrix from_array(const std::string& name, NpyArray array) {
  const int64_t m = array.shape[0], n = array.shape[1];
  auto shared = std::make_shared<NpyArray>(std::move(array));
  return {"trained:" + name, m, n, [shared, name] { return from_npy_array(*shared, name); }};
}

}  // namespace

std::vector<FactorMatrix> trained_matrices(const std::string& path) {
  std::vector<FactorMatrix> out;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(path))
      if (entry.is_regular_file() && entry.path().extension() == ".npy") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      NpyArray a = read_npy_array(f.string());
      if (is_matrix(a)) out.push_back(from_array(f.stem().string(), std::move(a)));
    }
  } else {
    MC_CHECK(fs::is_regular_file(path, ec), IoError,
             path << ": not found (MATCOMP_BENCH_WEIGHTS must name a matcomp checkpoint or a folder of .npy files)");
    Checkpoint ck = read_checkpoint(path);
    // A dense layer's matrix is "model.<layer>.weight.A" (a DenseWeight's parameter A); a
    // plain "model.<layer>.weight" parameter counts too. Compressed layers hold factors, not A.
    const auto ends_with = [](const std::string& s, const std::string& tail) {
      return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
    };
    for (auto& [name, array] : ck.tensors) {
      if (name.rfind("model.", 0) != 0 || !is_matrix(array)) continue;
      if (ends_with(name, ".weight.A")) out.push_back(from_array(name.substr(6, name.size() - 8), std::move(array)));
      else if (ends_with(name, ".weight")) out.push_back(from_array(name.substr(6), std::move(array)));
    }
  }
  MC_CHECK(!out.empty(), IoError, path << ": holds no 2-D float32 weight to factor");
  return out;
}

const Tensor& cached_matrix(const FactorMatrix& matrix) {
  static std::map<std::string, Tensor> cache;
  const std::string key = matrix.file_stem();
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, matrix.make()).first;
  return it->second;
}

}  // namespace mc::bench
