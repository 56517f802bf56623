// auth_pgsql through the real loader: its options are checked at start-up with the config
// line, and a database that cannot be reached is "unavailable" (the core's 421, no ban),
// never a refused login. Logins against a real PostgreSQL: tests/e2e/test_scaleout.py.
#include <catch2/catch.hpp>

#include "server/plugin_host.hpp"

namespace {

ferry::PluginConfig auth_config(std::vector<ferry::OptionValue> values) {
  ferry::PluginConfig pc;
  pc.plugin = "auth_pgsql";
  pc.kind = ferry::PluginKind::authenticator;
  pc.line = 3;
  pc.where = "[auth]";
  pc.options.config_file = "test.toml";
  pc.options.config_dir = FERRY_SOURCE_DIR;
  pc.options.values = std::move(values);
  return pc;
}

ferry::OptionValue option(std::string key, std::string value, std::uint32_t line = 4) {
  return ferry::OptionValue{std::move(key), std::move(value), line, 1};
}

// A Unix socket directory with no server behind it.
const char* nowhere = "host=/nonexistent/ferry-test dbname=ferry user=ferry connect_timeout=1";

}  // namespace

TEST_CASE("auth_pgsql refuses bad options at start-up, naming the key's line", "[plugin][auth_pgsql]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  struct Case {
    std::vector<ferry::OptionValue> options;
    const char* expected;
  };
  const Case cases[] = {
      {{}, "missing required key 'database'"},
      {{option("database", nowhere), option("table", "users; DROP TABLE x", 5)}, "test.toml:5:1: key 'table'"},
      {{option("database", nowhere), option("hash_column", "hash\"", 6)}, "test.toml:6:1: key 'hash_column'"},
      {{option("database", nowhere), option("query", "SELECT hash FROM u WHERE name = 'x'", 7)},
       "test.toml:7:1: key 'query' must use $1"},
      {{option("database", nowhere), option("query", "SELECT hash FROM u WHERE name = $1"), option("table", "u", 8)},
       "test.toml:8:1: key 'table' cannot be used with 'query'"},
      {{option("database", "host=x port", 9)}, "test.toml:9:1: key 'database' is not a valid libpq connection string"},
      {{option("database", nowhere), option("colour", "red", 10)}, "test.toml:10:1: key 'colour' unknown key"},
  };
  for (const Case& c : cases) {
    auto made = host.create_as<ferry::Authenticator>(auth_config(c.options));
    REQUIRE_FALSE(made.ok());
    INFO(made.error().message);
    CHECK(made.error().message.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("auth_pgsql starts without its database and reports it unavailable, not a refusal", "[plugin][auth_pgsql]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto made = host.create_as<ferry::Authenticator>(
      auth_config({option("database", nowhere), option("table", "ftp.users"), option("home_column", "")}));
  REQUIRE(made.ok());
  auto result = made.value()->authenticate(ferry::LoginRequest{"alice", "secret", "192.0.2.1"});
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().status != ferry::Status::permission_denied);
  CHECK(result.error().message.find("auth_pgsql: database unreachable") == 0);
  // A name that could not be a user is refused before the database is asked.
  auto invalid = made.value()->authenticate(ferry::LoginRequest{"al\nice", "secret", "192.0.2.1"});
  REQUIRE_FALSE(invalid.ok());
  CHECK(invalid.error().status == ferry::Status::permission_denied);
}

TEST_CASE("auth_pgsql declares its Unix socket directory for confinement", "[plugin][auth_pgsql]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto made = host.create_as<ferry::Authenticator>(
      auth_config({option("database", "host=/run/postgresql,db.example dbname=ferry connect_timeout=1")}));
  REQUIRE(made.ok());
  const auto& needs = host.confinement_needs();
  REQUIRE(needs.size() == 1);
  CHECK(needs.front().need.path == "/run/postgresql");
  CHECK(needs.front().need.access == ferry::path_read);
}
