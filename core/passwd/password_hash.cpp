// Password hashes through libxcrypt's reentrant crypt_rn/crypt_gensalt_rn. The 32 KiB
// crypt_data scratch area always lives on the heap (callers may be coroutines or small
// pool threads) and is wiped after use, like every copy of a password made here.
#include "passwd/password_hash.hpp"

#include <crypt.h>

#include <cstring>  // explicit_bzero (glibc)
#include <memory>

namespace ferry::passwd {
namespace {

// A crypt(3) hash uses only this alphabet ('=' and ',' appear in sha512crypt's
// "rounds=N" parameter). Anything else, ':' and whitespace included, is not a hash.
bool is_hash_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '/' ||
         c == '$' || c == '=' || c == ',';
}

// Owns a zeroed crypt_data on the heap and wipes it (it holds password-derived state) on exit.
class CryptScratch {
 public:
  CryptScratch() : data_(std::make_unique<crypt_data>()) {}  // value-initialised: all zero
  ~CryptScratch() { explicit_bzero(data_.get(), sizeof(crypt_data)); }
  CryptScratch(const CryptScratch&) = delete;
  CryptScratch& operator=(const CryptScratch&) = delete;
  crypt_data* get() { return data_.get(); }

 private:
  std::unique_ptr<crypt_data> data_;
};

// A NUL-terminated copy of a secret, wiped when it goes out of scope.
class SecretString {
 public:
  explicit SecretString(std::string_view text) : text_(text) {}
  ~SecretString() { explicit_bzero(text_.data(), text_.size()); }
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  const char* c_str() const { return text_.c_str(); }

 private:
  std::string text_;
};

// Compares without an early exit, so the time taken does not depend on where the first
// difference is. The lengths are not secret (they follow from the scheme).
bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i])));
  }
  return diff == 0;
}

}  // namespace

HashScheme classify_hash(std::string_view hash) {
  for (char c : hash) {
    if (!is_hash_char(c)) return HashScheme::unknown;
  }
  // The setting must be followed by a non-empty hash field: "$y$" alone is not a hash.
  const auto last_dollar = hash.rfind('$');
  if (last_dollar == std::string_view::npos || last_dollar + 1 >= hash.size()) return HashScheme::unknown;

  if (hash.starts_with("$y$")) return HashScheme::yescrypt;
  if (hash.starts_with("$2b$") || hash.starts_with("$2y$") || hash.starts_with("$2a$")) {
    return HashScheme::bcrypt;
  }
  if (hash.starts_with("$6$")) return HashScheme::sha512crypt;
  return HashScheme::unknown;
}

bool verify_password(std::string_view password, std::string_view hash) {
  if (classify_hash(hash) == HashScheme::unknown) return false;
  // crypt(3) sees C strings: a password with a NUL in it would be silently truncated.
  if (password.find('\0') != std::string_view::npos) return false;

  const SecretString phrase(password);
  const std::string setting(hash);
  CryptScratch scratch;
  const char* computed = crypt_rn(phrase.c_str(), setting.c_str(), scratch.get(), sizeof(crypt_data));
  if (computed == nullptr) return false;
  return equal_constant_time(computed, hash);
}

std::optional<std::string> hash_password(std::string_view password) {
  if (password.find('\0') != std::string_view::npos) return std::nullopt;

  // nullptr random bytes: libxcrypt draws the salt from the operating system's CSPRNG.
  // Count 0 picks yescrypt's default cost.
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting) == nullptr) return std::nullopt;

  const SecretString phrase(password);
  CryptScratch scratch;
  const char* computed = crypt_rn(phrase.c_str(), setting, scratch.get(), sizeof(crypt_data));
  if (computed == nullptr) return std::nullopt;
  std::string result(computed);
  if (classify_hash(result) != HashScheme::yescrypt) return std::nullopt;
  return result;
}

}  // namespace ferry::passwd
