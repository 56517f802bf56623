// Content stamps (ferry/io_hints.hpp: ProviderStamps, WriteStamps) of fs_local, loaded as the
// built module: an upload's committed stamp is the file's stamp, and only when the upload
// alone made the file's bytes; any later change, of the same size too, changes the stamp.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

#include "ferry/io_hints.hpp"
#include "server/plugin_host.hpp"

namespace fs = std::filesystem;

namespace {

ferry::PluginConfig mount_config(const fs::path& root) {
  ferry::PluginConfig pc;
  pc.kind = ferry::PluginKind::file_provider;
  pc.plugin = "fs_local";
  pc.line = 1;
  pc.where = "[[mount]] path = \"/\"";
  pc.options.config_file = "test.toml";
  pc.options.config_dir = FERRY_SOURCE_DIR;
  pc.options.values = {ferry::OptionValue{"root", root.string(), 2, 1}, ferry::OptionValue{"writable", true, 3, 1}};
  return pc;
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

struct Fixture {
  Fixture() : dir(fs::temp_directory_path() / ("ferry-stamps-" + std::to_string(::getpid()))) {
    fs::create_directories(dir);
  }
  ~Fixture() { fs::remove_all(dir); }
  fs::path dir;
  ferry::UserContext user{"demo"};
};

// Writes `data` through an upload handle of `mode`, commits it, returns its committed stamp.
std::optional<ferry::ContentStamp> upload(ferry::FileProvider& provider, const ferry::UserContext& user,
                                          const std::string& path, const std::string& data, ferry::WriteMode mode,
                                          std::uint64_t offset = 0) {
  auto handle = provider.open_write(user, path, mode, offset);
  REQUIRE(handle.ok());
  REQUIRE(handle.value()->write(bytes(data)).ok());
  REQUIRE(handle.value()->commit().ok());
  auto* stamps = dynamic_cast<ferry::WriteStamps*>(handle.value().get());
  REQUIRE(stamps != nullptr);
  return stamps->committed_stamp();
}

}  // namespace

TEST_CASE("fs_local: a new file's and a replacement's committed stamp is the file's stamp", "[plugin][stamps]") {
  Fixture f;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto provider = host.create_as<ferry::FileProvider>(mount_config(f.dir));
  REQUIRE(provider.ok());
  auto* stamps = dynamic_cast<ferry::ProviderStamps*>(provider.value().get());
  REQUIRE(stamps != nullptr);

  auto created = upload(*provider.value(), f.user, "/a", "first content", ferry::WriteMode::replace);
  REQUIRE(created.has_value());
  REQUIRE(stamps->content_stamp(f.user, "/a").ok());
  CHECK(stamps->content_stamp(f.user, "/a").value() == *created);

  auto replaced = upload(*provider.value(), f.user, "/a", "other content", ferry::WriteMode::replace);  // same size
  REQUIRE(replaced.has_value());
  CHECK_FALSE(*replaced == *created);
  CHECK(stamps->content_stamp(f.user, "/a").value() == *replaced);

  SECTION("a write of the same size at once changes the stamp") {
    const int fd = ::open((f.dir / "a").c_str(), O_WRONLY);
    REQUIRE(fd >= 0);
    REQUIRE(::pwrite(fd, "X", 1, 0) == 1);
    ::close(fd);
    CHECK_FALSE(stamps->content_stamp(f.user, "/a").value() == *replaced);
  }
  SECTION("a directory has no stamp; neither has a missing file") {
    fs::create_directory(f.dir / "d");
    CHECK_FALSE(stamps->content_stamp(f.user, "/d").ok());
    CHECK_FALSE(stamps->content_stamp(f.user, "/missing").ok());
  }
}

TEST_CASE("fs_local vouches for no file it did not write alone from its first byte", "[plugin][stamps]") {
  Fixture f;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto provider = host.create_as<ferry::FileProvider>(mount_config(f.dir));
  REQUIRE(provider.ok());
  REQUIRE(upload(*provider.value(), f.user, "/b", "0123456789", ferry::WriteMode::replace).has_value());

  SECTION("APPE to an existing file") {
    CHECK_FALSE(upload(*provider.value(), f.user, "/b", "more", ferry::WriteMode::append).has_value());
  }
  SECTION("REST + STOR into an existing file") {
    CHECK_FALSE(upload(*provider.value(), f.user, "/b", "abc", ferry::WriteMode::resume, 5).has_value());
  }
  SECTION("APPE creating the file: all of it is the upload's") {
    CHECK(upload(*provider.value(), f.user, "/new-by-appe", "all mine", ferry::WriteMode::append).has_value());
  }
  SECTION("another upload writing the same inode meanwhile") {
    auto first = provider.value()->open_write(f.user, "/shared", ferry::WriteMode::replace, 0);
    REQUIRE(first.ok());
    REQUIRE(first.value()->write(bytes("aaaa")).ok());
    auto second = provider.value()->open_write(f.user, "/shared", ferry::WriteMode::resume, 2);  // the same inode
    REQUIRE(second.ok());
    REQUIRE(second.value()->write(bytes("bb")).ok());
    REQUIRE(second.value()->commit().ok());
    REQUIRE(first.value()->commit().ok());
    CHECK_FALSE(dynamic_cast<ferry::WriteStamps*>(first.value().get())->committed_stamp().has_value());
    CHECK_FALSE(dynamic_cast<ferry::WriteStamps*>(second.value().get())->committed_stamp().has_value());
  }
}
