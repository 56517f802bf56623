// fs_local, loaded as the built module through the real plugin host: per-user roots, the
// jail (openat2 and the fallback walk), uploads in every WriteMode, changes and their
// errors, read-only mounts, and option errors.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "server/plugin_host.hpp"

namespace fs = std::filesystem;

namespace {

using ferry::Status;
using ferry::WriteMode;

// A fresh directory under /tmp, removed with everything in it (symlinks are not followed).
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ferry_fs_local_XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Forces the fallback walk for providers created while it lives.
class WalkSwitch {
 public:
  explicit WalkSwitch(bool on) : on_(on) {
    if (on_) ::setenv("FERRY_FS_LOCAL_WALK", "1", 1);
  }
  ~WalkSwitch() {
    if (on_) ::unsetenv("FERRY_FS_LOCAL_WALK");
  }
  WalkSwitch(const WalkSwitch&) = delete;
  WalkSwitch& operator=(const WalkSwitch&) = delete;

 private:
  bool on_;
};

ferry::OptionValue opt(std::string key, std::string value, std::uint32_t line = 8) {
  return ferry::OptionValue{std::move(key), std::move(value), line, 1};
}
ferry::OptionValue opt(std::string key, bool value, std::uint32_t line = 8) {
  return ferry::OptionValue{std::move(key), value, line, 1};
}
ferry::OptionValue opt(std::string key, std::int64_t value, std::uint32_t line = 8) {
  return ferry::OptionValue{std::move(key), value, line, 1};
}

ferry::PluginConfig config(const fs::path& dir, std::vector<ferry::OptionValue> values) {
  ferry::PluginConfig pc;
  pc.plugin = "fs_local";
  pc.kind = ferry::PluginKind::file_provider;
  pc.line = 7;
  pc.where = "[[mount]] path = \"/\"";
  pc.options.config_file = "test.toml";
  pc.options.config_dir = dir.string();
  // Most tests change files: writable unless a test says otherwise (the default is false).
  bool writable_given = false;
  for (const auto& v : values) writable_given = writable_given || v.key == "writable";
  if (!writable_given) values.push_back(opt("writable", true));
  pc.options.values = std::move(values);
  return pc;
}

std::shared_ptr<ferry::FileProvider> make(ferry::PluginHost& host, const fs::path& dir,
                                          std::vector<ferry::OptionValue> values) {
  auto r = host.create_as<ferry::FileProvider>(config(dir, std::move(values)));
  INFO((r.ok() ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return r.value();
}

void put(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string get(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::span<const std::byte> bytes(const std::string& s) { return std::as_bytes(std::span(s.data(), s.size())); }

std::string read_all(ferry::ReadHandle& h) {
  std::string out;
  std::vector<std::byte> buffer(7);  // small, to exercise offsets
  for (;;) {
    auto n = h.read_at(out.size(), buffer);
    REQUIRE(n.ok());
    if (n.value() == 0) break;
    out.append(reinterpret_cast<const char*>(buffer.data()), n.value());
  }
  return out;
}

std::vector<std::string> names(const ferry::Result<std::vector<ferry::FileInfo>>& listing) {
  REQUIRE(listing.ok());
  std::vector<std::string> out;
  for (const auto& e : listing.value()) out.push_back(e.name);
  std::sort(out.begin(), out.end());
  return out;
}

const ferry::FileInfo* find(const std::vector<ferry::FileInfo>& entries, const std::string& name) {
  for (const auto& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

bool has_temp_file(const fs::path& dir) {
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().find(".ferry-") != std::string::npos) return true;
  }
  return false;
}

template <class T>
Status status_of(const ferry::Result<T>& r) {
  return r.ok() ? Status::ok : r.error().status;
}

const ferry::UserContext demo{"demo"};

// The jail checks, run with openat2 and with the fallback walk. Layout:
//   <tmp>/outside/victim            a file the user must never reach
//   <tmp>/users/x                   beside the user's root (reachable only by "..")
//   <tmp>/users/demo                the user's root (%u), made on first use
void check_jail(bool walk) {
  TempDir tmp;
  const fs::path outside = tmp.path() / "outside";
  fs::create_directories(outside);
  put(outside / "victim", "secret");
  fs::permissions(outside / "victim", fs::perms(0600));
  fs::create_directories(tmp.path() / "users");
  put(tmp.path() / "users" / "x", "beside");

  const WalkSwitch force(walk);
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("users/%u"))});
  REQUIRE(p->stat(demo, "/").ok());  // creates the root
  const fs::path root = tmp.path() / "users" / "demo";
  REQUIRE(fs::is_directory(root));
  fs::create_directories(root / "sub" / "deeper");
  put(root / "sub" / "inside.txt", "inside");

  // ".." (the core normalises it away, but the provider must hold on its own).
  for (const char* path : {"/../x", "/../../outside/victim", "/sub/../../x", "/sub/deeper/../../../x"}) {
    INFO(path);
    CHECK(status_of(p->stat(demo, path)) == Status::permission_denied);
    CHECK_FALSE(p->open_read(demo, path).ok());
  }
  CHECK(status_of(p->list(demo, "/..")) == Status::permission_denied);
  CHECK_FALSE(p->open_write(demo, "/../evil", WriteMode::replace, 0).ok());
  CHECK_FALSE(p->open_write(demo, "/../evil", WriteMode::append, 0).ok());
  CHECK_FALSE(p->make_directory(demo, "/../evildir").ok());
  CHECK_FALSE(p->remove_file(demo, "/../x").ok());
  CHECK_FALSE(p->remove_file(demo, "/sub/../../x").ok());
  CHECK_FALSE(fs::exists(tmp.path() / "users" / "evil"));
  CHECK_FALSE(fs::exists(tmp.path() / "users" / "evildir"));
  CHECK(fs::exists(tmp.path() / "users" / "x"));
  // An in-tree ".." that stays inside is fine.
  CHECK(p->stat(demo, "/sub/deeper/../inside.txt").ok());

  // Symlinks that lead out: to /etc, absolute to a directory outside, relative climbing out,
  // to a file outside; and one that is absolute but points inside (RESOLVE_BENEATH refuses
  // absolute links wherever they point).
  fs::create_directory_symlink("/etc", root / "etc");
  fs::create_directory_symlink(outside, root / "out");
  fs::create_directory_symlink("../../outside", root / "rel_out");
  fs::create_symlink(outside / "victim", root / "victim_link");
  fs::create_directory_symlink(root / "sub", root / "abs_in");
  fs::create_directory_symlink("sub", root / "rel_in");
  fs::create_symlink("../inside.txt", root / "sub" / "deeper" / "up_link");
  fs::create_symlink("nowhere", root / "dangling");

  for (const char* path : {"/etc", "/etc/passwd", "/out", "/out/victim", "/rel_out/victim", "/victim_link",
                           "/abs_in/inside.txt"}) {
    INFO(path);
    CHECK(status_of(p->stat(demo, path)) == Status::permission_denied);
    CHECK(status_of(p->open_read(demo, path)) == Status::permission_denied);
  }
  CHECK(status_of(p->list(demo, "/etc")) == Status::permission_denied);
  CHECK(status_of(p->list(demo, "/out")) == Status::permission_denied);

  // Listing: escaping (and dangling) links are hidden; links inside show their target's type.
  auto listing = p->list(demo, "/");
  CHECK(names(listing) == std::vector<std::string>{"rel_in", "sub"});
  REQUIRE(find(listing.value(), "rel_in") != nullptr);
  CHECK(find(listing.value(), "rel_in")->type == ferry::FileType::directory);
  CHECK(find(listing.value(), "rel_in")->unique_id == p->stat(demo, "/sub")->unique_id);
  CHECK(find(listing.value(), "rel_in")->unique_id != 0);
  auto deeper = p->list(demo, "/sub/deeper");
  REQUIRE(deeper.ok());
  REQUIRE(find(deeper.value(), "up_link") != nullptr);
  CHECK(find(deeper.value(), "up_link")->type == ferry::FileType::file);
  CHECK(find(deeper.value(), "up_link")->size == 6);

  // Symlinks that stay inside are followed.
  CHECK(p->stat(demo, "/rel_in/inside.txt").ok());
  auto through = p->open_read(demo, "/sub/deeper/up_link");
  REQUIRE(through.ok());
  CHECK(read_all(*through.value()) == "inside");

  // Changes through a link that leads out are refused and touch nothing outside.
  CHECK(status_of(p->remove_file(demo, "/out/victim")) == Status::permission_denied);
  CHECK(status_of(p->remove_file(demo, "/rel_out/victim")) == Status::permission_denied);
  CHECK(status_of(p->rename(demo, "/out/victim", "/stolen")) == Status::permission_denied);
  CHECK(status_of(p->rename(demo, "/sub/inside.txt", "/out/planted")) == Status::permission_denied);
  CHECK(status_of(p->open_write(demo, "/out/planted", WriteMode::replace, 0)) == Status::permission_denied);
  CHECK(status_of(p->open_write(demo, "/out/victim", WriteMode::append, 0)) == Status::permission_denied);
  CHECK(status_of(p->open_write(demo, "/out/victim", WriteMode::resume, 2)) == Status::permission_denied);
  CHECK(status_of(p->open_write(demo, "/out/x", WriteMode::unique, 0)) == Status::permission_denied);
  CHECK(status_of(p->make_directory(demo, "/out/newdir")) == Status::permission_denied);
  CHECK(status_of(p->remove_directory(demo, "/rel_out/..")) != Status::ok);
  CHECK(status_of(p->set_mode(demo, "/out/victim", 0666)) == Status::permission_denied);
  CHECK(status_of(p->set_mtime(demo, "/out/victim", 0)) == Status::permission_denied);
  // On the link itself: the link is what changes, never its target.
  CHECK_FALSE(p->set_mode(demo, "/victim_link", 0666).ok());
  CHECK(p->open_write(demo, "/victim_link", WriteMode::append, 0).error().status == Status::permission_denied);
  CHECK(p->open_write(demo, "/victim_link", WriteMode::resume, 1).error().status == Status::permission_denied);
  CHECK(p->remove_file(demo, "/victim_link").ok());
  CHECK(get(outside / "victim") == "secret");
  CHECK((fs::status(outside / "victim").permissions() & fs::perms::all) == fs::perms(0600));
  CHECK(fs::exists(outside / "victim"));
  CHECK_FALSE(fs::exists(outside / "planted"));
  CHECK_FALSE(fs::exists(outside / "newdir"));
  CHECK_FALSE(fs::exists(outside / "x"));
  CHECK(fs::exists(root / "sub" / "inside.txt"));

  // A directory swapped for a symlink between two calls cannot lead out.
  fs::create_directories(root / "d");
  put(root / "d" / "f", "mine");
  put(outside / "f", "theirs");
  REQUIRE(p->stat(demo, "/d/f").ok());
  fs::rename(root / "d", root / "d_moved");
  fs::create_directory_symlink("../../outside", root / "d");
  CHECK(status_of(p->stat(demo, "/d/f")) == Status::permission_denied);
  CHECK(status_of(p->open_read(demo, "/d/f")) == Status::permission_denied);
  CHECK(status_of(p->list(demo, "/d")) == Status::permission_denied);
  CHECK(status_of(p->open_write(demo, "/d/f", WriteMode::replace, 0)) == Status::permission_denied);
  CHECK(status_of(p->remove_file(demo, "/d/f")) == Status::permission_denied);
  CHECK(get(outside / "f") == "theirs");
  fs::remove(root / "d");
  fs::create_directory_symlink(outside, root / "d");
  CHECK(status_of(p->stat(demo, "/d/f")) == Status::permission_denied);
  CHECK(status_of(p->open_write(demo, "/d/g", WriteMode::unique, 0)) == Status::permission_denied);
  CHECK_FALSE(fs::exists(outside / "g"));
  // And a symlink swapped in under the user's root itself (the root path is the admin's).
  CHECK(p->stat(demo, "/d_moved/f").ok());
}

}  // namespace

TEST_CASE("fs_local loads and reports itself", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("%u"))});
  REQUIRE(host.loaded().size() == 1);
  CHECK(host.loaded()[0].name == "fs_local");
  CHECK(host.loaded()[0].version == "0.1.0");
  CHECK(host.loaded()[0].kind == ferry::PluginKind::file_provider);
}

TEST_CASE("fs_local creates a %u root on first use and serves stat, list and read", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("home/%u/files"))});
  const fs::path root = tmp.path() / "home" / "demo" / "files";
  CHECK_FALSE(fs::exists(root));

  auto top = p->stat(demo, "/");
  REQUIRE(top.ok());
  CHECK(top->type == ferry::FileType::directory);
  CHECK(top->name.empty());
  REQUIRE(fs::is_directory(root));
  CHECK((fs::status(root).permissions() & fs::perms::all) == fs::perms(0750));
  CHECK(names(p->list(demo, "/")).empty());

  // Another user gets another root.
  REQUIRE(p->stat(ferry::UserContext{"alice"}, "/").ok());
  CHECK(fs::is_directory(tmp.path() / "home" / "alice" / "files"));

  put(root / "hello.txt", "hello, world\n");
  fs::permissions(root / "hello.txt", fs::perms(0640));
  fs::create_directories(root / "dir" / "nested");
  std::string odd = "caf\xc3\xa9 \x01x";  // names are bytes as on disk
  put(root / odd, "");

  auto info = p->stat(demo, "/hello.txt");
  REQUIRE(info.ok());
  CHECK(info->name == "hello.txt");
  CHECK(info->type == ferry::FileType::file);
  CHECK(info->size == 13);
  CHECK(info->mode == 0640);
  CHECK(info->readable);
  CHECK(info->writable);
  struct stat st {};
  REQUIRE(::stat((root / "hello.txt").c_str(), &st) == 0);
  CHECK(info->mtime == st.st_mtim.tv_sec);
  CHECK(p->stat(demo, "/dir/nested")->type == ferry::FileType::directory);
  CHECK(p->stat(demo, "/dir/nested")->name == "nested");

  auto listing = p->list(demo, "/");
  CHECK(names(listing) == std::vector<std::string>{"caf\xc3\xa9 \x01x", "dir", "hello.txt"});
  CHECK(find(listing.value(), "dir")->type == ferry::FileType::directory);
  CHECK(find(listing.value(), "hello.txt")->size == 13);
  CHECK(names(p->list(demo, "/dir")) == std::vector<std::string>{"nested"});

  auto file = p->open_read(demo, "/hello.txt");
  REQUIRE(file.ok());
  CHECK(file.value()->native_fd() >= 0);
  CHECK(file.value()->size() == 13);
  CHECK(read_all(*file.value()) == "hello, world\n");

  CHECK(status_of(p->stat(demo, "/missing")) == Status::not_found);
  CHECK(status_of(p->stat(demo, "/hello.txt/x")) == Status::not_a_directory);
  CHECK(status_of(p->list(demo, "/missing")) == Status::not_found);
  CHECK(status_of(p->list(demo, "/hello.txt")) == Status::not_a_directory);
  CHECK(status_of(p->open_read(demo, "/missing")) == Status::not_found);
  CHECK(status_of(p->open_read(demo, "/dir")) == Status::is_a_directory);
  CHECK(status_of(p->open_read(demo, "/")) == Status::is_a_directory);
  REQUIRE(::mkfifo((root / "fifo").c_str(), 0600) == 0);
  CHECK(status_of(p->open_read(demo, "/fifo")) == Status::not_supported);  // and did not hang
  CHECK(p->stat(demo, "/fifo")->type == ferry::FileType::other);
  // Messages never carry the real path.
  auto missing = p->open_read(demo, "/missing");
  CHECK(missing.error().message.find(tmp.path().string()) == std::string::npos);
}

TEST_CASE("fs_local refuses user names that are not a safe path component", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("users/%u"))});
  for (const char* user : {"", ".", "..", "a/b", "../demo"}) {
    INFO(user);
    CHECK(status_of(p->stat(ferry::UserContext{user}, "/")) == Status::permission_denied);
    CHECK(status_of(p->open_write(ferry::UserContext{user}, "/f", WriteMode::replace, 0)) ==
          Status::permission_denied);
  }
  CHECK_FALSE(fs::exists(tmp.path() / "users" / "a"));
  CHECK_FALSE(fs::exists(tmp.path() / "f"));
  CHECK_FALSE(fs::exists(tmp.path() / "users" / "f"));
}

TEST_CASE("fs_local with create_root = false reports a missing root as not found", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("users/%u")), opt("create_root", false)});
  CHECK(status_of(p->stat(demo, "/")) == Status::not_found);
  CHECK(status_of(p->list(demo, "/")) == Status::not_found);
  CHECK_FALSE(fs::exists(tmp.path() / "users"));
  fs::create_directories(tmp.path() / "users" / "demo");
  CHECK(p->stat(demo, "/").ok());
}

TEST_CASE("fs_local keeps every operation beneath the root (openat2 and the fallback walk)", "[fs_local]") {
  const bool walk = GENERATE(false, true);
  INFO((walk ? "fallback walk" : "openat2"));
  check_jail(walk);
}

#if defined(__x86_64__) || defined(__aarch64__)
TEST_CASE("fs_local falls back to the walk by itself when openat2 reports ENOSYS", "[fs_local]") {
  TempDir tmp;
  fs::create_directories(tmp.path() / "outside");
  put(tmp.path() / "outside" / "victim", "secret");
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("users/%u"))});
  REQUIRE(p->stat(demo, "/").ok());
  const fs::path root = tmp.path() / "users" / "demo";
  put(root / "a.txt", "abc");
  fs::create_directory_symlink("../../outside", root / "out");

  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // A seccomp filter that makes openat2 fail with ENOSYS, as on an old kernel.
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
      ::_exit(10);
    }
    int failures = 0;
    auto info = p->stat(demo, "/a.txt");
    if (!info.ok() || info->size != 3) failures |= 1;
    if (status_of(p->stat(demo, "/out/victim")) != Status::permission_denied) failures |= 2;
    if (status_of(p->stat(demo, "/../x")) != Status::permission_denied) failures |= 4;
    auto w = p->open_write(demo, "/b.txt", WriteMode::replace, 0);
    if (!w.ok() || !w.value()->write(bytes("xy")).ok() || !w.value()->commit().ok()) failures |= 8;
    ::_exit(failures);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(get(root / "b.txt") == "xy");
}
#endif

TEST_CASE("fs_local replace upload keeps the old file until commit and leaves no temporary file", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root"))});
  const fs::path root = tmp.path() / "root";
  put(root / "old.txt", "old content");
  fs::permissions(root / "old.txt", fs::perms(0604));

  SECTION("committed") {
    auto w = p->open_write(demo, "/old.txt", WriteMode::replace, 0);
    REQUIRE(w.ok());
    CHECK(w.value()->final_name() == "old.txt");
    REQUIRE(w.value()->write(bytes("new ")).ok());
    REQUIRE(w.value()->write(bytes("content!")).ok());
    CHECK(get(root / "old.txt") == "old content");
    CHECK(has_temp_file(root));
    REQUIRE(w.value()->commit().ok());
    w.value().reset();
    CHECK(get(root / "old.txt") == "new content!");
    CHECK((fs::status(root / "old.txt").permissions() & fs::perms::all) == fs::perms(0604));
    CHECK_FALSE(has_temp_file(root));
  }
  SECTION("setuid, setgid and sticky are not carried over to the new content") {
    fs::permissions(root / "old.txt", fs::perms(07755));
    auto w = p->open_write(demo, "/old.txt", WriteMode::replace, 0);
    REQUIRE(w.ok());
    REQUIRE(w.value()->write(bytes("#!/bin/sh\nid\n")).ok());
    REQUIRE(w.value()->commit().ok());
    w.value().reset();
    CHECK((fs::status(root / "old.txt").permissions() & fs::perms::mask) == fs::perms(0755));
  }
  SECTION("dropped without commit") {
    auto w = p->open_write(demo, "/old.txt", WriteMode::replace, 0);
    REQUIRE(w.ok());
    REQUIRE(w.value()->write(bytes("partial")).ok());
    w.value().reset();
    CHECK(get(root / "old.txt") == "old content");
    CHECK_FALSE(has_temp_file(root));
  }
  SECTION("a directory cannot be replaced") {
    fs::create_directory(root / "dir");
    CHECK(status_of(p->open_write(demo, "/dir", WriteMode::replace, 0)) == Status::is_a_directory);
  }
  SECTION("a very long name still gets a temporary file") {
    const std::string long_name(250, 'n');
    put(root / long_name, "x");
    auto w = p->open_write(demo, "/" + long_name, WriteMode::replace, 0);
    REQUIRE(w.ok());
    REQUIRE(w.value()->write(bytes("y")).ok());
    REQUIRE(w.value()->commit().ok());
    CHECK(get(root / long_name) == "y");
  }
}

TEST_CASE("fs_local new-file upload dropped without commit stays and can be resumed", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root")), opt("file_mode", std::string("0640"))});
  const fs::path root = tmp.path() / "root";
  {
    auto w = p->open_write(demo, "/new.bin", WriteMode::replace, 0);
    REQUIRE(w.ok());
    REQUIRE(w.value()->write(bytes("first half|")).ok());
  }  // aborted: dropped without commit
  CHECK(get(root / "new.bin") == "first half|");
  CHECK_FALSE(has_temp_file(root));
  CHECK((fs::status(root / "new.bin").permissions() & fs::perms::all) == fs::perms(0640));
  const std::uint64_t have = p->stat(demo, "/new.bin")->size;
  CHECK(have == 11);

  auto r = p->open_write(demo, "/new.bin", WriteMode::resume, have);
  REQUIRE(r.ok());
  REQUIRE(r.value()->write(bytes("second half")).ok());
  REQUIRE(r.value()->commit().ok());
  CHECK(get(root / "new.bin") == "first half|second half");

  // A new file committed normally.
  auto w = p->open_write(demo, "/whole.txt", WriteMode::replace, 0);
  REQUIRE(w.ok());
  REQUIRE(w.value()->write(bytes("whole")).ok());
  REQUIRE(w.value()->commit().ok());
  CHECK(get(root / "whole.txt") == "whole");

  // A new upload that never received a byte (e.g. 425, no data connection) leaves nothing;
  // an empty one that completes is an empty file.
  for (const auto mode : {WriteMode::replace, WriteMode::append, WriteMode::resume}) {
    REQUIRE(p->open_write(demo, "/never.bin", mode, 0).ok());
    CHECK_FALSE(fs::exists(root / "never.bin"));
  }
  auto empty = p->open_write(demo, "/empty.bin", WriteMode::replace, 0);
  REQUIRE(empty.ok());
  REQUIRE(empty.value()->commit().ok());
  empty.value().reset();
  CHECK(fs::exists(root / "empty.bin"));
  CHECK(fs::file_size(root / "empty.bin") == 0);
}

// Lowers this process's soft RLIMIT_FSIZE (and ignores SIGXFSZ) while it lives, so that a
// write past `limit` fails with EFBIG as it would in ferryd under `ulimit -f`.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t limit) {
    REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_) == 0);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit lowered = old_;
    lowered.rlim_cur = limit;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &lowered) == 0);
  }
  ~FileSizeLimit() {
    (void)::setrlimit(RLIMIT_FSIZE, &old_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  struct rlimit old_ {};
  void (*old_handler_)(int) = SIG_DFL;
};

// Writes `text` until the provider refuses; returns the refusal's status.
Status write_until_refused(ferry::WriteHandle& w, const std::string& text) {
  for (int i = 0; i < 1000; ++i) {
    auto n = w.write(bytes(text));
    if (!n.ok()) return n.error().status;
  }
  return Status::ok;
}

TEST_CASE("fs_local removes what a storage failure (EFBIG) leaves and maps it to quota_exceeded", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root"))});
  const fs::path root = tmp.path() / "root";
  put(root / "old.txt", "old content");
  put(root / "grow.txt", "kept");
  const std::string chunk(4096, 'x');
  {
    const FileSizeLimit limit(64 * 1024);
    SECTION("a new file is removed") {
      auto w = p->open_write(demo, "/new.bin", WriteMode::replace, 0);
      REQUIRE(w.ok());
      CHECK(write_until_refused(*w.value(), chunk) == Status::quota_exceeded);
      w.value().reset();
      CHECK_FALSE(fs::exists(root / "new.bin"));
    }
    SECTION("a replace keeps the old file and removes its temporary file") {
      auto w = p->open_write(demo, "/old.txt", WriteMode::replace, 0);
      REQUIRE(w.ok());
      CHECK(write_until_refused(*w.value(), chunk) == Status::quota_exceeded);
      w.value().reset();
      CHECK(get(root / "old.txt") == "old content");
      CHECK_FALSE(has_temp_file(root));
    }
    SECTION("APPE to an existing file cuts it back") {
      auto w = p->open_write(demo, "/grow.txt", WriteMode::append, 0);
      REQUIRE(w.ok());
      CHECK(write_until_refused(*w.value(), chunk) == Status::quota_exceeded);
      w.value().reset();
      CHECK(get(root / "grow.txt") == "kept");
    }
    // Another session appended after this upload's bytes, and was answered 226: its record
    // must survive the failed upload's clean-up (so must the failed upload's bytes before it).
    SECTION("APPE leaves another session's append alone") {
      auto w = p->open_write(demo, "/grow.txt", WriteMode::append, 0);
      REQUIRE(w.ok());
      REQUIRE(w.value()->write(bytes(chunk)).ok());
      auto other = p->open_write(demo, "/grow.txt", WriteMode::append, 0);
      REQUIRE(other.ok());
      REQUIRE(other.value()->write(bytes("B-RECORD")).ok());
      REQUIRE(other.value()->commit().ok());
      CHECK(write_until_refused(*w.value(), chunk) == Status::quota_exceeded);
      w.value().reset();
      const std::string after = get(root / "grow.txt");
      CHECK(after.substr(0, 4 + chunk.size()) == "kept" + chunk);
      CHECK(after.find("B-RECORD") == 4 + chunk.size());
    }
    SECTION("REST + STOR cuts back to the offset") {
      put(root / "resumed.bin", "0123456789");
      auto w = p->open_write(demo, "/resumed.bin", WriteMode::resume, 4);
      REQUIRE(w.ok());
      CHECK(write_until_refused(*w.value(), chunk) == Status::quota_exceeded);
      w.value().reset();
      CHECK(get(root / "resumed.bin") == "0123");
    }
  }
  // Without a storage failure, an aborted new upload still stays (resumable).
  auto w = p->open_write(demo, "/part.bin", WriteMode::replace, 0);
  REQUIRE(w.ok());
  REQUIRE(w.value()->write(bytes("part")).ok());
  w.value().reset();
  CHECK(get(root / "part.bin") == "part");
}

TEST_CASE("fs_local hides upload temporary files, refuses them as targets and sweeps stale ones", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root"))});
  const fs::path root = tmp.path() / "root";
  put(root / "a.txt", "a");
  const std::string stale = ".a.txt.ferry-Ab12Cd";
  const std::string fresh = ".a.txt.ferry-Zz99Yy";
  const std::string look_alike = ".thesis.ferry-backup";  // a temporary name, but not ours
  put(root / stale, "crashed upload");
  put(root / fresh, "just created");
  put(root / look_alike, "someone's file");
  put(root / ".a.txt.ferry-short", "not a temporary name");  // 5 characters after ".ferry-"
  fs::permissions(root / stale, fs::perms(0600));  // as open_replace() creates them
  fs::permissions(root / fresh, fs::perms(0600));
  for (const auto& old : {stale, look_alike}) {
    fs::last_write_time(root / old, fs::file_time_type::clock::now() - std::chrono::hours(1));
  }

  CHECK(status_of(p->stat(demo, "/" + stale)) == Status::not_found);
  CHECK(status_of(p->open_read(demo, "/" + stale)) == Status::not_found);
  CHECK(status_of(p->open_write(demo, "/" + stale, WriteMode::replace, 0)) == Status::bad_name);
  CHECK(status_of(p->remove_file(demo, "/" + stale)) == Status::bad_name);
  CHECK(status_of(p->rename(demo, "/a.txt", "/" + stale)) == Status::bad_name);
  CHECK(status_of(p->make_directory(demo, "/" + stale + "/x")) == Status::bad_name);

  // A running upload's temporary file (locked) is kept however old it looks.
  auto w = p->open_write(demo, "/a.txt", WriteMode::replace, 0);
  REQUIRE(w.ok());
  std::string live;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string n = e.path().filename().string();
    if (n.find(".ferry-") != std::string::npos && n != stale && n != fresh && n != ".a.txt.ferry-short") live = n;
  }
  REQUIRE_FALSE(live.empty());
  fs::last_write_time(root / live, fs::file_time_type::clock::now() - std::chrono::hours(1));

  CHECK(names(p->list(demo, "/")) == std::vector<std::string>{".a.txt.ferry-short", "a.txt"});
  CHECK_FALSE(fs::exists(root / stale));  // unlocked and old: removed
  CHECK(fs::exists(root / fresh));        // may be a file just created: kept for now
  CHECK(fs::exists(root / look_alike));   // mode 0644: not a file open_replace() made
  CHECK(fs::exists(root / live));         // locked by the upload above
  REQUIRE(w.value()->write(bytes("new")).ok());
  REQUIRE(w.value()->commit().ok());
  CHECK(get(root / "a.txt") == "new");
}

TEST_CASE("fs_local resume writes from the offset and refuses one beyond the end", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root"))});
  const fs::path root = tmp.path() / "root";
  put(root / "f", "0123456789");

  auto w = p->open_write(demo, "/f", WriteMode::resume, 4);
  REQUIRE(w.ok());
  REQUIRE(w.value()->write(bytes("ab")).ok());
  REQUIRE(w.value()->write(bytes("c")).ok());
  REQUIRE(w.value()->commit().ok());
  CHECK(get(root / "f") == "0123abc");

  {
    auto partial = p->open_write(demo, "/f", WriteMode::resume, 7);
    REQUIRE(partial.ok());
    REQUIRE(partial.value()->write(bytes("XY")).ok());
  }  // dropped: the partial data stays
  CHECK(get(root / "f") == "0123abcXY");

  // What follows the offset goes only once data arrives: a transfer that never starts (no
  // data connection) leaves the file whole; an empty one that completes cuts it there.
  {
    auto never = p->open_write(demo, "/f", WriteMode::resume, 2);
    REQUIRE(never.ok());
  }
  CHECK(get(root / "f") == "0123abcXY");
  auto empty = p->open_write(demo, "/f", WriteMode::resume, 7);
  REQUIRE(empty.ok());
  REQUIRE(empty.value()->commit().ok());
  CHECK(get(root / "f") == "0123abc");
  put(root / "f", "0123abcXY");

  auto beyond = p->open_write(demo, "/f", WriteMode::resume, 100);
  REQUIRE_FALSE(beyond.ok());
  CHECK(beyond.error().status == Status::not_supported);
  CHECK(beyond.error().message == "restart offset beyond end of file");
  CHECK(get(root / "f") == "0123abcXY");
  CHECK(status_of(p->open_write(demo, "/missing", WriteMode::resume, 5)) == Status::not_found);
  fs::create_directory(root / "dir");
  CHECK(status_of(p->open_write(demo, "/dir", WriteMode::resume, 1)) == Status::is_a_directory);
}

TEST_CASE("fs_local append adds to a file, creating it when missing", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root"))});
  const fs::path root = tmp.path() / "root";
  put(root / "log", "one\n");
  auto w = p->open_write(demo, "/log", WriteMode::append, 0);
  REQUIRE(w.ok());
  REQUIRE(w.value()->write(bytes("two\n")).ok());
  REQUIRE(w.value()->commit().ok());
  CHECK(get(root / "log") == "one\ntwo\n");

  auto fresh = p->open_write(demo, "/fresh", WriteMode::append, 0);
  REQUIRE(fresh.ok());
  REQUIRE(fresh.value()->write(bytes("x")).ok());
  REQUIRE(fresh.value()->commit().ok());
  CHECK(get(root / "fresh") == "x");
  fs::create_directory(root / "dir");
  CHECK(status_of(p->open_write(demo, "/dir", WriteMode::append, 0)) == Status::is_a_directory);
  CHECK(status_of(p->open_write(demo, "/nodir/f", WriteMode::append, 0)) == Status::not_found);
}

TEST_CASE("fs_local STOU picks name, name.1, name.2", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root"))});
  const fs::path root = tmp.path() / "root";
  fs::create_directories(root / "in");
  std::vector<std::string> chosen;
  for (int i = 0; i < 3; ++i) {
    auto w = p->open_write(demo, "/in/up.txt", WriteMode::unique, 0);
    REQUIRE(w.ok());
    chosen.push_back(w.value()->final_name());
    REQUIRE(w.value()->write(bytes(std::to_string(i))).ok());
    REQUIRE(w.value()->commit().ok());
  }
  CHECK(chosen == std::vector<std::string>{"up.txt", "up.txt.1", "up.txt.2"});
  CHECK(get(root / "in" / "up.txt") == "0");
  CHECK(get(root / "in" / "up.txt.2") == "2");
}

TEST_CASE("fs_local directory, delete and rename operations and their errors", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root")), opt("dir_mode", std::int64_t{0700})});
  const fs::path root = tmp.path() / "root";

  REQUIRE(p->make_directory(demo, "/d").ok());
  CHECK(fs::is_directory(root / "d"));
  CHECK((fs::status(root / "d").permissions() & fs::perms::all) == fs::perms(0700));
  CHECK(status_of(p->make_directory(demo, "/d")) == Status::already_exists);
  CHECK(status_of(p->make_directory(demo, "/no/such")) == Status::not_found);
  put(root / "d" / "f", "x");
  CHECK(status_of(p->make_directory(demo, "/d/f/g")) == Status::not_a_directory);

  CHECK(status_of(p->remove_directory(demo, "/d")) == Status::not_empty);
  CHECK(status_of(p->remove_directory(demo, "/missing")) == Status::not_found);
  CHECK(status_of(p->remove_directory(demo, "/d/f")) == Status::not_a_directory);
  CHECK(status_of(p->remove_file(demo, "/d")) == Status::is_a_directory);
  CHECK(status_of(p->remove_file(demo, "/missing")) == Status::not_found);

  REQUIRE(p->rename(demo, "/d/f", "/g").ok());
  CHECK(get(root / "g") == "x");
  CHECK(status_of(p->rename(demo, "/missing", "/h")) == Status::not_found);
  CHECK(status_of(p->rename(demo, "/g", "/no/such/h")) == Status::not_found);
  CHECK(status_of(p->rename(demo, "/d", "/d/inside")) == Status::bad_name);
  REQUIRE(p->rename(demo, "/d", "/e").ok());
  REQUIRE(p->remove_directory(demo, "/e").ok());
  REQUIRE(p->remove_file(demo, "/g").ok());
  CHECK(names(p->list(demo, "/")).empty());

  // The root itself cannot go.
  CHECK(status_of(p->remove_directory(demo, "/")) == Status::permission_denied);
  CHECK(status_of(p->rename(demo, "/", "/x")) == Status::permission_denied);
  CHECK(status_of(p->rename(demo, "/x", "/")) == Status::permission_denied);
  CHECK(status_of(p->remove_file(demo, "/")) == Status::permission_denied);
  CHECK(status_of(p->open_write(demo, "/", WriteMode::replace, 0)) == Status::permission_denied);
  CHECK(fs::is_directory(root));

  // Times and modes.
  put(root / "t", "t");
  REQUIRE(p->set_mtime(demo, "/t", 1000000000).ok());
  CHECK(p->stat(demo, "/t")->mtime == 1000000000);
  REQUIRE(p->set_mode(demo, "/t", 0600).ok());
  CHECK(p->stat(demo, "/t")->mode == 0600);
  CHECK(status_of(p->set_mode(demo, "/t", 04755)) == Status::not_supported);
  CHECK(p->stat(demo, "/t")->mode == 0600);
  CHECK(status_of(p->set_mtime(demo, "/missing", 0)) == Status::not_found);
}

TEST_CASE("fs_local is read-only unless the mount says writable = true", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  ferry::PluginConfig pc = config(tmp.path(), {opt("root", std::string("root"))});
  std::erase_if(pc.options.values, [](const ferry::OptionValue& v) { return v.key == "writable"; });
  auto made = host.create_as<ferry::FileProvider>(pc);
  REQUIRE(made.ok());
  auto p = made.value();
  CHECK_FALSE(p->stat(demo, "/")->writable);
  CHECK(status_of(p->open_write(demo, "/new", WriteMode::replace, 0)) == Status::permission_denied);
  CHECK_FALSE(fs::exists(tmp.path() / "root" / "new"));
}

TEST_CASE("fs_local with writable = false refuses every change", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto p = make(host, tmp.path(), {opt("root", std::string("root")), opt("writable", false)});
  const fs::path root = tmp.path() / "root";
  put(root / "f", "data");
  fs::create_directory(root / "d");

  auto info = p->stat(demo, "/f");
  REQUIRE(info.ok());
  CHECK_FALSE(info->writable);
  CHECK_FALSE(p->stat(demo, "/")->writable);
  CHECK(p->open_read(demo, "/f").ok());
  for (WriteMode mode : {WriteMode::replace, WriteMode::append, WriteMode::resume, WriteMode::unique}) {
    CHECK(status_of(p->open_write(demo, "/f", mode, 1)) == Status::permission_denied);
    CHECK(status_of(p->open_write(demo, "/new", mode, 0)) == Status::permission_denied);
  }
  CHECK(status_of(p->make_directory(demo, "/nd")) == Status::permission_denied);
  CHECK(status_of(p->remove_directory(demo, "/d")) == Status::permission_denied);
  CHECK(status_of(p->remove_file(demo, "/f")) == Status::permission_denied);
  CHECK(status_of(p->rename(demo, "/f", "/g")) == Status::permission_denied);
  CHECK(status_of(p->set_mtime(demo, "/f", 0)) == Status::permission_denied);
  CHECK(status_of(p->set_mode(demo, "/f", 0600)) == Status::permission_denied);
  CHECK(get(root / "f") == "data");
  CHECK(names(p->list(demo, "/")) == std::vector<std::string>{"d", "f"});
}

TEST_CASE("fs_local option errors name the config file, line and key", "[fs_local]") {
  TempDir tmp;
  ferry::PluginHost host(FERRY_PLUGIN_DIR);
  auto error_of = [&](std::vector<ferry::OptionValue> values) {
    auto r = host.create_as<ferry::FileProvider>(config(tmp.path(), std::move(values)));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("test.toml:7:") == 0);
    return r.error().message;
  };
  CHECK_THAT(error_of({}), Catch::Contains("test.toml: missing required key 'root'"));
  CHECK_THAT(error_of({opt("root", std::int64_t{5}, 9)}), Catch::Contains("test.toml:9:1: key 'root' must be a string"));
  CHECK_THAT(error_of({opt("root", std::string("%u")), opt("writable", std::string("yes"), 10)}),
             Catch::Contains("test.toml:10:1: key 'writable' must be a boolean"));
  CHECK_THAT(error_of({opt("root", std::string("%u")), opt("colour", std::string("red"), 11)}),
             Catch::Contains("test.toml:11:1: key 'colour' unknown key"));
  CHECK_THAT(error_of({opt("root", std::string("%u")), opt("file_mode", std::int64_t{644}, 12)}),
             Catch::Contains("test.toml:12:1: key 'file_mode' must be a permission mode"));
  CHECK_THAT(error_of({opt("root", std::string("%u")), opt("dir_mode", std::string("rwx"), 13)}),
             Catch::Contains("test.toml:13:1: key 'dir_mode' must be a permission mode"));
  CHECK_THAT(error_of({opt("root", std::string("missing"), 14), opt("create_root", false)}),
             Catch::Contains("test.toml:14:1: key 'root' names no such directory"));
  put(tmp.path() / "plain", "x");
  CHECK_THAT(error_of({opt("root", std::string("plain"), 15)}),
             Catch::Contains("test.toml:15:1: key 'root' is not a directory"));
  CHECK_THAT(error_of({opt("root", std::string(""), 16)}), Catch::Contains("test.toml:16:1: key 'root' must not be empty"));

  // Without %u a missing root is made at start-up (create_root defaults to true).
  auto made = host.create_as<ferry::FileProvider>(config(tmp.path(), {opt("root", std::string("made/here"))}));
  REQUIRE(made.ok());
  CHECK(fs::is_directory(tmp.path() / "made" / "here"));
  // An absolute root ignores the config directory.
  auto absolute = host.create_as<ferry::FileProvider>(config("/nonexistent", {opt("root", (tmp.path() / "made").string())}));
  CHECK(absolute.ok());
}
