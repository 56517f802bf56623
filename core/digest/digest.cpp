// OpenSSL EVP behind ferry::digest::Hasher.
#include "digest/digest.hpp"

#include <openssl/evp.h>

#include <cctype>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace ferry::digest {

namespace {

const EVP_MD* evp_for(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::sha256: return EVP_sha256();
    case Algorithm::sha512: return EVP_sha512();
    case Algorithm::sha1: return EVP_sha1();
    case Algorithm::md5: return EVP_md5();
  }
  return EVP_sha256();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

}  // namespace

std::optional<Algorithm> algorithm_from_name(std::string_view name) {
  for (Algorithm a : {Algorithm::sha256, Algorithm::sha512, Algorithm::sha1, Algorithm::md5}) {
    if (iequals(name, algorithm_name(a))) return a;
  }
  return std::nullopt;
}

std::string_view algorithm_name(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::sha256: return "SHA-256";
    case Algorithm::sha512: return "SHA-512";
    case Algorithm::sha1: return "SHA-1";
    case Algorithm::md5: return "MD5";
  }
  return "SHA-256";
}

struct Hasher::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(Algorithm algorithm) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, evp_for(algorithm), nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest initialisation failed");
  }
}

Hasher::~Hasher() = default;

void Hasher::update(std::span<const std::byte> data) {
  EVP_DigestUpdate(impl_->ctx, data.data(), data.size());
}

std::string Hasher::hex() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, md, &len);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(digits[md[i] >> 4]);
    out.push_back(digits[md[i] & 0xf]);
  }
  return out;
}

std::optional<std::string> hash_file(Algorithm algorithm, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  Hasher hasher(algorithm);
  std::vector<char> buffer(1 << 16);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    auto n = static_cast<std::size_t>(in.gcount());
    if (n) hasher.update(std::string_view(buffer.data(), n));
  }
  if (in.bad()) return std::nullopt;
  return hasher.hex();
}

}  // namespace ferry::digest
