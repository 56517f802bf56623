// Per-client session limits and login bans, and what counts as one client.
#include <catch2/catch.hpp>

#include "server/server_state.hpp"

using asio::ip::make_address;
using ferry::AddressBans;
using ferry::client_key;
using ferry::SessionLimits;

TEST_CASE("a client is an IPv4 address or an IPv6 /64", "[admission]") {
  CHECK(client_key(make_address("192.0.2.7")) == "192.0.2.7");
  CHECK(client_key(make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")) == "2001:db8:1:2::/64");
  CHECK(client_key(make_address("2001:db8:1:2::1")) == client_key(make_address("2001:db8:1:2:ffff::9")));
  CHECK(client_key(make_address("2001:db8:1:3::1")) != client_key(make_address("2001:db8:1:2::1")));
  CHECK(client_key(make_address("::ffff:192.0.2.7")) == "192.0.2.7");
  CHECK(client_key(make_address("::1")) == "::/64");
}

TEST_CASE("the per-client session limit counts a whole IPv6 /64", "[admission]") {
  SessionLimits limits(10, 2);
  auto a = make_address("2001:db8::1"), b = make_address("2001:db8::2:3"), other = make_address("2001:db8:0:1::1");
  CHECK(limits.admit(a) == SessionLimits::Admission::admitted);
  CHECK(limits.admit(b) == SessionLimits::Admission::admitted);
  CHECK(limits.admit(make_address("2001:db8::99")) == SessionLimits::Admission::too_many_from_address);
  CHECK(limits.admit(other) == SessionLimits::Admission::admitted);
  limits.release(a);
  CHECK(limits.admit(make_address("2001:db8::99")) == SessionLimits::Admission::admitted);
  CHECK(limits.active() == 3);
}

TEST_CASE("a ban from failures anywhere in a /64 holds for all of it", "[admission]") {
  AddressBans bans(3, std::chrono::seconds(600), std::chrono::seconds(900));
  CHECK_FALSE(bans.record_failure(make_address("2001:db8::1")));
  CHECK_FALSE(bans.record_failure(make_address("2001:db8::2")));
  CHECK(bans.record_failure(make_address("2001:db8::3")));  // a new address each time: still one client
  CHECK(bans.banned(make_address("2001:db8::abcd")));
  CHECK_FALSE(bans.banned(make_address("2001:db8:0:1::1")));
  CHECK_FALSE(bans.banned(make_address("192.0.2.1")));

  AddressBans never(3, std::chrono::seconds(600), std::chrono::seconds(0));
  for (int i = 0; i < 5; ++i) CHECK_FALSE(never.record_failure(make_address("192.0.2.1")));
  CHECK_FALSE(never.banned(make_address("192.0.2.1")));
}

TEST_CASE("the operator's ban list: ban, list, lift", "[admission][bans]") {
  AddressBans bans(3, std::chrono::seconds(600), std::chrono::seconds(900));
  ferry::BanList& list = bans;
  CHECK(list.bans().empty());
  CHECK(list.ban("192.0.2.9", std::chrono::seconds(60), "by operator alice") == std::optional<std::string>("192.0.2.9"));
  CHECK(list.ban("2001:db8::5", std::chrono::seconds(30), "x") == std::optional<std::string>("2001:db8::/64"));
  CHECK(list.ban("2001:db8:1::/64", std::chrono::seconds(30), "x") == std::optional<std::string>("2001:db8:1::/64"));
  CHECK_FALSE(list.ban("192.0.2.1/64", std::chrono::seconds(30), "x"));
  CHECK_FALSE(list.ban("example.org", std::chrono::seconds(30), "x"));
  CHECK(bans.banned(make_address("192.0.2.9")));
  CHECK(bans.banned(make_address("2001:db8::77")));
  auto listed = list.bans();
  REQUIRE(listed.size() == 3);
  CHECK(listed.back().address == "192.0.2.9");  // soonest ending first
  CHECK(listed.back().reason == "by operator alice");
  CHECK(listed.back().until > std::chrono::system_clock::now() + std::chrono::seconds(55));
  CHECK(list.unban("192.0.2.9"));
  CHECK_FALSE(list.unban("192.0.2.9"));
  CHECK_FALSE(bans.banned(make_address("192.0.2.9")));
  // A ban from failed logins says why.
  for (int i = 0; i < 3; ++i) bans.record_failure(make_address("198.51.100.4"));
  bool found = false;
  for (const auto& b : list.bans()) {
    if (b.address == "198.51.100.4") {
      found = true;
      CHECK(b.reason == "3 failed logins within 600 s");
    }
  }
  CHECK(found);
}

TEST_CASE("per-address limits count the sessions other nodes reported", "[admission]") {
  ferry::SessionLimits limits(100, 3);
  limits.set_elsewhere({{"192.0.2.9", 2}});
  CHECK(limits.admit(make_address("192.0.2.9")) == ferry::SessionLimits::Admission::admitted);
  CHECK(limits.admit(make_address("192.0.2.9")) == ferry::SessionLimits::Admission::too_many_from_address);
  CHECK(limits.per_address() == std::unordered_map<std::string, unsigned>{{"192.0.2.9", 1}});
  limits.set_elsewhere({});
  CHECK(limits.admit(make_address("192.0.2.9")) == ferry::SessionLimits::Admission::admitted);
}
