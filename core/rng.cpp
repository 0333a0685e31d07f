#include "matcomp/core/rng.h"

#include <bit>
#include <cmath>
#include <cstring>

namespace mc {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (auto& word : s_) word = splitmix64(x);
}

uint64_t Rng::next_u64() {
  const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = std::rotl(s_[3], 45);
  return result;
}

float Rng::uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }
float Rng::uniform(float low, float high) { return low + (high - low) * uniform(); }
double Rng::uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

float Rng::normal(float mean, float stddev) {
  if (has_spare_) {
    has_spare_ = false;
    return mean + stddev * static_cast<float>(spare_);
  }
  double u, v, s;
  do {
    u = 2.0 * uniform_double() - 1.0;
    v = 2.0 * uniform_double() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double f = std::sqrt(-2.0 * std::log(s) / s);
  spare_ = v * f;
  has_spare_ = true;
  return mean + stddev * static_cast<float>(u * f);
}

uint64_t Rng::below(uint64_t n) {
  if (n <= 1) return 0;
  // Lemire's nearly-divisionless method: multiply, reject the biased sliver.
  __uint128_t m = static_cast<__uint128_t>(next_u64()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = -n % n;
    while (low < threshold) {
      m = static_cast<__uint128_t>(next_u64()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

Rng Rng::split(uint64_t stream) {
  Rng child(next_u64() ^ (stream * 0xD1B54A32D192ED03ull));
  return child;
}

std::vector<int64_t> Rng::permutation(int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<size_t>(i)] = i;
  shuffle(p);
  return p;
}

void Rng::fill_uniform(Tensor& t, float low, float high) {
  for (float& v : t.span()) v = uniform(low, high);
  t.mark_modified();
}

void Rng::fill_normal(Tensor& t, float mean, float stddev) {
  for (float& v : t.span()) v = normal(mean, stddev);
  t.mark_modified();
}

Rng::State Rng::state() const {
  State st{};
  st.s = s_;
  std::memcpy(&st.spare_bits, &spare_, sizeof(double));
  st.has_spare = has_spare_ ? 1 : 0;
  return st;
}

void Rng::set_state(const State& st) {
  s_ = st.s;
  std::memcpy(&spare_, &st.spare_bits, sizeof(double));
  has_spare_ = st.has_spare != 0;
}

}  // namespace mc
