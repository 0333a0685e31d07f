// The presets without training: the fast recipe's schedule, --total-steps scaling, --recipe
// overrides and their errors, and the fingerprint of the reference's recipe left as it was.
#include <gtest/gtest.h>

#include "matcomp/core/error.h"
#include "experiments/lib/cifar10_task.h"
#include "experiments/lib/presets.h"

namespace mc {
namespace {

TEST(Presets, FastIsAThirdOfTheReferenceWithACosineToZero) {
  Cifar10Recipe recipe;
  const Preset p = cifar10_preset("fast", recipe);
  Cifar10Recipe reference_recipe;
  const Preset reference = cifar10_preset("reference", reference_recipe);
  EXPECT_LE(p.total_steps * 3, 150000);  // the reference trains 150000 steps in the paper
  EXPECT_LT(p.total_steps, reference.total_steps);
  EXPECT_LT(p.begin_step, p.prune_end_step);
  EXPECT_LE(p.prune_end_step, p.total_steps);
  EXPECT_EQ(recipe.cosine_steps, p.total_steps);
  EXPECT_GT(recipe.momentum, 0.0f);
  EXPECT_GT(recipe.other_weight_decay, 0.0f);
  // Warm-up rises to the peak, the cosine falls to 0 at the last step.
  EXPECT_LT(cifar10_learning_rate(recipe, 0), cifar10_learning_rate(recipe, recipe.warmup_steps / 2));
  EXPECT_NEAR(cifar10_learning_rate(recipe, recipe.warmup_steps - 1), recipe.learning_rate, 1e-7);
  EXPECT_GT(cifar10_learning_rate(recipe, p.begin_step), 0.0);
  EXPECT_LT(cifar10_learning_rate(recipe, p.begin_step), 0.2 * recipe.learning_rate);
  EXPECT_NEAR(cifar10_learning_rate(recipe, p.total_steps - 1), 0.0, 1e-6);
  // The reference's staircase: 0.1 until 350 epochs, then 0.01.
  EXPECT_FLOAT_EQ(cifar10_learning_rate(reference_recipe, reference_recipe.decay_steps - 1), 0.1f);
  EXPECT_FLOAT_EQ(cifar10_learning_rate(reference_recipe, reference_recipe.decay_steps), 0.01f);
  PtbRecipe ptb;
  EXPECT_THROW(ptb_preset("fast", 2323, ptb), ValueError);
  EXPECT_THROW(cifar10_preset("fastest", recipe), ValueError);
}

TEST(Presets, TotalStepsScalesEveryStepCountInProportion) {
  Cifar10Recipe recipe;
  Preset p = cifar10_preset("fast", recipe);
  const Preset full = p;
  scale_recipe(recipe, 5000, p.total_steps);
  scale_preset(p, 5000);
  EXPECT_EQ(p.total_steps, 5000);
  EXPECT_EQ(p.begin_step, full.begin_step / 10);
  EXPECT_EQ(p.prune_end_step, full.prune_end_step / 10);
  EXPECT_EQ(p.frequency, full.frequency / 10);
  EXPECT_EQ(p.eval_every, full.eval_every / 10);
  EXPECT_DOUBLE_EQ(p.alpha_decrement, full.alpha_decrement);  // the blend still ends where it did
  EXPECT_EQ(recipe.cosine_steps, 5000);
  EXPECT_EQ(recipe.warmup_steps, 100);
  // Counts never round to 0; a run too short for the compression window is refused.
  Preset tiny = full;
  scale_preset(tiny, 50);
  EXPECT_EQ(tiny.frequency, 1);
  // ... and the blend still ends where it did: 5000 of 50000 steps there, 5 of 50 here.
  EXPECT_DOUBLE_EQ(tiny.alpha_decrement, 1.0 / 5.0);
  Preset too_short = full;
  EXPECT_THROW(scale_preset(too_short, 2), ValueError);
  // PTB: 0 means "never decay" and stays 0.
  PtbRecipe ptb;
  ptb.decay_start = 0, ptb.decay_every = 1000;
  scale_recipe(ptb, 100, 1000);
  EXPECT_EQ(ptb.decay_start, 0);
  EXPECT_EQ(ptb.decay_every, 100);
}

TEST(Presets, RecipeOverridesSetFieldsAndNameWhatIsWrong) {
  Cifar10Recipe r;
  apply_recipe_overrides(r, "lr=0.02,schedule=cosine,warmup=50,momentum=0.8,nesterov=1,wd=0.001,other_wd=0.0002,ema=0.999");
  EXPECT_FLOAT_EQ(r.learning_rate, 0.02f);
  EXPECT_EQ(r.schedule, Cifar10Schedule::Cosine);
  EXPECT_EQ(r.warmup_steps, 50);
  EXPECT_FLOAT_EQ(r.momentum, 0.8f);
  EXPECT_TRUE(r.nesterov);
  EXPECT_FLOAT_EQ(r.weight_decay, 0.001f);
  EXPECT_FLOAT_EQ(r.other_weight_decay, 0.0002f);
  EXPECT_FLOAT_EQ(r.ema_decay, 0.999f);
  apply_recipe_overrides(r, "");  // nothing to change
  EXPECT_FLOAT_EQ(r.learning_rate, 0.02f);
  const auto message = [](const std::string& overrides) {
    Cifar10Recipe x;
    try {
      apply_recipe_overrides(x, overrides);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("foo=1").find("unknown key 'foo'"), std::string::npos);
  EXPECT_NE(message("momentum=1.5").find("momentum=1.5"), std::string::npos);
  EXPECT_NE(message("lr=abc").find("lr=abc"), std::string::npos);
  EXPECT_NE(message("lr=nan").find("lr=nan"), std::string::npos);
  EXPECT_NE(message("warmup=2.5").find("whole number"), std::string::npos);
  EXPECT_NE(message("schedule=linear").find("staircase or cosine"), std::string::npos);
  EXPECT_NE(message("nesterov=yes").find("0 or 1"), std::string::npos);
  EXPECT_NE(message("lr").find("not key=value"), std::string::npos);
}

// Sweeps made before the fast recipe must keep their fingerprints (a resumed or redrawn sweep
// compares them), so the reference's recipe writes only the six old keys.
TEST(Presets, ReferenceRecipeJsonIsUnchangedAndTheFastOneRecordsItsFields) {
  Cifar10Recipe reference;
  const nlohmann::json old = {{"batch", 128},         {"learning_rate", 0.1f}, {"decay_steps", 0},
                              {"decay_rate", 0.1f},   {"ema_decay", 0.9999f},  {"eval_images", 0}};
  EXPECT_EQ(recipe_json(reference), old);
  Cifar10Recipe fast;
  cifar10_preset("fast", fast);
  const nlohmann::json j = recipe_json(fast);
  EXPECT_EQ(j.at("schedule"), "cosine");
  EXPECT_EQ(j.at("cosine_steps"), fast.cosine_steps);
  EXPECT_FLOAT_EQ(j.at("momentum").get<float>(), fast.momentum);
  EXPECT_FLOAT_EQ(j.at("other_weight_decay").get<float>(), fast.other_weight_decay);
}

}  // namespace
}  // namespace mc
