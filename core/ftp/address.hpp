// Encoding and decoding of data-connection addresses: PASV/PORT (h1,h2,h3,h4,p1,p2) and
// EPSV/EPRT (RFC 2428, |proto|addr|port|).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::ftp {

struct HostPort {
  std::string host;  // textual IPv4 or IPv6 address
  std::uint16_t port = 0;
};

// "227 Entering Passive Mode (h1,h2,h3,h4,p1,p2)." text for an IPv4 address.
std::string format_pasv(std::string_view ipv4, std::uint16_t port);
// "229 Entering Extended Passive Mode (|||port|)" text.
std::string format_epsv(std::uint16_t port);

// PORT argument "h1,h2,h3,h4,p1,p2".
std::optional<HostPort> parse_port_argument(std::string_view argument);
// EPRT argument "|1|132.235.1.2|6275|" or "|2|::1|6275|" (any delimiter char 33..126).
std::optional<HostPort> parse_eprt_argument(std::string_view argument);
// The network protocol number of an EPRT argument ("|3|...": 3), or nullopt when there is
// none: a protocol other than 1 and 2 is answered 522, not 501 (RFC 2428).
std::optional<unsigned> eprt_network_protocol(std::string_view argument);

// Client side: the host/port out of a 227 reply text (anywhere in the text) and the port
// out of a 229 reply text.
std::optional<HostPort> parse_pasv_reply(std::string_view text);
std::optional<std::uint16_t> parse_epsv_reply(std::string_view text);

}  // namespace ferry::ftp
