// Password hashes in crypt(3) form, through libxcrypt: verification of yescrypt, bcrypt
// and sha512crypt, and creation of new yescrypt hashes. Blocking and CPU-heavy: callers on
// the server run these on the blocking-work pool.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::passwd {

enum class HashScheme { yescrypt, bcrypt, sha512crypt, unknown };

// Which scheme a stored hash uses ("$y$", "$2b$"/"$2y$"/"$2a$", "$6$"); anything else,
// plain text included, is unknown and never verifies.
HashScheme classify_hash(std::string_view hash);

// True when `password` matches `hash`. Constant-time comparison; false for unknown schemes.
bool verify_password(std::string_view password, std::string_view hash);

// A fresh yescrypt hash of `password` with a random salt; nullopt if libcrypt fails.
std::optional<std::string> hash_password(std::string_view password);

}  // namespace ferry::passwd
