// The model file's container (format version 2): bit packing, round trips, and refusal of
// every corruption: each byte flipped, each truncation, an old or unknown version.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>

#include "matcomp/formats/bit_packing.h"
#include "matcomp/formats/model_file.h"
#include "matcomp/core/error.h"

namespace {

mc::NpyArray int_array(const std::string& dtype, const std::vector<int64_t>& values) {
  const size_t item = mc::npy_item_size(dtype);
  mc::NpyArray a{dtype, {static_cast<int64_t>(values.size())}, std::vector<uint8_t>(values.size() * item)};
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(a.bytes.data() + i * item, &values[i], item);
  return a;
}

void expect_round_trip(const mc::NpyArray& a, int expected_bits) {
  const mc::PackedIntegers p = mc::pack_integers(a);
  EXPECT_EQ(p.bits, expected_bits) << a.dtype;
  EXPECT_EQ(p.bytes.size(), mc::packed_byte_count(a.bytes.size() / mc::npy_item_size(a.dtype), p.bits, "x"));
  const mc::NpyArray back = mc::unpack_integers(p, "test");
  EXPECT_EQ(back.dtype, a.dtype);
  EXPECT_EQ(back.shape, a.shape);
  EXPECT_EQ(back.bytes, a.bytes) << a.dtype;
}

TEST(BitPacking, FewestBitsThatHoldTheRange) {
  expect_round_trip(int_array("|u1", {0, 1, 1, 0, 1}), 1);
  expect_round_trip(int_array("|u1", {3, 3, 3}), 0);  // all equal: only the minimum is stored
  expect_round_trip(int_array("|i1", {-1, 1, -1, -1}), 2);
  expect_round_trip(int_array("<u2", {5, 300, 1000, 7}), 10);  // range 995
  expect_round_trip(int_array("<i4", {-70000, 12, 70000, 0, -1}), 18);
  expect_round_trip(int_array("<i8", {INT64_MIN, INT64_MAX, 0}), 64);
  mc::NpyArray seed{"<u8", {1}, std::vector<uint8_t>(8)};
  const uint64_t big = 0xF123456789ABCDEFull;
  std::memcpy(seed.bytes.data(), &big, 8);
  expect_round_trip(seed, 0);
  expect_round_trip(int_array("<i4", {}), 0);
  // Values straddle bytes at odd widths: 3 values at 7 bits are 21 bits, 3 bytes.
  const mc::PackedIntegers p = mc::pack_integers(int_array("|u1", {0, 127, 64}));
  EXPECT_EQ(p.bits, 7);
  EXPECT_EQ(p.bytes.size(), 3u);
}

TEST(BitPacking, RefusesValuesThatDoNotFitTheDtype) {
  mc::PackedIntegers p = mc::pack_integers(int_array("|u1", {0, 200}));
  p.min_bits = 100;  // 100 + 200 does not fit a byte
  EXPECT_THROW(mc::unpack_integers(p, "codes"), mc::IoError);
  p = mc::pack_integers(int_array("|u1", {0, 200}));
  p.bytes.pop_back();
  EXPECT_THROW(mc::unpack_integers(p, "codes"), mc::IoError);
  EXPECT_THROW(mc::packed_byte_count(~uint64_t{0} / 2, 64, "huge"), mc::IoError);
}

mc::ModelFileContents small_contents() {
  mc::ModelFileContents c;
  c.model = {{"type", "Tiny"}, {"config", {{"width", 3}}}};
  c.floats.emplace_back("fc.bias", mc::Tensor::from({3}, {0.5f, -1.0f, 2.0f}));
  c.floats.emplace_back("fc.weight.values", mc::Tensor::from({2, 3}, {1.0f, 0.0f, -2.0f, 0.0f, 0.0f, 3.5f}));
  c.integers.emplace_back("fc.weight.mask", mc::NpyArray{"|u1", {2, 3}, {1, 0, 1, 0, 0, 1}});
  c.integers.emplace_back("fc.codes", int_array("<i4", {-3, 0, 9, 4}));
  c.masked_by["fc.weight.values"] = "fc.weight.mask";
  return c;
}

TEST(ModelFile, RoundTripsFloatsMaskedFloatsAndIntegers) {
  const mc::ModelFileContents c = small_contents();
  const std::string bytes = mc::encode_model_file(c);
  const mc::ModelFileContents back = mc::decode_model_file(bytes, "tiny.mcz");
  EXPECT_EQ(back.model, c.model);
  ASSERT_EQ(back.floats.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back.floats[i].first, c.floats[i].first);
    ASSERT_EQ(back.floats[i].second.shape(), c.floats[i].second.shape());
    EXPECT_EQ(std::memcmp(back.floats[i].second.data(), c.floats[i].second.data(), 4 * c.floats[i].second.numel()), 0);
  }
  ASSERT_EQ(back.integers.size(), 2u);
  EXPECT_EQ(back.integers[1].second.bytes, c.integers[1].second.bytes);
  EXPECT_EQ(back.masked_by, c.masked_by);
  // The file's own CRC is zlib's CRC-32 of everything after byte 16.
  uint32_t stored;
  std::memcpy(&stored, bytes.data() + 12, 4);
  EXPECT_EQ(stored, crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + 16), static_cast<uInt>(bytes.size() - 16)));
}

TEST(ModelFile, MaskedTensorsStoreOnlyTheKeptValues) {
  // 4000 incompressible floats of which 100 are kept: the masked file holds ~400 value bytes.
  mc::ModelFileContents big;
  mc::Tensor values = mc::Tensor::zeros({40, 100});
  mc::NpyArray mask{"|u1", {40, 100}, std::vector<uint8_t>(4000, 0)};
  for (int64_t i = 0; i < 4000; i += 40) {
    values.data()[i] = 1.0f + 0.001f * static_cast<float>((i * 7919) % 1000);
    mask.bytes[static_cast<size_t>(i)] = 1;
  }
  big.floats.emplace_back("w", values);
  big.integers.emplace_back("m", mask);
  const size_t plain = mc::encode_model_file(big).size();
  big.masked_by["w"] = "m";
  const std::string masked = mc::encode_model_file(big);
  EXPECT_LT(masked.size(), plain);
  EXPECT_LT(masked.size(), 1200u);  // 100 values (400 bytes) + a 1-bit mask (500 bytes) + header
  const mc::Tensor back = mc::decode_model_file(masked, "f").floats[0].second;
  EXPECT_EQ(std::memcmp(back.data(), values.data(), 4 * 4000), 0);
  mc::ModelFileContents c = small_contents();
  // A non-zero entry off the mask would be lost: refused when writing.
  c = small_contents();
  c.floats[1].second.data()[1] = 0.25f;
  EXPECT_THROW(mc::encode_model_file(c), mc::ValueError);
  c = small_contents();
  c.masked_by["fc.weight.values"] = "no.such.mask";
  EXPECT_THROW(mc::encode_model_file(c), mc::ValueError);
}

std::string error_of(const std::string& bytes) {
  try {
    mc::decode_model_file(bytes, "tiny.mcz");
  } catch (const mc::IoError& e) {
    return e.what();
  }
  return "";
}

TEST(ModelFile, EveryFlippedByteIsRefused) {
  const std::string good = mc::encode_model_file(small_contents());
  ASSERT_GT(good.size(), 64u);
  for (size_t i = 0; i < good.size(); ++i) {
    for (const uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      std::string bad = good;
      bad[i] = static_cast<char>(static_cast<uint8_t>(bad[i]) ^ flip);
      const std::string message = error_of(bad);
      ASSERT_FALSE(message.empty()) << "byte " << i << " xor " << int(flip) << " was accepted";
      EXPECT_NE(message.find("tiny.mcz"), std::string::npos) << message;
    }
  }
}

TEST(ModelFile, EveryTruncationAndAppendedByteIsRefused) {
  const std::string good = mc::encode_model_file(small_contents());
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(error_of(good.substr(0, n)).empty()) << "truncated to " << n;
  EXPECT_NE(error_of(good + "x").find("checksum"), std::string::npos);
}

TEST(ModelFile, NamesTheVersionOfAnOldOrUnknownFile) {
  std::string future = mc::encode_model_file(small_contents());
  future[8] = 3;
  EXPECT_NE(error_of(future).find("version 3"), std::string::npos) << error_of(future);
  // Version 1: magic, u64 payload size, zlib(u64 header length, JSON header, data).
  const std::string header = R"({"format":"matcomp-export","version":1,"entries":[]})";
  std::string payload(8, '\0');
  const uint64_t header_len = header.size();
  std::memcpy(payload.data(), &header_len, 8);
  payload += header;
  uLongf bound = compressBound(payload.size());
  std::string deflated(bound, '\0');
  ASSERT_EQ(compress2(reinterpret_cast<Bytef*>(deflated.data()), &bound, reinterpret_cast<const Bytef*>(payload.data()),
                      payload.size(), 9),
            Z_OK);
  deflated.resize(bound);
  std::string old = "MCEXPORT";
  const uint64_t raw = payload.size();
  old.append(reinterpret_cast<const char*>(&raw), 8);
  old += deflated;
  EXPECT_NE(error_of(old).find("version 1"), std::string::npos) << error_of(old);
  EXPECT_NE(error_of("PK\3\4 not ours at all").find("magic"), std::string::npos);
}

}  // namespace
