// The server's TLS context (see tls_context.hpp).
#include "server/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ferry {

namespace {

std::string openssl_reason() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

// "FILE:LINE:COLUMN: " of a key, so that the message points at the line to fix.
std::string key_prefix(const std::string& at) { return at.empty() ? std::string() : at + ": "; }

}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const TlsConfig& config, std::string& error) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(ctx, config.certificate.c_str()) != 1) {
    error = key_prefix(config.certificate_at) + "[tls] certificate " + config.certificate + ": " + openssl_reason();
    return nullptr;
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, config.private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    error = key_prefix(config.private_key_at) + "[tls] private_key " + config.private_key + ": " + openssl_reason();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    error = key_prefix(config.private_key_at) + "[tls] private_key " + config.private_key +
            " does not belong to the certificate " + config.certificate;
    return nullptr;
  }
  // Data connections prove they come from the same client by resuming the control
  // connection's session (vsftpd's require_ssl_reuse): keep sessions in a server cache.
  static const unsigned char session_context[] = "ferry";
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_timeout(ctx, 3600);
  return context;
}

}  // namespace ferry
