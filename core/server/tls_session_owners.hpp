// Whose a TLS session is. A data connection under PROT P must resume a TLS session
// (require_session_reuse): that proves it comes from a client holding the session's
// secret. Which session it may resume is this registry's rule:
//
//   a session made on a control connection is owned by that connection's client address
//   and by the user logged in there (none before login); a data connection is accepted
//   when the session it resumed is owned by the same user from the same address as the
//   control connection it serves.
//
// So rclone, which keeps one TLS session cache for all its connections to a host and may
// resume control connection A's session on control connection B's data connection, works;
// another account, even from the same address, or a client that never logged in, cannot
// take a transfer: it holds only sessions of its own. An owner outlives its control
// connection for `lifetime` (clients resume sessions of connections they have closed),
// and at most `capacity` ended owners are remembered (the oldest go first).
#pragma once

#include <array>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry {

// Random, one per TLS control connection; carried inside its sessions (see tls_context.hpp).
using TlsSessionToken = std::array<unsigned char, 16>;

// How long a TLS session may be resumed (the SSL context's timeout); an ended control
// connection's owner is remembered as long.
inline constexpr std::chrono::seconds tls_session_lifetime{3600};

class TlsSessionOwners {
 public:
  TlsSessionOwners(std::chrono::seconds lifetime, std::size_t capacity) : lifetime_(lifetime), capacity_(capacity) {}

  // A new token for a control connection from `peer`, owned by no user yet.
  TlsSessionToken issue(const asio::ip::address& peer);
  // The user now logged in on the token's connection ("" after REIN).
  void set_user(const TlsSessionToken& token, std::string_view user);
  // The token's connection has ended: its owner is remembered for `lifetime` more.
  void release(const TlsSessionToken& token);
  // Whether the token's sessions belong to `user` at `peer`. `pending`: the token's
  // connection, from `peer`, is alive and not logged in yet; under TLS 1.2 its session was
  // made in the handshake, and a client sharing its session cache may resume it before the
  // login ends (the caller waits a little and asks again).
  enum class Ownership { owned, not_owned, pending };
  Ownership owner_of(const TlsSessionToken& token, const asio::ip::address& peer, std::string_view user);

  std::size_t size();

 private:
  struct Owner {
    asio::ip::address peer;
    std::string user;
    bool ended = false;
    std::chrono::steady_clock::time_point forget_at{};
  };
  struct TokenHash {
    std::size_t operator()(const TlsSessionToken& token) const noexcept;
  };
  void forget_expired(std::chrono::steady_clock::time_point now);

  const std::chrono::seconds lifetime_;
  const std::size_t capacity_;
  std::mutex mutex_;
  std::unordered_map<TlsSessionToken, Owner, TokenHash> owners_;
  std::deque<TlsSessionToken> ended_;  // in the order they ended: the oldest first
};

}  // namespace ferry
