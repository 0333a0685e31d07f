// Inference of compressed models against the dense model, side by side in one run:
//   BM_Infer_Cifar10Cnn_Compressed/<m>  the reference CNN, local3 + local4 at ratio 0.25, batch 128
//   BM_Infer_PtbSmall/<m>               the small PTB LSTM, kernels + softmax at ratio 0.25, one 20x20 window
//   BM_Infer_Local3/<m>                 the 2304x384 layer alone, batch 128 (the product kernels)
//   BM_Infer_LoadedCnn/<m>/<p>          the CNN of BM_Infer_Cifar10Cnn_Compressed exported and loaded back,
//                                       p = 0 its methods' own products, 1 the fastest path (the loader's
//                                       default: a dense matrix formed once where the product is slower);
//                                       counters file_bytes and resident_bytes (the weights held to infer)
// <m> indexes methods() (0 = dense, then the registry's methods in registration order); the label names the method. items/s: images or tokens.
// Each method multiplies through its own product (x B C, gather, sparse x dense, x (R S));
// k-means and pruning go through the dense materialisation, formed once per forward.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "benchmarks/bench_methods.h"
#include "matcomp/autograd/variable.h"
#include "matcomp/compression/apply_compression.h"
#include "matcomp/formats/export.h"
#include "matcomp/compression/registry.h"
#include "matcomp/core/parallel.h"
#include "matcomp/core/rng.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/init.h"
#include "matcomp/layers/models/ptb_lstm.h"

namespace {

const std::vector<std::string>& methods() { return bench::dense_and_registered_methods(); }
constexpr double kRatio = 0.25;

// Compresses the selected weights at once (pruning straight to its final sparsity).
std::unique_ptr<mc::CompressionController> compress(mc::Module& model, const std::string& method,
                                                    std::vector<std::string> layers) {
  if (method == "dense") return nullptr;
  mc::CompressionSpec spec;
  spec.include = std::move(layers);
  spec.compressor = mc::by_ratio(method, kRatio);
  spec.pruning = mc::SparsitySchedule{0, 1, 1, 0.0, -1.0};  // for methods following the prune policy
  spec.schedule = mc::BlendSchedule::immediate(0);
  auto c = mc::apply_compression(model, spec, 1);
  c->on_event = nullptr;
  c->before_step(0);
  c->before_step(1);
  return c;
}

void BM_Infer_Cifar10Cnn_Compressed(benchmark::State& state) {
  mc::set_num_threads(2);
  const std::string method = methods()[static_cast<size_t>(state.range(0))];
  mc::Rng rng(1);
  mc::Cifar10Cnn model(rng);
  auto c = compress(model, method, {"local3.weight", "local4.weight"});
  model.train(false);
  mc::Tensor images = mc::Tensor::empty({128, 3, 24, 24});
  rng.fill_normal(images, 0, 1);
  mc::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(mc::Var(images)).value().data());
  state.SetItemsProcessed(state.iterations() * 128);
  state.SetLabel(method);
}

void BM_Infer_PtbSmall(benchmark::State& state) {
  mc::set_num_threads(2);
  const std::string method = methods()[static_cast<size_t>(state.range(0))];
  mc::Rng rng(1);
  const mc::PtbLstmConfig config = mc::PtbLstmConfig::small();
  mc::PtbLstm model(config, rng);
  auto c = compress(model, method, {"lstm.layer*.weight", "softmax.weight"});
  model.train(false);
  std::vector<int32_t> ids(static_cast<size_t>(config.unroll * config.batch));
  for (auto& id : ids) id = static_cast<int32_t>(rng.below(static_cast<uint64_t>(config.vocab)));
  mc::NoGradGuard no_grad;
  for (auto _ : state) {
    mc::LstmState s;
    benchmark::DoNotOptimize(model.forward(ids, s).value().data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(ids.size()));
  state.SetLabel(method);
}

void BM_Infer_Local3(benchmark::State& state) {
  mc::set_num_threads(2);
  const std::string method = methods()[static_cast<size_t>(state.range(0))];
  mc::Rng rng(1);
  struct Net : mc::Module {
    std::string type() const override { return "Local3"; }
  } net;
  auto layer = net.register_module("local3", std::make_shared<mc::Dense>(mc::glorot_uniform(2304, 384, rng)));
  auto c = compress(net, method, {"local3.weight"});
  net.train(false);
  mc::Tensor x = mc::Tensor::empty({128, 2304});
  rng.fill_normal(x, 0, 1);
  mc::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(layer->forward(mc::Var(x)).value().data());
  state.SetItemsProcessed(state.iterations() * 128);
  state.SetLabel(method);
}

void BM_Infer_LoadedCnn(benchmark::State& state) {
  mc::set_num_threads(2);
  const std::string method = methods()[static_cast<size_t>(state.range(0))];
  const bool fastest = state.range(1) == 1;
  mc::Rng rng(1);
  std::string path;
  {
    mc::Cifar10Cnn trained(rng);
    auto c = compress(trained, method, {"local3.weight", "local4.weight"});
    path = (std::filesystem::temp_directory_path() / ("matcomp-bench-" + std::to_string(::getpid()) + "-" + method + ".mcz")).string();
    mc::export_model(path, trained);
  }
  const std::shared_ptr<mc::Module> loaded = mc::load_exported_model(path);
  mc::set_inference_path(*loaded, fastest ? mc::InferencePath::Fastest : mc::InferencePath::Product);
  const mc::ExportedModelInfo info = mc::describe_exported_model(path);
  std::filesystem::remove(path);
  auto& model = dynamic_cast<mc::Cifar10Cnn&>(*loaded);
  mc::Tensor images = mc::Tensor::empty({128, 3, 24, 24});
  rng.fill_normal(images, 0, 1);
  mc::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model.forward(mc::Var(images)).value().data());
  state.SetItemsProcessed(state.iterations() * 128);
  state.counters["file_bytes"] = static_cast<double>(info.file_bytes);
  state.counters["resident_bytes"] = static_cast<double>(fastest ? info.fastest_resident_bytes : info.resident_bytes);
  state.SetLabel(method + (fastest ? " fastest" : " product"));
}

}  // namespace

BENCHMARK(BM_Infer_LoadedCnn)->ArgsProduct({benchmark::CreateDenseRange(0, static_cast<int>(methods().size()) - 1, 1), {0, 1}})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Infer_Cifar10Cnn_Compressed)->DenseRange(0, static_cast<int>(methods().size()) - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Infer_PtbSmall)->DenseRange(0, static_cast<int>(methods().size()) - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Infer_Local3)->DenseRange(0, static_cast<int>(methods().size()) - 1)->Unit(benchmark::kMillisecond)->UseRealTime();
