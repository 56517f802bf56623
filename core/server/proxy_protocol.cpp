// The PROXY protocol parser (see proxy_protocol.hpp). Written from HAProxy's
// doc/proxy-protocol.txt: version 1 in section 2.1, version 2 in section 2.2.
#include "server/proxy_protocol.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace ferry::proxy_protocol {

namespace {

constexpr std::string_view v1_prefix = "PROXY ";
// "\r\n\r\n\0\r\nQUIT\n": chosen by the spec so that no text protocol starts like it.
constexpr std::string_view v2_signature{"\r\n\r\n\0\r\nQUIT\n", 12};
constexpr std::size_t v2_fixed = 16;
constexpr std::size_t v1_shortest = 15;  // "PROXY UNKNOWN\r\n"

ParseResult malformed(std::string_view why) {
  ParseResult r;
  r.status = Status::malformed;
  r.error = why;
  return r;
}

ParseResult need(std::size_t more) {
  ParseResult r;
  r.status = Status::need_more;
  r.more = more == 0 ? 1 : more;
  return r;
}

// `bytes` is a prefix of `whole`, or `whole` of `bytes`.
bool prefix_agrees(std::string_view bytes, std::string_view whole) {
  const std::size_t n = std::min(bytes.size(), whole.size());
  return bytes.substr(0, n) == whole.substr(0, n);
}

// A decimal port: 1 to 5 digits, no leading zero (but "0"), at most 65535.
bool parse_port(std::string_view text, std::uint16_t& port) {
  if (text.empty() || text.size() > 5) return false;
  if (text.size() > 1 && text[0] == '0') return false;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool parse_address(std::string_view text, Family family, Endpoint& endpoint) {
  char buffer[64];  // inet_pton needs a terminated string; the longest IPv6 text is 45
  if (text.empty() || text.size() >= sizeof buffer) return false;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  return ::inet_pton(family == Family::tcp4 ? AF_INET : AF_INET6, buffer, endpoint.address.data()) == 1;
}

ParseResult parse_v1(std::string_view input) {
  if (!prefix_agrees(input, v1_prefix)) return malformed("not a PROXY header");
  const std::size_t window = std::min(input.size(), max_v1_length);
  const std::size_t end = input.substr(0, window).find("\r\n");
  std::string_view line = input.substr(0, end == std::string_view::npos ? window : end);
  // Only printable ASCII may stand in the line: a NUL or a bare LF is garbage, seen early.
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c == '\r' && i + 1 == line.size() && end == std::string_view::npos) break;  // CR of a CR LF to come
    if (c < 0x20 || c > 0x7e) {
      return malformed("PROXY v1 header with a control or non-ASCII byte");
    }
  }
  // The protocol word, checked as soon as it can be, so that garbage fails fast.
  std::string_view rest = line.size() > v1_prefix.size() ? line.substr(v1_prefix.size()) : std::string_view{};
  const std::size_t space = rest.find(' ');
  std::string_view protocol = rest.substr(0, space);
  const bool complete_word = space != std::string_view::npos || end != std::string_view::npos;
  const bool known = complete_word ? (protocol == "TCP4" || protocol == "TCP6" || protocol == "UNKNOWN")
                                   : (prefix_agrees(protocol, "TCP4") || prefix_agrees(protocol, "TCP6") ||
                                      prefix_agrees(protocol, "UNKNOWN"));
  if (!known && !protocol.empty()) return malformed("PROXY v1 header with an unknown protocol (not TCP4, TCP6, UNKNOWN)");
  if (end == std::string_view::npos) {
    if (input.size() >= max_v1_length) return malformed("PROXY v1 header longer than 107 bytes");
    return need(input.size() < v1_shortest ? v1_shortest - input.size() : 1);
  }

  ParseResult r;
  r.status = Status::parsed;
  r.header.version = 1;
  r.header.length = end + 2;
  if (protocol == "UNKNOWN") return r;  // the rest of the line is to be ignored (spec)
  if (protocol.empty()) return malformed("PROXY v1 header without a protocol");
  r.header.family = protocol == "TCP4" ? Family::tcp4 : Family::tcp6;
  // "TCP4 SRC DST SRCPORT DSTPORT": exactly four fields after the word, one space apart.
  std::string_view fields[4];
  std::string_view tail = rest.substr(protocol.size());
  for (auto& field : fields) {
    if (tail.empty() || tail[0] != ' ') return malformed("PROXY v1 header with missing fields");
    tail.remove_prefix(1);
    const std::size_t next = tail.find(' ');
    field = tail.substr(0, next);
    tail = next == std::string_view::npos ? std::string_view{} : tail.substr(next);
  }
  if (!tail.empty()) return malformed("PROXY v1 header with extra fields");
  if (!parse_address(fields[0], r.header.family, r.header.source) ||
      !parse_address(fields[1], r.header.family, r.header.destination)) {
    return malformed("PROXY v1 header with an invalid address");
  }
  if (!parse_port(fields[2], r.header.source.port) || !parse_port(fields[3], r.header.destination.port)) {
    return malformed("PROXY v1 header with an invalid port");
  }
  return r;
}

std::uint16_t be16(const char* p) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(p[0]) << 8) | static_cast<unsigned char>(p[1]));
}

// The TLVs after the addresses must tile the rest exactly (a type, a 16-bit length, the
// value). Their meaning is not ours to act on; a broken chain means a broken header.
bool tlvs_tile(std::string_view tlvs) {
  while (!tlvs.empty()) {
    if (tlvs.size() < 3) return false;
    const std::size_t length = be16(tlvs.data() + 1);
    if (tlvs.size() - 3 < length) return false;
    tlvs.remove_prefix(3 + length);
  }
  return true;
}

ParseResult parse_v2(std::string_view input) {
  if (!prefix_agrees(input, v2_signature)) return malformed("not a PROXY header");
  if (input.size() < v2_fixed) return need(v2_fixed - input.size());
  const auto version_command = static_cast<unsigned char>(input[12]);
  const auto family_transport = static_cast<unsigned char>(input[13]);
  const std::size_t payload = be16(input.data() + 14);
  if ((version_command >> 4) != 2) return malformed("PROXY v2 header of an unsupported version");
  const unsigned command = version_command & 0x0f;
  if (command > 1) return malformed("PROXY v2 header with an unknown command");
  if (payload > max_v2_payload) return malformed("PROXY v2 header too long (over 2048 bytes of addresses and TLVs)");
  if (input.size() < v2_fixed + payload) return need(v2_fixed + payload - input.size());

  ParseResult r;
  r.status = Status::parsed;
  r.header.version = 2;
  r.header.length = v2_fixed + payload;
  const unsigned family = family_transport >> 4;
  const unsigned transport = family_transport & 0x0f;
  if (family > 3 || transport > 2) return malformed("PROXY v2 header with an unknown address family or transport");
  std::string_view body = input.substr(v2_fixed, payload);
  if (command == 0) {  // LOCAL: the addresses, if any, are to be ignored (spec)
    r.header.command = Command::local;
    return r;
  }
  std::size_t addresses = 0;
  switch (family) {
    case 0: addresses = 0; break;    // AF_UNSPEC
    case 1: addresses = 12; break;   // AF_INET: 4 + 4 + 2 + 2
    case 2: addresses = 36; break;   // AF_INET6: 16 + 16 + 2 + 2
    case 3: addresses = 216; break;  // AF_UNIX: 108 + 108
  }
  if (payload < addresses) return malformed("PROXY v2 header shorter than its addresses");
  if (!tlvs_tile(body.substr(addresses))) return malformed("PROXY v2 header with broken TLVs");
  if (family == 1 || family == 2) {
    if (transport != 1) return malformed("PROXY v2 header of a connection that is not TCP");
    const std::size_t size = family == 1 ? 4 : 16;
    r.header.family = family == 1 ? Family::tcp4 : Family::tcp6;
    std::memcpy(r.header.source.address.data(), body.data(), size);
    std::memcpy(r.header.destination.address.data(), body.data() + size, size);
    r.header.source.port = be16(body.data() + 2 * size);
    r.header.destination.port = be16(body.data() + 2 * size + 2);
  }
  return r;
}

}  // namespace

ParseResult parse(std::string_view input) noexcept {
  if (input.empty()) return need(v1_shortest);
  if (input[0] == 'P') return parse_v1(input);
  if (input[0] == '\r') return parse_v2(input);
  return malformed("not a PROXY header");
}

bool looks_like_header(std::string_view bytes, bool v1_too) noexcept {
  if (bytes.size() >= v2_signature.size() && prefix_agrees(bytes, v2_signature)) return true;
  return v1_too && bytes.size() >= v1_prefix.size() && prefix_agrees(bytes, v1_prefix);
}

bool may_become_header(std::string_view bytes, bool v1_too) noexcept {
  if (bytes.size() < v2_signature.size() && prefix_agrees(bytes, v2_signature)) return true;
  return v1_too && bytes.size() < v1_prefix.size() && prefix_agrees(bytes, v1_prefix);
}

std::string address_text(Family family, const Endpoint& endpoint) {
  if (family == Family::unknown) return {};
  char buffer[INET6_ADDRSTRLEN];
  const int af = family == Family::tcp4 ? AF_INET : AF_INET6;
  if (::inet_ntop(af, endpoint.address.data(), buffer, sizeof buffer) == nullptr) return {};
  return buffer;
}

}  // namespace ferry::proxy_protocol
