// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a load
// balancer sends before the client's bytes: who the client really is. A pure parser,
// bytes in, no I/O: the edge reader (proxy_header_reader.hpp) feeds it what the socket
// holds, and it says "need more", "here is the header and its length", or "malformed".
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::proxy_protocol {

// Version 1 is one text line of at most 107 bytes, CR LF included (the spec's limit).
inline constexpr std::size_t max_v1_length = 107;
// Version 2 is a 16-byte fixed part and up to 65535 more; HAProxy sends 12 or 36 bytes of
// addresses plus optional TLVs. We take at most this much: more is refused as oversized,
// so a proxy (or someone pretending) cannot make us buffer 64 KiB per connection.
inline constexpr std::size_t max_v2_payload = 2048;
inline constexpr std::size_t max_length = 16 + max_v2_payload;

enum class Status : std::uint8_t {
  need_more,  // a valid beginning: at least `more` further bytes are needed
  parsed,     // `header` holds the header, which is `header.length` bytes long
  malformed,  // not a PROXY header, or a broken one: `error` says why
};

enum class Command : std::uint8_t {
  proxy,  // a relayed connection: source is the client
  local,  // the proxy's own connection (a health check, v2 LOCAL): use the socket's addresses
};

enum class Family : std::uint8_t {
  unknown,  // v1 UNKNOWN, v2 AF_UNSPEC or AF_UNIX: no address given, use the socket's
  tcp4,
  tcp6,
};

struct Endpoint {
  std::array<std::uint8_t, 16> address{};  // network order; tcp4 uses the first 4 bytes
  std::uint16_t port = 0;
};

struct Header {
  int version = 0;  // 1 or 2
  Command command = Command::proxy;
  Family family = Family::unknown;
  Endpoint source;       // the client
  Endpoint destination;  // the address the client connected to (the balancer's)
  std::size_t length = 0;  // bytes of the input the header takes
};

struct ParseResult {
  Status status = Status::need_more;
  Header header{};
  std::size_t more = 0;  // need_more: at least this many further bytes
  std::string_view error{};  // malformed: why (a literal)
};

// Parses the header at the start of `input`. Never reads beyond what it reports as the
// header's length, never allocates, never throws.
ParseResult parse(std::string_view input) noexcept;

// True when `bytes` (the first bytes of a connection) begin with a PROXY header's start:
// the whole v2 signature (12 bytes that no text protocol and hardly any file starts with),
// or, with `v1_too`, the v1 text "PROXY ". Used where no header is expected, to refuse one
// instead of taking it for data.
bool looks_like_header(std::string_view bytes, bool v1_too = true) noexcept;
// True when `bytes` are too few to tell yet: more of them could still make a header that
// looks_like_header() finds.
bool may_become_header(std::string_view bytes, bool v1_too) noexcept;

// The address as text ("192.0.2.1", "2001:db8::1"); "" for Family::unknown.
std::string address_text(Family family, const Endpoint& endpoint);

}  // namespace ferry::proxy_protocol
