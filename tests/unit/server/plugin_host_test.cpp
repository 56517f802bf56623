// The plugin host loads the real, built plugins and refuses broken ones with clear errors.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <cstdlib>
#include <unistd.h>

#include "server/plugin_host.hpp"

namespace {

ferry::PluginConfig plugin_config(std::string plugin, std::vector<ferry::OptionValue> values = {}) {
  ferry::PluginConfig pc;
  pc.plugin = std::move(plugin);
  pc.kind = ferry::PluginKind::file_provider;
  pc.line = 7;
  pc.where = "[[mount]] path = \"/\"";
  pc.options.config_file = "test.toml";
  pc.options.config_dir = FERRY_SOURCE_DIR;
  pc.options.values = std::move(values);
  return pc;
}

ferry::OptionValue option(std::string key, std::string value, std::uint32_t line = 8) {
  return ferry::OptionValue{std::move(key), std::move(value), line, 1};
}

}  // namespace

TEST_CASE("send_png loads, reports itself, and serves the shipped image read-only", "[plugin]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto provider = host.create_as<ferry::FileProvider>(plugin_config("send_png", {option("image", "plugins/send_png/ferry.png")}));
  REQUIRE(provider.ok());
  REQUIRE(host.loaded().size() == 1);
  CHECK(host.loaded()[0].name == "send_png");
  CHECK(host.loaded()[0].kind == ferry::PluginKind::file_provider);

  ferry::UserContext user{"demo"};
  auto info = provider.value()->stat(user, "/ferry.png");
  REQUIRE(info.ok());
  CHECK(info->size == std::filesystem::file_size(std::string(FERRY_SOURCE_DIR) + "/plugins/send_png/ferry.png"));
  CHECK_FALSE(provider.value()->stat(user, "/other.png").ok());
  auto listing = provider.value()->list(user, "/");
  REQUIRE(listing.ok());
  REQUIRE(listing->size() == 1);
  CHECK(listing->front().name == "ferry.png");
  auto file = provider.value()->open_read(user, "/ferry.png");
  REQUIRE(file.ok());
  CHECK(file.value()->native_fd() >= 0);
  CHECK(provider.value()->remove_file(user, "/ferry.png").error().status == ferry::Status::permission_denied);
  CHECK_FALSE(provider.value()->open_write(user, "/x.png", ferry::WriteMode::replace, 0).ok());
}

TEST_CASE("a plugin's own option errors name the config file and line", "[plugin]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto missing = host.create_as<ferry::FileProvider>(plugin_config("send_png", {option("image", "no/such.png", 12)}));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("test.toml:7:") == 0);
  CHECK(missing.error().message.find("send_png") != std::string::npos);
  CHECK(missing.error().message.find("test.toml:12:1") != std::string::npos);

  auto not_png = host.create_as<ferry::FileProvider>(plugin_config("send_png", {option("image", "config.toml")}));
  REQUIRE_FALSE(not_png.ok());
  CHECK(not_png.error().message.find("not a PNG") != std::string::npos);

  auto unknown = host.create_as<ferry::FileProvider>(
      plugin_config("send_png", {option("image", "plugins/send_png/ferry.png"), option("colour", "red", 9)}));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("test.toml:9:1: key 'colour' unknown key") != std::string::npos);
}

TEST_CASE("the wrong kind of plugin for a role is refused", "[plugin]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto as_authenticator = plugin_config("send_png", {option("image", "plugins/send_png/ferry.png")});
  as_authenticator.kind = ferry::PluginKind::authenticator;
  auto r = host.create_as<ferry::Authenticator>(as_authenticator);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("is file provider, but authenticator is needed") != std::string::npos);
}

TEST_CASE("a missing plugin file is a clear error", "[plugin]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto r = host.create_as<ferry::FileProvider>(plugin_config("no_such_plugin"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("test.toml:7: [[mount]] path = \"/\" plugin 'no_such_plugin': no such plugin") == 0);
}

TEST_CASE("plugin names cannot reach outside the plugin directory", "[plugin]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto r = host.create_as<ferry::FileProvider>(plugin_config("../plugins/send_png"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("not a valid plugin name") != std::string::npos);
}

TEST_CASE("a plugin built for another API version is refused", "[plugin]") {
  ferry::PluginHost host(FERRY_TEST_FIXTURE_DIR);
  auto r = host.create_as<ferry::FileProvider>(plugin_config("wrong_api"));
  REQUIRE_FALSE(r.ok());
  std::string expected = "built for plugin API version " + std::to_string(ferry::plugin_api_version + 1) +
                         ", this ferryd has version " + std::to_string(ferry::plugin_api_version);
  CHECK(r.error().message.find(expected) != std::string::npos);
}

TEST_CASE("a shared library without the ferry_plugin symbol is refused", "[plugin]") {
  ferry::PluginHost host(FERRY_TEST_FIXTURE_DIR);
  auto r = host.create_as<ferry::FileProvider>(plugin_config("no_entry"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("is not a ferry plugin") != std::string::npos);
}

TEST_CASE("a plain function exported as ferry_plugin (not through FERRY_PLUGIN) is refused", "[plugin]") {
  ferry::PluginHost host(FERRY_TEST_FIXTURE_DIR);
  auto r = host.create_as<ferry::FileProvider>(plugin_config("plain_export"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("test.toml:7: [[mount]] path = \"/\" plugin 'plain_export': ") == 0);
  CHECK(r.error().message.find("ferry_plugin is not exported with FERRY_PLUGIN(...)") != std::string::npos);
  CHECK(host.loaded().empty());
}

TEST_CASE("stripped plugins load as the packages ship them, and a stripped plain export is still refused", "[plugin]") {
  // dh_strip runs strip --strip-unneeded: the .symtab goes, the dynamic symbols stay.
  auto dir = std::filesystem::temp_directory_path() / ("ferry-stripped-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const std::string& source : {std::string(FERRY_PLUGIN_DIR) + "/libsend_png.so",
                                    std::string(FERRY_TEST_FIXTURE_DIR) + "/libplain_export.so"}) {
    auto target = dir / std::filesystem::path(source).filename();
    std::string command = "strip --strip-unneeded -o '" + target.string() + "' '" + source + "'";
    REQUIRE(std::system(command.c_str()) == 0);
    std::string symtab = "readelf -S '" + target.string() + "' | grep -q '\\.symtab'";
    REQUIRE(std::system(symtab.c_str()) != 0);  // really stripped
  }
  {
    ferry::PluginHost host(dir.string());
    auto provider = host.create_as<ferry::FileProvider>(plugin_config("send_png", {option("image", "plugins/send_png/ferry.png")}));
    REQUIRE(provider.ok());
    CHECK(host.loaded().at(0).name == "send_png");
    auto plain = host.create_as<ferry::FileProvider>(plugin_config("plain_export"));
    REQUIRE_FALSE(plain.ok());
    CHECK(plain.error().message.find("ferry_plugin is not exported with FERRY_PLUGIN(...)") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a plugin whose entry point throws is refused with the config line and its name", "[plugin]") {
  ferry::PluginHost host(FERRY_TEST_FIXTURE_DIR);
  auto r = host.create_as<ferry::FileProvider>(plugin_config("throwing_entry"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "test.toml:7: [[mount]] path = \"/\" plugin 'throwing_entry': its entry point threw: entry blew up");
  CHECK(host.loaded().empty());

  auto other = host.create_as<ferry::FileProvider>(plugin_config("throwing_entry_other"));
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message.find("test.toml:7: [[mount]] path = \"/\" plugin 'throwing_entry_other': its entry "
                                   "point threw something that is not a std::exception") == 0);
}

TEST_CASE("a file that is not a shared library is refused", "[plugin]") {
  auto dir = std::filesystem::temp_directory_path() / "ferry_plugin_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "libjunk.so") << "not an ELF file";
  ferry::PluginHost host(dir.string());
  auto r = host.create_as<ferry::FileProvider>(plugin_config("junk"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("cannot load") != std::string::npos);
  std::filesystem::remove_all(dir);
}
