// libFuzzer target: the .npy reader (header parsing, shape products, byte counts). The input
// is written to a file, as read_npy_array reads paths. Any input must either load with a
// byte count that matches its shape, or raise mc::IoError; crashes, sanitizer reports and
// other exceptions are bugs.
#include <cstddef>
#include <cstdint>

#include "fuzz_file.h"
#include "matcomp/core/error.h"
#include "matcomp/core/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::write_input("npy", data, size);
  try {
    const mc::NpyArray a = mc::read_npy_array(path);
    if (a.bytes.size() != mc::npy_byte_count(a.shape, mc::npy_item_size(a.dtype), path)) __builtin_trap();
    if (a.dtype == "<f4" || a.dtype == "<f8") {
      const mc::Tensor t = mc::read_npy(path);
      if (t.shape() != a.shape) __builtin_trap();
    }
  } catch (const mc::IoError&) {
  }
  return 0;
}
