// Checkpoints: exact resume of training, every mismatch reported by name, and the file
// readable by the numpy snippet in docs/CHECKPOINTS.md.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <fstream>
#include <sstream>

#include "matcomp/autograd/ops.h"
#include "matcomp/core/atomic_file.h"
#include "matcomp/layers/optim/adam.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/formats/safetensors.h"
#include "matcomp/layers/optim/sgd.h"
#include "matcomp/layers/kernels/softmax_loss.h"
#include "tests/layers/test_layers_util.h"

using namespace mc;

namespace {

PtbLstmConfig tiny_config() {
  PtbLstmConfig c;
  c.vocab = 30;
  c.hidden = 8;
  c.layers = 2;
  c.unroll = 4;
  c.batch = 3;
  c.dropout = 0.3f;  // the masks come from the checkpointed Rng
  return c;
}

struct TrainingRun {
  Rng rng{5};
  PtbLstm model{tiny_config(), rng};
  SGD opt{model, 0.5f, {.momentum = 0.9f}};
  ExponentialMovingAverage ema{model, 0.99f};
  LstmState state;
  int64_t step = 0;

  // One step on a window derived from the step number (the data position is the step).
  float train_step() {
    const PtbLstmConfig c = tiny_config();
    std::vector<int32_t> ids, targets;
    for (int64_t i = 0; i < c.unroll * c.batch; ++i) {
      ids.push_back(static_cast<int32_t>((step * 7 + i * 3) % c.vocab));
      targets.push_back(static_cast<int32_t>((step * 5 + i * 11 + 1) % c.vocab));
    }
    Var loss = fast_softmax_cross_entropy(model.forward(ids, state), targets);
    opt.zero_grad();
    loss.backward();
    clip_grad_norm(model, 5.0f);
    opt.step();
    ema.update();
    ++step;
    return loss.value().item();
  }

  // The LSTM state is the caller's: it travels as extra tensors.
  std::map<std::string, NpyArray> lstm_tensors() const {
    std::map<std::string, NpyArray> out;
    const auto key = [](char kind, size_t l) {  // "h0", "c1", ... (appended: GCC 12 warns on "h" + string)
      std::string k(1, kind);
      k += std::to_string(l);
      return k;
    };
    for (size_t l = 0; l < state.h.size(); ++l) {
      out[key('h', l)] = to_npy_array(state.h[l].value());
      out[key('c', l)] = to_npy_array(state.c[l].value());
    }
    return out;
  }
  void load_state(const Checkpoint& ck) {
    state = LstmState{};
    for (int l = 0; l < 2; ++l) {
      for (auto [key, vec] : {std::pair{"h", &state.h}, std::pair{"c", &state.c}}) {
        const NpyArray& a = ck.tensors.at("extra." + std::string(key) + std::to_string(l));
        Tensor t = Tensor::empty(a.shape);
        std::memcpy(t.data(), a.bytes.data(), a.bytes.size());
        vec->emplace_back(t);
      }
    }
  }
};

std::string error_of(const std::function<void()>& f) { return mc::testing::error_message<IoError>(f, "(no IoError)"); }

class TinyDense : public Module {
 public:
  TinyDense(int64_t in, int64_t out) { register_module("fc", std::make_shared<Dense>(Tensor::ones({in, out}))); }
  std::string type() const override { return "TinyDense"; }
};

}  // namespace

TEST(Checkpoint, ResumeIsBitExact) {
  const std::string path = mc::testing::temp_path("resume.safetensors");
  TrainingRun a;
  for (int i = 0; i < 5; ++i) a.train_step();
  save_checkpoint(path, a.model, &a.opt, a.step, &a.rng, &a.ema, {{"note", "resume test"}}, a.lstm_tensors());
  std::vector<float> expected;
  for (int i = 0; i < 4; ++i) expected.push_back(a.train_step());

  TrainingRun b;  // a fresh run, differently advanced, then restored
  b.train_step();
  const Checkpoint ck = read_checkpoint(path);
  EXPECT_EQ(ck.step(), 5);
  EXPECT_EQ(ck.metadata["extra"]["note"], "resume test");
  apply_checkpoint(ck, b.model, &b.opt, &b.rng, &b.ema);
  b.step = ck.step();
  b.load_state(ck);
  EXPECT_EQ(b.opt.steps(), 5);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.train_step(), expected[static_cast<size_t>(i)]) << "step " << i;
  for (auto& [name, p] : a.model.named_parameters())
    EXPECT_EQ(mc::testing::max_abs_diff(p.value(), b.model.parameter(name).value()), 0.0f) << name;
  for (auto& [name, s] : a.ema.shadow()) EXPECT_EQ(mc::testing::max_abs_diff(s, b.ema.shadow().at(name)), 0.0f) << name;
}

TEST(Checkpoint, ExtraTensorsKeepTheirDtype) {
  const std::string path = mc::testing::temp_path("extra.safetensors");
  TinyDense m(2, 3);
  std::map<std::string, NpyArray> extra{{"codes", to_npy_array(std::vector<uint8_t>{1, 2, 250}, {3})},
                                        {"index", to_npy_array(std::vector<int32_t>{-7, 9}, {2, 1})},
                                        {"wide", NpyArray{"<u2", {2}, {1, 0, 255, 255}}},
                                        {"long", NpyArray{"<i8", {1}, {5, 0, 0, 0, 0, 0, 0, 0}}}};
  save_checkpoint(path, m, nullptr, 3, nullptr, nullptr, {}, extra);
  const Checkpoint ck = read_checkpoint(path);
  for (auto& [name, a] : extra) {
    const NpyArray& r = ck.tensors.at("extra." + name);
    EXPECT_EQ(r.dtype, a.dtype) << name;
    EXPECT_EQ(r.shape, a.shape) << name;
    EXPECT_EQ(r.bytes, a.bytes) << name;
  }
}

TEST(Checkpoint, MismatchesAreNamed) {
  const std::string path = mc::testing::temp_path("mismatch.safetensors");
  TinyDense saved(2, 3);
  save_checkpoint(path, saved, nullptr, 0, nullptr, nullptr);
  const Checkpoint ck = read_checkpoint(path);

  TinyDense wrong_shape(2, 4);
  const std::string shape_msg = error_of([&] { apply_checkpoint(ck, wrong_shape, nullptr, nullptr, nullptr); });
  EXPECT_NE(shape_msg.find("shape mismatch for 'model.fc.weight.A': checkpoint [2, 3] vs model [2, 4]"), std::string::npos) << shape_msg;
  EXPECT_NE(shape_msg.find("shape mismatch for 'model.fc.bias': checkpoint [3] vs model [4]"), std::string::npos) << shape_msg;

  TinyDense missing(2, 3);
  missing.remove_parameter("fc.bias");
  const std::string unexpected_msg = error_of([&] { apply_checkpoint(ck, missing, nullptr, nullptr, nullptr); });
  EXPECT_NE(unexpected_msg.find("unexpected 'model.fc.bias'"), std::string::npos) << unexpected_msg;

  TinyDense extra_param(2, 3);
  extra_param.module("fc")->register_parameter("scale", Tensor::ones({1}));
  const std::string missing_msg = error_of([&] { apply_checkpoint(ck, extra_param, nullptr, nullptr, nullptr); });
  EXPECT_NE(missing_msg.find("missing 'model.fc.scale' (shape [1])"), std::string::npos) << missing_msg;

  TinyDense ok(2, 3);
  SGD sgd(ok, 0.1f);
  Rng rng(1);
  ExponentialMovingAverage ema(ok, 0.9f);
  EXPECT_NE(error_of([&] { apply_checkpoint(ck, ok, &sgd, nullptr, nullptr); }).find("no optimizer state"), std::string::npos);
  EXPECT_NE(error_of([&] { apply_checkpoint(ck, ok, nullptr, &rng, nullptr); }).find("no Rng state"), std::string::npos);
  EXPECT_NE(error_of([&] { apply_checkpoint(ck, ok, nullptr, nullptr, &ema); }).find("no EMA"), std::string::npos);

  save_checkpoint(path, ok, &sgd, 0, nullptr, nullptr);
  Adam adam(ok, 0.1f);
  EXPECT_NE(error_of([&] { apply_checkpoint(read_checkpoint(path), ok, &adam, nullptr, nullptr); })
                .find("optimizer type mismatch: checkpoint SGD vs Adam"),
            std::string::npos);
}

TEST(Checkpoint, CorruptFilesAreReported) {
  const std::string path = mc::testing::temp_path("corrupt.safetensors");
  TinyDense m(2, 3);
  save_checkpoint(path, m, nullptr, 0, nullptr, nullptr);
  const std::string good = read_file(path);

  write_file_atomically(path, good.substr(0, 5));
  EXPECT_NE(error_of([&] { read_checkpoint(path); }).find("truncated file (5 bytes"), std::string::npos);

  std::string big = good;
  big[6] = '\x01';  // header length far beyond the file
  write_file_atomically(path, big);
  EXPECT_NE(error_of([&] { read_checkpoint(path); }).find("goes beyond the file"), std::string::npos);

  write_file_atomically(path, good.substr(0, good.size() - 4));
  const std::string trunc = error_of([&] { read_checkpoint(path); });
  EXPECT_NE(trunc.find("truncated file: tensor"), std::string::npos) << trunc;

  write_safetensors(path, {{"matcomp", R"({"format": "something-else", "format_version": 1, "step": 0})"}}, {});
  EXPECT_NE(error_of([&] { read_checkpoint(path); }).find("not a matcomp checkpoint"), std::string::npos);
  write_safetensors(path, {}, {});
  EXPECT_NE(error_of([&] { read_checkpoint(path); }).find("not a matcomp checkpoint"), std::string::npos);
  write_safetensors(path, {{"matcomp", R"({"format": "matcomp-checkpoint", "format_version": 3, "step": 0})"}}, {});
  EXPECT_NE(error_of([&] { read_checkpoint(path); }).find("format_version 3 is not supported"), std::string::npos);
}

// The numpy-only reader from docs/CHECKPOINTS.md, run on a file we wrote.
TEST(Checkpoint, ReadableByTheDocumentedNumpySnippet) {
  const std::string python = mc::testing::python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "no python3 with numpy";
  const std::string doc = read_file(std::string(MATCOMP_SOURCE_DIR) + "/docs/CHECKPOINTS.md");
  const size_t begin = doc.find("```python\n"), end = doc.find("```", begin + 10);
  ASSERT_NE(begin, std::string::npos);
  const std::string script = mc::testing::temp_path("read_checkpoint.py");
  write_file_atomically(script, doc.substr(begin + 10, end - begin - 10));

  const std::string path = mc::testing::temp_path("numpy.safetensors");
  Rng rng(3);
  TinyDense m(2, 3);
  m.parameter("fc.weight.A").value().copy_from(Tensor::from({2, 3}, {1, -2, 3, -4, 5, -6.5f}));
  SGD opt(m, 0.1f, {.momentum = 0.9f});
  for (auto& [name, p] : m.named_parameters()) p.mutable_grad() = Tensor::ones(p.shape());
  opt.step();
  save_checkpoint(path, m, &opt, 42, &rng, nullptr, {}, {{"ids", to_npy_array(std::vector<int32_t>{4, -5}, {2})}});
  const std::string out_path = mc::testing::temp_path("numpy.out");
  ASSERT_EQ(std::system((python + " " + script + " " + path + " > " + out_path).c_str()), 0);
  const std::string out = read_file(out_path);
  EXPECT_NE(out.find("matcomp-checkpoint 2 step 42"), std::string::npos) << out;
  EXPECT_NE(out.find("model.fc.weight.A float32 [2, 3] 21.5"), std::string::npos) << out;  // |w - 0.1| summed
  EXPECT_NE(out.find("extra.ids int32 [2] 9.0"), std::string::npos) << out;
  EXPECT_NE(out.find("optim.fc.bias.momentum float32 [3] 3.0"), std::string::npos) << out;
}

// Version 1 kept compression state beside the model ("extra.compression.*" tensors and a
// rebuild callback); such a file must be refused with its version named, never misread.
TEST(CheckpointFormat, AVersion1FileIsRefusedNamingTheVersion) {
  const std::string path = mc::testing::temp_path("v1.safetensors");
  const nlohmann::json meta = {{"format", "matcomp-checkpoint"}, {"format_version", 1}, {"step", 3}, {"extra", {{"layers", nlohmann::json::array()}}}};
  write_safetensors(path, {{"matcomp", meta.dump()}},
                    {{"model.fc.weight.A", to_npy_array(Tensor::zeros({2, 3}))},
                     {"extra.compression.fc.weight.codes", to_npy_array(std::vector<int32_t>{0, 1}, {2})}});
  try {
    read_checkpoint(path);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("format_version 1"), std::string::npos) << what;
    EXPECT_NE(what.find("reads 2"), std::string::npos) << what;
  }
}

// The structure travels in the file: typed states are saved, checked and loaded like the rest.
TEST(CheckpointFormat, TypedStatesRoundTripAndMismatchesAreListed) {
  const std::string path = mc::testing::temp_path("states.safetensors");
  TinyDense a(2, 3);
  a.module("fc")->register_state("codes", to_npy_array(std::vector<int32_t>{7, -1, 3}, {3}));
  save_checkpoint(path, a, nullptr, 1, nullptr, nullptr);
  TinyDense b(2, 3);
  b.module("fc")->register_state("codes", to_npy_array(std::vector<int32_t>{0, 0, 0}, {3}));
  apply_checkpoint(read_checkpoint(path), b, nullptr, nullptr, nullptr);
  EXPECT_EQ(b.state("fc.codes").bytes, a.state("fc.codes").bytes);
  TinyDense c(2, 3);
  c.module("fc")->register_state("codes", to_npy_array(std::vector<int32_t>{0, 0}, {2}));
  try {
    apply_checkpoint(read_checkpoint(path), c, nullptr, nullptr, nullptr);
    FAIL() << "expected IoError";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find("state.fc.codes"), std::string::npos) << e.what();
  }
}
