// Path normalisation: no input may climb above "/".
#include <catch2/catch.hpp>

#include "vfs/mount_table.hpp"
#include "vfs/path.hpp"

using ferry::vfs::normalize;

TEST_CASE("relative paths resolve against the current directory", "[vfs][path]") {
  CHECK(normalize("/", "ferry.png") == "/ferry.png");
  CHECK(normalize("/a/b", "c") == "/a/b/c");
  CHECK(normalize("/a/b", "/c") == "/c");
  CHECK(normalize("/a/b", "") == "/a/b");
}

TEST_CASE("dot, dot-dot, doubled and trailing slashes collapse", "[vfs][path]") {
  CHECK(normalize("/", "a//b/./c/") == "/a/b/c");
  CHECK(normalize("/a/b", "..") == "/a");
  CHECK(normalize("/a/b", "../../..") == "/");
  CHECK(normalize("/", "/..") == "/");
  CHECK(normalize("/", "../../etc/passwd") == "/etc/passwd");
  CHECK(normalize("/a", "b/../../../c") == "/c");
  CHECK(normalize("/", "...") == "/...");  // a legal name, not a parent
}

TEST_CASE("a NUL byte is refused", "[vfs][path]") {
  CHECK_FALSE(normalize("/", std::string_view("a\0b", 3)));
}

TEST_CASE("base name and parent", "[vfs][path]") {
  CHECK(ferry::vfs::base_name("/a/b.png") == "b.png");
  CHECK(ferry::vfs::base_name("/") == "");
  CHECK(ferry::vfs::parent_path("/a/b") == "/a");
  CHECK(ferry::vfs::parent_path("/a") == "/");
}

TEST_CASE("the longest mount prefix wins, at component boundaries", "[vfs][mount]") {
  ferry::vfs::MountTable table;
  REQUIRE(table.add({"/", nullptr, "root"}));
  REQUIRE(table.add({"/files", nullptr, "files"}));
  REQUIRE(table.add({"/files/pub", nullptr, "pub"}));
  REQUIRE_FALSE(table.add({"/files", nullptr, "again"}));

  auto r = table.resolve("/files/pub/x.png");
  REQUIRE(r.mount);
  CHECK(r.mount->plugin == "pub");
  CHECK(r.relative == "/x.png");
  CHECK(table.resolve("/files").mount->plugin == "files");
  CHECK(table.resolve("/files").relative == "/");
  CHECK(table.resolve("/filesystem").mount->plugin == "root");  // not under /files
  CHECK(table.resolve("/filesystem").relative == "/filesystem");
  CHECK(table.child_mounts("/") == std::vector<std::string>{"files"});
  CHECK(table.child_mounts("/files") == std::vector<std::string>{"pub"});
  CHECK(table.is_mount_ancestor("/files"));
  CHECK_FALSE(table.is_mount_ancestor("/files/pub"));
}

TEST_CASE("without a root mount, paths outside every mount resolve to nothing", "[vfs][mount]") {
  ferry::vfs::MountTable table;
  REQUIRE(table.add({"/a/b", nullptr, "deep"}));
  CHECK_FALSE(table.resolve("/").mount);
  CHECK(table.is_mount_ancestor("/"));
  CHECK(table.is_mount_ancestor("/a"));
  CHECK(table.child_mounts("/") == std::vector<std::string>{"a"});
}
