// libFuzzer target: the CIFAR-10 record parser (plain or gzip) and the tar(.gz) archive path.
// Any input must either parse into a consistent split or raise mc::IoError; crashes,
// sanitizer reports and broken invariants (__builtin_trap) are bugs.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "matcomp/core/error.h"
#include "matcomp/core/rng.h"
#include "matcomp/datasets/cifar10.h"
#include "matcomp/datasets/cifar10_augment.h"

namespace {
void check(const mc::data::Cifar10Split& s) {
  if (s.pixels.size() != s.labels.size() * mc::data::kCifarImageBytes) __builtin_trap();
  for (uint8_t l : s.labels)
    if (l >= mc::data::kCifarClasses) __builtin_trap();
  if (s.size() > 0) {  // the pipeline must run on whatever the parser accepted
    std::vector<float> out(mc::data::kCropPixels);
    mc::Rng rng(s.labels[0]);
    mc::data::transform_image(s.image(s.size() - 1), mc::data::sample_augment(rng), out.data());
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    mc::data::Cifar10Split s;
    mc::data::parse_cifar10(bytes, "fuzz.bin", s);
    check(s);
  } catch (const mc::IoError&) {
  }
  try {
    check(mc::data::parse_cifar10_archive(bytes, "fuzz.tar.gz", mc::data::Cifar10Part::Test));
  } catch (const mc::IoError&) {
  }
  return 0;
}
