// Example 2: your own compression method, written here and plugged in by name.
//
// The method: per-column uniform quantization. Each entry of A (m x n) is stored as a signed
// integer q_ij of `bits` bits, each column j keeps one float scale s_j, and
//   Â_ij = s_j * q_ij,   q_ij = round(A_ij / s_j),  s_j = max_i |A_ij| / (2^(bits-1) - 1).
// Stored size: bits * m * n + 32 * n bits, against 32 * m * n for the dense matrix. During
// training after the hand-over the integers stay fixed and the scales keep learning.
//
// Two classes make a method:
//   - a CompressedMatrix (the stored form: materialize Â, and the chain rule to its factors);
//   - a MatrixCompressor (turns a dense A into that form).
// register_method() gives it a name, so by_ratio("quantize", 0.25) finds it, and a restore
// function, so checkpoints of a model compressed with it can be loaded again.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <cstdio>
#include <memory>
#include <vector>

#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/optim/sgd.h"

namespace {

class QuantizedMatrix final : public mc::CompressedMatrix {
 public:
  QuantizedMatrix(std::vector<int32_t> q, mc::Tensor scale, int64_t m, int bits)
      : q_(std::move(q)), scale_(std::move(scale)), m_(m), bits_(bits) {}
  std::string method() const override { return "quantize"; }
  int64_t rows() const override { return m_; }
  int64_t cols() const override { return scale_.numel(); }
  // The scales are the only float factor; they keep training after the hand-over. Each scale
  // is shared by the m entries of its column, so its gradient is the sum of m entries'
  // gradients: at the learning rate that trained A it would move ~m times too far (and
  // training diverges), hence the learning-rate scale 1/m.
  std::vector<mc::Factor> factors() const override {
    return {{"scale", scale_, /*trainable=*/true, /*lr_scale=*/1.0f / static_cast<float>(m_)}};
  }
  nlohmann::json settings() const override { return {{"bits", bits_}}; }
  int64_t stored_bits() const override { return bits_ * m_ * cols() + 32 * cols(); }

  mc::Tensor materialize() const override {  // Â (m, n)
    const int64_t n = cols();
    mc::Tensor a = mc::Tensor::empty({m_, n});
    for (int64_t i = 0; i < m_ * n; ++i) a.data()[i] = static_cast<float>(q_[i]) * scale_.data()[i % n];
    return a;
  }
  // d loss / d s_j = sum_i (d loss / d Â_ij) q_ij.
  void materialize_backward(const mc::Tensor& d_dense, std::vector<mc::Tensor>& grads) const override {
    const int64_t n = cols();
    if (!grads[0].defined()) grads[0] = mc::Tensor::zeros({n});
    for (int64_t i = 0; i < m_ * n; ++i) grads[0].data()[i % n] += d_dense.data()[i] * static_cast<float>(q_[i]);
  }
  // multiply() keeps its default: materialize Â, then one matrix product.

  // The integers, for checkpoints and exported models (as an int32 array of shape (m, n)).
  std::map<std::string, mc::NpyArray> integer_state() const override {
    mc::NpyArray codes{"<i4", {m_, cols()}, std::vector<uint8_t>(q_.size() * sizeof(int32_t))};
    std::memcpy(codes.bytes.data(), q_.data(), codes.bytes.size());
    return {{"codes", codes}};
  }

 private:
  std::vector<int32_t> q_;  // (m, n), row-major
  mc::Tensor scale_;        // (n)
  int64_t m_;
  int bits_;
};

class QuantizeCompressor final : public mc::MatrixCompressor {
 public:
  explicit QuantizeCompressor(int bits) : bits_(bits) {
    MC_CHECK(bits >= 2 && bits <= 16, mc::ValueError, "quantize: bits must be in [2, 16], got " << bits);
  }
  std::string method() const override { return "quantize"; }
  double ratio_for(int64_t m, int64_t n) const override {
    return (static_cast<double>(bits_) * m * n + 32.0 * n) / (32.0 * m * n);
  }
  std::unique_ptr<mc::CompressedMatrix> compress(const mc::Tensor& a, mc::Rng&) const override {
    MC_CHECK(a.dim() == 2 && a.numel() > 0, mc::ValueError, "quantize: expected a non-empty matrix");
    const int64_t m = a.size(0), n = a.size(1);
    const float levels = static_cast<float>((1 << (bits_ - 1)) - 1);  // 4 bits: -7..7
    mc::Tensor scale = mc::Tensor::empty({n});
    std::vector<int32_t> q(static_cast<size_t>(m * n));
    for (int64_t j = 0; j < n; ++j) {
      float largest = 0;
      for (int64_t i = 0; i < m; ++i) largest = std::max(largest, std::abs(a.data()[i * n + j]));
      MC_CHECK(std::isfinite(largest), mc::ValueError, "quantize: column " << j << " is not finite");
      const float s = largest > 0 ? largest / levels : 1.0f;
      scale.data()[j] = s;
      for (int64_t i = 0; i < m; ++i) q[i * n + j] = static_cast<int32_t>(std::lround(a.data()[i * n + j] / s));
    }
    return std::make_unique<QuantizedMatrix>(std::move(q), std::move(scale), m, bits_);
  }

 private:
  int bits_;
};

// The inverse of integer_state() + factors(): a checkpoint holds both, and this rebuilds the matrix.
std::unique_ptr<mc::CompressedMatrix> restore_quantized(const nlohmann::json& settings,
                                                        const std::map<std::string, mc::Tensor>& factors,
                                                        const std::map<std::string, mc::NpyArray>& state) {
  const auto codes = state.find("codes");
  const auto scale = factors.find("scale");
  MC_CHECK(codes != state.end() && scale != factors.end() && codes->second.dtype == "<i4" && codes->second.shape.size() == 2,
           mc::ValueError, "quantize: a checkpoint needs int32 'codes' (m, n) and the factor 'scale'");
  const int64_t m = codes->second.shape[0];
  std::vector<int32_t> q(codes->second.bytes.size() / sizeof(int32_t));
  std::memcpy(q.data(), codes->second.bytes.data(), q.size() * sizeof(int32_t));
  return std::make_unique<QuantizedMatrix>(std::move(q), scale->second.clone(), m, settings.value("bits", 8));
}

// By name: "quantize" with {"bits": b}, or by a target ratio (the most bits that fit).
void register_quantize() {
  mc::MethodEntry entry;
  entry.make = [](const nlohmann::json& settings) {
    return std::make_unique<QuantizeCompressor>(settings.value("bits", 8));
  };
  entry.for_ratio = [](int64_t m, int64_t n, double ratio, const nlohmann::json&) {
    // bits * m n + 32 n <= ratio * 32 m n  ->  bits <= 32 ratio - 32 / m
    const int bits = static_cast<int>(std::floor(32.0 * ratio - 32.0 / static_cast<double>(m)));
    MC_CHECK(bits >= 2, mc::ValueError, "quantize: ratio " << ratio << " leaves fewer than 2 bits for a "
                                            << m << " x " << n << " matrix");
    return std::make_unique<QuantizeCompressor>(std::min(bits, 16));
  };
  entry.restore = restore_quantized;
  mc::register_method("quantize", entry);
}

// A model to try it on: the spiral task of example 1, in brief.
class SpiralNet : public mc::Module {
 public:
  explicit SpiralNet(mc::Rng& rng) {
    register_module("fc1", std::make_shared<mc::Dense>(mc::glorot_uniform(2, 64, rng)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::glorot_uniform(64, 64, rng)));
    register_module("fc3", std::make_shared<mc::Dense>(mc::glorot_uniform(64, 3, rng)));
  }
  std::string type() const override { return "SpiralNet"; }
  mc::Var forward(const mc::Var& x) {
    mc::Var h = mc::relu(child<mc::Dense>("fc1")->forward(x));
    return child<mc::Dense>("fc3")->forward(mc::relu(child<mc::Dense>("fc2")->forward(h)));
  }
};

void make_spirals(mc::Rng& rng, mc::Tensor& x, std::vector<int32_t>& y) {
  x = mc::Tensor::empty({300, 2});
  y.resize(300);
  for (int64_t row = 0; row < 300; ++row) {
    const int32_t arm = static_cast<int32_t>(row / 100);
    const float r = static_cast<float>(row % 100) / 100.0f;
    const float t = 4.0f * static_cast<float>(arm) + 4.0f * r + rng.normal(0.0f, 0.2f);
    x.data()[2 * row] = r * std::sin(t);
    x.data()[2 * row + 1] = r * std::cos(t);
    y[static_cast<size_t>(row)] = arm;
  }
}

}  // namespace

int main() {
  register_quantize();

  // 1. The method alone, on a random matrix: how close is Â to A at 4 bits?
  mc::Rng rng(1);
  mc::Tensor a = mc::Tensor::empty({64, 64});
  for (int64_t i = 0; i < a.numel(); ++i) a.data()[i] = rng.normal(0.0f, 1.0f);
  auto quantized = mc::make_compressor("quantize", {{"bits", 4}})->compress(a, rng);
  std::printf("4-bit quantization of a 64 x 64 Gaussian matrix: %lld bytes (dense %lld), relative error %.3f\n",
              static_cast<long long>(quantized->stored_bytes()), static_cast<long long>(a.numel() * 4),
              quantized->relative_error(a));

  // 2. The same method inside training, chosen by name and ratio like the built-in ones.
  mc::Tensor x;
  std::vector<int32_t> y;
  make_spirals(rng, x, y);
  SpiralNet model(rng);
  mc::SGD optimizer(model, 0.5f);
  mc::CompressionSpec spec;
  spec.include = {"fc2.weight"};
  spec.compressor = mc::by_ratio("quantize", 0.2);  // 5 bits: (5 * 64 + 32) / (32 * 64) = 0.17 <= 0.2
  spec.schedule = mc::BlendSchedule::immediate(600);  // alpha 1 -> 0 at once at step 600
  auto compression = mc::apply_compression(model, spec, 1);
  compression->on_event = [](int64_t, const mc::CompressionController&) {};
  float loss_value = 0;
  for (int64_t step = 0; step < 1000; ++step) {
    compression->before_step(step);
    mc::Var loss = mc::softmax_cross_entropy(model.forward(mc::Var(x)), y);
    optimizer.zero_grad();
    loss.backward();
    compression->after_backward(step);
    optimizer.step();
    compression->after_optimizer_step(step);
    loss_value = loss.value().item();
    if (step == 599 || step == 600) std::printf("step %lld  loss %.4f\n", static_cast<long long>(step), loss_value);
  }
  std::printf("final loss %.4f\n\n%s\n", loss_value, compression->report_table().c_str());
  return std::isfinite(loss_value) && loss_value < 1.0f ? 0 : 1;
}
