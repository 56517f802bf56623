// FTPS (RFC 4217): AUTH TLS, PBSZ, PROT, CCC (refused), and the control connection's TLS
// handshake, which implicit FTPS runs before the banner.
#include <asio/use_awaitable.hpp>
#include <cctype>

#include <openssl/ssl.h>

#include "server/log.hpp"
#include "ftp/command.hpp"
#include "server/session.hpp"
#include "server/tls_context.hpp"

namespace ferry {

bool Session::tls_required_for_login() const noexcept {
  return state_->config.tls && state_->config.tls->require && !control_.is_tls();
}

asio::awaitable<bool> Session::start_control_tls() {
  if (!state_->tls) {  // an implicit FTPS listener after a reload removed [tls]
    emit({.kind = EventKind::refused_implicit_tls, .level = LogLevel::warning, .peer = peer_text_});
    close();
    co_return false;
  }
  SSL* ssl = control_.begin_tls(*state_->tls);
  // The sessions made here carry this connection's token: a data connection that resumes
  // one is accepted for the same user from the same address (see TlsSessionOwners).
  if (!tls_token_) tls_token_ = state_->runtime->tls_owners.issue(peer_);
  if (!carry_session_token(ssl, &*tls_token_)) {
    emit({.kind = EventKind::tls_unavailable,
          .level = LogLevel::error,
          .peer = peer_text_,
          .reason = "no session token",
          .detail = "cannot attach the session token"});
    control_.drop_tls();
    close();
    co_return false;
  }
  defer_session_tickets(ssl);
  if (auto ec = co_await control_.handshake(std::chrono::seconds(state_->config.login_timeout))) {
    emit({.kind = EventKind::tls_failed, .peer = peer_text_, .reason = ec.message()});
    control_.drop_tls();
    close();
    co_return false;
  }
  mark_cached_session(ssl);
  status_.tls(true);
  emit({.kind = EventKind::tls_established, .verb = SSL_get_version(ssl), .detail = SSL_get_cipher_name(ssl)});
  co_return true;
}

asio::awaitable<void> Session::cmd_auth(std::string_view arg) {
  std::string mechanism = ftp::to_upper(arg);
  if (!state_->tls) {
    co_await reply(502, "FTPS is not configured on this server.");
    co_return;
  }
  if (mechanism != "TLS" && mechanism != "TLS-C" && mechanism != "SSL") {
    co_await reply(504, "Security mechanism not understood; use AUTH TLS.");
    co_return;
  }
  if (control_.is_tls()) {
    co_await reply(503, "Already using TLS.");
    co_return;
  }
  if (fs_) {
    co_await reply(503, "AUTH must come before login.");
    co_return;
  }
  // Nothing may be pipelined behind AUTH: the next bytes are the client's TLS hello.
  control_.input().clear();
  pending_user_.clear();
  co_await reply(234, "Proceed with negotiation.");
  if (!co_await start_control_tls()) co_return;
}

asio::awaitable<void> Session::cmd_pbsz(std::string_view arg) {
  if (!control_.is_tls()) {
    co_await reply(503, "PBSZ needs AUTH TLS first.");
    co_return;
  }
  pbsz_ = true;
  // RFC 4217 9: for TLS the buffer size is always 0, whatever the client asks.
  co_await reply(200, arg == "0" ? "PBSZ=0" : "PBSZ=0 (TLS has no protection buffer)");
}

asio::awaitable<void> Session::cmd_prot(std::string_view arg) {
  if (!control_.is_tls() || !pbsz_) {
    co_await reply(503, "PROT needs AUTH TLS and PBSZ first.");
    co_return;
  }
  std::string level = ftp::to_upper(arg);
  if (level == "P") {
    prot_private_ = true;
    co_await reply(200, "PROT now Private.");
  } else if (level == "C") {
    if (state_->config.tls->require) {
      co_await reply(534, "PROT C refused: this server requires protected data connections.");
      co_return;
    }
    prot_private_ = false;
    co_await reply(200, "PROT now Clear.");
  } else if (level == "S" || level == "E") {
    co_await reply(536, "PROT " + level + " is not supported; use P or C.");
  } else {
    co_await reply(504, "PROT takes C or P.");
  }
}

asio::awaitable<void> Session::cmd_ccc(std::string_view) {
  // Dropping back to clear text would expose every later command: refused, as vsftpd does.
  co_await reply(534, "CCC refused: the control connection stays protected.");
}

}  // namespace ferry
