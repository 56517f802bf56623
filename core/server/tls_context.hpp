// The server's TLS context for FTPS: certificate and key from [tls], TLS 1.2 at least,
// session resumption (a server cache for TLS 1.2 session ids, tickets otherwise) so data
// connections can resume a control connection's session; and the token that says whose a
// session is (tls_session_owners.hpp), carried inside the session itself.
#pragma once

#include <asio/ssl/context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "server/config.hpp"
#include "server/tls_session_owners.hpp"

typedef struct ssl_st SSL;

namespace ferry {

// nullptr and `error` set (naming the file and what is wrong) when the context cannot be made.
std::shared_ptr<asio::ssl::context> make_tls_context(const TlsConfig& config, std::string& error);

// A control connection's sessions carry `token` (which must outlive the handshake): set it
// before the handshake, so that the tickets it sends carry it in their encrypted state.
bool carry_session_token(SSL* ssl, const TlsSessionToken* token);
// TLS 1.3 tickets of a control connection wait for its login (send_session_ticket): a
// client that shares one session cache between connections (rclone) must not receive a
// ticket whose owner is not known yet, or its next data connection elsewhere resumes it.
void defer_session_tickets(SSL* ssl);
// Logged in: a TLS 1.3 ticket goes out with the next reply (nothing under TLS 1.2, whose
// session was made in the handshake).
void send_session_ticket(SSL* ssl);
// After a full handshake: the session kept in the server's cache (TLS 1.2 session ids)
// carries the token too.
void mark_cached_session(SSL* ssl);
// The token inside the session a connection resumed; nullopt when it has none.
std::optional<TlsSessionToken> resumed_session_token(SSL* ssl);

}  // namespace ferry
