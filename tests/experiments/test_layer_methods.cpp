// --layers with a method per pattern: parsing, and the errors that name the bad entry.
#include <gtest/gtest.h>

#include "experiments/lib/sweep.h"
#include "matcomp/core/error.h"

namespace mc {
namespace {

TEST(LayerMethods, PlainPatternsAreNotPerLayerMethods) {
  EXPECT_TRUE(parse_layer_methods({"local3.weight", "local*.weight"}).empty());
  EXPECT_TRUE(parse_layer_methods({}).empty());
}

TEST(LayerMethods, ParsesPatternMethodRatioAndCompletesTheSeamName) {
  const auto lm = parse_layer_methods({"local3=lowrank:0.25", "local4.weight=kmeans:0.1", "conv*=prune_grad:0.3"});
  ASSERT_EQ(lm.size(), 3u);
  EXPECT_EQ(lm[0].pattern, "local3.weight");
  EXPECT_EQ(lm[0].method, "lowrank");
  EXPECT_DOUBLE_EQ(lm[0].ratio, 0.25);
  EXPECT_EQ(lm[1].pattern, "local4.weight");
  EXPECT_EQ(lm[1].method, "kmeans");
  EXPECT_EQ(lm[2].pattern, "conv*.weight");
  EXPECT_EQ(lm[2].method, "prune_grad");
}

TEST(LayerMethods, BadEntriesNameThemselves) {
  const auto message = [](const std::vector<std::string>& layers) {
    try {
      parse_layer_methods(layers);
    } catch (const ValueError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"local3=lowrank:0.25", "local4.weight"}).find("every entry"), std::string::npos);
  EXPECT_NE(message({"local3=lowrank"}).find("'local3=lowrank'"), std::string::npos);
  EXPECT_NE(message({"local3=lowrank:1.5"}).find("(0, 1)"), std::string::npos);
  EXPECT_NE(message({"local3=lowrank:abc"}).find("'abc'"), std::string::npos);
  const std::string unknown = message({"local3=zip:0.2"});
  EXPECT_NE(unknown.find("'zip'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("lowrank"), std::string::npos) << unknown;  // the known ones, from the registry
}

TEST(LayerMethods, AllMethodsComeFromTheRegistry) {
  const auto methods = all_methods();
  for (const char* m : {"lowrank", "simhash", "kmeans", "dictionary", "prune", "prune_grad"})
    EXPECT_NE(std::find(methods.begin(), methods.end(), m), methods.end()) << m;
}

}  // namespace
}  // namespace mc
