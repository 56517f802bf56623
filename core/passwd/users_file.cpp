// The users file: parsing with line-numbered errors, and the atomic read-modify-write that
// `ferryd passwd` uses (temp file in the same directory, fsync, rename).
#include "passwd/users_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "passwd/password_hash.hpp"

namespace ferry::passwd {
namespace {

// A users file is a few lines per user; anything this large is a mistake, not a users file.
constexpr std::size_t max_file_size = 16 * 1024 * 1024;

// How long set_user waits for another writer (another `ferryd passwd`) to finish.
constexpr std::chrono::seconds lock_wait{30};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Calls fn(line_number, line) for every line, without its '\n' (a final line may lack one).
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  unsigned number = 0;
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    fn(++number, line);
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// True for a line that holds no entry: blank, or a comment ('#' after optional blanks).
bool is_ignored_line(std::string_view line) {
  const std::string_view t = trim(line);
  return t.empty() || t.front() == '#';
}

std::string errno_text(int error) { return std::strerror(error); }

// "home" or "home:ro" / "home:rw" after the hash, into `entry`; "" or why not.
std::string optional_fields(std::string_view extra, UserEntry& entry) {
  if (extra.empty()) return {};
  const auto colon = extra.find(':');
  const std::string_view home = extra.substr(0, colon);
  const std::string_view access = colon == std::string_view::npos ? std::string_view() : extra.substr(colon + 1);
  if (!home.empty()) {
    if (home.front() != '/') return "the home directory must start with '/'";
    for (char c : home) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "a control character in the home directory";
    }
    entry.home = std::string(home);
  }
  if (access == "ro") {
    entry.read_only = true;
  } else if (!access.empty() && access != "rw") {
    return access.find(':') == std::string_view::npos ? "the field after the home must be 'ro' or 'rw'"
                                                      : "too many fields (name:hash:home:ro at most)";
  }
  return {};
}

// Reads a whole file; on failure returns false and sets `error` to "PATH: reason".
// `st_out`, when given, receives the file's status.
bool read_file(const std::string& path, std::string& out, std::string& error, int* error_number = nullptr,
               struct stat* st_out = nullptr) {
  // O_NONBLOCK: opening a FIFO by mistake must not hang (no effect on regular files).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (error_number) *error_number = errno;
    error = path + ": " + errno_text(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int e = errno;
    ::close(fd);
    error = path + ": " + errno_text(e);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    error = path + ": not a regular file";
    return false;
  }
  if (st_out) *st_out = st;
  out.clear();
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      error = path + ": " + errno_text(e);
      return false;
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (out.size() > max_file_size) {
      ::close(fd);
      error = path + ": file too large for a users file";
      return false;
    }
  }
  ::close(fd);
  return true;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string octal_mode(unsigned mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", mode & 07777u);
  return text;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// The file set_user rewrites: `path` itself, or, when it is a symbolic link, the file the
// link ends at — renaming over the link would replace it with a regular file and leave
// the real file without the change. Only the last component matters: a rename through a
// linked directory lands in the real one. False, with `error` set, for a dangling link.
bool resolve_target(const std::string& path, std::string& target, std::string& error) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) {
    target = path;  // a missing file is created; other errors show when it is read
    return true;
  }
  char* const real = ::realpath(path.c_str(), nullptr);
  if (!real) {
    error = path + ": " + (errno == ENOENT ? std::string("a symbolic link to a missing file") : errno_text(errno));
    return false;
  }
  target = real;
  std::free(real);
  return true;
}

// An exclusive flock on PATH.lock, held for the whole read-modify-rename of PATH, so that
// concurrent writers take turns and each reads what the previous one wrote. A file of its
// own (kept, never renamed) because the rename swaps PATH's inode, and a lock on the old
// inode would not stop the next writer.
class WriterLock {
 public:
  // Waits at most lock_wait; on failure ok() is false and error() says why.
  explicit WriterLock(const std::string& lock_path) {
    // Read-only is enough for flock; O_NOFOLLOW: a planted symlink must not make us create
    // a file elsewhere.
    fd_ = ::open(lock_path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0) {
      error_ = lock_path + ": " + errno_text(errno);
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + lock_wait;
    for (;;) {
      if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
      const int e = errno;
      if (e == EINTR) continue;
      if (e != EWOULDBLOCK) {
        error_ = lock_path + ": " + errno_text(e);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        error_ = lock_path + ": still locked by another writer after " + std::to_string(lock_wait.count()) + " s";
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::close(fd_);
    fd_ = -1;
  }
  ~WriterLock() {
    if (fd_ >= 0) ::close(fd_);  // releases the lock
  }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

  bool ok() const { return fd_ >= 0; }
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  std::string error_;
};

}  // namespace

const UserEntry* UsersFile::find(std::string_view name) const {
  for (const UserEntry& user : users) {
    if (user.name == name) return &user;
  }
  return nullptr;
}

bool valid_user_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

UsersFileResult parse_users(std::string_view text, std::string_view source) {
  UsersFile file;
  std::string error;
  for_each_line(text, [&](unsigned number, std::string_view line) {
    if (!error.empty() || is_ignored_line(line)) return;
    auto fail = [&](const std::string& reason) {
      error = std::string(source) + ":" + std::to_string(number) + ": " + reason;
    };
    line = trim(line);
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      fail("expected 'name:hash'");
      return;
    }
    const std::string_view name = line.substr(0, colon);
    std::string_view hash = line.substr(colon + 1);
    // crypt(3) hashes never hold ':': what follows one is the optional fields.
    std::string_view extra;
    if (const auto more = hash.find(':'); more != std::string_view::npos) {
      extra = hash.substr(more + 1);
      hash = hash.substr(0, more);
    }
    if (!valid_user_name(name)) {
      fail(name.empty() ? std::string("empty user name")
                        : "invalid user name (allowed: letters, digits, '.', '_', '-', '@')");
      return;
    }
    // Built with append: `"'" + std::string(...)` trips GCC 12's false -Wrestrict (PR 105329).
    std::string quoted(1, '\'');
    quoted.append(name).push_back('\'');
    if (const UserEntry* first = file.find(name)) {
      fail("duplicate user " + quoted + " (first on line " + std::to_string(first->line) + ")");
      return;
    }
    if (hash.empty()) {
      fail("empty hash for user " + quoted);
      return;
    }
    if (classify_hash(hash) == HashScheme::unknown) {
      if (hash.front() == '$') {
        fail("unsupported hash scheme for user " + quoted +
             " (use yescrypt $y$, bcrypt $2b$/$2y$ or sha512crypt $6$)");
      } else {
        fail("the entry for user " + quoted +
             " is not a crypt(3) hash (plain-text passwords are not accepted; use 'ferryd passwd')");
      }
      return;
    }
    UserEntry entry;
    entry.name = std::string(name);
    entry.hash = std::string(hash);
    entry.line = number;
    if (std::string why = optional_fields(extra, entry); !why.empty()) {
      fail(why + " for user " + quoted);
      return;
    }
    file.users.push_back(std::move(entry));
  });
  if (!error.empty()) return UsersFileResult{std::nullopt, std::move(error)};
  return UsersFileResult{std::move(file), {}};
}

UsersFileResult load_users_file(const std::string& path) {
  std::string text;
  std::string error;
  if (!read_file(path, text, error)) return UsersFileResult{std::nullopt, std::move(error)};
  return parse_users(text, path);
}

namespace {

// `old_text` with `user`'s line replaced (the first one; later duplicates, which would make
// the file invalid, are dropped) or appended at the end; every other line as it is.
std::string with_user_line(std::string_view old_text, std::string_view user, std::string_view hash, bool& replaced) {
  const std::string new_line = std::string(user) + ":" + std::string(hash);
  std::string new_text;
  replaced = false;
  for_each_line(old_text, [&](unsigned, std::string_view line) {
    if (!is_ignored_line(line)) {
      const std::string_view t = trim(line);
      if (t.substr(0, t.find(':')) == user) {
        // The optional fields after the old hash stay (see optional_fields).
        const auto hash_end = t.find(':', t.find(':') + 1);
        const std::string_view kept = hash_end == std::string_view::npos ? std::string_view() : t.substr(hash_end);
        if (!replaced) new_text += new_line + std::string(kept) + "\n";
        replaced = true;
        return;
      }
    }
    new_text.append(line);
    new_text += '\n';
  });
  if (!replaced) new_text += new_line + "\n";
  return new_text;
}

// Writes `text` to a temporary file beside `path` and renames it over `path`, durably. The
// replacement keeps the old file's owner and group (`old`, when it `existed`) where it
// can, and gets `mode`. Returns "" or what failed; `notes` gets what changed.
std::string replace_file(const std::string& path, const std::string& text, bool existed, const struct stat& old,
                         mode_t mode, std::vector<std::string>& notes) {
  std::string temp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) return temp + ": " + errno_text(errno);
  auto abandon = [&](const std::string& what) {
    const std::string message = what + ": " + errno_text(errno);
    ::close(fd);
    ::unlink(temp.c_str());
    return message;
  };
  if (existed) {
    if (::geteuid() == 0) {
      if (::fchown(fd, old.st_uid, old.st_gid) != 0) return abandon(temp);
    } else {
      // Not root: the file becomes the caller's; its group can stay if the caller is in it.
      if (old.st_gid != ::getegid()) {
        [[maybe_unused]] const int ignored = ::fchown(fd, static_cast<uid_t>(-1), old.st_gid);
      }
      struct stat now {};
      if (::fstat(fd, &now) != 0) return abandon(temp);
      if (now.st_uid != old.st_uid || now.st_gid != old.st_gid) {
        notes.push_back(path + ": now owned by " + std::to_string(now.st_uid) + ":" + std::to_string(now.st_gid) +
                        " (was " + std::to_string(old.st_uid) + ":" + std::to_string(old.st_gid) +
                        "; only root can keep the owner)");
      }
    }
  }
  // After fchown, which may clear bits; fchmod is not narrowed by the umask.
  if (::fchmod(fd, mode) != 0) return abandon(temp);
  if (!write_all(fd, text)) return abandon(temp);
  if (::fsync(fd) != 0) return abandon(temp);
  if (::close(fd) != 0) {
    const std::string message = temp + ": " + errno_text(errno);
    ::unlink(temp.c_str());
    return message;
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string message = path + ": " + errno_text(errno);
    ::unlink(temp.c_str());
    return message;
  }
  // Make the rename itself durable. A failure here does not undo the update: ignore it.
  const int dir_fd = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

}  // namespace

SetUserResult set_user(const std::string& given_path, std::string_view user, std::string_view hash) {
  auto failure = [](std::string error) { return SetUserResult{std::move(error), {}}; };
  if (!valid_user_name(user)) return failure("invalid user name '" + std::string(user) + "'");
  if (classify_hash(hash) == HashScheme::unknown) return failure("not a supported crypt(3) hash");

  std::string path;  // the file itself, not a link to it
  if (std::string error; !resolve_target(given_path, path, error)) return failure(error);
  const WriterLock lock(path + ".lock");
  if (!lock.ok()) return failure(lock.error());

  // Read under the lock: what another writer renamed into place before we got it counts.
  std::string old_text;
  std::string error;
  int error_number = 0;
  struct stat old_st {};
  const bool existed = read_file(path, old_text, error, &error_number, &old_st);
  if (!existed && error_number != ENOENT) return failure(error);

  SetUserResult result;
  const std::string new_text = with_user_line(old_text, user, hash, result.replaced);
  // The replacement must stay readable by whoever read the old file (e.g. ferryd after
  // dropping to server.user, on SIGHUP): same owner and group, same mode — except that a
  // users file is never wider than 0640. A new file is the caller's, 0600.
  mode_t mode = 0600;
  if (existed) {
    const unsigned old_mode = old_st.st_mode & 07777u;
    mode = static_cast<mode_t>(users_file_mode(old_mode));
    if (mode != old_mode) {
      result.notes.push_back(path + ": mode " + octal_mode(old_mode) + " narrowed to " + octal_mode(mode) +
                             " (a users file is never writable by its group, nor open to others)");
    }
  }
  if (error = replace_file(path, new_text, existed, old_st, mode, result.notes); !error.empty()) {
    return failure(error);
  }
  return result;
}

}  // namespace ferry::passwd
