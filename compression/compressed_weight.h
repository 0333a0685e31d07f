// CompressedWeight: the weight seam (layers/modules/weight.h) of a layer selected for compression. It
// carries all of its state in the model's registry, so a checkpoint or an export is a dump of
// the registry and loading needs nothing but the file:
//   parameters  "A" (dense and blend phases) and the trainable factors ("B", "C", "codebook"...)
//   buffers     the frozen float factors
//   states      the method's integer state (codes, masks, sparse supports, seeds), typed
//   config()    rows, cols, phase, alpha, method + settings, the factors' and states' layout
//   children    a transition policy's own state (e.g. "score": pruning scores)
// Phases: dense (W = A; a policy may already be gathering scores), blend (W = alpha A +
// (1 - alpha) Â, A training with its gradient scaled by alpha, the factors by 1 - alpha),
// factored (W = Â: A has left the model). The products and their backward rules are the
// method's CompressedMatrix's (compressed_ops.h).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "matcomp/compression/compressed_matrix.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {

enum class Phase { Dense, Blend, Factored };

// How a factored weight multiplies at inference (eval mode, no gradients):
//   Product        through the method's own product, holding only the factors (least memory)
//   Fastest        the product where it beats one dense sgemm (CompressedMatrix::
//                  product_beats_dense), else a dense Â formed once at the first such forward
//                  and kept beside the factors (more memory, the speed of the dense model)
enum class InferencePath { Product, Fastest };
const char* phase_name(Phase p);
Phase phase_from_name(const std::string& s);  // ValueError for an unknown name

class CompressedWeight : public Weight {
 public:
  // Dense phase: A as it is (the same Var: optimizer state keyed to it carries over).
  CompressedWeight(Var a, ParamGroup group);
  // Blend (alpha > 0, A given) or factored (alpha 0, A undefined) around a matrix.
  CompressedWeight(Var a, std::shared_ptr<CompressedMatrix> matrix, ParamGroup group, double alpha, double rel_error);
  // From config() alone: parameters, buffers and states of the right shapes (zeros); the
  // matrix is rebuilt from them by on_values_loaded() (through the method registry).
  static std::shared_ptr<CompressedWeight> from_config(const nlohmann::json& config);

  std::string type() const override { return "CompressedWeight"; }
  nlohmann::json config() const override;
  void on_values_loaded() override;

  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  Var multiply(const Var& x) override;
  Var dense() override;
  Var affine(const Var& x, const Var& bias) override;

  Phase phase() const { return phase_; }
  double alpha() const { return alpha_; }  // 1 dense, 0 factored
  void set_alpha(double alpha);            // blend phase only
  const ParamGroup& group() const { return group_; }
  const std::shared_ptr<CompressedMatrix>& matrix() const { return matrix_; }  // null while dense
  std::string method() const;  // the matrix's method, "" while dense
  double rel_error() const { return rel_error_; }
  void set_rel_error(double e) { rel_error_ = e; }
  Var a() { return own_parameter("A"); }  // dense and blend phases

  // Inference path (Product by default; load_exported_model sets Fastest). The dense Â of
  // Fastest is dropped by any forward in training mode or with gradients, by a load and by an
  // optimizer step, so training a loaded model never multiplies with a stale Â; it is formed
  // again at the next inference forward. Edit factor values by hand only after set_inference_path.
  void set_inference_path(InferencePath path);
  InferencePath inference_path() const { return inference_path_; }
  // Whether the fastest path forms a dense Â for this weight (factored, and its method's own
  // product is slower than one sgemm), whatever path is set now.
  bool fastest_path_uses_dense() const;
  bool infers_through_dense() const;  // the path set now forms a dense Â
  // Bytes held to multiply at inference on `path`: the factors (and a blend's A), plus the
  // dense Â where that path forms one.
  int64_t inference_resident_bytes(InferencePath path) const;

  // The method re-imposes its structure after an optimizer step (pruning masks).
  void after_optimizer_step();
  // Re-reads the matrix's integer state into the registry's states: call after changing it
  // (a pruning mask update).
  void refresh_states();

 private:
  void register_matrix();
  const Var* inference_dense();  // the dense Â to multiply with now, or null for the product
  std::vector<Var> factor_vars();

  int64_t rows_ = 0, cols_ = 0;
  Phase phase_ = Phase::Dense;
  double alpha_ = 1.0, rel_error_ = 0.0;
  ParamGroup group_;
  std::shared_ptr<CompressedMatrix> matrix_;
  InferencePath inference_path_ = InferencePath::Product;
  Var inference_dense_;     // Fastest's Â, formed once (undefined while not held)
  nlohmann::json pending_;  // from_config: method, settings, factor layout until the values arrive
};

}  // namespace mc
