#include "matcomp/datasets/checksum.h"

#include <openssl/evp.h>

#include <cstdio>
#include <vector>

#include "matcomp/core/error.h"

namespace mc::data {

namespace {
std::string hex(const unsigned char* p, unsigned n) {
  static const char* digits = "0123456789abcdef";
  std::string s(2 * n, '0');
  for (unsigned i = 0; i < n; ++i) {
    s[2 * i] = digits[p[i] >> 4];
    s[2 * i + 1] = digits[p[i] & 15];
  }
  return s;
}
}  // namespace

struct Digester::Impl {
  EVP_MD_CTX* md5 = EVP_MD_CTX_new();
  EVP_MD_CTX* sha = EVP_MD_CTX_new();
  ~Impl() {
    EVP_MD_CTX_free(md5);
    EVP_MD_CTX_free(sha);
  }
};

Digester::Digester() : impl_(std::make_unique<Impl>()) {
  MC_CHECK(impl_->md5 && impl_->sha && EVP_DigestInit_ex(impl_->md5, EVP_md5(), nullptr) == 1 &&
               EVP_DigestInit_ex(impl_->sha, EVP_sha256(), nullptr) == 1,
           IoError, "OpenSSL: cannot initialise MD5/SHA-256");
}

Digester::~Digester() = default;

void Digester::update(const void* data, size_t n) {
  EVP_DigestUpdate(impl_->md5, data, n);
  EVP_DigestUpdate(impl_->sha, data, n);
  bytes += n;
}

void Digester::finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(impl_->md5, out, &len);
  md5 = hex(out, len);
  EVP_DigestFinal_ex(impl_->sha, out, &len);
  sha256 = hex(out, len);
}

Digests digest_stream(ByteStream& in) {
  Digester d;
  std::vector<char> buf(size_t{1} << 20);
  for (;;) {
    const size_t got = in.read(buf.data(), buf.size());
    d.update(buf.data(), got);
    if (got < buf.size()) break;
  }
  d.finish();
  return {d.md5, d.sha256, d.bytes};
}

Digests digest_bytes(std::string_view bytes) {
  Digester d;
  d.update(bytes.data(), bytes.size());
  d.finish();
  return {d.md5, d.sha256, d.bytes};
}

std::string md5_of_file(const std::string& path) {
  // Not open_input: a downloaded .tar.gz is checked as the bytes that came over the wire.
  std::FILE* f = std::fopen(path.c_str(), "rb");
  MC_CHECK(f != nullptr, IoError, "cannot open " << path);
  Digester d;
  std::vector<char> buf(size_t{1} << 20);
  size_t got;
  while ((got = std::fread(buf.data(), 1, buf.size(), f)) > 0) d.update(buf.data(), got);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  MC_CHECK(!failed, IoError, "error while reading " << path);
  d.finish();
  return d.md5;
}

}  // namespace mc::data
