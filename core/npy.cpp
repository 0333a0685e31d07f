#include "matcomp/core/npy.h"

#include <cstring>
#include <sstream>

#include "matcomp/core/atomic_file.h"
#include "matcomp/core/error.h"

namespace mc {

size_t npy_item_size(const std::string& dtype) {
  if (dtype == "<f4" || dtype == "<i4" || dtype == "<u4") return 4;
  if (dtype == "<f8" || dtype == "<i8" || dtype == "<u8") return 8;
  if (dtype == "<u2" || dtype == "<i2") return 2;
  if (dtype == "|u1" || dtype == "|i1" || dtype == "|b1") return 1;
  throw IoError("unsupported npy dtype '" + dtype + "' (supported: <f4 <f8 <i4 <i8 <u4 <u8 <i2 <u2 |u1 |i1 |b1)");
}

size_t npy_byte_count(const Shape& shape, size_t item_size, const std::string& what) {
  uint64_t bytes = item_size;
  for (int64_t d : shape) {
    MC_CHECK(d >= 0, IoError, what << ": negative extent in shape " << to_string(shape));
    // Above 2^62 bytes no machine holds the array; the bound also keeps int64 element counts valid.
    MC_CHECK(d == 0 || bytes <= (uint64_t{1} << 62) / static_cast<uint64_t>(d), IoError,
             what << ": shape " << to_string(shape) << " of " << item_size
                  << "-byte items has more bytes than any file can hold (2^62): a corrupt header");
    bytes *= static_cast<uint64_t>(d);
  }
  return static_cast<size_t>(bytes);
}

namespace {

// Value of key 'name' in the header dict, as the raw text up to the next ',' at depth 0.
std::string header_field(const std::string& header, const std::string& name, const std::string& path) {
  const std::string key = "'" + name + "':";
  const size_t pos = header.find(key);
  MC_CHECK(pos != std::string::npos, IoError, path << ": npy header has no '" << name << "' field: " << header);
  size_t i = pos + key.size();
  while (i < header.size() && header[i] == ' ') ++i;
  int depth = 0;
  size_t j = i;
  for (; j < header.size(); ++j) {
    const char c = header[j];
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if ((c == ',' || c == '}') && depth == 0) break;
  }
  return header.substr(i, j - i);
}

Shape parse_shape(const std::string& text, const std::string& path) {
  MC_CHECK(text.size() >= 2 && text.front() == '(' && text.back() == ')', IoError,
           path << ": bad npy shape " << text);
  Shape shape;
  std::string inner = text.substr(1, text.size() - 2);
  std::stringstream ss(inner);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t b = item.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    try {
      size_t used = 0;
      const long long v = std::stoll(item.substr(b), &used);
      MC_CHECK(v >= 0, IoError, path << ": negative extent in npy shape " << text);
      shape.push_back(v);
    } catch (const std::logic_error&) {
      throw IoError(path + ": bad npy shape " + text);
    }
  }
  return shape;
}

}  // namespace

NpyArray read_npy_array(const std::string& path) {
  const std::string bytes = read_file(path);
  MC_CHECK(bytes.size() >= 10 && std::memcmp(bytes.data(), "\x93NUMPY", 6) == 0, IoError,
           path << ": not an npy file (magic missing)");
  const int major = static_cast<uint8_t>(bytes[6]);
  size_t header_len = 0, header_start = 0;
  if (major == 1) {
    header_len = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    MC_CHECK(bytes.size() >= 12, IoError, path << ": truncated npy header");
    header_len = 0;
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
    header_start = 12;
  } else {
    throw IoError(path + ": unsupported npy version " + std::to_string(major));
  }
  MC_CHECK(header_start + header_len <= bytes.size(), IoError, path << ": truncated npy header");
  const std::string header = bytes.substr(header_start, header_len);
  NpyArray arr;
  std::string descr = header_field(header, "descr", path);
  MC_CHECK(descr.size() >= 2, IoError, path << ": bad descr " << descr);
  arr.dtype = descr.substr(1, descr.size() - 2);
  if (arr.dtype == "=f4" || arr.dtype == "f4") arr.dtype = "<f4";
  if (arr.dtype == "=f8" || arr.dtype == "f8") arr.dtype = "<f8";
  MC_CHECK(arr.dtype.size() > 0 && arr.dtype[0] != '>', IoError, path << ": big-endian arrays are not supported");
  const size_t item = npy_item_size(arr.dtype);
  MC_CHECK(header_field(header, "fortran_order", path) == "False", IoError,
           path << ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
  arr.shape = parse_shape(header_field(header, "shape", path), path);
  const size_t needed = npy_byte_count(arr.shape, item, path);
  const size_t data_start = header_start + header_len;
  MC_CHECK(bytes.size() - data_start == needed, IoError,
           path << ": data holds " << (bytes.size() - data_start) << " bytes, shape " << to_string(arr.shape)
                << " of " << arr.dtype << " needs " << needed << " (truncated or corrupt file)");
  arr.bytes.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data_start), bytes.end());
  return arr;
}

void write_npy_array(const std::string& path, const NpyArray& arr) {
  std::string shape = "(";
  for (size_t i = 0; i < arr.shape.size(); ++i) shape += std::to_string(arr.shape[i]) + ", ";
  if (arr.shape.size() > 1) shape.resize(shape.size() - 2);
  if (arr.shape.size() == 1) shape.resize(shape.size() - 1);
  shape += ")";
  std::string header = "{'descr': '" + arr.dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so the data starts on a 64-byte boundary; end with '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  MC_CHECK(arr.bytes.size() == static_cast<size_t>(numel_of(arr.shape)) * npy_item_size(arr.dtype), ShapeError,
           "write_npy: " << arr.bytes.size() << " bytes do not fit shape " << to_string(arr.shape) << " of " << arr.dtype);
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(reinterpret_cast<const char*>(arr.bytes.data()), arr.bytes.size());
  write_file_atomically(path, out);
}

Tensor read_npy(const std::string& path) {
  const NpyArray arr = read_npy_array(path);
  Tensor t = Tensor::empty(arr.shape);
  if (arr.dtype == "<f4") {
    std::memcpy(t.data(), arr.bytes.data(), arr.bytes.size());
  } else if (arr.dtype == "<f8") {
    const size_t n = static_cast<size_t>(t.numel());
    for (size_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, arr.bytes.data() + 8 * i, 8);
      t.data()[i] = static_cast<float>(v);
    }
  } else {
    throw IoError(path + ": expected a float32 or float64 array, found dtype " + arr.dtype);
  }
  return t;
}

NpyArray to_npy_array(const Tensor& t) {
  NpyArray arr{"<f4", t.shape(), {}};
  const auto* p = reinterpret_cast<const uint8_t*>(t.data());
  arr.bytes.assign(p, p + t.numel() * 4);
  return arr;
}

Tensor from_npy_array(const NpyArray& a, const std::string& what) {
  MC_CHECK(a.dtype == "<f4", IoError, what << ": dtype " << a.dtype << ", expected float32 (<f4)");
  Tensor t = Tensor::empty(a.shape);
  MC_CHECK(a.bytes.size() == static_cast<size_t>(t.numel()) * 4, IoError,
           what << ": " << a.bytes.size() << " bytes for shape " << to_string(a.shape));
  std::memcpy(t.data(), a.bytes.data(), a.bytes.size());
  return t;
}

NpyArray to_npy_array(const std::vector<int32_t>& values, Shape shape) {
  NpyArray arr{"<i4", std::move(shape), {}};
  const auto* p = reinterpret_cast<const uint8_t*>(values.data());
  arr.bytes.assign(p, p + values.size() * 4);
  return arr;
}

NpyArray to_npy_array(const std::vector<uint8_t>& values, Shape shape) {
  return NpyArray{"|u1", std::move(shape), values};
}

void write_npy(const std::string& path, const Tensor& t) { write_npy_array(path, to_npy_array(t)); }

}  // namespace mc
