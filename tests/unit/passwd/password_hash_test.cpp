// Tests for core/passwd/password_hash: the crypt(3) schemes ferry accepts and refuses.
#include "passwd/password_hash.hpp"

#include <catch2/catch.hpp>

#include <string>

using ferry::passwd::classify_hash;
using ferry::passwd::hash_password;
using ferry::passwd::HashScheme;
using ferry::passwd::verify_password;

namespace {
// Made once with `htpasswd -nbB alice s3cret-bcrypt` (cost 5).
constexpr const char* bcrypt_hash = "$2y$05$A8ppwDtWF9RKrcTR/0PZRO77RG8uZ0QmJSFA9pAE0HlHsQhouiaoW";
// Made once with `openssl passwd -6 s3cret-sha512`.
constexpr const char* sha512_hash =
    "$6$sko1QsvujFIaYP5Y$NA/qDqTmV6pwoSe60BRQyo97I5IH661a3I9pJqjRHxqlPkRNuLV1qyJx0zQ0pfnPWJ2rNn51hmkV3gCJDtmFj1";
// Made once with `mkpasswd -m yescrypt ferry`.
constexpr const char* mkpasswd_yescrypt = "$y$j9T$ohc/lDj908J7bofjQFzpN1$jiV9cM8X.DDEsAbgSUrxAO84LuBD0ggUU1eM/dY26sD";
}  // namespace

TEST_CASE("hash_password makes a salted yescrypt hash that verifies", "[passwd]") {
  const auto hash = hash_password("correct horse");
  REQUIRE(hash.has_value());
  CHECK(hash->starts_with("$y$"));
  CHECK(classify_hash(*hash) == HashScheme::yescrypt);
  CHECK(verify_password("correct horse", *hash));
  CHECK_FALSE(verify_password("correct horsE", *hash));
  CHECK_FALSE(verify_password("", *hash));

  const auto again = hash_password("correct horse");
  REQUIRE(again.has_value());
  CHECK(*again != *hash);  // a fresh random salt every time
}

TEST_CASE("yescrypt hashes from mkpasswd verify", "[passwd]") {
  CHECK(classify_hash(mkpasswd_yescrypt) == HashScheme::yescrypt);
  CHECK(verify_password("ferry", mkpasswd_yescrypt));
  CHECK_FALSE(verify_password("ferry ", mkpasswd_yescrypt));
}

TEST_CASE("bcrypt hashes from htpasswd -B verify", "[passwd]") {
  CHECK(classify_hash(bcrypt_hash) == HashScheme::bcrypt);
  CHECK(verify_password("s3cret-bcrypt", bcrypt_hash));
  CHECK_FALSE(verify_password("s3cret-bcryp", bcrypt_hash));
}

TEST_CASE("sha512crypt hashes from openssl passwd -6 verify", "[passwd]") {
  CHECK(classify_hash(sha512_hash) == HashScheme::sha512crypt);
  CHECK(verify_password("s3cret-sha512", sha512_hash));
  CHECK_FALSE(verify_password("wrong", sha512_hash));
}

TEST_CASE("a hash with one character changed does not verify", "[passwd]") {
  std::string tampered = sha512_hash;
  tampered.back() = tampered.back() == 'A' ? 'B' : 'A';
  CHECK_FALSE(verify_password("s3cret-sha512", tampered));
}

TEST_CASE("plain text, empty and unknown hashes never verify", "[passwd]") {
  CHECK(classify_hash("ferry") == HashScheme::unknown);
  CHECK_FALSE(verify_password("ferry", "ferry"));

  CHECK(classify_hash("") == HashScheme::unknown);
  CHECK_FALSE(verify_password("", ""));
  CHECK_FALSE(verify_password("x", ""));

  // md5crypt and DES are weak schemes libxcrypt still knows: ferry refuses them anyway.
  // (`openssl passwd -1 -salt saltsalt password`)
  CHECK(classify_hash("$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/") == HashScheme::unknown);
  CHECK_FALSE(verify_password("password", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"));
  CHECK(classify_hash("abJnggxhB/yWI") == HashScheme::unknown);

  // A bare setting, a shadow-style locked entry, or a line with more fields is no hash.
  CHECK(classify_hash("$y$") == HashScheme::unknown);
  CHECK(classify_hash("!$y$j9T$ohc/lDj908J7bofjQFzpN1$x") == HashScheme::unknown);
  CHECK(classify_hash(std::string(mkpasswd_yescrypt) + ":19000:0:99999") == HashScheme::unknown);
}

TEST_CASE("a password with a NUL byte never verifies and is never hashed", "[passwd]") {
  using namespace std::string_literals;
  CHECK_FALSE(verify_password("ferry\0trailing"s, mkpasswd_yescrypt));
  CHECK_FALSE(hash_password("a\0b"s).has_value());
}
