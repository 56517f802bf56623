// Message digests for the HASH command (server) and receipt checks (client), via OpenSSL.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace ferry::digest {

enum class Algorithm { sha256, sha512, sha1, md5 };

// HASH command names: "SHA-256", "SHA-512", "SHA-1", "MD5" (case-insensitive).
std::optional<Algorithm> algorithm_from_name(std::string_view name);
std::string_view algorithm_name(Algorithm algorithm);

// Incremental digest; hex() finishes it and returns lower-case hex.
class Hasher {
 public:
  explicit Hasher(Algorithm algorithm);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(std::span<const std::byte> data);
  void update(std::string_view data) { update(std::as_bytes(std::span(data.data(), data.size()))); }
  std::string hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Digest of a whole local file as lower-case hex; nullopt when it cannot be read.
std::optional<std::string> hash_file(Algorithm algorithm, const std::string& path);

}  // namespace ferry::digest
