// Rng: our own seeded generator (xoshiro256**, seeded through splitmix64), so streams are
// identical on every platform and compiler. Integers and uniforms are exact everywhere;
// normals use the polar method (only IEEE sqrt and log), and the spare normal is part of the
// state, so save/restore continues the stream bit for bit.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "matcomp/core/tensor.h"

namespace mc {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0);

  uint64_t next_u64();
  float uniform();                       // [0, 1), 24 random bits
  float uniform(float low, float high);  // [low, high)
  double uniform_double();               // [0, 1), 53 random bits
  float normal(float mean = 0.0f, float stddev = 1.0f);
  uint64_t below(uint64_t n);            // uniform integer in [0, n), unbiased (Lemire)

  // A generator whose stream is independent of this one's, derived deterministically.
  Rng split(uint64_t stream);

  template <typename T>
  void shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(i)]);
  }
  std::vector<int64_t> permutation(int64_t n);

  void fill_uniform(Tensor& t, float low, float high);
  void fill_normal(Tensor& t, float mean, float stddev);

  // Full state, for checkpoints: 4 words of xoshiro, plus the cached normal (bits and flag).
  struct State {
    std::array<uint64_t, 4> s;
    uint64_t spare_bits;
    uint64_t has_spare;
  };
  State state() const;
  void set_state(const State& state);

 private:
  std::array<uint64_t, 4> s_{};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

}  // namespace mc
