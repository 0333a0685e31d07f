// matcomp-model: what is in an exported model file (.mcz, docs/EXPORT_FORMAT.md), how well it
// does on its test set, and what it predicts for a batch.
//
//   matcomp-model info model.mcz                       per-layer table and totals
//   matcomp-model eval model.mcz --data DIR            CIFAR-10 accuracy / PTB perplexity
//   matcomp-model predict model.mcz --input x.npy --output logits.npy
//
// The task comes from the file's architecture (Cifar10Cnn or PtbLstm). Exit codes: 0 success,
// 2 bad flags, 1 anything that fails at run time (unreadable or corrupt files, wrong shapes).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>

#include "matcomp/autograd/variable.h"
#include "matcomp/formats/export.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"
#include "matcomp/core/parallel.h"
#include "matcomp/datasets/cifar10.h"
#include "matcomp/datasets/cifar10_loader.h"
#include "matcomp/datasets/data_dir.h"
#include "matcomp/datasets/lm_batcher.h"
#include "matcomp/datasets/ptb.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/kernels/softmax_loss.h"
#include "tools/cli/cli_conventions.h"

namespace {

struct Flags {
  std::string file;
  std::string data;
  int64_t limit = 0;
  int64_t batch = 128;
  std::string input, output;
  std::string inference = "fastest";
  int threads = 0;
};

std::string human_bytes(int64_t bytes) {
  char buf[32];
  if (bytes >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(bytes) / (1 << 20));
  else if (bytes >= (1 << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(bytes) / (1 << 10));
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  return buf;
}

int info(const Flags& f) {
  const mc::ExportedModelInfo info = mc::describe_exported_model(f.file);
  std::printf("%s: %s\n\n", f.file.c_str(), info.type.c_str());
  std::printf("%-28s %-16s %-11s %14s %12s  %s\n", "layer", "shape", "method", "stored bytes", "bits/weight", "inference");
  int64_t stored_bits = 0;
  for (const mc::ExportedLayer& l : info.layers) {
    const std::string method = l.phase == "blended" ? l.method + " (blend)" : l.method;
    const char* path = l.method == "dense" ? "" : l.infers_through_dense ? "dense, formed once" : "own product";
    std::printf("%-28s %-16s %-11s %14lld %12.3f  %s\n", l.name.c_str(), mc::to_string(l.shape).c_str(), method.c_str(),
                static_cast<long long>((l.stored_bits + 7) / 8), l.bits_per_weight(), path);
    stored_bits += l.stored_bits;
  }
  std::printf("\n%-36s %14lld  (%s)\n", "file bytes", static_cast<long long>(info.file_bytes), human_bytes(info.file_bytes).c_str());
  std::printf("%-36s %14lld  (%s)\n", "stored weight bytes (sum of the table)", static_cast<long long>((stored_bits + 7) / 8),
              human_bytes((stored_bits + 7) / 8).c_str());
  std::printf("%-36s %14lld  (%s)\n", "resident bytes, fastest inference", static_cast<long long>(info.fastest_resident_bytes),
              human_bytes(info.fastest_resident_bytes).c_str());
  std::printf("%-36s %14lld  (%s)\n", "resident bytes, own products", static_cast<long long>(info.resident_bytes),
              human_bytes(info.resident_bytes).c_str());
  std::printf("%-36s %14lld  (%s)\n", "dense float32 model bytes", static_cast<long long>(info.dense_float_bytes),
              human_bytes(info.dense_float_bytes).c_str());
  return 0;
}

int eval_cifar10(mc::Cifar10Cnn& model, const Flags& f) {
  const mc::data::Cifar10Split test =
      mc::data::load_cifar10(mc::data::cifar10_dir(mc::data::resolve_data_dir(f.data)), mc::data::Cifar10Part::Test);
  const int64_t limit = f.limit > 0 ? std::min(f.limit, test.size()) : test.size();
  // The evaluation of the training drivers: dataset order, centre crop, no augmentation.
  mc::data::Cifar10Loader loader(test, f.batch, false, 0);
  mc::NoGradGuard no_grad;
  int64_t correct = 0, seen = 0;
  mc::Tensor images;
  std::vector<int32_t> labels;
  while (seen < limit && loader.next(images, labels)) {
    const mc::Tensor logits = model.forward(mc::Var(images)).value();
    const int64_t classes = logits.size(1);
    for (int64_t i = 0; i < images.size(0) && seen < limit; ++i, ++seen) {
      const float* row = logits.data() + i * classes;
      correct += (std::max_element(row, row + classes) - row) == labels[static_cast<size_t>(i)];
    }
  }
  std::printf("accuracy %.6f (%lld of %lld CIFAR-10 test images)\n", static_cast<double>(correct) / static_cast<double>(seen),
              static_cast<long long>(correct), static_cast<long long>(seen));
  return 0;
}

int eval_ptb(mc::PtbLstm& model, const Flags& f) {
  const mc::data::PtbCorpus corpus = mc::data::load_ptb(mc::data::ptb_dir(mc::data::resolve_data_dir(f.data)));
  MC_CHECK(static_cast<int64_t>(corpus.vocab.size()) == model.architecture().vocab, mc::ValueError,
           "the model's vocabulary has " << model.architecture().vocab << " words, the corpus " << corpus.vocab.size());
  const mc::data::LmBatcher batcher(corpus.test, model.architecture().batch, model.architecture().unroll);
  const int64_t windows = f.limit > 0 ? std::min(f.limit, batcher.num_windows()) : batcher.num_windows();
  mc::NoGradGuard no_grad;
  mc::LstmState state;
  double total = 0;
  std::vector<int32_t> inputs, targets;
  for (int64_t i = 0; i < windows; ++i) {
    batcher.window(i, inputs, targets);
    total += mc::fast_softmax_cross_entropy(model.forward(inputs, state), targets).value().item();
  }
  std::printf("perplexity %.6f (%lld PTB test windows of %lld x %lld tokens)\n", std::exp(total / static_cast<double>(windows)),
              static_cast<long long>(windows), static_cast<long long>(model.architecture().unroll),
              static_cast<long long>(model.architecture().batch));
  return 0;
}

// The model of the file, multiplying on the path --inference names.
std::shared_ptr<mc::Module> load(const Flags& f) {
  std::shared_ptr<mc::Module> model = mc::load_exported_model(f.file);
  mc::set_inference_path(*model, f.inference == "product" ? mc::InferencePath::Product : mc::InferencePath::Fastest);
  return model;
}

int eval(const Flags& f) {
  const std::shared_ptr<mc::Module> model = load(f);
  if (auto* cnn = dynamic_cast<mc::Cifar10Cnn*>(model.get())) return eval_cifar10(*cnn, f);
  if (auto* lm = dynamic_cast<mc::PtbLstm*>(model.get())) return eval_ptb(*lm, f);
  throw mc::ValueError(f.file + ": no test set for a model of type " + model->type() + " (eval knows Cifar10Cnn and PtbLstm)");
}

// Token ids of any integer .npy as int32, checked against the vocabulary.
std::vector<int32_t> token_ids(const mc::NpyArray& a, int64_t vocab, const std::string& path) {
  const size_t item = mc::npy_item_size(a.dtype);
  MC_CHECK(a.dtype == "<i4" || a.dtype == "<i8", mc::ValueError, path << ": token ids must be int32 or int64, found " << a.dtype);
  std::vector<int32_t> ids(a.bytes.size() / item);
  for (size_t i = 0; i < ids.size(); ++i) {
    int64_t v = 0;
    if (item == 4) {
      int32_t x;
      std::memcpy(&x, a.bytes.data() + 4 * i, 4);
      v = x;
    } else {
      std::memcpy(&v, a.bytes.data() + 8 * i, 8);
    }
    MC_CHECK(v >= 0 && v < vocab, mc::ValueError, path << ": token id " << v << " at " << i << " outside [0, " << vocab << ")");
    ids[i] = static_cast<int32_t>(v);
  }
  return ids;
}

int predict(const Flags& f) {
  const std::shared_ptr<mc::Module> model = load(f);
  mc::NoGradGuard no_grad;
  mc::Tensor logits;
  if (auto* cnn = dynamic_cast<mc::Cifar10Cnn*>(model.get())) {
    const mc::Cifar10CnnConfig& c = cnn->architecture();
    const mc::Tensor x = mc::read_npy(f.input);
    const mc::Shape want = {-1, c.channels, c.image_size, c.image_size};
    MC_CHECK(x.dim() == 4 && x.size(1) == c.channels && x.size(2) == c.image_size && x.size(3) == c.image_size, mc::ShapeError,
             f.input << ": images of shape " << mc::to_string(x.shape()) << ", the model takes (N, " << c.channels << ", "
                     << c.image_size << ", " << c.image_size << ")");
    for (float v : x.span()) MC_CHECK(std::isfinite(v), mc::ValueError, f.input << ": holds a non-finite value");
    logits = cnn->forward(mc::Var(x)).value();
  } else if (auto* lm = dynamic_cast<mc::PtbLstm*>(model.get())) {
    const mc::PtbLstmConfig& c = lm->architecture();
    const mc::NpyArray a = mc::read_npy_array(f.input);
    MC_CHECK(a.shape.size() == 2 && a.shape[1] == c.batch, mc::ShapeError,
             f.input << ": token ids of shape " << mc::to_string(a.shape) << ", the model takes (T, " << c.batch << "), time-major");
    mc::LstmState state;
    logits = lm->forward(token_ids(a, c.vocab, f.input), state).value();
  } else {
    throw mc::ValueError(f.file + ": predict knows Cifar10Cnn and PtbLstm, not " + model->type());
  }
  if (!f.output.empty()) {
    mc::write_npy(f.output, logits);
    std::printf("wrote logits %s to %s\n", mc::to_string(logits.shape()).c_str(), f.output.c_str());
    return 0;
  }
  const int64_t classes = logits.size(1);
  for (int64_t i = 0; i < logits.size(0); ++i) {
    const float* row = logits.data() + i * classes;
    std::printf("%lld\t%lld\n", static_cast<long long>(i), static_cast<long long>(std::max_element(row, row + classes) - row));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"Inspect, evaluate and run an exported matcomp model file (.mcz, model file format version 2)."};
  mc::cli::setup(app, "matcomp-model");
  app.require_subcommand(1);
  app.add_option("--threads", f.threads, "threads for OpenMP and OpenBLAS (0: all)");
  CLI::App* eval_cmd = app.add_subcommand("eval", "accuracy on the CIFAR-10 test set or perplexity on the PTB test set");
  eval_cmd->add_option("file", f.file, "model file")->required()->check(CLI::ExistingFile);
  eval_cmd->add_option("--data", f.data, "data folder holding cifar10/ or ptb/ (default: $MATCOMP_DATA)");
  eval_cmd->add_option("--limit", f.limit, "CIFAR-10: first N test images; PTB: first N windows (0: all)")->check(CLI::NonNegativeNumber);
  eval_cmd->add_option("--batch", f.batch, "CIFAR-10: images per forward pass")->check(CLI::PositiveNumber);
  const std::string inference_help =
      "fastest: each method's own product where it beats a dense matrix, else a dense matrix formed once at load; "
      "product: the own products only (least memory)";
  eval_cmd->add_option("--inference", f.inference, inference_help)->check(CLI::IsMember({"fastest", "product"}));
  CLI::App* predict_cmd = app.add_subcommand("predict", "logits for a .npy batch: images (N, C, H, W) float, or token ids (T, B) int");
  predict_cmd->add_option("file", f.file, "model file")->required()->check(CLI::ExistingFile);
  predict_cmd->add_option("--input", f.input, "input batch, .npy")->required()->check(CLI::ExistingFile);
  predict_cmd->add_option("--output", f.output, "write the logits here (.npy); otherwise print each row's argmax");
  predict_cmd->add_option("--inference", f.inference, inference_help)->check(CLI::IsMember({"fastest", "product"}));
  CLI::App* info_cmd = app.add_subcommand("info", "per-layer table (shape, method, stored bytes, bits per weight) and totals");
  info_cmd->add_option("file", f.file, "model file")->required()->check(CLI::ExistingFile);
  if (const int rc = mc::cli::parse(app, argc, argv); rc >= 0) return rc;
  return mc::cli::run("matcomp-model", [&] {
    mc::set_num_threads(f.threads);
    if (info_cmd->parsed()) return info(f);
    if (eval_cmd->parsed()) return eval(f);
    return predict(f);
  });
}
