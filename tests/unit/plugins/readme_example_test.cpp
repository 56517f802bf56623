// The plugin example of the README ("Writing a plugin"), built from the README's own text
// (tests/fixtures/CMakeLists.txt), loads through the real host and serves its file.
#include <catch2/catch.hpp>
#include <cstddef>
#include <string>
#include <vector>

#include "server/plugin_host.hpp"

namespace {

ferry::PluginConfig hello_config(std::vector<ferry::OptionValue> values) {
  ferry::PluginConfig pc;
  pc.kind = ferry::PluginKind::file_provider;
  pc.plugin = "readme_hello";
  pc.line = 1;
  pc.where = "[[mount]] path = \"/hello\"";
  pc.options.config_file = "test.toml";
  pc.options.values = std::move(values);
  return pc;
}

}  // namespace

TEST_CASE("the README's plugin example builds, loads and serves hello.txt", "[plugin][readme]") {
  ferry::PluginHost host(FERRY_TEST_FIXTURE_DIR);
  auto provider = host.create_as<ferry::FileProvider>(hello_config({}));
  INFO((provider.ok() ? std::string() : provider.error().message));
  REQUIRE(provider.ok());
  REQUIRE(host.loaded().size() == 1);
  CHECK(host.loaded()[0].name == "hello");
  CHECK(host.loaded()[0].version == "1.0.0");

  const ferry::UserContext user{"demo"};
  auto listing = provider.value()->list(user, "/");
  REQUIRE(listing.ok());
  REQUIRE(listing->size() == 1);
  CHECK(listing->front().name == "hello.txt");
  auto file = provider.value()->open_read(user, "/hello.txt");
  REQUIRE(file.ok());
  std::vector<std::byte> buffer(64);
  auto n = file.value()->read_at(0, buffer);
  REQUIRE(n.ok());
  CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), n.value()) == "hello from ferry\n");
  CHECK(provider.value()->open_read(user, "/").error().status == ferry::Status::is_a_directory);
  CHECK(provider.value()->remove_file(user, "/hello.txt").error().status == ferry::Status::permission_denied);
}

TEST_CASE("the README's plugin example refuses an unknown key with its position", "[plugin][readme]") {
  ferry::PluginHost host(FERRY_TEST_FIXTURE_DIR);
  auto r = host.create_as<ferry::FileProvider>(hello_config({ferry::OptionValue{"colour", std::string("red"), 4, 1}}));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("test.toml:4:1: key 'colour' unknown key") != std::string::npos);
}
