// matcomp-factorize: factor one matrix from an .npy file with one compression method, write
// the factors as .npy files, and (with --json) print one line of figures.
//
//   matcomp-factorize --input A.npy --method lowrank --ratio 0.25 --output out/A --json
//   matcomp-factorize --input A.npy --method omp --dictionary D.npy --nnz 8 --codes sparse --output out/A
//
// Bad flags and settings (a rank larger than dense, a flag of another method) print one line on
// stderr and exit with code 2 (usage); unreadable or malformed files exit with code 1.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "tools/cli/cli_conventions.h"
#include "matcomp/compression/linalg/matching_pursuit.h"
#include "matcomp/compression/registry.h"
#include "matcomp/compression/util.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/blas.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"

namespace {

struct Flags {
  std::string input, method, output, dictionary, codes = "dense", solver;
  std::optional<int64_t> rank, bits, levels, block, atoms, nnz, iters;
  std::optional<double> sparsity, ratio;
  bool json = false, no_zero_centroid = false;
  int threads = 0;
  uint64_t seed = 0;
};

void refuse(bool cond, const std::string& message) {
  if (cond) throw mc::ValueError(message);
}

// The method's explicit settings from the flags; flags that belong to another method are refused.
nlohmann::json settings_from_flags(const Flags& f) {
  nlohmann::json s = nlohmann::json::object();
  const std::string& m = f.method;
  auto only = [&](bool given, const char* flag, std::initializer_list<const char*> methods) {
    if (!given) return;
    for (const char* x : methods)
      if (m == x) return;
    throw mc::ValueError(std::string("flag ") + flag + " does not apply to --method " + m);
  };
  only(f.rank.has_value(), "--rank", {"lowrank"});
  only(!f.solver.empty(), "--solver", {"lowrank"});
  only(f.bits.has_value(), "--bits", {"simhash", "quantize"});
  only(f.levels.has_value(), "--levels", {"kmeans"});
  only(f.block.has_value(), "--block", {"kmeans"});
  only(f.no_zero_centroid, "--no-zero-centroid", {"kmeans"});
  only(f.atoms.has_value(), "--atoms", {"dictionary"});
  only(f.nnz.has_value(), "--nnz", {"dictionary", "omp"});
  only(f.iters.has_value(), "--iters", {"dictionary", "kmeans", "quantize"});
  only(f.sparsity.has_value(), "--sparsity", {"prune"});
  only(!f.dictionary.empty(), "--dictionary", {"omp"});
  if (f.rank) s["rank"] = *f.rank;
  if (!f.solver.empty()) s["solver"] = f.solver;
  if (f.bits) s["bits"] = *f.bits;
  if (f.levels) s["levels"] = *f.levels;
  if (f.block) s["block"] = *f.block;
  if (f.no_zero_centroid) s["zero_centroid"] = false;
  if (f.atoms) s["atoms"] = *f.atoms;
  if (f.nnz) s["nnz"] = *f.nnz;
  if (f.iters) s["iters"] = *f.iters;
  if (f.sparsity) s["sparsity"] = *f.sparsity;
  return s;
}

int run_omp(const Flags& f, const mc::Tensor& a) {
  refuse(f.dictionary.empty(), "--method omp needs --dictionary D.npy (rows of D are the atoms)");
  refuse(!f.nnz.has_value(), "--method omp needs --nnz T (atoms per row)");
  refuse(f.ratio.has_value(), "--ratio does not apply to --method omp");
  refuse(f.codes != "dense" && f.codes != "sparse", "--codes must be dense or sparse, got " + f.codes);
  const mc::Tensor d = mc::read_npy(f.dictionary);
  refuse(d.dim() != 2, f.dictionary + ": the dictionary must be 2-D, got " + mc::to_string(d.shape()));
  refuse(d.size(1) != a.size(1), "the dictionary's rows (" + std::to_string(d.size(1)) + " long) must match A's rows (" +
                                     std::to_string(a.size(1)) + " long)");
  const auto t0 = std::chrono::steady_clock::now();
  const mc::SparseRows x = mc::batch_omp(a, d, *f.nnz);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const mc::Tensor xd = x.to_dense();
  mc::Tensor approx = mc::Tensor::zeros({a.size(0), a.size(1)});
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t e = x.row_ptr[static_cast<size_t>(i)]; e < x.row_ptr[static_cast<size_t>(i) + 1]; ++e) {
      const float v = x.val[static_cast<size_t>(e)];
      const float* atom = d.data() + static_cast<int64_t>(x.col[static_cast<size_t>(e)]) * d.size(1);
      for (int64_t j = 0; j < a.size(1); ++j) approx.data()[i * a.size(1) + j] += v * atom[j];
    }
  const double err = mc::relative_error(a, approx);
  // Codes only: the dictionary is given, not stored with them.
  const int64_t bits = x.nnz() * (32 + mc::index_bits(d.size(0)));
  const nlohmann::json settings = {{"nnz", *f.nnz}, {"atoms", d.size(0)}};
  if (!f.output.empty()) {
    if (f.codes == "dense") {
      mc::write_npy(f.output + ".X.npy", xd);
    } else {
      // indices (m, t) int32, -1 where a row stopped early; values (m, t) float32, 0 there.
      const int64_t t = *f.nnz;
      std::vector<int32_t> idx(static_cast<size_t>(x.rows * t), -1);
      mc::Tensor val = mc::Tensor::zeros({x.rows, t});
      for (int64_t i = 0; i < x.rows; ++i)
        for (int64_t e = x.row_ptr[static_cast<size_t>(i)]; e < x.row_ptr[static_cast<size_t>(i) + 1]; ++e) {
          const int64_t r = e - x.row_ptr[static_cast<size_t>(i)];
          idx[static_cast<size_t>(i * t + r)] = x.col[static_cast<size_t>(e)];
          val.data()[i * t + r] = x.val[static_cast<size_t>(e)];
        }
      mc::write_npy_array(f.output + ".indices.npy", mc::to_npy_array(idx, {x.rows, t}));
      mc::write_npy(f.output + ".values.npy", val);
    }
    const nlohmann::json meta = {{"method", "omp"}, {"settings", settings}, {"m", a.size(0)}, {"n", a.size(1)},
                                 {"codes", f.codes}, {"rel_error", err}, {"stored_bits", bits}};
    mc::write_file_atomically(f.output + ".json", meta.dump(2) + "\n");
  }
  if (f.json) {
    const nlohmann::json line = {{"method", "omp"}, {"settings", settings}, {"m", a.size(0)}, {"n", a.size(1)},
                                 {"seconds", seconds}, {"rel_error", err}, {"stored_bytes", (bits + 7) / 8},
                                 {"ratio", static_cast<double>(bits) / static_cast<double>(mc::dense_bits(a.size(0), a.size(1)))},
                                 {"threads", mc::num_threads()}};
    std::cout << line.dump() << std::endl;
  }
  return 0;
}

// The first BLAS/LAPACK call of a process starts OpenBLAS's and OpenMP's threads (milliseconds,
// comparable to a 512x512 factorization); do it before the clock starts, so `seconds` is the
// factorization, as a library call in a running program would see it.
void start_thread_pools() {
  const mc::Tensor x = mc::Tensor::full({64, 64}, 1.0f);
  mc::matmul(x, x);
}

int run(const Flags& f) {
  mc::set_num_threads(f.threads);
  start_thread_pools();
  const mc::Tensor a = mc::read_npy(f.input);
  refuse(a.dim() != 2, f.input + ": expected a 2-D matrix, got shape " + mc::to_string(a.shape()));
  mc::check_matrix(a, f.input);
  if (f.method == "omp") {
    settings_from_flags(f);
    return run_omp(f, a);
  }
  const nlohmann::json s = settings_from_flags(f);
  const int64_t m = a.size(0), n = a.size(1);
  std::unique_ptr<mc::MatrixCompressor> compressor;
  if (f.ratio) {
    for (const char* key : {"rank", "bits", "levels", "sparsity"})
      refuse(s.contains(key), std::string("--ratio derives --") + key + " itself: give one or the other");
    compressor = mc::compressor_for_ratio(f.method, m, n, *f.ratio, s);
  } else {
    compressor = mc::make_compressor(f.method, s);
  }
  mc::Rng rng(f.seed);
  const auto t0 = std::chrono::steady_clock::now();
  const std::unique_ptr<mc::CompressedMatrix> c = compressor->compress(a, rng);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double err = c->relative_error(a);
  const int64_t bits = c->stored_bits();
  const double ratio = static_cast<double>(bits) / static_cast<double>(mc::dense_bits(m, n));
  if (!f.output.empty()) {
    nlohmann::json shapes = nlohmann::json::object();
    for (const mc::Factor& factor : c->factors()) {
      mc::write_npy(f.output + "." + factor.name + ".npy", factor.value);
      shapes[factor.name] = factor.value.shape();
    }
    for (const auto& [name, array] : c->integer_state()) {
      mc::write_npy_array(f.output + "." + name + ".npy", array);
      shapes[name] = array.shape;
    }
    const nlohmann::json meta = {{"method", c->method()}, {"settings", c->settings()}, {"m", m}, {"n", n},
                                 {"shapes", shapes}, {"stored_bits", bits}, {"ratio", ratio}, {"rel_error", err}};
    mc::write_file_atomically(f.output + ".json", meta.dump(2) + "\n");
  }
  if (f.json) {
    const nlohmann::json line = {{"method", c->method()}, {"settings", c->settings()}, {"m", m}, {"n", n},
                                 {"seconds", seconds}, {"rel_error", err}, {"stored_bytes", c->stored_bytes()},
                                 {"ratio", ratio}, {"threads", mc::num_threads()}};
    std::cout << line.dump() << std::endl;
  } else {
    std::cout << c->method() << " " << c->settings().dump() << ": relative error " << err << ", stored " << c->stored_bytes()
              << " bytes (ratio " << ratio << "), " << seconds << " s" << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"Factor a matrix (.npy, float32 or float64) with one compression method; write the factors as .npy."};
  mc::cli::setup(app, "matcomp-factorize");
  app.add_option("--input", f.input, "matrix A (m, n), .npy")->required();
  // Every registered method, plus "omp" (sparse coding against a given dictionary).
  std::vector<std::string> methods = mc::registered_methods();
  methods.push_back("omp");
  std::string method_help;
  for (const std::string& m : methods) method_help += (method_help.empty() ? "" : " | ") + m;
  app.add_option("--method", f.method, method_help)->required()->check(CLI::IsMember(methods));
  app.add_option("--rank", f.rank, "lowrank: rank k");
  app.add_option("--solver", f.solver, "lowrank: auto | full | randomized");
  app.add_option("--bits", f.bits, "simhash: bits k per column; quantize: bits per entry (1..8)");
  app.add_option("--levels", f.levels, "kmeans: codebook size");
  app.add_option("--block", f.block, "kmeans: entries per block (consecutive in a row)");
  app.add_flag("--no-zero-centroid", f.no_zero_centroid, "kmeans: keep the centroid nearest zero as learned");
  app.add_option("--atoms", f.atoms, "dictionary: number of atoms");
  app.add_option("--nnz", f.nnz, "dictionary / omp: nonzeros per row of the codes");
  app.add_option("--iters", f.iters, "dictionary: learning rounds; kmeans: Lloyd iterations at most; quantize: fitting rounds");
  app.add_option("--sparsity", f.sparsity, "prune: fraction of entries removed, in [0, 1)");
  app.add_option("--ratio", f.ratio, "target stored size / dense float32 size, in (0, 1): derives the main setting");
  app.add_option("--dictionary", f.dictionary, "omp: dictionary D (atoms, n), .npy; rows are atoms");
  app.add_option("--codes", f.codes, "omp: write codes as 'dense' (X.npy) or 'sparse' (indices.npy + values.npy)");
  app.add_option("--output", f.output, "write PREFIX.<factor>.npy and PREFIX.json");
  app.add_flag("--json", f.json, "print one JSON line of figures");
  app.add_option("--threads", f.threads, "threads for OpenMP and OpenBLAS (default: all)");
  app.add_option("--seed", f.seed, "random seed");
  if (const int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;
  try {
    return run(f);
  } catch (const mc::IoError& e) {  // missing, unreadable or malformed file: a runtime error
    std::cerr << "matcomp-factorize: error: " << e.what() << std::endl;
    return mc::cli::kRuntimeError;
  } catch (const mc::Error& e) {  // settings the method refuses: a usage error
    std::cerr << "matcomp-factorize: error: " << e.what() << std::endl;
    return mc::cli::kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "matcomp-factorize: internal error: " << e.what() << std::endl;
    return mc::cli::kRuntimeError;
  }
}
