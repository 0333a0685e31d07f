// The "Writing a new compressor" example of docs/COMPRESSION.md, verbatim, and its test.
#include <gtest/gtest.h>

#include <cmath>

#include "matcomp/autograd/ops.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/formats/export.h"
#include "matcomp/compression/matrix_compressor.h"
#include "matcomp/compression/registry.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/optim/sgd.h"
#include "matcomp/compression/util.h"
#include "matcomp/core/error.h"
#include "helpers.h"

// --- example begins ---
namespace ternary {

// Â_ij = scale_j * t_ij with t_ij in {-1, 0, +1}: 2 bits per entry, one float per column.
class TernaryMatrix final : public mc::CompressedMatrix {
 public:
  TernaryMatrix(std::vector<int8_t> t, mc::Tensor scale, int64_t m)
      : t_(std::move(t)), scale_(std::move(scale)), m_(m) {}
  std::string method() const override { return "ternary"; }
  int64_t rows() const override { return m_; }
  int64_t cols() const override { return scale_.numel(); }
  std::vector<mc::Factor> factors() const override { return {{"scale", scale_, true}}; }
  nlohmann::json settings() const override { return nlohmann::json::object(); }
  int64_t stored_bits() const override { return 2 * m_ * cols() + 32 * cols(); }

  mc::Tensor materialize() const override {  // (m, n)
    mc::Tensor out = mc::Tensor::empty({m_, cols()});
    for (int64_t i = 0; i < out.numel(); ++i) out.data()[i] = t_[i] * scale_.data()[i % cols()];
    return out;
  }
  void materialize_backward(const mc::Tensor& d_dense, std::vector<mc::Tensor>& grads) const override {
    mc::Tensor& g = mc::grad_slot(grads, 0, scale_, 1);  // d scale_j += sum_i dÂ_ij t_ij
    for (int64_t i = 0; i < d_dense.numel(); ++i) g.data()[i % cols()] += d_dense.data()[i] * t_[i];
  }
  std::map<std::string, mc::NpyArray> integer_state() const override {
    mc::NpyArray a{"|i1", {m_, cols()}, std::vector<uint8_t>(t_.begin(), t_.end())};
    return {{"ternary", a}};
  }
  // multiply() and multiply_backward() keep their defaults: materialize, then sgemm.

 private:
  std::vector<int8_t> t_;
  mc::Tensor scale_;  // (n)
  int64_t m_;
};

class TernaryCompressor final : public mc::MatrixCompressor {
 public:
  std::string method() const override { return "ternary"; }
  double ratio_for(int64_t m, int64_t n) const override { return (2.0 * m * n + 32.0 * n) / (32.0 * m * n); }
  std::unique_ptr<mc::CompressedMatrix> compress(const mc::Tensor& a, mc::Rng&) const override {
    mc::check_matrix(a, "ternary");
    const int64_t m = a.size(0), n = a.size(1);
    mc::check_smaller_than_dense("ternary", 2 * m * n + 32 * n, m, n, "needs at least 2 rows");
    std::vector<int8_t> t(static_cast<size_t>(m * n));
    mc::Tensor scale = mc::Tensor::zeros({n});
    for (int64_t j = 0; j < n; ++j) {
      double mean_abs = 0;  // threshold 0.7 * mean |A_:j| (ternary weight networks)
      for (int64_t i = 0; i < m; ++i) mean_abs += std::abs(a.data()[i * n + j]) / m;
      double kept = 0, count = 0;
      for (int64_t i = 0; i < m; ++i) {
        const float v = a.data()[i * n + j];
        const int8_t s = std::abs(v) > 0.7 * mean_abs ? (v > 0 ? 1 : -1) : 0;
        t[i * n + j] = s;
        if (s != 0) kept += std::abs(v), count += 1;
      }
      scale.data()[j] = count > 0 ? static_cast<float>(kept / count) : 0.0f;  // least squares for fixed t
    }
    return std::make_unique<TernaryMatrix>(std::move(t), std::move(scale), m);
  }
};

// Registration makes it available by name, by ratio (optional) and from checkpoints.
void register_ternary() {
  mc::register_method("ternary", {
      [](const nlohmann::json&) { return std::make_unique<TernaryCompressor>(); },
      nullptr,
      [](const nlohmann::json&, const std::map<std::string, mc::Tensor>& f, const std::map<std::string, mc::NpyArray>& s) {
        const mc::NpyArray& t = mc::need_state(s, "ternary", "ternary");
        std::vector<int8_t> v(t.bytes.begin(), t.bytes.end());
        return std::make_unique<TernaryMatrix>(std::move(v), mc::need_factor(f, "scale", "ternary").clone(), t.shape[0]);
      }});
}

}  // namespace ternary
// --- example ends ---

TEST(CustomCompressor, TernaryWorksThroughTheRegistry) {
  ternary::register_ternary();
  const mc::Tensor a = mc_test::gaussian(30, 20, 1);
  mc::Rng rng(0);
  auto c = mc::make_compressor("ternary", {})->compress(a, rng);
  EXPECT_LT(c->relative_error(a), 0.6);  // about 0.53 for Gaussian weights
  EXPECT_EQ(c->stored_bits(), 2 * 600 + 32 * 20);
  mc_test::check_method(*c, 31);
  std::map<std::string, mc::Tensor> factors{{"scale", c->factors()[0].value}};
  auto r = mc::restore_compressed("ternary", {}, factors, c->integer_state());
  EXPECT_EQ(mc_test::max_abs_diff(r->materialize(), c->materialize()), 0.0);
  EXPECT_THROW(mc::compressor_for_ratio("ternary", 30, 20, 0.2), mc::ValueError);  // no ratio rule
}

// The whole life of a method defined outside the library: selected by a spec, blended and
// switched by apply_compression, checkpointed mid-blend and resumed bit for bit in a fresh
// model (the checkpoint alone rebuilds the ternary layer through the module factory and the
// method registry), exported, and loaded into an uncompressed model for inference.
namespace {
class TwoLayer : public mc::Module {
 public:
  explicit TwoLayer(mc::Rng& rng) {
    register_module("fc1", std::make_shared<mc::Dense>(mc::glorot_uniform(12, 24, rng)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::glorot_uniform(24, 3, rng)));
  }
  std::string type() const override { return "TwoLayer"; }
  mc::Var forward(const mc::Var& x) { return child<mc::Dense>("fc2")->forward(mc::relu(child<mc::Dense>("fc1")->forward(x))); }
};

struct TernaryRun {
  mc::Rng rng;
  TwoLayer net;
  mc::SGD opt;
  std::unique_ptr<mc::CompressionController> compression;
  explicit TernaryRun(uint64_t seed) : rng(seed), net(rng), opt(net, 0.05f, mc::SgdOptions{.momentum = 0.9f}) {
    mc::CompressionSpec spec;
    spec.include = {"fc1.weight"};
    spec.compressor = [](const std::string&, int64_t, int64_t) { return mc::make_compressor("ternary", {}); };
    spec.schedule = mc::BlendSchedule{10, -1, 5, 0.25};  // blend over steps 10..25
    compression = mc::apply_compression(net, spec, 3);
    compression->on_event = nullptr;
  }
  float step(int64_t s, const mc::Tensor& x, const std::vector<int32_t>& y) {
    compression->before_step(s);
    mc::Var loss = mc::softmax_cross_entropy(net.forward(mc::Var(x)), y);
    net.zero_grad();
    loss.backward();
    compression->after_backward(s);
    opt.step();
    compression->after_optimizer_step(s);
    return loss.value().item();
  }
};
}  // namespace

TEST(CustomCompressor, TernaryThroughApplyCompressionCheckpointResumeExportAndLoad) {
  ternary::register_ternary();
  const mc::Tensor x = mc_test::gaussian(64, 12, 4);
  std::vector<int32_t> y(64);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int32_t>(i % 3);
  const std::string ckpt = ::testing::TempDir() + "/ternary.safetensors";
  TernaryRun a(1);
  std::vector<float> expected;
  for (int64_t s = 0; s < 35; ++s) {
    if (s == 17) mc::save_checkpoint(ckpt, a.net, &a.opt, s, &a.rng, nullptr);  // mid-blend
    const float loss = a.step(s, x, y);
    if (s >= 17) expected.push_back(loss);
  }
  EXPECT_EQ(a.compression->report()[0].method, "ternary");
  EXPECT_EQ(a.compression->report()[0].phase, "factored");
  EXPECT_TRUE(a.net.has_parameter("fc1.weight.scale"));
  EXPECT_EQ(a.net.named_states().size(), 1u);  // the ternary codes, in the registry

  TernaryRun b(77);  // other initial values: everything comes from the checkpoint
  mc::apply_checkpoint(mc::read_checkpoint(ckpt), b.net, &b.opt, &b.rng, nullptr);
  for (int64_t s = 17; s < 35; ++s) ASSERT_EQ(b.step(s, x, y), expected[static_cast<size_t>(s - 17)]) << "step " << s;

  const std::string file = ::testing::TempDir() + "/ternary.mcz";
  mc::export_model(file, a.net);
  mc::Rng other(5);
  TwoLayer fresh(other);
  mc::load_exported_model(file, fresh);
  mc::NoGradGuard no_grad;
  const mc::Tensor want = a.net.forward(mc::Var(x)).value(), got = fresh.forward(mc::Var(x)).value();
  EXPECT_EQ(mc_test::max_abs_diff(want, got), 0.0);
}
