// Console logins: random tokens, expiry when idle and at most after a lifetime, a bound.
#include <catch2/catch.hpp>

#include "server/admin/operator_sessions.hpp"

using ferry::admin::OperatorSessions;
using namespace std::chrono_literals;

TEST_CASE("a login lasts while used, and not past its lifetime", "[admin]") {
  OperatorSessions logins(30min, 12h, 4);
  const auto t0 = OperatorSessions::Clock::time_point{} + 1000h;
  std::string token = logins.create("alice", t0);
  CHECK(token.size() == 64);
  const auto* login = logins.find(token, t0 + 29min);
  REQUIRE(login);
  CHECK(login->user == "alice");
  CHECK(login->csrf.size() == 64);
  CHECK(login->csrf != token);
  CHECK(logins.find(token, t0 + 58min));        // used at 29 min: idle again from there
  CHECK_FALSE(logins.find(token, t0 + 90min));  // idle for 32 min: expired, and gone
  CHECK_FALSE(logins.find(token, t0 + 58min));

  std::string busy = logins.create("bob", t0);
  for (auto t = t0; t < t0 + 12h - 1min; t += 20min) REQUIRE(logins.find(busy, t));
  CHECK_FALSE(logins.find(busy, t0 + 12h));  // however busy
  CHECK_FALSE(logins.find("nonsense", t0));
}

TEST_CASE("tokens are random and logins bounded", "[admin]") {
  OperatorSessions logins(30min, 12h, 3);
  const auto t0 = OperatorSessions::Clock::time_point{} + 1000h;
  std::string first = logins.create("a", t0);
  logins.create("b", t0 + 1s);
  logins.create("c", t0 + 2s);
  std::string fourth = logins.create("d", t0 + 3s);
  CHECK(logins.size() == 3);
  CHECK_FALSE(logins.find(first, t0 + 4s));  // the oldest made room
  CHECK(logins.find(fourth, t0 + 4s));
  CHECK(first != fourth);
  logins.remove(fourth);
  CHECK_FALSE(logins.find(fourth, t0 + 5s));
  CHECK(ferry::admin::same_secret("abc", "abc"));
  CHECK_FALSE(ferry::admin::same_secret("abc", "abd"));
  CHECK_FALSE(ferry::admin::same_secret("abc", "ab"));
}
