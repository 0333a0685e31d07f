// End to end: the matcomp-factorize binary on .npy files written here.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "matcomp/core/npy.h"
#include "helpers.h"

namespace {

struct Result {
  int code;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(MATCOMP_BINARY_DIR "/bin/matcomp-factorize ") + args + " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, ""};
  std::string out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace

TEST(FactorizeTool, LowRankByRatioWritesFactorsAndJson) {
  const auto dir = mc_test::scratch_dir("tool");
  const std::string a_path = (dir / "A.npy").string();
  mc::write_npy(a_path, mc::matmul(mc_test::gaussian(64, 6, 1), mc_test::gaussian(6, 48, 2)));  // rank 6
  const Result r = run("--input " + a_path + " --method lowrank --ratio 0.3 --json --threads 1 --output " + (dir / "out").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("method"), "lowrank");
  EXPECT_LT(j.at("rel_error").get<double>(), 1e-4);
  EXPECT_LE(j.at("ratio").get<double>(), 0.3);
  EXPECT_GE(j.at("seconds").get<double>(), 0.0);
  EXPECT_EQ(j.at("stored_bytes").get<int64_t>(), j.at("settings").at("rank").get<int64_t>() * (64 + 48) * 4);
  const mc::Tensor b = mc::read_npy((dir / "out.B.npy").string());
  EXPECT_EQ(b.size(0), 64);
  EXPECT_TRUE(std::filesystem::exists(dir / "out.C.npy"));
  EXPECT_TRUE(std::filesystem::exists(dir / "out.json"));
}

TEST(FactorizeTool, KMeansAndOmpFromFloat64) {
  const auto dir = mc_test::scratch_dir("tool64");
  // A float64 file: the tool must accept it.
  mc::Tensor a = mc_test::gaussian(32, 16, 3);
  mc::NpyArray arr{"<f8", {32, 16}, std::vector<uint8_t>(32 * 16 * 8)};
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double v = a.data()[i];
    std::memcpy(arr.bytes.data() + 8 * i, &v, 8);
  }
  const std::string a_path = (dir / "A64.npy").string();
  mc::write_npy_array(a_path, arr);
  Result r = run("--input " + a_path + " --method kmeans --levels 16 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_LT(j.at("rel_error").get<double>(), 0.2);
  EXPECT_EQ(j.at("stored_bytes").get<int64_t>(), (16 * 32 + 512 * 4 + 7) / 8);

  // OMP against the first 20 rows of A as (unnormalised rows are fine for the tool) dictionary.
  const std::string d_path = (dir / "D.npy").string();
  mc::write_npy(d_path, mc_test::gaussian(40, 16, 4));
  r = run("--input " + a_path + " --method omp --dictionary " + d_path + " --nnz 16 --codes sparse --json --output " + (dir / "o").string());
  ASSERT_EQ(r.code, 0) << r.out;
  j = nlohmann::json::parse(r.out);
  EXPECT_LT(j.at("rel_error").get<double>(), 1e-3);  // 16 atoms span R^16
  const mc::NpyArray idx = mc::read_npy_array((dir / "o.indices.npy").string());
  EXPECT_EQ(idx.shape, (mc::Shape{32, 16}));
}

TEST(FactorizeTool, BadFlagsExitWithCode2AndBadFilesWithCode1) {
  const auto dir = mc_test::scratch_dir("toolbad");
  const std::string a_path = (dir / "A.npy").string();
  mc::write_npy(a_path, mc_test::gaussian(8, 8, 1));
  EXPECT_EQ(run("--input " + a_path + " --method lowrank --rank 2 --frobnicate").code, 2);
  EXPECT_EQ(run("--input " + a_path + " --method nosuch").code, 2);
  EXPECT_EQ(run("--input " + a_path + " --method lowrank --rank 7").code, 2);     // more than dense
  EXPECT_EQ(run("--input " + a_path + " --method lowrank --levels 7").code, 2);   // flag of another method
  EXPECT_EQ(run("--input " + a_path + " --method lowrank --rank abc").code, 2);
  // Files that cannot be read are runtime errors (1), not usage errors (2).
  EXPECT_EQ(run("--input " + (dir / "missing.npy").string() + " --method lowrank --rank 2").code, 1);
  // Truncated .npy: the header promises 64 floats, the file holds fewer.
  const std::string bytes = [&] {
    std::ifstream in(a_path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  const std::string t_path = (dir / "truncated.npy").string();
  std::ofstream(t_path, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  EXPECT_EQ(run("--input " + t_path + " --method lowrank --rank 2").code, 1);
  EXPECT_EQ(run("--input " + a_path + " --method lowrank --rank 2").code, 0);
}

TEST(FactorizeTool, QuantizeByBitsAndByRatio) {
  const auto dir = mc_test::scratch_dir("tool_quantize");
  const std::string a_path = (dir / "A.npy").string();
  mc::write_npy(a_path, mc_test::gaussian(96, 40, 4));
  const Result by_bits = run("--input " + a_path + " --method quantize --bits 4 --json --threads 1 --output " + (dir / "q").string());
  ASSERT_EQ(by_bits.code, 0) << by_bits.out;
  const auto j = nlohmann::json::parse(by_bits.out);
  EXPECT_EQ(j.at("settings").at("bits"), 4);
  EXPECT_EQ(j.at("stored_bytes").get<int64_t>(), (96 * 40 * 4 + 64 * 40) / 8);
  EXPECT_LT(j.at("rel_error").get<double>(), 0.15);  // 4 bits on Gaussian columns: ~0.1
  EXPECT_TRUE(std::filesystem::exists(dir / "q.scale.npy"));
  const Result by_ratio = run("--input " + a_path + " --method quantize --ratio 0.1 --json --threads 1");
  ASSERT_EQ(by_ratio.code, 0) << by_ratio.out;
  EXPECT_EQ(nlohmann::json::parse(by_ratio.out).at("settings").at("bits"), 2);  // 3 bits: 0.094 + 2/96 > 0.1
  EXPECT_NE(run("--input " + a_path + " --method quantize --bits 9 --json").code, 0);
  EXPECT_NE(run("--input " + a_path + " --method quantize --levels 4 --json").code, 0);
}
