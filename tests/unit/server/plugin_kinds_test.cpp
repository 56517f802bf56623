// The table of plugin kinds: each row's name and config table, an unknown kind named as
// such (not taken for a file provider), and refused by the loader and the config parser.
#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "server/config.hpp"
#include "server/plugin_host.hpp"
#include "server/plugin_kinds.hpp"

namespace {

ferry::PluginConfig fixture_config(std::string plugin, ferry::PluginKind kind) {
  ferry::PluginConfig pc;
  pc.kind = kind;
  pc.plugin = std::move(plugin);
  pc.line = 3;
  pc.where = "[auth]";
  pc.options.config_file = "test.toml";
  return pc;
}

}  // namespace

TEST_CASE("each kind has its name and its config table", "[plugin][kinds]") {
  CHECK(ferry::plugin_kind_name(ferry::PluginKind::authenticator) == "authenticator");
  CHECK(ferry::plugin_kind_name(ferry::PluginKind::file_provider) == "file provider");

  const ferry::PluginKindRow* auth = ferry::find_plugin_kind("auth");
  REQUIRE(auth != nullptr);
  CHECK(auth->kind == ferry::PluginKind::authenticator);
  CHECK_FALSE(auth->many);
  CHECK_FALSE(auth->mounted);
  const ferry::PluginKindRow* mount = ferry::find_plugin_kind("mount");
  REQUIRE(mount != nullptr);
  CHECK(mount->kind == ferry::PluginKind::file_provider);
  CHECK(mount->many);
  CHECK(mount->mounted);
  CHECK(ferry::find_plugin_kind(ferry::PluginKind::file_provider) == mount);

  // One row per kind and per table, each with what the generation does with its objects.
  std::set<std::uint32_t> kinds;
  std::set<std::string_view> tables;
  for (const ferry::PluginKindRow& row : ferry::plugin_kinds()) {
    CHECK(kinds.insert(static_cast<std::uint32_t>(row.kind)).second);
    CHECK(tables.insert(row.table).second);
    CHECK_FALSE(row.name.empty());
    CHECK(row.install != nullptr);
  }
  CHECK(kinds.size() == 2);
}

TEST_CASE("an unknown kind is named as unknown, never as another kind", "[plugin][kinds]") {
  const auto unknown = static_cast<ferry::PluginKind>(99);
  CHECK(ferry::find_plugin_kind(unknown) == nullptr);
  CHECK(ferry::plugin_kind_name(unknown) == "unknown kind 99");
  CHECK(ferry::find_plugin_kind("event_sink") == nullptr);
}

TEST_CASE("a plugin of an unknown kind is refused at load", "[plugin][kinds]") {
  ferry::PluginHost host(FERRY_TEST_FIXTURE_DIR);
  auto r = host.create(fixture_config("unknown_kind", ferry::PluginKind::file_provider));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "test.toml:3: [auth] plugin 'unknown_kind': makes objects of unknown kind 99, which this ferryd does not know");
  CHECK(host.loaded().empty());
}

TEST_CASE("a config table of no known kind is an unknown key", "[config][kinds]") {
  auto r = ferry::parse_config("[auth]\nplugin = \"auth_file\"\n[[mount]]\npath = \"/\"\nplugin = \"send_png\"\n"
                               "[[event_sink]]\nplugin = \"x\"\n",
                               "c.toml");
  REQUIRE_FALSE(r.config);
  CHECK(r.error == "c.toml:6:3: unknown key 'event_sink'");
}

TEST_CASE("the config files every plugin table under its kind, in the file's order", "[config][kinds]") {
  auto r = ferry::parse_config("[[mount]]\npath = \"/b\"\nplugin = \"fs_local\"\n[auth]\nplugin = \"auth_file\"\n"
                               "[[mount]]\npath = \"/a/\"\nplugin = \"send_png\"\n",
                               "c.toml");
  REQUIRE(r.config);
  REQUIRE(r.config->plugins.size() == 3);
  auto mounts = r.config->plugins_of(ferry::PluginKind::file_provider);
  REQUIRE(mounts.size() == 2);
  CHECK(mounts[0]->path == "/b");
  CHECK(mounts[1]->path == "/a");
  CHECK(mounts[1]->where == "[[mount]] path = \"/a\"");
  auto auth = r.config->plugins_of(ferry::PluginKind::authenticator);
  REQUIRE(auth.size() == 1);
  CHECK(auth[0]->plugin == "auth_file");
  CHECK(auth[0]->path.empty());
  CHECK(auth[0]->where == "[auth]");

  CHECK(ferry::parse_config("[[auth]]\nplugin = \"auth_file\"\n[[mount]]\npath = \"/\"\nplugin = \"send_png\"\n", "c")
            .error.find("'auth' must be a table") != std::string::npos);
  CHECK(ferry::parse_config("[auth]\nplugin = \"auth_file\"\n[mount]\npath = \"/\"\nplugin = \"send_png\"\n", "c")
            .error.find("'mount' must be an array of tables ([[mount]])") != std::string::npos);
}
