// Module states, config() and the module factory: building the reference models from their
// config, describing a structure and rebuilding another model to it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "matcomp/core/error.h"
#include "matcomp/layers/models/cifar10_cnn.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/layers/modules/module_factory.h"
#include "matcomp/layers/models/ptb_lstm.h"
#include "matcomp/layers/modules/weight.h"

namespace mc {
namespace {

Cifar10CnnConfig tiny_cnn() {
  Cifar10CnnConfig c;
  c.image_size = 8;
  c.conv_channels = 4;
  c.local3 = 12;
  c.local4 = 6;
  return c;
}

// A weight seam with typed state and a config, standing in for a compressed weight.
class CodedWeight : public Weight {
 public:
  explicit CodedWeight(const nlohmann::json& c) : rows_(c.at("rows")), cols_(c.at("cols")) {
    register_parameter("scale", Tensor::ones({cols_}));
    register_state("codes", to_npy_array(std::vector<int32_t>(static_cast<size_t>(rows_ * cols_), 0), {rows_, cols_}));
  }
  std::string type() const override { return "CodedWeight"; }
  nlohmann::json config() const override { return {{"rows", rows_}, {"cols", cols_}}; }
  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  Var multiply(const Var&) override { throw Error("not used"); }
  Var dense() override { throw Error("not used"); }

 private:
  int64_t rows_, cols_;
};

TEST(ModuleState, StatesAreDottedAndReplaceable) {
  Rng rng(1);
  Cifar10Cnn model(tiny_cnn(), rng);
  model.replace_module("local4.weight", std::make_shared<CodedWeight>(nlohmann::json{{"rows", 12}, {"cols", 6}}));
  const auto states = model.named_states();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].first, "local4.weight.codes");
  EXPECT_EQ(states[0].second.shape, (Shape{12, 6}));
  NpyArray ones = to_npy_array(std::vector<int32_t>(72, 1), {12, 6});
  model.set_state("local4.weight.codes", ones);
  EXPECT_EQ(model.state("local4.weight.codes").bytes, ones.bytes);
  EXPECT_THROW(model.state("local4.weight.nope"), Error);
  EXPECT_THROW(model.set_state("local3.weight.codes", ones), Error);
}

TEST(ModuleFactory, BuildsTheReferenceModelsFromTheirConfig) {
  Rng rng(3);
  Cifar10Cnn cnn(tiny_cnn(), rng);
  auto built = build_module("Cifar10Cnn", cnn.config());
  ASSERT_NE(std::dynamic_pointer_cast<Cifar10Cnn>(built), nullptr);
  EXPECT_EQ(describe_structure(*built), describe_structure(cnn));
  std::vector<std::string> a, b;
  for (const auto& [n, v] : cnn.named_parameters()) a.push_back(n + to_string(v.shape()));
  for (const auto& [n, v] : built->named_parameters()) b.push_back(n + to_string(v.shape()));
  EXPECT_EQ(a, b);

  PtbLstmConfig pc;
  pc.vocab = 30;
  pc.hidden = 8;
  pc.batch = 2;
  pc.dropout = 0.5f;
  PtbLstm lstm(pc, rng);
  auto lstm_built = std::dynamic_pointer_cast<PtbLstm>(build_module("PtbLstm", lstm.config()));
  ASSERT_NE(lstm_built, nullptr);
  EXPECT_EQ(lstm_built->architecture().dropout, 0.5f);
  EXPECT_EQ(lstm_built->architecture().vocab, 30);
  // The built model owns the Rng its dropout draws from: a training forward pass works.
  LstmState state;
  Var logits = lstm_built->forward({1, 2, 3, 4}, state);
  EXPECT_EQ(logits.shape(), (Shape{4, 30}));
}

TEST(ModuleFactory, UnknownTypeNamesItAndTheKnownOnes) {
  try {
    build_module("NoSuchLayer", {});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'NoSuchLayer'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Cifar10Cnn"), std::string::npos) << e.what();
  }
}

TEST(ModuleFactory, RebuildReplacesWhatDiffersAndRemovesWhatIsGone) {
  register_module_type("CodedWeight", [](const nlohmann::json& c) { return std::make_shared<CodedWeight>(c); });
  Rng rng(5);
  Cifar10Cnn saved(tiny_cnn(), rng);
  saved.replace_module("local3.weight", std::make_shared<CodedWeight>(nlohmann::json{{"rows", 16}, {"cols", 12}}));
  const nlohmann::json description = describe_structure(saved);

  Cifar10Cnn fresh(tiny_cnn(), rng);
  auto conv1 = fresh.module("conv1");
  fresh.add_module("local4.extra", std::make_shared<DenseWeight>(Tensor::zeros({2, 2})));
  rebuild_structure(fresh, description);
  EXPECT_EQ(describe_structure(fresh), description);
  EXPECT_EQ(fresh.module("local3.weight")->type(), "CodedWeight");
  EXPECT_FALSE(fresh.has_module("local4.extra"));
  EXPECT_EQ(fresh.module("conv1"), conv1) << "an unchanged module is kept, not rebuilt";
  EXPECT_EQ(fresh.named_states().size(), 1u);

  // Back to dense: the DenseWeight builder gives the shape and the weight decay group.
  rebuild_structure(fresh, describe_structure(Cifar10Cnn(tiny_cnn(), rng)));
  EXPECT_EQ(fresh.module("local3.weight")->type(), "DenseWeight");
  EXPECT_EQ(fresh.parameter("local3.weight.A").shape(), (Shape{16, 12}));
  for (const auto& [name, group] : fresh.named_parameter_groups())
    if (name == "local3.weight.A") {
      EXPECT_FLOAT_EQ(group.weight_decay, 0.004f);
    }
}

TEST(ModuleFactory, RebuildRefusesAnotherArchitectureOrUnknownTypes) {
  Rng rng(7);
  Cifar10Cnn model(tiny_cnn(), rng);
  nlohmann::json d = describe_structure(model);
  d["root"]["type"] = "PtbLstm";
  EXPECT_THROW(rebuild_structure(model, d), IoError);
  d = describe_structure(model);
  d["modules"][0]["type"] = "Martian";
  try {
    rebuild_structure(model, d);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("'Martian'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mc
