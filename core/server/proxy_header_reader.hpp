// The edge where a connection from a load balancer gives up its PROXY header: before the
// session (or the data transfer) sees a byte, the header is read from the socket, exactly
// its own bytes and no more, so whatever follows (a TLS ClientHello, an upload) stays in
// the socket for its reader. Only peers in server.proxy_protocol_from are asked for one.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "server/address_range.hpp"

namespace ferry {

// How long a proxy may take to send its header once connected (HAProxy sends it at once).
inline constexpr std::chrono::seconds proxy_header_timeout{5};

struct ProxyOrigin {
  bool ok = false;
  bool local = false;             // v2 LOCAL: the proxy's own connection (a health check)
  asio::ip::address client;       // the real client; the socket's peer for LOCAL and UNKNOWN
  std::string reason;             // when !ok: why, for the log
};

// True when `peer` is one of the configured proxies (an IPv4-mapped address as IPv4).
bool is_proxy(const std::vector<AddressRange>& proxies, const asio::ip::address& peer);

// Reads the header from `socket` (connected; made non-blocking here) until `deadline`.
// `peer` is the socket's remote address. Never throws.
asio::awaitable<ProxyOrigin> read_proxy_header(asio::ip::tcp::socket& socket, const asio::ip::address& peer,
                                               std::chrono::steady_clock::time_point deadline);

}  // namespace ferry
