// Checkpoint integrity: every byte of a checkpoint is covered by a check (CRC-32 of each
// tensor and of the metadata, offsets that tile the data section, lengths that match shapes),
// so a damaged file is refused with its name and the tensor instead of being trained on.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/crc32_zlib.h"
#include "matcomp/core/rng.h"
#include "matcomp/formats/checkpoint.h"
#include "matcomp/layers/modules/dense.h"
#include "matcomp/formats/safetensors.h"
#include "matcomp/layers/optim/sgd.h"
#include "tests/layers/test_layers_util.h"

using namespace mc;

namespace {

Tensor random(Shape shape, Rng& rng) {
  Tensor t = Tensor::empty(std::move(shape));
  rng.fill_uniform(t, -1.0f, 1.0f);
  return t;
}

class SmallDense : public Module {
 public:
  explicit SmallDense(Rng& rng) {
    register_module("fc", std::make_shared<Dense>(random({6, 5}, rng)));
  }
  std::string type() const override { return "SmallDense"; }
};

// A real checkpoint: parameters, optimizer slots and the Rng state, after one step.
std::string write_small_checkpoint(const std::string& path) {
  Rng rng(11);
  SmallDense m(rng);
  SGD opt(m, 0.1f, {.momentum = 0.9f});
  for (auto& [name, p] : m.named_parameters()) p.mutable_grad() = random(p.shape(), rng);
  opt.step();
  save_checkpoint(path, m, &opt, 7, &rng, nullptr);
  return read_file(path);
}

std::string error_of(const std::function<void()>& f) { return mc::testing::error_message<IoError>(f, "(no IoError)"); }

// A safetensors file from a header and a data section, as a hand-made (or hostile) writer would.
std::string assemble(const nlohmann::json& header, const std::string& data) {
  std::string text = header.dump();
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>(static_cast<uint64_t>(text.size()) >> (8 * i));
  return out + text + data;
}

// Header and data of a file, with its metadata already carrying valid checksums for `data`.
struct Layout {
  nlohmann::json header;
  std::string data;
};
Layout split(const std::string& file) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(file[static_cast<size_t>(i)])) << (8 * i);
  return {nlohmann::json::parse(file.substr(8, n)), file.substr(8 + n)};
}

}  // namespace

TEST(CheckpointChecksums, EveryFlippedBitIsRefusedNamingTheFile) {
  const std::string path = mc::testing::temp_path("flip.safetensors");
  const std::string good = write_small_checkpoint(path);
  ASSERT_NO_THROW(read_checkpoint(path));
  const size_t header_end = 8 + split(good).header.dump().size();
  ASSERT_GT(good.size(), header_end + 200);  // the sample below reaches into the data section
  size_t tried = 0;
  // Every byte of the length and the header, every third byte of the data; one bit each,
  // a different bit from byte to byte.
  for (size_t pos = 0; pos < good.size(); pos += pos < header_end + 8 ? 1 : 3) {
    std::string bad = good;
    bad[pos] = static_cast<char>(bad[pos] ^ (1 << (pos % 8)));
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bad;  // no fsync: hundreds of files
    const std::string err = error_of([&] { read_checkpoint(path); });
    ASSERT_NE(err.find(path), std::string::npos) << "byte " << pos << " of " << good.size() << " flipped: " << err;
    ++tried;
  }
  EXPECT_GT(tried, 500u);
}

TEST(CheckpointChecksums, ZeroedBlockNamesTheTensor) {
  const std::string path = mc::testing::temp_path("zeroed.safetensors");
  const std::string good = write_small_checkpoint(path);
  std::string bad = good;
  for (size_t i = bad.size() - 24; i < bad.size() - 8; ++i) bad[i] = 0;  // inside the last tensor
  write_file_atomically(path, bad);
  const std::string err = error_of([&] { read_checkpoint(path); });
  EXPECT_NE(err.find("fails its CRC-32 check"), std::string::npos) << err;
  EXPECT_NE(err.find("tensor '"), std::string::npos) << err;
}

TEST(CheckpointChecksums, EditedStepIsRefused) {
  const std::string path = mc::testing::temp_path("step.safetensors");
  Layout l = split(write_small_checkpoint(path));
  nlohmann::json meta = nlohmann::json::parse(l.header["__metadata__"]["matcomp"].get<std::string>());
  meta["step"] = 70;
  l.header["__metadata__"]["matcomp"] = meta.dump();
  write_file_atomically(path, assemble(l.header, l.data));
  const std::string err = error_of([&] { read_checkpoint(path); });
  EXPECT_NE(err.find("metadata fails its CRC-32 check"), std::string::npos) << err;
}

TEST(CheckpointChecksums, BadLayoutsAreRefused) {
  const std::string path = mc::testing::temp_path("layout.safetensors");
  const std::string a(16, 'a'), b(16, 'b');
  const auto crc = [](const std::string& s) { return crc32_hex(crc32_zlib(s)); };
  const auto file = [&](nlohmann::json entries, const std::string& data) {
    nlohmann::json meta = {{"crc32.__metadata__", crc32_hex(crc32_zlib(std::string_view()))}};
    for (auto it = entries.begin(); it != entries.end(); ++it) {
      const auto off = it.value()["data_offsets"];
      const uint64_t begin = std::min<uint64_t>(off[0].get<uint64_t>(), data.size());
      const uint64_t end = std::min<uint64_t>(off[1].get<uint64_t>(), data.size());
      meta["crc32." + it.key()] = crc(data.substr(begin, end > begin ? end - begin : 0));
    }
    entries["__metadata__"] = meta;
    write_file_atomically(path, assemble(entries, data));
    return error_of([&] { read_safetensors(path); });
  };
  const auto t = [](uint64_t begin, uint64_t end, nlohmann::json shape = {4}) {
    return nlohmann::json{{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {begin, end}}};
  };
  // The well-formed file first, so the failures below are caused by what each one changes.
  EXPECT_EQ(file({{"x", t(0, 16)}, {"y", t(16, 32)}}, a + b), "(no IoError)");

  std::string err = file({{"x", t(0, 16)}, {"y", t(0, 16)}}, a + b);  // aliasing
  EXPECT_NE(err.find("overlaps tensor"), std::string::npos) << err;
  err = file({{"x", t(0, 16)}, {"y", t(8, 24, {4})}}, a + b);  // partial overlap
  EXPECT_NE(err.find("overlaps tensor"), std::string::npos) << err;
  err = file({{"x", t(0, 16)}, {"y", t(16, 32)}}, a + b + "trailing");  // bytes nobody owns
  EXPECT_NE(err.find("trailing bytes"), std::string::npos) << err;
  err = file({{"x", t(0, 16)}, {"y", t(24, 40)}}, a + b + b);  // a gap
  EXPECT_NE(err.find("belong to no tensor"), std::string::npos) << err;
  err = file({{"x", t(0, 16)}, {"y", t(16, 48)}}, a + b);  // beyond the data
  EXPECT_NE(err.find("tensor 'y' needs bytes [16, 48)"), std::string::npos) << err;
  err = file({{"x", t(0, 16, {2, 3})}}, a);  // shape disagrees with the length
  EXPECT_NE(err.find("holds 16 bytes, but shape [2, 3]"), std::string::npos) << err;
  err = file({{"x", t(0, 16, {uint64_t{1} << 62, 4})}}, a);  // element count overflows
  EXPECT_NE(err.find("more bytes than any file can hold"), std::string::npos) << err;
  err = file({{"x", t(0, 16, {-4})}}, a);
  EXPECT_NE(err.find("bad extent -4"), std::string::npos) << err;
  EXPECT_NE(err.find(path), std::string::npos) << err;
}

TEST(CheckpointChecksums, FilesWithoutChecksumsAreRefusedNamingTheFormat) {
  const std::string path = mc::testing::temp_path("old.safetensors");
  Layout l = split(write_small_checkpoint(path));
  nlohmann::json meta = nlohmann::json::object();
  for (auto it = l.header["__metadata__"].begin(); it != l.header["__metadata__"].end(); ++it)
    if (it.key().rfind("crc32.", 0) != 0) meta[it.key()] = it.value();
  l.header["__metadata__"] = meta;
  write_file_atomically(path, assemble(l.header, l.data));
  const std::string err = error_of([&] { read_checkpoint(path); });
  EXPECT_NE(err.find("carries no checksums"), std::string::npos) << err;
  EXPECT_NE(err.find("checkpoint format 2"), std::string::npos) << err;
}

TEST(CheckpointChecksums, ChecksumsAreZlibCrc32) {
  EXPECT_EQ(crc32_hex(crc32_zlib(std::string_view("123456789"))), "cbf43926");  // the CRC-32 check value
  EXPECT_EQ(crc32_hex(crc32_zlib(std::string_view())), "00000000");
}

TEST(CheckpointChecksums, CorruptRngEntryIsNamed) {
  const std::string path = mc::testing::temp_path("rng.safetensors");
  write_small_checkpoint(path);
  Checkpoint ck = read_checkpoint(path);
  Rng rng(1);
  Rng fresh(11);
  SmallDense m(fresh);
  ck.metadata["rng"]["s"][2] = "12zz";
  std::string err = error_of([&] { apply_checkpoint(ck, m, nullptr, &rng, nullptr); });
  EXPECT_NE(err.find("rng.s[2] is \"12zz\""), std::string::npos) << err;
  ck.metadata["rng"]["s"][2] = "1";
  ck.metadata["rng"]["spare_bits"] = 5;  // a number, not a hex string
  err = error_of([&] { apply_checkpoint(ck, m, nullptr, &rng, nullptr); });
  EXPECT_NE(err.find("Rng state is malformed"), std::string::npos) << err;
}

// The numpy + zlib verifier in docs/CHECKPOINTS.md agrees with ours: it accepts a file we
// wrote and rejects it with one flipped bit in a tensor or an edited step.
TEST(CheckpointChecksums, DocumentedPythonSnippetVerifiesThem) {
  const std::string python = mc::testing::python_with_numpy();
  if (python.empty()) GTEST_SKIP() << "no python3 with numpy";
  const std::string doc = read_file(std::string(MATCOMP_SOURCE_DIR) + "/docs/CHECKPOINTS.md");
  const size_t begin = doc.find("```python\n"), end = doc.find("```", begin + 10);
  ASSERT_NE(begin, std::string::npos);
  const std::string script = mc::testing::temp_path("verify_checkpoint.py");
  write_file_atomically(script, doc.substr(begin + 10, end - begin - 10));
  const std::string path = mc::testing::temp_path("python.safetensors"), out = mc::testing::temp_path("python.out");
  const std::string good = write_small_checkpoint(path);
  const auto run = [&] { return std::system((python + " " + script + " " + path + " > " + out + " 2>&1").c_str()); };
  ASSERT_EQ(run(), 0) << read_file(out);
  EXPECT_NE(read_file(out).find("checksums ok"), std::string::npos) << read_file(out);

  std::string bad = good;
  bad[bad.size() - 5] = static_cast<char>(bad[bad.size() - 5] ^ 0x10);
  write_file_atomically(path, bad);
  EXPECT_NE(run(), 0);
  EXPECT_NE(read_file(out).find("checksum mismatch"), std::string::npos) << read_file(out);

  Layout l = split(good);
  nlohmann::json meta = nlohmann::json::parse(l.header["__metadata__"]["matcomp"].get<std::string>());
  meta["step"] = 8;
  l.header["__metadata__"]["matcomp"] = meta.dump();
  write_file_atomically(path, assemble(l.header, l.data));
  EXPECT_NE(run(), 0);
  EXPECT_NE(read_file(out).find("metadata checksum mismatch"), std::string::npos) << read_file(out);
}
