// libFuzzer target: the exported-model reader (load_exported_model) on a small two-layer
// model. The first input byte picks the compression the model is rebuilt with (none, kmeans,
// prune, lowrank); the rest is the file. Any input must either load or raise an mc::Error
// subclass naming the problem; crashes and sanitizer reports are bugs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz_file.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/formats/export.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/modules/dense.h"

namespace {

class TwoLayers : public mc::Module {
 public:
  TwoLayers() {
    mc::Rng rng(5);
    mc::Tensor w1 = mc::Tensor::empty({16, 12}), w2 = mc::Tensor::empty({12, 8});
    rng.fill_uniform(w1, -1, 1);
    rng.fill_uniform(w2, -1, 1);
    register_module("fc1", std::make_shared<mc::Dense>(w1));
    register_module("fc2", std::make_shared<mc::Dense>(w2));
  }
  std::string type() const override { return "TwoLayers"; }
};

const char* const kMethods[] = {"none", "kmeans", "prune", "lowrank"};

std::unique_ptr<mc::CompressionController> compress(mc::Module& m, int method) {
  if (method == 0) return nullptr;
  mc::CompressionSpec spec;
  spec.include = {"fc*.weight"};
  spec.compressor = mc::by_ratio(kMethods[method], 0.25);
  if (method == 2)
    spec.pruning = mc::SparsitySchedule{0, 2, 1, 0.0, 0.75};
  else
    spec.schedule = mc::BlendSchedule::immediate(0);
  auto c = mc::apply_compression(m, spec, 2);
  c->on_event = nullptr;
  return c;
}

}  // namespace

// MATCOMP_FUZZ_WRITE_SEEDS=<dir>: write a real export per method there (prefixed with the
// method byte), then exit.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("MATCOMP_FUZZ_WRITE_SEEDS");
  if (!dir) return 0;
  for (int method = 0; method < 4; ++method) {
    TwoLayers m;
    auto c = compress(m, method);
    if (c)
      for (int64_t step = 0; step < 4; ++step) {
        c->before_step(step);
        c->after_optimizer_step(step);
      }
    const std::string file = std::string(dir) + "/tmp.mcz";
    mc::export_model(file, m, c.get());
    mc::write_file_atomically(std::string(dir) + "/" + kMethods[method] + ".seed",
                              std::string(1, static_cast<char>(method)) + mc::read_file(file));
    std::remove(file.c_str());
  }
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const int method = data[0] % 4;
  const std::string& path = fuzz::write_input("export", data + 1, size - 1);
  try {
    TwoLayers m;
    auto c = compress(m, method);
    mc::load_exported_model(path, m, c.get());
  } catch (const mc::Error&) {
  }
  return 0;
}
