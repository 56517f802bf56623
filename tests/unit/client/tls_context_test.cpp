// The client's shared TLS contexts: one per set of options, a CA file read again when it
// changes, a file that cannot be loaded refused each time (not cached).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "client_error.hpp"
#include "tls_context.hpp"

namespace {

using ferry::client::client_tls_context;
using ferry::client::TlsMode;
using ferry::client::TlsOptions;

// A self-signed P-256 certificate in PEM, made here so the test needs no fixture file.
std::string self_signed_pem(const char* name) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(name), -1, -1, 0);
  X509_set_issuer_name(cert, subject);
  X509_set_pubkey(cert, key);
  X509_sign(cert, key, EVP_sha256());
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(out, cert);
  char* data = nullptr;
  const long size = BIO_get_mem_data(out, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(out);
  X509_free(cert);
  EVP_PKEY_free(key);
  return pem;
}

struct TempDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("ferry-tls-context-" + std::to_string(::getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("client TLS contexts: one per set of options, shared by every connection", "[client][tls]") {
  TempDir dir;
  const auto ca = dir.path / "ca.pem";
  write_file(ca, self_signed_pem("first"));
  TlsOptions verified{TlsMode::explicit_tls, true, ca.string()};
  TlsOptions insecure{TlsMode::explicit_tls, false, ""};

  auto a = client_tls_context(verified);
  auto b = client_tls_context(verified);
  REQUIRE(a);
  CHECK(a == b);  // the second connection does not parse the CA store again
  CHECK(client_tls_context(insecure) != a);
  CHECK(SSL_CTX_get_verify_mode(a->native_handle()) == SSL_VERIFY_PEER);
  CHECK(SSL_CTX_get_verify_mode(client_tls_context(insecure)->native_handle()) == SSL_VERIFY_NONE);
  // The mode (explicit or implicit) does not change the context.
  CHECK(client_tls_context({TlsMode::implicit_tls, true, ca.string()}) == a);

  SECTION("a CA file replaced on disk is read again") {
    const auto replacement = dir.path / "ca.pem.new";
    write_file(replacement, self_signed_pem("second"));
    std::filesystem::rename(replacement, ca);  // a new inode, as an editor or a deploy leaves it
    auto c = client_tls_context(verified);
    CHECK(c != a);
    CHECK(client_tls_context(verified) == c);
  }
}

TEST_CASE("client TLS contexts: a CA file that cannot be loaded is refused, then tried again", "[client][tls]") {
  TempDir dir;
  const auto ca = dir.path / "missing.pem";
  TlsOptions options{TlsMode::explicit_tls, true, ca.string()};
  CHECK_THROWS_AS(client_tls_context(options), ferry::client::ClientError);
  CHECK_THROWS_AS(client_tls_context(options), ferry::client::ClientError);  // not cached as a failure

  write_file(ca, "not a certificate\n");
  CHECK_THROWS_AS(client_tls_context(options), ferry::client::ClientError);

  write_file(ca, self_signed_pem("late"));
  CHECK(client_tls_context(options) != nullptr);
}
