#include "matcomp/compression/compressed_weight.h"

#include "matcomp/autograd/ops.h"
#include "matcomp/compression/compressed_ops.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/error.h"
#include "matcomp/layers/kernels/affine_op.h"

namespace mc {

const char* phase_name(Phase p) { return p == Phase::Dense ? "dense" : p == Phase::Blend ? "blend" : "factored"; }

Phase phase_from_name(const std::string& s) {
  if (s == "dense") return Phase::Dense;
  if (s == "blend") return Phase::Blend;
  MC_CHECK(s == "factored", ValueError, "unknown compression phase '" << s << "' (known: dense, blend, factored)");
  return Phase::Factored;
}

CompressedWeight::CompressedWeight(Var a, ParamGroup group) : group_(group) {
  MC_CHECK(a.defined() && a.value().dim() == 2, ShapeError, "CompressedWeight: A must be a 2-D matrix");
  rows_ = a.shape()[0];
  cols_ = a.shape()[1];
  register_parameter("A", std::move(a), group_);
}

CompressedWeight::CompressedWeight(Var a, std::shared_ptr<CompressedMatrix> matrix, ParamGroup group, double alpha,
                                   double rel_error)
    : phase_(alpha > 0.0 ? Phase::Blend : Phase::Factored),
      alpha_(alpha > 0.0 ? alpha : 0.0),
      rel_error_(rel_error),
      group_(group),
      matrix_(std::move(matrix)) {
  MC_CHECK(matrix_ != nullptr, ValueError, "CompressedWeight needs a compressed matrix");
  rows_ = matrix_->rows();
  cols_ = matrix_->cols();
  if (phase_ == Phase::Blend) {
    MC_CHECK(a.defined() && a.value().dim() == 2 && a.shape()[0] == rows_ && a.shape()[1] == cols_, ShapeError,
             "CompressedWeight: blending needs A of shape (" << rows_ << ", " << cols_ << ")");
    register_parameter("A", std::move(a), group_);
  }
  register_matrix();
}

void CompressedWeight::register_matrix() {
  for (const Factor& f : matrix_->factors()) {
    if (f.trainable) {
      ParamGroup factor_group = group_;
      factor_group.lr_scale *= f.lr_scale;
      register_parameter(f.name, Var(f.value, true, f.name), factor_group);
    } else {
      register_buffer(f.name, f.value);
    }
  }
  refresh_states();
}

void CompressedWeight::refresh_states() {
  MC_CHECK(matrix_ != nullptr, Error, "CompressedWeight: no matrix while dense");
  for (auto& [name, array] : matrix_->integer_state()) register_state(name, std::move(array));
}

std::string CompressedWeight::method() const { return matrix_ ? matrix_->method() : std::string(); }

void CompressedWeight::set_alpha(double alpha) {
  MC_CHECK(phase_ == Phase::Blend, Error, "CompressedWeight: alpha is set only while blending");
  alpha_ = alpha;
}

nlohmann::json CompressedWeight::config() const {
  nlohmann::json c = {{"rows", rows_},           {"cols", cols_},
                      {"phase", phase_name(phase_)}, {"alpha", alpha_},
                      {"rel_error", rel_error_}, {"weight_decay", group_.weight_decay},
                      {"lr_scale", group_.lr_scale}};
  if (!matrix_) return c;
  c["method"] = matrix_->method();
  c["settings"] = matrix_->settings();
  nlohmann::json factors = nlohmann::json::array();
  for (const Factor& f : matrix_->factors())
    factors.push_back({{"name", f.name}, {"shape", f.value.shape()}, {"trainable", f.trainable}, {"lr_scale", f.lr_scale}});
  c["factors"] = factors;
  nlohmann::json states = nlohmann::json::array();
  for (const auto& [name, a] : matrix_->integer_state()) states.push_back({{"name", name}, {"dtype", a.dtype}, {"shape", a.shape}});
  c["states"] = states;
  return c;
}

std::shared_ptr<CompressedWeight> CompressedWeight::from_config(const nlohmann::json& c) {
  const ParamGroup group{.weight_decay = c.value("weight_decay", 0.0f), .lr_scale = c.value("lr_scale", 1.0f)};
  const int64_t rows = c.at("rows").get<int64_t>(), cols = c.at("cols").get<int64_t>();
  MC_CHECK(rows > 0 && cols > 0, ValueError, "CompressedWeight config: rows and cols must be positive, got " << c.dump());
  const Phase phase = phase_from_name(c.value("phase", "dense"));
  if (phase == Phase::Dense) return std::make_shared<CompressedWeight>(Var(Tensor::zeros({rows, cols}), true, "A"), group);
  // Built empty, then filled as the constructors would have: A, factors, states.
  std::shared_ptr<CompressedWeight> w(new CompressedWeight(Var(Tensor::zeros({rows, cols}), true, "A"), group));
  w->phase_ = phase;
  w->alpha_ = c.value("alpha", phase == Phase::Blend ? 1.0 : 0.0);
  w->rel_error_ = c.value("rel_error", 0.0);
  if (phase == Phase::Factored) w->remove_parameter("A");
  MC_CHECK(c.contains("method") && c.contains("factors") && c["factors"].is_array(), ValueError,
           "CompressedWeight config in phase " << phase_name(phase) << " needs a method and its factors: " << c.dump());
  for (const auto& f : c["factors"]) {
    const std::string name = f.at("name").get<std::string>();
    Tensor zeros = Tensor::zeros(f.at("shape").get<Shape>());
    if (f.value("trainable", true)) {
      ParamGroup g = group;
      g.lr_scale *= f.value("lr_scale", 1.0f);
      w->register_parameter(name, std::move(zeros), g);
    } else {
      w->register_buffer(name, std::move(zeros));
    }
  }
  for (const auto& s : c.value("states", nlohmann::json::array())) {
    NpyArray a{s.at("dtype").get<std::string>(), s.at("shape").get<Shape>(), {}};
    a.bytes.assign(static_cast<size_t>(numel_of(a.shape)) * npy_item_size(a.dtype), 0);
    w->register_state(s.at("name").get<std::string>(), std::move(a));
  }
  w->pending_ = c;
  return w;
}

void CompressedWeight::on_values_loaded() {
  inference_dense_ = Var();
  if (phase_ == Phase::Dense) return;
  const nlohmann::json layout = matrix_ ? config() : pending_;
  std::map<std::string, Tensor> factors;
  for (const auto& f : layout.at("factors")) {
    const std::string name = f.at("name").get<std::string>();
    factors[name] = f.value("trainable", true) ? own_parameter(name).value() : own_buffer(name);
  }
  std::map<std::string, NpyArray> states;
  for (const auto& s : layout.value("states", nlohmann::json::array())) {
    const std::string name = s.at("name").get<std::string>();
    states[name] = state(name);
  }
  matrix_ = std::shared_ptr<CompressedMatrix>(
      restore_compressed(layout.at("method").get<std::string>(), layout.at("settings"), factors, states));
  // The restored matrix holds its own copies of the factors: the registry now shares them, so
  // an optimizer step on a parameter is a step on the factor.
  for (const Factor& f : matrix_->factors()) {
    if (f.trainable) {
      Var& v = own_parameter(f.name);
      MC_CHECK(v.shape() == f.value.shape(), ShapeError,
               "CompressedWeight: restored factor " << f.name << " " << to_string(f.value.shape()) << " vs "
                                                    << to_string(v.shape()));
      v.value() = f.value;
    } else {
      register_buffer(f.name, f.value);
    }
  }
  pending_ = nullptr;
}

std::vector<Var> CompressedWeight::factor_vars() {
  MC_CHECK(matrix_ != nullptr, Error,
           "CompressedWeight (" << phase_name(phase_) << "): no values loaded yet (built from a config, then never loaded)");
  std::vector<Var> vars;
  for (const Factor& f : matrix_->factors()) {
    if (f.trainable) vars.push_back(own_parameter(f.name));
    else vars.emplace_back(f.value);
  }
  return vars;
}

void CompressedWeight::set_inference_path(InferencePath path) {
  inference_path_ = path;
  inference_dense_ = Var();
}

bool CompressedWeight::fastest_path_uses_dense() const {
  return phase_ == Phase::Factored && matrix_ && !matrix_->product_beats_dense();
}

bool CompressedWeight::infers_through_dense() const {
  return inference_path_ == InferencePath::Fastest && fastest_path_uses_dense();
}

int64_t CompressedWeight::inference_resident_bytes(InferencePath path) const {
  if (phase_ == Phase::Dense) return 4 * rows_ * cols_;
  int64_t bytes = matrix_->resident_bytes();
  if (phase_ == Phase::Blend) bytes += 4 * rows_ * cols_;  // A
  if (path == InferencePath::Fastest && fastest_path_uses_dense()) bytes += 4 * rows_ * cols_;
  return bytes;
}

const Var* CompressedWeight::inference_dense() {
  if (!infers_through_dense() || is_training() || grad_enabled()) {
    inference_dense_ = Var();  // this forward may train: a kept Â would go stale
    return nullptr;
  }
  if (!inference_dense_.defined()) inference_dense_ = Var(matrix_->materialize());
  return &inference_dense_;
}

Var CompressedWeight::multiply(const Var& x) {
  if (phase_ == Phase::Dense) return matmul(x, own_parameter("A"));
  if (phase_ == Phase::Factored) {
    if (const Var* w = inference_dense()) return matmul(x, *w);
    return compressed_multiply(x, matrix_, factor_vars());
  }
  const float a = static_cast<float>(alpha_);
  return add(scale(matmul(x, own_parameter("A")), a), scale(compressed_multiply(x, matrix_, factor_vars()), 1.0f - a));
}

Var CompressedWeight::affine(const Var& x, const Var& bias) {
  if (phase_ == Phase::Dense) return mc::affine(x, own_parameter("A"), bias);  // as DenseWeight: one sgemm
  if (phase_ == Phase::Factored) {
    if (const Var* w = inference_dense()) return mc::affine(x, *w, bias);
    return compressed_affine(x, matrix_, factor_vars(), bias);
  }
  return add(multiply(x), bias);
}

Var CompressedWeight::dense() {
  if (phase_ == Phase::Dense) return own_parameter("A");
  if (phase_ == Phase::Factored) return compressed_dense(matrix_, factor_vars());
  const float a = static_cast<float>(alpha_);
  return add(scale(own_parameter("A"), a), scale(compressed_dense(matrix_, factor_vars()), 1.0f - a));
}

void CompressedWeight::after_optimizer_step() {
  inference_dense_ = Var();
  if (matrix_) matrix_->after_optimizer_step();
}

}  // namespace mc
