// A "host:port" a listening socket binds: parsing, printing, and which two clash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

struct ListenAddress {
  std::string host;  // textual IP address, without brackets
  std::uint16_t port = 0;
  bool operator==(const ListenAddress&) const = default;
};

// "127.0.0.1:2121", "[::1]:21", "[::]:0". nullopt when malformed.
std::optional<ListenAddress> parse_listen_address(std::string_view text);
std::string to_string(const ListenAddress& address);
// Whether two listening sockets could not both be bound: the same port (0 picks a free
// one) and family (IPv6 sockets are v6-only), and the same address or a wildcard.
bool listen_conflict(const ListenAddress& a, const ListenAddress& b);

}  // namespace ferry
