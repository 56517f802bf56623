// What happens in the server, as data: one Event value, made once where it happens and
// handed to every sink subscribed to the EventBus (event_bus.hpp): the text and JSON log,
// the transfer log, and whatever comes next (metrics, the operator's console, hooks).
// A kind says which facts an event carries; the sinks turn the facts into their own words.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/log.hpp"

namespace ferry {

enum class EventKind : std::uint8_t {
  connected,             // peer; detail: the proxy it came through (PROXY protocol), if any
  disconnected,          // peer
  refused_connection,    // peer, reason: a session limit
  refused_banned,        // peer
  refused_implicit_tls,  // peer: [tls] removed by a reload
  refused_bounce,        // peer, target, port: PORT/EPRT elsewhere
  refused_intruder,      // peer, target (the intruder): data connection from another address
  refused_tls_owner,     // peer, user: resumed a TLS session of another login
  refused_tls_not_resumed,  // peer
  refused_proxy_header,  // peer (the connection's own address), reason: PROXY header missing, broken or not allowed
  refused_file,          // user, path, reason: a provider's refusal
  tls_established,       // verb (TLS version), detail (cipher)
  tls_failed,            // peer, reason: the client's handshake failed
  tls_unavailable,       // peer, reason, detail: ferryd could not set TLS up
  login,                 // user, peer
  login_refused,         // user, peer, reason
  login_failed,          // user, peer, reason: the authenticator failed
  logout,                // user
  ban,                   // peer, seconds, count (failed logins)
  timeout,               // peer; `ok`: logged in (idle), else login timeout
  transfer,              // verb, path, user, bytes, ms, ok/reason; peer, binary, seconds for xferlog
  deleted,               // user, path
  renamed,               // user, path (from), target (to)
  data_failed,           // target, port, reason
  error,                 // reason
};

struct Event {
  EventKind kind;
  LogLevel level = LogLevel::info;
  std::uint64_t session = 0;  // 0: the server itself
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();

  // The facts; each kind fills those its comment above names.
  std::string peer{};
  std::string user{};
  std::string path{};
  std::string target{};
  std::string verb{};
  std::string reason{};
  std::string detail{};
  std::uint64_t bytes = 0;
  std::uint64_t ms = 0;
  std::uint64_t count = 0;
  std::uint32_t port = 0;
  std::uint32_t seconds = 0;
  double elapsed = 0;  // a transfer's duration in seconds, unrounded
  bool ok = true;      // a transfer completed; a timeout of a logged-in session
  bool binary = true;  // a transfer in TYPE I
};

// The name of a kind in the JSON log's "event" member ("refused" for every refusal).
std::string_view event_name(EventKind kind) noexcept;

}  // namespace ferry
