// The PROXY protocol parser: versions 1 and 2, every family and command, and the inputs a
// hostile or broken peer sends (truncated, oversized, garbage).
#include "server/proxy_protocol.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace ferry::proxy_protocol;
using namespace std::string_literals;

namespace {

const std::string signature("\r\n\r\n\0\r\nQUIT\n", 12);

// A v2 header: version/command byte, family/transport byte, then the payload.
std::string v2(unsigned char version_command, unsigned char family, const std::string& payload) {
  std::string out = signature;
  out += static_cast<char>(version_command);
  out += static_cast<char>(family);
  out += static_cast<char>(payload.size() >> 8);
  out += static_cast<char>(payload.size() & 0xff);
  return out + payload;
}

std::string tcp4_payload() {
  // 192.0.2.1:51234 -> 198.51.100.7:21
  return "\xc0\x00\x02\x01"s + "\xc6\x33\x64\x07"s + "\xc8\x22"s + "\x00\x15"s;
}

std::string tcp6_payload() {
  std::string src(16, '\0'), dst(16, '\0');
  src[0] = '\x20'; src[1] = '\x01'; src[2] = '\x0d'; src[3] = '\xb8'; src[15] = '\x01';  // 2001:db8::1
  dst[15] = '\x01';                                                                      // ::1
  return src + dst + "\x04\xd2"s + "\x08\x49"s;  // 1234 -> 2121
}

}  // namespace

TEST_CASE("PROXY v1 TCP4 gives the client's address and port, and the header's length") {
  const std::string header = "PROXY TCP4 192.0.2.1 198.51.100.7 51234 21\r\n";
  auto r = parse(header + "USER alice\r\n");
  REQUIRE(r.status == Status::parsed);
  CHECK(r.header.version == 1);
  CHECK(r.header.command == Command::proxy);
  CHECK(r.header.family == Family::tcp4);
  CHECK(address_text(r.header.family, r.header.source) == "192.0.2.1");
  CHECK(r.header.source.port == 51234);
  CHECK(address_text(r.header.family, r.header.destination) == "198.51.100.7");
  CHECK(r.header.destination.port == 21);
  CHECK(r.header.length == header.size());
}

TEST_CASE("PROXY v1 TCP6 and UNKNOWN") {
  auto r = parse("PROXY TCP6 2001:db8::1 ::1 1234 2121\r\n");
  REQUIRE(r.status == Status::parsed);
  CHECK(r.header.family == Family::tcp6);
  CHECK(address_text(r.header.family, r.header.source) == "2001:db8::1");
  CHECK(r.header.source.port == 1234);

  auto unknown = parse("PROXY UNKNOWN ffff:f...f:ffff 1 2 3 4\r\nrest");
  REQUIRE(unknown.status == Status::parsed);
  CHECK(unknown.header.family == Family::unknown);
  CHECK(unknown.header.length == std::string("PROXY UNKNOWN ffff:f...f:ffff 1 2 3 4\r\n").size());
  CHECK(parse("PROXY UNKNOWN\r\n").status == Status::parsed);
  CHECK(address_text(Family::unknown, {}).empty());
}

TEST_CASE("PROXY v1 needs more until its CR LF, at most 107 bytes") {
  const std::string header = "PROXY TCP4 192.0.2.1 198.51.100.7 51234 21\r\n";
  for (std::size_t n = 0; n < header.size(); ++n) {
    auto r = parse(header.substr(0, n));
    INFO("first " << n << " bytes");
    REQUIRE(r.status == Status::need_more);
    CHECK(r.more >= 1);
  }
  // The longest legal line (TCP6, full-length addresses and ports) is exactly 107 bytes.
  const std::string longest = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
  REQUIRE(longest.size() == 104);
  CHECK(parse(longest).status == Status::parsed);
  const std::string unknown_107 = "PROXY UNKNOWN " + std::string(91, 'x') + "\r\n";
  REQUIRE(unknown_107.size() == 107);
  CHECK(parse(unknown_107).status == Status::parsed);
  auto too_long = parse("PROXY UNKNOWN " + std::string(92, 'x') + "\r\n");
  CHECK(too_long.status == Status::malformed);
  CHECK(too_long.error == "PROXY v1 header longer than 107 bytes");
  CHECK(parse("PROXY UNKNOWN " + std::string(200, 'x')).status == Status::malformed);
}

TEST_CASE("PROXY v1 refuses broken lines") {
  const char* bad[] = {
      "PROXY TCP4 192.0.2.1 198.51.100.7 51234\r\n",           // a field missing
      "PROXY TCP4 192.0.2.1 198.51.100.7 51234 21 9\r\n",      // one too many
      "PROXY TCP4  192.0.2.1 198.51.100.7 51234 21\r\n",       // two spaces
      "PROXY TCP4 192.0.2.256 198.51.100.7 51234 21\r\n",      // not an address
      "PROXY TCP4 2001:db8::1 198.51.100.7 51234 21\r\n",      // IPv6 under TCP4
      "PROXY TCP6 192.0.2.1 ::1 51234 21\r\n",                 // IPv4 under TCP6
      "PROXY TCP4 192.0.2.1 198.51.100.7 65536 21\r\n",        // port too large
      "PROXY TCP4 192.0.2.1 198.51.100.7 051234 21\r\n",       // leading zero
      "PROXY TCP4 192.0.2.1 198.51.100.7 -1 21\r\n",           // sign
      "PROXY TCP5 192.0.2.1 198.51.100.7 1 21\r\n",            // unknown protocol
      "PROXY \r\n",                                            // no protocol
      "PROXY TCP4 192.0.2.1 198.51.100.7 1 21\n",              // LF without CR
      "proxy TCP4 192.0.2.1 198.51.100.7 1 21\r\n",            // lower case
      "USER alice\r\n",                                        // an FTP command
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",          // a TLS ClientHello
  };
  for (const char* input : bad) {
    INFO(input);
    auto r = parse(input);
    CHECK(r.status == Status::malformed);
    CHECK(!r.error.empty());
  }
  CHECK(parse("PROXY TCP4 192.0.2.1\0 198.51.100.7 1 21\r\n"s).status == Status::malformed);  // a NUL
  // Garbage is seen before the line is complete: no waiting for 107 bytes of it.
  CHECK(parse("PROXY FTP").status == Status::malformed);
  CHECK(parse("PROXY TCP4 1.2.3.4\n").status == Status::malformed);
  CHECK(parse("GET / HTTP/1.1").status == Status::malformed);
}

TEST_CASE("PROXY v2 PROXY over TCP4 and TCP6") {
  const std::string h4 = v2(0x21, 0x11, tcp4_payload());
  auto r = parse(h4 + "more bytes");
  REQUIRE(r.status == Status::parsed);
  CHECK(r.header.version == 2);
  CHECK(r.header.command == Command::proxy);
  CHECK(r.header.family == Family::tcp4);
  CHECK(address_text(r.header.family, r.header.source) == "192.0.2.1");
  CHECK(r.header.source.port == 51234);
  CHECK(address_text(r.header.family, r.header.destination) == "198.51.100.7");
  CHECK(r.header.destination.port == 21);
  CHECK(r.header.length == 28);

  auto r6 = parse(v2(0x21, 0x21, tcp6_payload()));
  REQUIRE(r6.status == Status::parsed);
  CHECK(r6.header.family == Family::tcp6);
  CHECK(address_text(r6.header.family, r6.header.source) == "2001:db8::1");
  CHECK(address_text(r6.header.family, r6.header.destination) == "::1");
  CHECK(r6.header.source.port == 1234);
  CHECK(r6.header.destination.port == 2121);
  CHECK(r6.header.length == 52);
}

TEST_CASE("PROXY v2 LOCAL, UNSPEC and UNIX carry no client address") {
  auto local = parse(v2(0x20, 0x00, ""));
  REQUIRE(local.status == Status::parsed);
  CHECK(local.header.command == Command::local);
  CHECK(local.header.family == Family::unknown);
  CHECK(local.header.length == 16);
  // LOCAL with addresses (HAProxy's health checks may send them): ignored.
  auto local_addresses = parse(v2(0x20, 0x11, tcp4_payload()));
  REQUIRE(local_addresses.status == Status::parsed);
  CHECK(local_addresses.header.command == Command::local);
  CHECK(local_addresses.header.family == Family::unknown);

  auto unspec = parse(v2(0x21, 0x00, ""));
  REQUIRE(unspec.status == Status::parsed);
  CHECK(unspec.header.family == Family::unknown);
  auto unix_socket = parse(v2(0x21, 0x31, std::string(216, '\0')));
  REQUIRE(unix_socket.status == Status::parsed);
  CHECK(unix_socket.header.family == Family::unknown);
}

TEST_CASE("PROXY v2 skips well-formed TLVs and refuses broken ones") {
  // A NOOP TLV (type 4) of 5 bytes and an ALPN (type 1) of 3 after the addresses.
  std::string tlvs = "\x04\x00\x05hello"s + "\x01\x00\x03" "ftp"s;
  auto r = parse(v2(0x21, 0x11, tcp4_payload() + tlvs) + "X");
  REQUIRE(r.status == Status::parsed);
  CHECK(r.header.length == 16 + 12 + tlvs.size());
  auto broken = parse(v2(0x21, 0x11, tcp4_payload() + "\x04\x00\x09hello"s));
  CHECK(broken.status == Status::malformed);
  CHECK(broken.error == "PROXY v2 header with broken TLVs");
}

TEST_CASE("PROXY v2 needs exactly the bytes it announced") {
  const std::string h = v2(0x21, 0x11, tcp4_payload());
  for (std::size_t n = 0; n < h.size(); ++n) {
    auto r = parse(h.substr(0, n));
    INFO("first " << n << " bytes");
    REQUIRE(r.status == Status::need_more);
    if (n >= 16) CHECK(r.more == h.size() - n);
  }
}

TEST_CASE("PROXY v2 refuses what is not a well-formed header") {
  CHECK(parse(v2(0x11, 0x11, tcp4_payload())).status == Status::malformed);  // version 1 in a v2 header
  CHECK(parse(v2(0x22, 0x11, tcp4_payload())).status == Status::malformed);  // command 2
  CHECK(parse(v2(0x21, 0x41, tcp4_payload())).status == Status::malformed);  // family 4
  CHECK(parse(v2(0x21, 0x12, tcp4_payload())).status == Status::malformed);  // UDP
  CHECK(parse(v2(0x21, 0x11, "\x01\x02\x03")).status == Status::malformed);   // shorter than its addresses
  CHECK(parse(v2(0x21, 0x21, tcp4_payload())).status == Status::malformed);  // IPv6 needs 36 bytes
  // Oversized: 2049 bytes announced is refused at once, before they arrive.
  std::string oversized = signature + "\x21\x11\x08\x01"s;
  auto r = parse(oversized);
  CHECK(r.status == Status::malformed);
  CHECK(r.error == "PROXY v2 header too long (over 2048 bytes of addresses and TLVs)");
  // The largest accepted: 2048 bytes, as padding (NOOP TLV).
  std::string padding = "\x04"s + "\x07\xf1"s + std::string(2033, '\0');
  REQUIRE(12 + padding.size() == 2048);
  CHECK(parse(v2(0x21, 0x11, tcp4_payload() + padding)).status == Status::parsed);
  // A corrupted signature, byte by byte.
  for (std::size_t i = 0; i < 12; ++i) {
    std::string h = v2(0x21, 0x11, tcp4_payload());
    h[i] = static_cast<char>(h[i] ^ 0x40);
    INFO("byte " << i);
    CHECK(parse(h).status == Status::malformed);
  }
}

TEST_CASE("looks_like_header tells a forged header from ordinary first bytes") {
  CHECK(looks_like_header("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
  CHECK(looks_like_header(signature + "\x21"));
  CHECK_FALSE(looks_like_header(signature.substr(0, 6)));  // the whole signature, or no header
  CHECK(may_become_header(signature.substr(0, 6), false));
  CHECK_FALSE(looks_like_header("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", false));  // a text file may start so
  CHECK(looks_like_header(signature + "\x21", false));
  CHECK(may_become_header("PROX", true));
  CHECK_FALSE(may_become_header("PROX", false));
  CHECK_FALSE(may_become_header("USER", true));
  CHECK_FALSE(looks_like_header("PROX"));
  CHECK_FALSE(looks_like_header("USER alice\r\n"));
  CHECK_FALSE(looks_like_header("\r\n"));
  CHECK_FALSE(looks_like_header("\r\nUSER a\r\n"));
  CHECK_FALSE(looks_like_header("\x16\x03\x01\x02\x00\x01"));
}
