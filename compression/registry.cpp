#include "matcomp/compression/registry.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "matcomp/compression/methods/dictionary.h"
#include "matcomp/compression/methods/kmeans.h"
#include "matcomp/compression/methods/lowrank.h"
#include "matcomp/compression/methods/pruning.h"
#include "matcomp/compression/methods/quantize.h"
#include "matcomp/compression/methods/simhash.h"
#include "matcomp/compression/util.h"
#include "matcomp/core/error.h"

namespace mc {

namespace {

void check_keys(const std::string& method, const nlohmann::json& s, const std::set<std::string>& allowed) {
  MC_CHECK(s.is_object() || s.is_null(), ValueError, method << ": settings must be a JSON object, got " << s.dump());
  if (s.is_null()) return;
  for (auto it = s.begin(); it != s.end(); ++it) {
    if (allowed.count(it.key())) continue;
    std::string list;
    for (const auto& k : allowed) list += (list.empty() ? "" : ", ") + k;
    throw ValueError(method + ": unknown setting '" + it.key() + "' (known: " + list + ")");
  }
}

// A typed setting with a clear error; `fallback` when absent (required when fallback is null).
template <typename T>
T get(const std::string& method, const nlohmann::json& s, const std::string& key, const T* fallback) {
  if (s.is_object() && s.contains(key)) {
    const auto& v = s.at(key);
    if constexpr (std::is_same_v<T, bool>) {
      MC_CHECK(v.is_boolean(), ValueError, method << ": setting '" << key << "' must be true or false, got " << v.dump());
    } else if constexpr (std::is_integral_v<T>) {
      MC_CHECK(v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()), ValueError,
               method << ": setting '" << key << "' must be an integer, got " << v.dump());
      if (v.is_number_float()) return static_cast<T>(v.get<double>());
    } else if constexpr (std::is_floating_point_v<T>) {
      MC_CHECK(v.is_number(), ValueError, method << ": setting '" << key << "' must be a number, got " << v.dump());
    } else {
      MC_CHECK(v.is_string(), ValueError, method << ": setting '" << key << "' must be a string, got " << v.dump());
    }
    return v.get<T>();
  }
  MC_CHECK(fallback != nullptr, ValueError, method << ": missing required setting '" << key << "'");
  return *fallback;
}
template <typename T>
T need(const std::string& method, const nlohmann::json& s, const std::string& key) {
  return get<T>(method, s, key, static_cast<const T*>(nullptr));
}
template <typename T>
T opt(const std::string& method, const nlohmann::json& s, const std::string& key, T fallback) {
  return get<T>(method, s, key, &fallback);
}

nlohmann::json merged(const nlohmann::json& options, nlohmann::json derived) {
  if (options.is_object())
    for (auto it = options.begin(); it != options.end(); ++it)
      if (!derived.contains(it.key())) derived[it.key()] = it.value();
  return derived;
}

void check_ratio(const std::string& method, double ratio, int64_t m, int64_t n) {
  MC_CHECK(std::isfinite(ratio) && ratio > 0.0 && ratio < 1.0, ValueError,
           method << ": target ratio " << ratio << " must be in (0, 1): it is stored bits / dense float32 bits");
  MC_CHECK(m > 0 && n > 0, ValueError, method << ": empty matrix " << m << "x" << n);
}

// Largest x in [lo, hi] with fits(x) for a monotone predicate; lo - 1 when none fits.
template <typename F>
int64_t largest(int64_t lo, int64_t hi, F fits) {
  if (hi < lo || !fits(lo)) return lo - 1;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) lo = mid; else hi = mid - 1;
  }
  return lo;
}

// ------------------------------------------------------------------------------------- lowrank
std::unique_ptr<MatrixCompressor> make_lowrank(const nlohmann::json& s) {
  check_keys("lowrank", s, {"rank", "solver", "oversample", "power_iters"});
  LowRankSettings ls;
  ls.rank = need<int64_t>("lowrank", s, "rank");
  const std::string solver = opt<std::string>("lowrank", s, "solver", "auto");
  if (solver == "auto") ls.solver = LowRankSettings::Solver::Auto;
  else if (solver == "full") ls.solver = LowRankSettings::Solver::Full;
  else if (solver == "randomized") ls.solver = LowRankSettings::Solver::Randomized;
  else throw ValueError("lowrank: solver '" + solver + "' is not one of auto, full, randomized");
  ls.oversample = opt<int64_t>("lowrank", s, "oversample", 10);
  ls.power_iters = opt<int>("lowrank", s, "power_iters", 4);
  return std::make_unique<LowRankCompressor>(ls);
}

std::unique_ptr<MatrixCompressor> ratio_lowrank(int64_t m, int64_t n, double ratio, const nlohmann::json& o) {
  const double budget = ratio * static_cast<double>(m * n);  // in floats
  const int64_t k = largest(1, std::min(m, n), [&](int64_t r) {
    return static_cast<double>(r * (m + n)) <= budget && r * (m + n) < m * n;
  });
  MC_CHECK(k >= 1, ValueError,
           "lowrank: ratio " << ratio << " is below what rank 1 needs for " << m << "x" << n << ": (m + n) / (m n) = "
                             << static_cast<double>(m + n) / static_cast<double>(m * n));
  return make_lowrank(merged(o, {{"rank", k}}));
}

std::unique_ptr<CompressedMatrix> restore_lowrank(const nlohmann::json&, const std::map<std::string, Tensor>& f,
                                                  const std::map<std::string, NpyArray>&) {
  return std::make_unique<LowRankMatrix>(need_factor(f, "B", "lowrank").clone(), need_factor(f, "C", "lowrank").clone());
}

// ------------------------------------------------------------------------------------- simhash
std::unique_ptr<MatrixCompressor> make_simhash(const nlohmann::json& s) {
  check_keys("simhash", s, {"bits", "seed", "rows"});  // rows: informational (restore needs it)
  SimhashSettings ss;
  ss.bits = need<int64_t>("simhash", s, "bits");
  if (s.is_object() && s.contains("seed")) {
    ss.fixed_seed = true;
    ss.seed = need<uint64_t>("simhash", s, "seed");
  }
  return std::make_unique<SimhashCompressor>(ss);
}

std::unique_ptr<MatrixCompressor> ratio_simhash(int64_t m, int64_t n, double ratio, const nlohmann::json& o) {
  const double budget = ratio * static_cast<double>(dense_bits(m, n));
  const int64_t k = largest(1, 32 * m, [&](int64_t b) {
    const int64_t bits = 64 + b * n + 32 * n;
    return static_cast<double>(bits) <= budget && bits < dense_bits(m, n);
  });
  MC_CHECK(k >= 1, ValueError,
           "simhash: ratio " << ratio << " is below what 1 bit per column needs for " << m << "x" << n << ": "
                             << static_cast<double>(64 + 33 * n) / static_cast<double>(dense_bits(m, n)));
  return make_simhash(merged(o, {{"bits", k}}));
}

std::unique_ptr<CompressedMatrix> restore_simhash(const nlohmann::json& s, const std::map<std::string, Tensor>& f,
                                                  const std::map<std::string, NpyArray>& st) {
  const Tensor& scale = need_factor(f, "scale", "simhash");
  const NpyArray& signs = need_state(st, "signs", "simhash");
  MC_CHECK(signs.shape.size() == 2, ValueError, "simhash: signs must be 2-D, got " << to_string(signs.shape));
  const int64_t k = signs.shape[0], n = signs.shape[1];
  const std::vector<int32_t> v = unpack_ints(signs, "simhash signs");
  std::vector<int8_t> s8(v.size());
  for (size_t i = 0; i < v.size(); ++i) s8[i] = v[i] >= 0 ? 1 : -1;
  const uint64_t seed = unpack_u64(need_state(st, "seed", "simhash"), "simhash seed");
  const int64_t m = need<int64_t>("simhash", s, "rows");
  return std::make_unique<SimhashMatrix>(m, n, k, seed, std::move(s8), scale.clone().view({n}));
}

// -------------------------------------------------------------------------------------- kmeans
std::unique_ptr<MatrixCompressor> make_kmeans(const nlohmann::json& s) {
  check_keys("kmeans", s, {"levels", "block", "iters", "restarts", "zero_centroid", "max_levels"});
  KMeansSettings ks;
  ks.levels = need<int64_t>("kmeans", s, "levels");
  ks.block = opt<int64_t>("kmeans", s, "block", 1);
  ks.iters = opt<int>("kmeans", s, "iters", 0);
  ks.restarts = opt<int>("kmeans", s, "restarts", 0);
  ks.zero_centroid = opt<bool>("kmeans", s, "zero_centroid", true);
  return std::make_unique<KMeansCompressor>(ks);
}

std::unique_ptr<MatrixCompressor> ratio_kmeans(int64_t m, int64_t n, double ratio, const nlohmann::json& o) {
  const int64_t max_levels = opt<int64_t>("kmeans", o, "max_levels", 256);
  const double budget = ratio * static_cast<double>(dense_bits(m, n));
  // The most levels that fit the budget with codes for blocks of `block` entries (0: none).
  const auto levels_for = [&](int64_t block) -> int64_t {
    if (n % block != 0) return 0;
    const int64_t L = largest(2, std::min(m * n / block, max_levels), [&](int64_t l) {
      const int64_t bits = kmeans_stored_bits(m, n, l, block);
      return static_cast<double>(bits) <= budget && bits < dense_bits(m, n);
    });
    return L >= 2 ? L : 0;
  };
  int64_t block = 1;
  if (o.contains("block")) {
    block = opt<int64_t>("kmeans", o, "block", 1);
    MC_CHECK(block >= 1 && n % block == 0, ValueError, "kmeans: block " << block << " must divide the row length " << n);
  } else {
    // Not given: the largest of 1, 2, 4 whose level count stays below max_levels. A count at
    // the cap leaves part of the budget unused; below it, a larger block (vector
    // quantization) has the lower error at the same bits (docs/COMPRESSION.md: on a Gaussian
    // 400x800 at ratio 0.05, block 1 / 2 / 4 give 0.60 / 0.46 / 0.43). Falls back to the
    // smallest block that fits at all.
    int64_t fallback = 0;
    for (int64_t b : {1, 2, 4}) {
      const int64_t L = levels_for(b);
      if (L == 0) continue;
      if (fallback == 0) fallback = b;
      if (L < max_levels) block = b;
    }
    if (levels_for(block) == 0 && fallback != 0) block = fallback;
  }
  const int64_t L = levels_for(block);
  MC_CHECK(L >= 2, ValueError,
           "kmeans: ratio " << ratio << " is below what 2 levels with block " << block << " need for " << m << "x" << n
                            << ": " << static_cast<double>(kmeans_stored_bits(m, n, 2, block)) / static_cast<double>(dense_bits(m, n))
                            << " (try a larger block)");
  nlohmann::json d = merged(o, {{"levels", L}, {"block", block}});
  d.erase("max_levels");
  return make_kmeans(d);
}

std::unique_ptr<CompressedMatrix> restore_kmeans(const nlohmann::json& s, const std::map<std::string, Tensor>& f,
                                                 const std::map<std::string, NpyArray>& st) {
  const Tensor& cb = need_factor(f, "codebook", "kmeans");
  const NpyArray& codes = need_state(st, "codes", "kmeans");
  MC_CHECK(codes.shape.size() == 2 && cb.dim() == 2, ValueError, "kmeans: codes must be 2-D, got " << to_string(codes.shape));
  (void)s;
  return std::make_unique<KMeansMatrix>(codes.shape[0], codes.shape[1] * cb.size(1), cb.clone(), unpack_ints(codes, "kmeans codes"));
}

// ---------------------------------------------------------------------------------- dictionary
std::unique_ptr<MatrixCompressor> make_dictionary(const nlohmann::json& s) {
  check_keys("dictionary", s, {"atoms", "nnz", "iters"});
  DictionarySettings ds;
  ds.atoms = need<int64_t>("dictionary", s, "atoms");
  ds.nnz = need<int64_t>("dictionary", s, "nnz");
  ds.iters = opt<int>("dictionary", s, "iters", 10);
  return std::make_unique<DictionaryCompressor>(ds);
}

std::unique_ptr<MatrixCompressor> ratio_dictionary(int64_t m, int64_t n, double ratio, const nlohmann::json& o) {
  const double budget = ratio * static_cast<double>(dense_bits(m, n));
  auto fits = [&](int64_t atoms, int64_t t) {
    const int64_t bits = dictionary_stored_bits(m, n, atoms, t);
    return t <= atoms && static_cast<double>(bits) <= budget && bits < dense_bits(m, n);
  };
  int64_t atoms = 0, t = 0;
  if (o.is_object() && o.contains("atoms")) {
    atoms = need<int64_t>("dictionary", o, "atoms");
    t = largest(1, atoms, [&](int64_t x) { return fits(atoms, x); });
  } else {
    // Fixed nonzeros per row (8 by default, fewer when even one atom per nonzero does not fit).
    for (t = opt<int64_t>("dictionary", o, "nnz", 8); t >= 1; --t) {
      atoms = largest(t, m, [&](int64_t x) { return fits(x, t); });
      if (atoms >= t) break;
      if (o.is_object() && o.contains("nnz")) break;  // the caller fixed nnz: do not change it
    }
  }
  MC_CHECK(t >= 1 && atoms >= t, ValueError,
           "dictionary: ratio " << ratio << " leaves no room for a dictionary on " << m << "x" << n
                                << " (one atom with one nonzero per row needs "
                                << static_cast<double>(dictionary_stored_bits(m, n, 1, 1)) / static_cast<double>(dense_bits(m, n)) << ")");
  return make_dictionary(merged(o, {{"atoms", atoms}, {"nnz", t}}));
}

std::unique_ptr<CompressedMatrix> restore_dictionary(const nlohmann::json&, const std::map<std::string, Tensor>& f,
                                                     const std::map<std::string, NpyArray>& st) {
  const std::vector<int32_t> ptr = unpack_ints(need_state(st, "row_ptr", "dictionary"), "dictionary row_ptr");
  std::vector<int64_t> row_ptr(ptr.begin(), ptr.end());
  return std::make_unique<DictionaryMatrix>(std::move(row_ptr), unpack_ints(need_state(st, "atoms", "dictionary"), "dictionary atoms"),
                                            need_factor(f, "X_values", "dictionary").clone(),
                                            need_factor(f, "D", "dictionary").clone());
}

// --------------------------------------------------------------------------------------- prune
std::unique_ptr<MatrixCompressor> make_prune(const nlohmann::json& s) {
  check_keys("prune", s, {"sparsity", "nnz"});
  PruneSettings ps;
  ps.sparsity = need<double>("prune", s, "sparsity");
  return std::make_unique<PruneCompressor>(ps);
}

std::unique_ptr<MatrixCompressor> ratio_prune(int64_t m, int64_t n, double ratio, const nlohmann::json& o) {
  const double budget = ratio * static_cast<double>(dense_bits(m, n));
  const int64_t nnz = largest(1, m * n - 1, [&](int64_t k) {
    const int64_t bits = pruning_stored_bits(m, n, k);
    return static_cast<double>(bits) <= budget && bits < dense_bits(m, n);
  });
  MC_CHECK(nnz >= 1, ValueError, "prune: ratio " << ratio << " cannot hold a single value of a " << m << "x" << n << " matrix");
  return make_prune(merged(o, {{"sparsity", static_cast<double>(m * n - nnz) / static_cast<double>(m * n)}}));
}

std::unique_ptr<CompressedMatrix> restore_prune(const nlohmann::json&, const std::map<std::string, Tensor>& f,
                                                const std::map<std::string, NpyArray>& st) {
  const Tensor& values = need_factor(f, "values", "prune");
  const NpyArray& mask = need_state(st, "mask", "prune");
  const std::vector<int32_t> v = unpack_ints(mask, "prune mask");
  return std::make_unique<PrunedMatrix>(values.clone(), std::vector<uint8_t>(v.begin(), v.end()));
}

// The built-in methods, in the order users see them (CLI help, sweeps, tables); methods
// registered later follow in their registration order.
std::vector<std::string>& method_order() {
  static std::vector<std::string> order{"lowrank", "simhash", "kmeans", "dictionary", "prune", "quantize"};
  return order;
}

std::map<std::string, MethodEntry>& table() {
  static std::map<std::string, MethodEntry> t = {
      {"lowrank", {make_lowrank, ratio_lowrank, restore_lowrank}},
      {"simhash", {make_simhash, ratio_simhash, restore_simhash}},
      {"kmeans", {make_kmeans, ratio_kmeans, restore_kmeans}},
      {"dictionary", {make_dictionary, ratio_dictionary, restore_dictionary}},
      {"prune", {make_prune, ratio_prune, restore_prune, "prune"}},
      {"quantize", quantize_method()},
  };
  return t;
}

const MethodEntry& entry(const std::string& method) {
  const auto it = table().find(method);
  if (it != table().end()) return it->second;
  std::string list;
  for (const auto& name : registered_methods()) list += (list.empty() ? "" : ", ") + name;
  throw ValueError("unknown compression method '" + method + "' (known: " + list + ")");
}

// nlohmann's own type errors become ValueError naming the method.
template <typename F>
auto guarded(const std::string& method, F f) -> decltype(f()) {
  try {
    return f();
  } catch (const nlohmann::json::exception& e) {
    throw ValueError(method + ": bad settings: " + e.what());
  }
}

}  // namespace

std::unique_ptr<MatrixCompressor> make_compressor(const std::string& method, const nlohmann::json& settings) {
  const MethodEntry& e = entry(method);
  return guarded(method, [&] { return e.make(settings); });
}

std::unique_ptr<MatrixCompressor> compressor_for_ratio(const std::string& method, int64_t m, int64_t n, double ratio,
                                                       const nlohmann::json& options) {
  const MethodEntry& e = entry(method);
  MC_CHECK(static_cast<bool>(e.for_ratio), ValueError, method << ": this method cannot derive its settings from a ratio");
  check_ratio(method, ratio, m, n);
  return guarded(method, [&] { return e.for_ratio(m, n, ratio, options); });
}

std::unique_ptr<CompressedMatrix> restore_compressed(const std::string& method, const nlohmann::json& settings,
                                                     const std::map<std::string, Tensor>& factors,
                                                     const std::map<std::string, NpyArray>& integer_state) {
  const MethodEntry& e = entry(method);
  return guarded(method, [&] { return e.restore(settings, factors, integer_state); });
}

void register_method(const std::string& name, MethodEntry entry) {
  MC_CHECK(!name.empty() && entry.make && entry.restore, ValueError,
           "register_method: '" << name << "' needs a name, make and restore");
  if (!table().contains(name)) method_order().push_back(name);
  table()[name] = std::move(entry);
}

std::string policy_for_method(const std::string& method) {
  const auto it = table().find(method);
  return it == table().end() ? "blend" : it->second.policy;
}

std::vector<std::string> registered_methods() {
  std::vector<std::string> names;
  for (const std::string& name : method_order())
    if (table().contains(name)) names.push_back(name);
  return names;
}

}  // namespace mc
