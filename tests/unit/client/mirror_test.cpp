// The pure parts of mirror and put: the plan (what changed), remote path joining, the
// summary line, and where `put` puts a file.
#include "mirror.hpp"

#include <catch2/catch.hpp>

#include "upload.hpp"

using namespace ferry::client;
using ferry::FileType;

namespace {

TreeEntry file(std::string path, std::uint64_t size, std::int64_t mtime = 100) {
  return TreeEntry{std::move(path), FileType::file, size, mtime};
}
TreeEntry dir(std::string path) { return TreeEntry{std::move(path), FileType::directory, 0, 0}; }

std::vector<std::string> paths(const std::vector<TreeEntry>& entries) {
  std::vector<std::string> out;
  for (const auto& e : entries) out.push_back(e.path);
  return out;
}

}  // namespace

TEST_CASE("plan_mirror: everything is new against an empty target", "[client][mirror]") {
  const std::vector<TreeEntry> source = {file("b/c/x", 3), dir("b"), file("a", 0), dir("b/c"), dir("e")};
  const MirrorPlan plan = plan_mirror(source, {}, true);
  CHECK(plan.directories == std::vector<std::string>{"b", "b/c", "e"});
  CHECK(paths(plan.transfers) == std::vector<std::string>{"a", "b/c/x"});
  CHECK(plan.unchanged == 0);
  CHECK(plan.notes.empty());
}

TEST_CASE("plan_mirror: only what differs in size or is newer", "[client][mirror]") {
  const std::vector<TreeEntry> source = {file("same", 10, 100), file("bigger", 11, 100), file("newer", 10, 200),
                                         file("older", 10, 50), file("unknown_time", 10, 0), dir("d"),
                                         file("d/new", 1)};
  const std::vector<TreeEntry> target = {file("same", 10, 100), file("bigger", 10, 100), file("newer", 10, 100),
                                         file("older", 10, 100), file("unknown_time", 10, 100), dir("d"),
                                         file("extra", 5)};
  const MirrorPlan with_time = plan_mirror(source, target, true);
  CHECK(with_time.directories.empty());
  CHECK(paths(with_time.transfers) == std::vector<std::string>{"bigger", "d/new", "newer"});
  CHECK(with_time.unchanged == 3);

  const MirrorPlan size_only = plan_mirror(source, target, false);
  CHECK(paths(size_only.transfers) == std::vector<std::string>{"bigger", "d/new"});
  CHECK(size_only.unchanged == 4);
}

TEST_CASE("plan_mirror: symlinks and type clashes are skipped with a note", "[client][mirror]") {
  std::vector<TreeEntry> source = {dir("x"), file("x/inside", 1), file("y", 1), dir("z"), file("z/ok", 1)};
  source.push_back(TreeEntry{"link", FileType::symlink, 0, 0});
  const std::vector<TreeEntry> target = {file("x", 4), dir("y")};
  const MirrorPlan plan = plan_mirror(source, target, true);
  CHECK(plan.directories == std::vector<std::string>{"z"});
  CHECK(paths(plan.transfers) == std::vector<std::string>{"z/ok"});
  REQUIRE(plan.notes.size() == 3);
  CHECK(plan.notes[0] == "skipping symlink link (symlinks are not followed)");
  CHECK(plan.notes[1].starts_with("skipping x/:"));
  CHECK(plan.notes[2].starts_with("skipping y:"));
}

TEST_CASE("plan_mirror: a name that only shares a prefix with a skipped directory is kept", "[client][mirror]") {
  const std::vector<TreeEntry> source = {dir("a"), file("a/x", 1), file("a.txt", 2), file("ab", 3)};
  const std::vector<TreeEntry> target = {file("a", 1)};
  const MirrorPlan plan = plan_mirror(source, target, true);
  CHECK(paths(plan.transfers) == std::vector<std::string>{"a.txt", "ab"});
}

TEST_CASE("join_remote", "[client][mirror]") {
  CHECK(join_remote("/", "a") == "/a");
  CHECK(join_remote("/up/", "a/b") == "/up/a/b");
  CHECK(join_remote("/up", "") == "/up");
  CHECK(join_remote("/", "") == "/");
  CHECK(join_remote("", "x") == "/x");
}

TEST_CASE("mirror summary line", "[client][mirror]") {
  MirrorSummary summary;
  summary.unchanged = 40;
  CHECK(describe(summary) == "mirror: 0 files transferred, 40 unchanged, 0 failed");
  summary.transferred = 12;
  summary.bytes = 3565158;
  summary.failed = 1;
  CHECK(describe(summary) == "mirror: 12 files (3.4 MiB) transferred, 40 unchanged, 1 failed");
  summary.transferred = 1;
  summary.bytes = 5;
  summary.skipped = 2;
  CHECK(describe(summary) == "mirror: 1 file (5 B) transferred, 40 unchanged, 1 failed, 2 skipped");
}

TEST_CASE("put: the remote name for a file", "[client][upload]") {
  CHECK(choose_remote_target("/dir/", "local/file.txt") == "/dir/file.txt");
  CHECK(choose_remote_target("/", "file.txt") == "/file.txt");
  CHECK(choose_remote_target("", "file.txt") == "/file.txt");
  CHECK(choose_remote_target("/dir/other.txt", "local/file.txt") == "/dir/other.txt");
  CHECK_THROWS_AS(choose_remote_target("/dir/", "local/"), ClientError);
}

TEST_CASE("put: the receipt line", "[client][upload]") {
  UploadReceipt receipt;
  receipt.size = 6;
  CHECK(describe(receipt) == "sent 6 bytes, not verified: server does not offer HASH");
  receipt.verification = Verification::matched;
  receipt.sha256 = "ab12";
  CHECK(describe(receipt) == "sent 6 bytes, SHA-256 matches the server (ab12)");
}
