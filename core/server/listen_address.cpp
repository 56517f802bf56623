// Listening addresses (see listen_address.hpp).
#include "server/listen_address.hpp"

#include <arpa/inet.h>

namespace ferry {

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
  ListenAddress out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
    in6_addr a{};
    if (inet_pton(AF_INET6, out.host.c_str(), &a) != 1) return std::nullopt;
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
    in_addr a{};
    if (inet_pton(AF_INET, out.host.c_str(), &a) != 1) return std::nullopt;
  }
  if (port.empty() || port.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return std::nullopt;
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

std::string to_string(const ListenAddress& address) {
  bool v6 = address.host.find(':') != std::string::npos;
  return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

bool listen_conflict(const ListenAddress& a, const ListenAddress& b) {
  if (a.port == 0 || a.port != b.port) return false;
  auto binary = [](const std::string& host, bool& v6) {
    unsigned char bytes[16] = {};
    v6 = host.find(':') != std::string::npos;
    ::inet_pton(v6 ? AF_INET6 : AF_INET, host.c_str(), bytes);
    return std::string(reinterpret_cast<const char*>(bytes), v6 ? 16 : 4);
  };
  bool a6 = false, b6 = false;
  std::string x = binary(a.host, a6), y = binary(b.host, b6);
  if (a6 != b6) return false;
  std::string any(x.size(), '\0');
  return x == y || x == any || y == any;
}

}  // namespace ferry
