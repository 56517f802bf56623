// The optional I/O interfaces (ferry/io_hints.hpp), found with dynamic_cast across the
// plugin boundary: fs_local's provider and write handles implement them, send_png does not.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "ferry/io_hints.hpp"
#include "server/plugin_host.hpp"

namespace fs = std::filesystem;

namespace {

ferry::PluginConfig mount_config(std::string plugin, std::vector<ferry::OptionValue> values) {
  ferry::PluginConfig pc;
  pc.kind = ferry::PluginKind::file_provider;
  pc.plugin = std::move(plugin);
  pc.line = 1;
  pc.where = "[[mount]] path = \"/\"";
  pc.options.config_file = "test.toml";
  pc.options.config_dir = FERRY_SOURCE_DIR;
  pc.options.values = std::move(values);
  return pc;
}

ferry::OptionValue option(std::string key, std::variant<std::string, std::int64_t, bool, double, std::vector<std::string>> value) {
  return ferry::OptionValue{std::move(key), std::move(value), 2, 1};
}

}  // namespace

TEST_CASE("fs_local offers the I/O hints, on its provider and its write handles", "[plugin][io_hints]") {
  const fs::path dir = fs::temp_directory_path() / ("ferry-io-hints-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    ferry::PluginHost host(FERRY_PLUGIN_DIR);
    auto provider = host.create_as<ferry::FileProvider>(
        mount_config("fs_local", {option("root", dir.string()), option("writable", true)}));
    REQUIRE(provider.ok());
    auto* provider_hints = dynamic_cast<ferry::ProviderIoHints*>(provider.value().get());
    REQUIRE(provider_hints != nullptr);
    CHECK(provider_hints->fast_open());  // a temporary directory is on a local file system

    const ferry::UserContext user{"demo"};
    auto replace = provider.value()->open_write(user, "/new", ferry::WriteMode::replace, 0);
    REQUIRE(replace.ok());
    auto* write_hints = dynamic_cast<ferry::WriteIoHints*>(replace.value().get());
    REQUIRE(write_hints != nullptr);
    CHECK(write_hints->fast_write());
    CHECK(write_hints->accepts_splice());
    CHECK(replace.value()->final_name() == "new");

    auto append = provider.value()->open_write(user, "/appended", ferry::WriteMode::append, 0);
    REQUIRE(append.ok());
    auto* append_hints = dynamic_cast<ferry::WriteIoHints*>(append.value().get());
    REQUIRE(append_hints != nullptr);
    CHECK(append_hints->fast_write());
    CHECK_FALSE(append_hints->accepts_splice());  // splice(2) refuses O_APPEND
  }
  fs::remove_all(dir);
}

TEST_CASE("send_png offers no I/O hints: the core takes the general path", "[plugin][io_hints]") {
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto provider =
      host.create_as<ferry::FileProvider>(mount_config("send_png", {option("image", std::string("plugins/send_png/ferry.png"))}));
  REQUIRE(provider.ok());
  CHECK(dynamic_cast<ferry::ProviderIoHints*>(provider.value().get()) == nullptr);
  CHECK(dynamic_cast<ferry::WriteIoHints*>(provider.value().get()) == nullptr);
}
