// The server's TLS context (see tls_context.hpp).
#include "server/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cstring>

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

// Where an SSL keeps the token of the control connection it serves.
int token_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Every new session of a control connection, ticket (TLS 1.2 or 1.3) or cache entry,
// carries the connection's token. Data connections carry none and issue no tickets.
int put_token_in_session(SSL* ssl, void* = nullptr) {
  const auto* token = static_cast<const TlsSessionToken*>(SSL_get_ex_data(ssl, token_index()));
  SSL_SESSION* session = SSL_get0_session(ssl);
  if (token == nullptr || session == nullptr) return 1;
  return SSL_SESSION_set1_ticket_appdata(session, token->data(), token->size());
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
  // Data connections prove they come from the client by resuming a TLS session of its
  // (vsftpd's require_ssl_reuse); whose session it may be is TlsSessionOwners' rule, checked
  // after the handshake, so every connection shares one session id context.
  static const unsigned char session_context[] = "ferry";
  SSL_CTX_set_session_id_context(ctx, session_context, sizeof session_context - 1);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_timeout(ctx, static_cast<long>(tls_session_lifetime.count()));
  SSL_CTX_set_session_ticket_cb(ctx, put_token_in_session, nullptr, nullptr);
  return context;
}

bool carry_session_token(SSL* ssl, const TlsSessionToken* token) {
  return SSL_set_ex_data(ssl, token_index(), const_cast<TlsSessionToken*>(token)) == 1;
}

void defer_session_tickets(SSL* ssl) { SSL_set_num_tickets(ssl, 0); }

void send_session_ticket(SSL* ssl) {
  if (SSL_version(ssl) >= TLS1_3_VERSION) SSL_new_session_ticket(ssl);
}

void mark_cached_session(SSL* ssl) {
  if (!SSL_session_reused(ssl)) put_token_in_session(ssl);
}

std::optional<TlsSessionToken> resumed_session_token(SSL* ssl) {
  SSL_SESSION* session = SSL_get0_session(ssl);
  void* data = nullptr;
  std::size_t length = 0;
  if (!SSL_session_reused(ssl) || session == nullptr || SSL_SESSION_get0_ticket_appdata(session, &data, &length) != 1 ||
      length != TlsSessionToken{}.size()) {
    return std::nullopt;
  }
  TlsSessionToken token;
  std::memcpy(token.data(), data, token.size());
  return token;
}

}  // namespace ferry
