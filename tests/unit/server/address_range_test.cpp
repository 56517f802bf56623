// Address ranges of server.proxy_protocol_from: parsing, and which addresses they hold.
#include "server/address_range.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>

using ferry::AddressRange;
using ferry::parse_address_range;

namespace {

std::vector<std::uint8_t> v4(const char* text) {
  std::vector<std::uint8_t> out(4);
  REQUIRE(inet_pton(AF_INET, text, out.data()) == 1);
  return out;
}
std::vector<std::uint8_t> v6(const char* text) {
  std::vector<std::uint8_t> out(16);
  REQUIRE(inet_pton(AF_INET6, text, out.data()) == 1);
  return out;
}

}  // namespace

TEST_CASE("an address is a range of one") {
  auto one = parse_address_range("127.0.0.10");
  REQUIRE(one);
  CHECK(one->contains(v4("127.0.0.10")));
  CHECK_FALSE(one->contains(v4("127.0.0.11")));
  CHECK(one->contains(v6("::ffff:127.0.0.10")));  // a dual-stack listener's view of it
  CHECK_FALSE(one->contains(v6("::1")));
}

TEST_CASE("CIDR blocks hold their addresses, IPv4 and IPv6 apart") {
  auto block = parse_address_range("10.1.0.0/17");
  REQUIRE(block);
  CHECK(block->contains(v4("10.1.127.255")));
  CHECK_FALSE(block->contains(v4("10.1.128.0")));
  auto all4 = parse_address_range("0.0.0.0/0");
  REQUIRE(all4);
  CHECK(all4->contains(v4("203.0.113.9")));
  CHECK_FALSE(all4->contains(v6("2001:db8::1")));
  auto six = parse_address_range("fd00::/8");
  REQUIRE(six);
  CHECK(six->contains(v6("fd12:3456::1")));
  CHECK_FALSE(six->contains(v6("fe80::1")));
  CHECK_FALSE(six->contains(v4("10.0.0.1")));
  CHECK(ferry::any_contains({*block, *six}, v6("fdff::")));
  CHECK_FALSE(ferry::any_contains({}, v4("10.1.0.1")));
}

TEST_CASE("what is not an address or a clean CIDR block is refused") {
  for (const char* bad : {"", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.1/8", "10.0.0.0/8/8", "10.0.0.0/+8",
                          "10.0.0.0/08x", "localhost", "10.0.0", "fd00::1/8", " 10.0.0.1"}) {
    INFO(bad);
    CHECK_FALSE(parse_address_range(bad));
  }
}
