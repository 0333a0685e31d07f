// Small helpers shared by the compression methods: input checks, bit counting, typed integer
// arrays for checkpoints, and the gradient-accumulation convention of CompressedMatrix.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "matcomp/core/npy.h"
#include "matcomp/core/tensor.h"

namespace mc {

// Throws ValueError unless A is a non-empty 2-D matrix of finite values; `who` names the caller.
void check_matrix(const Tensor& a, const std::string& who);

// ceil(log2(range)): bits of an index into `range` values (0 for range <= 1).
int64_t index_bits(int64_t range);

// Bits of a dense float32 m x n matrix.
inline int64_t dense_bits(int64_t m, int64_t n) { return 32 * m * n; }

// Throws ValueError when `bits` is not below the dense size, naming the method and the limit.
void check_smaller_than_dense(const std::string& method, int64_t bits, int64_t m, int64_t n,
                              const std::string& limit_text);

// Factor gradients follow "add into, allocate when undefined": returns the (zeroed if new)
// gradient for factor `i`, shaped like `like`.
Tensor& grad_slot(std::vector<Tensor>& factor_grads, size_t i, const Tensor& like, size_t n_factors);

// Integer arrays for integer_state(): the narrowest unsigned type that holds `max_value`
// ("|u1", "<u2" or "<i4"), and back.
NpyArray pack_codes(const std::vector<int32_t>& codes, Shape shape, int64_t max_value);
std::vector<int32_t> unpack_ints(const NpyArray& array, const std::string& who);
NpyArray pack_u64(uint64_t value);
uint64_t unpack_u64(const NpyArray& array, const std::string& who);

// Lookups with a clear error when a checkpoint lacks an entry.
const Tensor& need_factor(const std::map<std::string, Tensor>& factors, const std::string& name,
                          const std::string& who);
const NpyArray& need_state(const std::map<std::string, NpyArray>& state, const std::string& name,
                           const std::string& who);

}  // namespace mc
