// Tests for core/passwd/users_file: parsing with line-numbered errors, and set_user's
// atomic update that keeps every other line.
#include "passwd/users_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "passwd/password_hash.hpp"

namespace fs = std::filesystem;
using ferry::passwd::load_users_file;
using ferry::passwd::parse_users;
using ferry::passwd::set_user;
using ferry::passwd::valid_user_name;

namespace {

constexpr const char* yescrypt_hash = "$y$j9T$ohc/lDj908J7bofjQFzpN1$jiV9cM8X.DDEsAbgSUrxAO84LuBD0ggUU1eM/dY26sD";
constexpr const char* bcrypt_hash = "$2y$05$A8ppwDtWF9RKrcTR/0PZRO77RG8uZ0QmJSFA9pAE0HlHsQhouiaoW";
constexpr const char* sha512_hash =
    "$6$sko1QsvujFIaYP5Y$NA/qDqTmV6pwoSe60BRQyo97I5IH661a3I9pJqjRHxqlPkRNuLV1qyJx0zQ0pfnPWJ2rNn51hmkV3gCJDtmFj1";

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "ferry_users_test.XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("users file: entries, comments and blank lines", "[passwd]") {
  const std::string text = std::string("# ferry users\n") + "\n" + "   \n" + "demo:" + yescrypt_hash + "\n" +
                           "  # indented comment\n" + "alice:" + bcrypt_hash + "\r\n" + "bob.smith@example-1:" +
                           sha512_hash;  // no final newline
  const auto result = parse_users(text, "users.passwd");
  REQUIRE(result.file.has_value());
  CHECK(result.error.empty());
  const auto& users = result.file->users;
  REQUIRE(users.size() == 3);
  CHECK(users[0].name == "demo");
  CHECK(users[0].hash == yescrypt_hash);
  CHECK(users[0].line == 4);
  CHECK(users[1].name == "alice");
  CHECK(users[1].hash == bcrypt_hash);  // the '\r' of a CRLF line is not part of the hash
  CHECK(users[1].line == 6);
  CHECK(users[2].name == "bob.smith@example-1");
  CHECK(users[2].line == 7);

  REQUIRE(result.file->find("alice") != nullptr);
  CHECK(result.file->find("alice")->line == 6);
  CHECK(result.file->find("Alice") == nullptr);
  CHECK(result.file->find("nobody") == nullptr);
}

TEST_CASE("users file: the optional home and read-only fields", "[passwd]") {
  const std::string text = std::string("plain:") + yescrypt_hash + "\n" + "homed:" + bcrypt_hash + ":/docs/alice\n" +
                           "reader:" + sha512_hash + ":/pub:ro\n" + "writer:" + yescrypt_hash + "::rw\n";
  const auto result = parse_users(text, "users.passwd");
  REQUIRE(result.file.has_value());
  const auto& users = result.file->users;
  REQUIRE(users.size() == 4);
  CHECK(users[0].hash == yescrypt_hash);  // name:hash lines as ever: home "/", writable
  CHECK(users[0].home == "/");
  CHECK_FALSE(users[0].read_only);
  CHECK(users[1].hash == bcrypt_hash);
  CHECK(users[1].home == "/docs/alice");
  CHECK_FALSE(users[1].read_only);
  CHECK(users[2].hash == sha512_hash);
  CHECK(users[2].home == "/pub");
  CHECK(users[2].read_only);
  CHECK(users[3].home == "/");  // an empty home field is the default
  CHECK_FALSE(users[3].read_only);
}

TEST_CASE("users file: bad optional fields are named with their line", "[passwd]") {
  const std::string good = std::string("demo:") + yescrypt_hash + "\n";
  auto error_of = [&](const std::string& extra) {
    return parse_users(good + "bob:" + bcrypt_hash + extra + "\n", "u.passwd").error;
  };
  CHECK_THAT(error_of(":docs"), Catch::StartsWith("u.passwd:2: ") && Catch::Contains("must start with '/'") &&
                                    Catch::Contains("'bob'"));
  CHECK_THAT(error_of(":/docs:yes"), Catch::StartsWith("u.passwd:2: ") && Catch::Contains("'ro' or 'rw'"));
  CHECK_THAT(error_of(":/docs:ro:more"), Catch::StartsWith("u.passwd:2: ") && Catch::Contains("too many fields"));
  CHECK_THAT(error_of(":/do\x01cs"), Catch::StartsWith("u.passwd:2: ") && Catch::Contains("control character"));
}

TEST_CASE("set_user keeps a user's home and read-only fields", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  write_text(path, std::string("demo:") + yescrypt_hash + ":/pub:ro\n" + "alice:" + bcrypt_hash + "\n");
  REQUIRE(set_user(path.string(), "demo", sha512_hash).ok());
  CHECK(read_text(path) == std::string("demo:") + sha512_hash + ":/pub:ro\n" + "alice:" + bcrypt_hash + "\n");
  const auto loaded = load_users_file(path.string());
  REQUIRE(loaded.file.has_value());
  CHECK(loaded.file->find("demo")->home == "/pub");
  CHECK(loaded.file->find("demo")->read_only);
}

TEST_CASE("users file: an empty file has no users", "[passwd]") {
  const auto result = parse_users("", "users.passwd");
  REQUIRE(result.file.has_value());
  CHECK(result.file->users.empty());
}

TEST_CASE("users file: a bad line is named with its line number", "[passwd]") {
  const std::string good = std::string("demo:") + yescrypt_hash + "\n";

  SECTION("no colon") {
    const auto result = parse_users("# c\n" + good + "justaname\n", "u.passwd");
    CHECK_FALSE(result.file.has_value());
    CHECK_THAT(result.error, Catch::StartsWith("u.passwd:3: "));
  }
  SECTION("empty name") {
    const auto result = parse_users(good + ":" + yescrypt_hash + "\n", "u.passwd");
    CHECK_FALSE(result.file.has_value());
    CHECK_THAT(result.error, Catch::StartsWith("u.passwd:2: ") && Catch::Contains("empty user name"));
  }
  SECTION("invalid characters in the name") {
    const auto result = parse_users(std::string("bad name:") + yescrypt_hash + "\n", "u.passwd");
    CHECK_FALSE(result.file.has_value());
    CHECK_THAT(result.error, Catch::StartsWith("u.passwd:1: ") && Catch::Contains("invalid user name"));
  }
  SECTION("duplicate user") {
    const auto result = parse_users(good + "\n" + "demo:" + bcrypt_hash + "\n", "u.passwd");
    CHECK_FALSE(result.file.has_value());
    CHECK_THAT(result.error, Catch::StartsWith("u.passwd:3: ") && Catch::Contains("duplicate user 'demo'") &&
                                 Catch::Contains("line 1"));
  }
  SECTION("empty hash") {
    const auto result = parse_users("demo:\n", "u.passwd");
    CHECK_FALSE(result.file.has_value());
    CHECK_THAT(result.error, Catch::StartsWith("u.passwd:1: ") && Catch::Contains("empty hash"));
  }
}

TEST_CASE("users file: plain-text passwords are refused", "[passwd]") {
  const auto result = parse_users(std::string("demo:") + yescrypt_hash + "\nmallory:hunter2\n", "u.passwd");
  CHECK_FALSE(result.file.has_value());
  CHECK_THAT(result.error, Catch::StartsWith("u.passwd:2: ") && Catch::Contains("'mallory'") &&
                               Catch::Contains("plain-text"));
}

TEST_CASE("users file: unknown hash schemes are refused", "[passwd]") {
  // md5crypt (`openssl passwd -1`): libcrypt knows it, ferry does not accept it.
  const auto result = parse_users("old:$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/\n", "u.passwd");
  CHECK_FALSE(result.file.has_value());
  CHECK_THAT(result.error, Catch::StartsWith("u.passwd:1: ") && Catch::Contains("unsupported hash scheme"));
}

TEST_CASE("users file: valid user names", "[passwd]") {
  CHECK(valid_user_name("demo"));
  CHECK(valid_user_name("Bob.Smith_2@example-host"));
  CHECK_FALSE(valid_user_name(""));
  CHECK_FALSE(valid_user_name("a b"));
  CHECK_FALSE(valid_user_name("a:b"));
  CHECK_FALSE(valid_user_name("a/b"));
  CHECK_FALSE(valid_user_name("caf\xc3\xa9"));
  CHECK_FALSE(valid_user_name(std::string("a\0b", 3)));
  CHECK_FALSE(valid_user_name("a\r\n"));
}

TEST_CASE("users file: loading a missing file names it", "[passwd]") {
  TempDir dir;
  const std::string path = (dir.path() / "missing.passwd").string();
  const auto result = load_users_file(path);
  CHECK_FALSE(result.file.has_value());
  CHECK_THAT(result.error, Catch::StartsWith(path + ": "));
}

TEST_CASE("users file: load reports errors with the file's path", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  write_text(path, "# comment\nmallory:hunter2\n");
  const auto result = load_users_file(path.string());
  CHECK_FALSE(result.file.has_value());
  CHECK_THAT(result.error, Catch::StartsWith(path.string() + ":2: "));
}

TEST_CASE("set_user creates a missing file with mode 0600", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  REQUIRE(set_user(path.string(), "demo", yescrypt_hash).ok());
  CHECK(read_text(path) == std::string("demo:") + yescrypt_hash + "\n");

  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(names_in(dir.path()) == std::vector<std::string>{"users.passwd", "users.passwd.lock"});
}

TEST_CASE("set_user appends a new user and keeps every other line", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  const std::string before = std::string("# ferry users: add with `ferryd passwd users.passwd NAME`\n") + "\n" +
                             "demo:" + yescrypt_hash + "\n" + "  # a note about alice\n" + "alice:" +
                             bcrypt_hash;  // no final newline
  write_text(path, before);
  ::chmod(path.c_str(), 0644);

  REQUIRE(set_user(path.string(), "carol", sha512_hash).ok());
  CHECK(read_text(path) == before + "\ncarol:" + sha512_hash + "\n");

  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);  // the old mode, without the world-readable bit
  // No temp file left; the lock file stays.
  CHECK(names_in(dir.path()) == std::vector<std::string>{"users.passwd", "users.passwd.lock"});

  const auto loaded = load_users_file(path.string());
  REQUIRE(loaded.file.has_value());
  CHECK(loaded.file->users.size() == 3);
}

TEST_CASE("set_user replaces an existing user's line in place", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  write_text(path, std::string("# head\n") + "demo:" + yescrypt_hash + "\n" + "# middle\n" + "alice:" + bcrypt_hash +
                       "\n" + "# tail\n");

  REQUIRE(set_user(path.string(), "demo", sha512_hash).ok());
  CHECK(read_text(path) == std::string("# head\n") + "demo:" + sha512_hash + "\n" + "# middle\n" + "alice:" +
                               bcrypt_hash + "\n" + "# tail\n");

  REQUIRE(set_user(path.string(), "alice", yescrypt_hash).ok());
  const auto loaded = load_users_file(path.string());
  REQUIRE(loaded.file.has_value());
  REQUIRE(loaded.file->users.size() == 2);
  CHECK(loaded.file->find("demo")->hash == sha512_hash);
  CHECK(loaded.file->find("alice")->hash == yescrypt_hash);
  CHECK(loaded.file->find("alice")->line == 4);
  CHECK(names_in(dir.path()) == std::vector<std::string>{"users.passwd", "users.passwd.lock"});
}

TEST_CASE("set_user with a real hash: the new password verifies", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  const auto hash = ferry::passwd::hash_password("ferry");
  REQUIRE(hash.has_value());
  REQUIRE(set_user(path.string(), "demo", *hash).ok());
  const auto loaded = load_users_file(path.string());
  REQUIRE(loaded.file.has_value());
  REQUIRE(loaded.file->find("demo") != nullptr);
  CHECK(ferry::passwd::verify_password("ferry", loaded.file->find("demo")->hash));
}

TEST_CASE("set_user refuses bad names and non-hashes and leaves the file alone", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  const std::string before = std::string("demo:") + yescrypt_hash + "\n";
  write_text(path, before);

  CHECK_FALSE(set_user(path.string(), "bad name", yescrypt_hash).ok());
  CHECK_FALSE(set_user(path.string(), "demo", "hunter2").ok());
  CHECK_FALSE(set_user(path.string(), "demo", std::string(yescrypt_hash) + "\nroot:x").ok());
  CHECK(read_text(path) == before);
  CHECK(names_in(dir.path()) == std::vector<std::string>{"users.passwd"});
}

TEST_CASE("set_user fails cleanly when the directory is missing", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "no-such-dir" / "users.passwd";
  CHECK_FALSE(set_user(path.string(), "demo", yescrypt_hash).ok());
  CHECK(names_in(dir.path()).empty());
}

TEST_CASE("users_file_mode keeps the owner's and the group's read bits, never more than 0640", "[passwd]") {
  using ferry::passwd::users_file_mode;
  CHECK(users_file_mode(0600) == 0600);
  CHECK(users_file_mode(0640) == 0640);
  CHECK(users_file_mode(0400) == 0400);
  CHECK(users_file_mode(0440) == 0440);
  CHECK(users_file_mode(0644) == 0640);
  CHECK(users_file_mode(0666) == 0640);
  CHECK(users_file_mode(0604) == 0600);
  CHECK(users_file_mode(0660) == 0640);
  CHECK(users_file_mode(0777) == 0640);
  CHECK(users_file_mode(04750) == 0640);
}

TEST_CASE("set_user keeps an existing file's mode, owner and group", "[passwd]") {
  // The audit's case: root:nogroup 0640, so that ferryd running as nobody:nogroup can
  // re-read it on SIGHUP. A uid other than 0 shows the owner is kept, not just root's.
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  write_text(path, std::string("demo:") + yescrypt_hash + "\n");
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  const bool root = ::geteuid() == 0;
  constexpr uid_t owner = 4242;
  constexpr gid_t group = 65534;
  if (root) REQUIRE(::chown(path.c_str(), owner, group) == 0);

  const auto result = set_user(path.string(), "bob", sha512_hash);
  REQUIRE(result.ok());
  CHECK(result.notes.empty());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  if (root) {
    CHECK(st.st_uid == owner);
    CHECK(st.st_gid == group);
  }
  const auto loaded = load_users_file(path.string());
  REQUIRE(loaded.file.has_value());
  CHECK(loaded.file->users.size() == 2);
  CHECK(names_in(dir.path()) == std::vector<std::string>{"users.passwd", "users.passwd.lock"});

  SECTION("a read-only file stays read-only") {
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    REQUIRE(set_user(path.string(), "carol", bcrypt_hash).ok());
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0400);
  }
}

TEST_CASE("set_user drops the world bits of an existing file's mode and says so", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  write_text(path, std::string("demo:") + yescrypt_hash + "\n");
  REQUIRE(::chmod(path.c_str(), 0664) == 0);

  const auto result = set_user(path.string(), "demo", sha512_hash);
  REQUIRE(result.ok());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  REQUIRE(result.notes.size() == 1);
  CHECK_THAT(result.notes[0], Catch::StartsWith(path.string() + ": ") && Catch::Contains("0664") &&
                                  Catch::Contains("0640"));
}

TEST_CASE("set_user gives a new file mode 0600 whatever the umask", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  const mode_t old_umask = ::umask(0);
  const auto result = set_user(path.string(), "demo", yescrypt_hash);
  ::umask(old_umask);
  REQUIRE(result.ok());
  CHECK(result.notes.empty());
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == ::geteuid());
}

TEST_CASE("set_user from several processes at once loses no user", "[passwd]") {
  // Each process adds its own users; without a lock, two read the same old file and the
  // second rename drops the first one's user.
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  write_text(path, std::string("demo:") + yescrypt_hash + "\n");
  constexpr int processes = 8;
  constexpr int users_each = 8;
  auto name_of = [](int p, int i) { return "u" + std::to_string(p) + "_" + std::to_string(i); };

  int go[2];
  REQUIRE(::pipe(go) == 0);
  std::vector<pid_t> children;
  for (int p = 0; p < processes; ++p) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::alarm(60);  // bounded: a child stuck on the lock dies
      ::close(go[1]);
      char c;
      while (::read(go[0], &c, 1) < 0) {
      }  // EOF: everyone starts at once
      for (int i = 0; i < users_each; ++i) {
        if (!set_user(path.string(), name_of(p, i), yescrypt_hash).ok()) ::_exit(1);
      }
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(go[0]);
  ::close(go[1]);
  for (const pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  const auto loaded = load_users_file(path.string());
  REQUIRE(loaded.file.has_value());
  CHECK(loaded.file->users.size() == 1 + processes * users_each);
  CHECK(loaded.file->find("demo") != nullptr);
  for (int p = 0; p < processes; ++p) {
    for (int i = 0; i < users_each; ++i) CHECK(loaded.file->find(name_of(p, i)) != nullptr);
  }
  CHECK(names_in(dir.path()) == std::vector<std::string>{"users.passwd", "users.passwd.lock"});
}

TEST_CASE("set_user waits for whoever holds PATH.lock, then reads the file afresh", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  const fs::path lock = dir.path() / "users.passwd.lock";
  write_text(path, std::string("demo:") + yescrypt_hash + "\n");
  const int lock_fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  REQUIRE(lock_fd >= 0);
  REQUIRE(::flock(lock_fd, LOCK_EX) == 0);

  ferry::passwd::SetUserResult result;
  std::thread writer([&] { result = set_user(path.string(), "bob", bcrypt_hash); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // set_user is still waiting: what the holder writes meanwhile must survive.
  const std::string held = read_text(path);
  write_text(path, held + "alice:" + sha512_hash + "\n");
  ::flock(lock_fd, LOCK_UN);
  ::close(lock_fd);
  writer.join();

  REQUIRE(result.ok());
  CHECK_FALSE(result.replaced);
  CHECK(held == std::string("demo:") + yescrypt_hash + "\n");
  const auto loaded = load_users_file(path.string());
  REQUIRE(loaded.file.has_value());
  CHECK(loaded.file->users.size() == 3);
  CHECK(loaded.file->find("alice") != nullptr);
  CHECK(loaded.file->find("bob") != nullptr);

  struct stat st {};
  REQUIRE(::stat(lock.c_str(), &st) == 0);  // kept, so that every writer locks the same file
  CHECK((st.st_mode & 07777) == 0600);
}

TEST_CASE("set_user says whether it replaced the user or added it", "[passwd]") {
  TempDir dir;
  const fs::path path = dir.path() / "users.passwd";
  const auto added = set_user(path.string(), "demo", yescrypt_hash);
  REQUIRE(added.ok());
  CHECK_FALSE(added.replaced);
  const auto replaced = set_user(path.string(), "demo", bcrypt_hash);
  REQUIRE(replaced.ok());
  CHECK(replaced.replaced);
}

TEST_CASE("set_user through a symbolic link rewrites the file it points to and keeps the link", "[passwd]") {
  TempDir dir;
  fs::create_directory(dir.path() / "real");
  const fs::path target = dir.path() / "real" / "users";
  const fs::path link = dir.path() / "link.passwd";
  write_text(target, std::string("demo:") + yescrypt_hash + "\n");
  REQUIRE(::chmod(target.c_str(), 0640) == 0);
  fs::create_symlink("real/users", link);

  const auto result = set_user(link.string(), "bob", bcrypt_hash);
  REQUIRE(result.ok());
  CHECK(result.notes.empty());
  REQUIRE(fs::is_symlink(link));
  CHECK(fs::read_symlink(link) == "real/users");
  CHECK(read_text(target) == std::string("demo:") + yescrypt_hash + "\nbob:" + bcrypt_hash + "\n");
  struct stat st {};
  REQUIRE(::stat(target.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  // The temporary file went next to the target, and so did the lock: every path to the
  // file takes the same lock.
  CHECK(names_in(dir.path()) == std::vector<std::string>{"link.passwd", "real"});
  CHECK(names_in(dir.path() / "real") == std::vector<std::string>{"users", "users.lock"});

  SECTION("a link to a link is followed to the end") {
    const fs::path link2 = dir.path() / "link2.passwd";
    fs::create_symlink("link.passwd", link2);
    REQUIRE(set_user(link2.string(), "carol", sha512_hash).ok());
    CHECK(fs::is_symlink(link2));
    CHECK(fs::is_symlink(link));
    const auto loaded = load_users_file(target.string());
    REQUIRE(loaded.file.has_value());
    CHECK(loaded.file->users.size() == 3);
  }
}

TEST_CASE("set_user refuses a symbolic link to a missing file and leaves it alone", "[passwd]") {
  TempDir dir;
  const fs::path link = dir.path() / "link.passwd";
  fs::create_symlink("missing/users", link);
  const auto result = set_user(link.string(), "demo", yescrypt_hash);
  CHECK_FALSE(result.ok());
  CHECK_THAT(result.error, Catch::StartsWith(link.string() + ": ") && Catch::Contains("missing"));
  CHECK(fs::is_symlink(link));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"link.passwd"});
}
