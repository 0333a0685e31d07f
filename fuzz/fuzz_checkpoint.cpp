// libFuzzer target: checkpoints (the safetensors container, its checksums and layout checks,
// then the matcomp metadata), and applying one to a small model. Any input must either load
// or raise mc::IoError; crashes, sanitizer reports and other exceptions are bugs.
//
// Checksums reject almost every mutation early; to reach the code behind them, run with the
// seeds `scripts/fuzz.sh` writes (real checkpoints) and expect most findings in the layout
// checks before them.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>

#include "fuzz_file.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/optim/sgd.h"

namespace {

class TwoLayers : public mc::Module {
 public:
  TwoLayers() {
    register_module("fc1", std::make_shared<mc::Dense>(mc::Tensor::full({5, 4}, 0.5f)));
    register_module("fc2", std::make_shared<mc::Dense>(mc::Tensor::full({4, 3}, -0.25f)));
  }
  std::string type() const override { return "TwoLayers"; }
};

}  // namespace

// MATCOMP_FUZZ_WRITE_SEEDS=<dir>: write real checkpoints there as seeds, then exit.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("MATCOMP_FUZZ_WRITE_SEEDS");
  if (!dir) return 0;
  TwoLayers m;
  mc::Rng rng(3);
  mc::SGD opt(m, 0.1f, {.momentum = 0.9f});
  for (auto& [name, p] : m.named_parameters()) p.mutable_grad() = mc::Tensor::full(p.shape(), 0.125f);
  opt.step();
  mc::save_checkpoint(std::string(dir) + "/full.safetensors", m, &opt, 12, &rng, nullptr);
  mc::save_checkpoint(std::string(dir) + "/model_only.safetensors", m, nullptr, 0, nullptr, nullptr);
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::write_input("checkpoint", data, size);
  try {
    const mc::Checkpoint ck = mc::read_checkpoint(path);
    TwoLayers m;
    mc::Rng rng(1);
    mc::SGD opt(m, 0.1f, {.momentum = 0.9f});
    mc::apply_checkpoint(ck, m, &opt, &rng, nullptr);
  } catch (const mc::IoError&) {
  }
  return 0;
}
