// fs_local: a FileProvider serving a local directory tree, optionally writable, with one
// root per user ("%u" in `root`).
//
// The jail. Every operation starts from a descriptor of the user's root and resolves the
// relative path beneath it with openat2(2) and RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS:
// neither ".." nor a symlink pointing outside (absolute, or climbing above the root) nor
// one swapped in during a request can lead outside. Symlinks that stay inside the tree are
// followed. Operations on a last component (unlink, mkdir, rename, utimensat, fchmodat)
// open the PARENT beneath the root and use the *at() call on the base name, never following
// a symlink there. Where openat2 is missing (ENOSYS: kernels before 5.6, some seccomp
// filters) the same semantics come from a component-by-component walk that opens each
// component with O_NOFOLLOW, keeps the descriptors of the directories it went through
// (so ".." goes back to a held descriptor and never above the root), and expands relative
// symlinks itself; absolute symlinks are refused, as with RESOLVE_BENEATH. The environment
// variable FERRY_FS_LOCAL_WALK=1, read when a provider is created, forces the walk (tests).
//
// Uploads (open_write):
//   replace  the file exists: the data goes to ".<name>.ferry-XXXXXX" in the same directory
//            and commit() renames it over the old file, which stays intact until then; a
//            handle dropped without commit() unlinks the temporary file.
//            The file does NOT exist yet: the data goes straight to the final name (created
//            with O_EXCL), so an aborted upload leaves a partial file that the client can
//            resume with REST + STOR or APPE. (There is no old file to protect.)
//   resume   REST n + STOR: the existing file is truncated to n (n beyond its end is refused)
//            and written from n; a partial upload stays.
//   append   APPE: appends, creating the file when missing.
//   unique   STOU: creates <name>, else <name>.1, <name>.2, ... (O_EXCL); final_name() tells.
//
// Storage failures. A write or commit that fails with ENOSPC (452), EDQUOT or EFBIG (552)
// leaves nothing behind when the handle is dropped: the temporary file of a replace is
// removed (the old file stays), a file this upload created is removed, and a file that
// existed (APPE, REST + STOR) is cut back to the size it had when the upload started. Both
// only while the file still ends with this upload's bytes: another session's append that
// landed meanwhile was answered 226 and is never cut away. The
// bytes that did not fit would otherwise keep the disk full for every other session, and a
// resume could not succeed before space is freed (or, for EFBIG, ever). Only a transfer that
// was interrupted (connection lost, ABOR, a server crash) keeps its partial new file.
//
// Temporary files. A ".<name>.ferry-XXXXXX" is never listed, and no command can read, write,
// delete or rename a path naming one (not found / name not allowed): it is the provider's.
// The writer holds an flock(2) on it; a server killed mid-upload (SIGKILL, power loss)
// leaves it unlocked. Listing a directory of a writable mount removes such stale temporary
// files once they are older than stale_temp_age seconds (the age only covers the moment
// between creating the file and locking it), if they are the server's own (its uid, 0600).
//
// Thread-safety: the provider's settings never change after creation; the only mutable
// state is an atomic flag that switches to the walk when openat2 reports ENOSYS.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/export.hpp"
#include "ferry/plugin.hpp"

namespace {

using ferry::Error;
using ferry::FileInfo;
using ferry::FileType;
using ferry::Result;
using ferry::Status;
using ferry::UserContext;
using ferry::WriteMode;

constexpr int max_symlinks = 40;  // as the kernel's own limit (ELOOP beyond)
constexpr int max_unique_suffix = 9999;
constexpr time_t stale_temp_age = 10;  // seconds; see "Temporary files" above

// ---------------------------------------------------------------------------------------
// Small helpers

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

Status status_from_errno(int e) {
  switch (e) {
    case ENOENT: return Status::not_found;
    case EACCES:
    case EPERM:
    case EXDEV:
    case ELOOP:
    case EROFS: return Status::permission_denied;
    case EEXIST: return Status::already_exists;
    case ENOTDIR: return Status::not_a_directory;
    case EISDIR: return Status::is_a_directory;
    case ENOTEMPTY: return Status::not_empty;
    case ENAMETOOLONG:
    case EINVAL: return Status::bad_name;
    case ENOSPC: return Status::no_space;
    case EDQUOT:
    case EFBIG: return Status::quota_exceeded;
    case EOPNOTSUPP:
    case ENXIO: return Status::not_supported;
    default: return Status::io_error;
  }
}

// `path` is the provider-relative path the client asked for: never a real path on disk.
Error errno_error(int e, std::string_view what, std::string_view path) {
  std::string message(what);
  if (!path.empty()) message += std::string(" ") + std::string(path);
  if (e == EXDEV) {
    message += ": outside the user's root";
  } else {
    message += std::string(": ") + std::strerror(e);
  }
  return Error{status_from_errno(e), std::move(message)};
}

Error out_of_memory() { return Error{Status::io_error, "fs_local: out of memory"}; }

// "/a/b/" -> "a/b"; "/" -> "".
std::string_view relative_of(std::string_view path) {
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
}

struct Split {
  std::string parent;  // relative, "" for the root
  std::string base;
};

// Splits off the last component; refuses the root itself and "." / "..".
Result<Split> split_last(std::string_view rel, std::string_view display) {
  if (rel.empty()) return Error{Status::permission_denied, "the root directory cannot be changed"};
  const auto slash = rel.rfind('/');
  Split s;
  if (slash != std::string_view::npos) {
    s.parent = std::string(rel.substr(0, slash));
    s.base = std::string(rel.substr(slash + 1));
  } else {
    s.base = std::string(rel);
  }
  if (s.base.empty() || s.base == "." || s.base == "..") {
    return Error{Status::bad_name, "not a usable file name: " + std::string(display)};
  }
  return s;
}

std::vector<std::string> components_of(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t i = 0;
  while (i <= path.size()) {
    const std::size_t j = std::min(path.find('/', i), path.size());
    if (j > i) parts.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

FileType type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileType::file;
  if (S_ISDIR(mode)) return FileType::directory;
  if (S_ISLNK(mode)) return FileType::symlink;
  return FileType::other;
}

// Reads a symlink through a descriptor of the link itself (O_PATH|O_NOFOLLOW) or by name.
int read_link(int dirfd, const char* name, std::string& target) {
  std::vector<char> buffer(256);
  for (;;) {
    const ssize_t n = ::readlinkat(dirfd, name, buffer.data(), buffer.size());
    if (n < 0) return errno;
    if (static_cast<std::size_t>(n) < buffer.size()) {
      target.assign(buffer.data(), static_cast<std::size_t>(n));
      return 0;
    }
    if (buffer.size() >= 65536) return ENAMETOOLONG;
    buffer.resize(buffer.size() * 2);
  }
}

// Sets O_NONBLOCK off again (files are opened with it so that a FIFO never blocks the open).
void clear_nonblock(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK)) (void)::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

std::string random_suffix() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  unsigned char bytes[6] = {};
  if (::getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes)) {
    // Practically never: fall back to something that still differs between attempts.
    static std::atomic<unsigned> counter{0};
    unsigned v = counter.fetch_add(1) ^ static_cast<unsigned>(::getpid()) ^ static_cast<unsigned>(::time(nullptr));
    for (auto& b : bytes) {
      b = static_cast<unsigned char>(v);
      v = v * 1103515245u + 12345u;
    }
  }
  std::string s;
  for (unsigned char b : bytes) s += alphabet[b % (sizeof alphabet - 1)];
  return s;
}

// ".<name>.ferry-XXXXXX", shortening <name> so that the whole stays within NAME_MAX.
std::string temp_name_for(const std::string& base) {
  constexpr std::size_t overhead = 1 + 7 + 6;  // "." ".ferry-" "XXXXXX"
  constexpr std::size_t name_max = 255;
  std::string stem = base.size() + overhead > name_max ? base.substr(0, name_max - overhead) : base;
  return "." + stem + ".ferry-" + random_suffix();
}

// True for a name temp_name_for() makes: "." + something + ".ferry-" + 6 letters or digits.
bool is_temp_name(std::string_view name) {
  constexpr std::string_view marker = ".ferry-";
  constexpr std::size_t suffix = 6;
  if (name.size() < 1 + 1 + marker.size() + suffix || name.front() != '.') return false;
  if (name.substr(name.size() - suffix - marker.size(), marker.size()) != marker) return false;
  return std::all_of(name.end() - suffix, name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

bool names_a_temp_file(std::string_view path) {
  for (const auto& part : components_of(path)) {
    if (is_temp_name(part)) return true;
  }
  return false;
}

// The errors that mean "the data does not fit": the upload's leftovers are removed.
bool is_storage_errno(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG; }

bool safe_user_component(std::string_view user) {
  if (user.empty() || user == "." || user == "..") return false;
  return user.find('/') == std::string_view::npos && user.find('\0') == std::string_view::npos;
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// mkdir -p; 0 or an errno.
int make_directories(const std::string& path, mode_t mode) {
  std::size_t pos = 0;
  for (;;) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) return errno;
    if (pos == std::string::npos) return 0;
  }
}

// ---------------------------------------------------------------------------------------
// Settings and access bits

struct Settings {
  std::string root;  // absolute; may contain %u
  bool per_user = false;
  bool writable = true;
  bool create_root = true;
  mode_t file_mode = 0644;
  mode_t dir_mode = 0755;
  bool force_walk = false;
  bool local = true;  // on a local file system: opens and writes may run on the core's I/O thread
};

struct Access {
  bool read = false;
  bool write = false;
  bool search = false;
};

// The process's credentials as they are now. Taken per operation, never kept: ferryd creates
// its plugins as root and only then drops to server.user.
class Credentials {
 public:
  Credentials() : uid_(::geteuid()), gid_(::getegid()) {
    const int n = ::getgroups(0, nullptr);
    if (n > 0) {
      groups_.resize(static_cast<std::size_t>(n));
      const int got = ::getgroups(n, groups_.data());
      groups_.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    }
  }

  // What this process may do with a file of the given owner and mode (as the kernel decides,
  // ACLs aside).
  Access access_of(const struct stat& st) const {
    if (uid_ == 0) return {true, true, S_ISDIR(st.st_mode) || (st.st_mode & 0111) != 0};
    unsigned bits = st.st_mode & 07;
    if (st.st_uid == uid_) {
      bits = (st.st_mode >> 6) & 07;
    } else if (st.st_gid == gid_ || std::find(groups_.begin(), groups_.end(), st.st_gid) != groups_.end()) {
      bits = (st.st_mode >> 3) & 07;
    }
    return {(bits & 4) != 0, (bits & 2) != 0, (bits & 1) != 0};
  }

 private:
  uid_t uid_;
  gid_t gid_;
  std::vector<gid_t> groups_;
};

// ---------------------------------------------------------------------------------------
// Handles

class LocalReadHandle final : public ferry::ReadHandle {
 public:
  LocalReadHandle(Fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}

  int native_fd() const noexcept override { return fd_.get(); }
  std::uint64_t size() const noexcept override { return size_; }

  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> buffer) noexcept override {
    for (;;) {
      const ssize_t n = ::pread(fd_.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return errno_error(errno, "read", "");
    }
  }

 private:
  Fd fd_;
  std::uint64_t size_;
};

class LocalWriteHandle final : public ferry::WriteHandle {
 public:
  struct Target {
    Fd dir;                 // the parent directory (O_PATH)
    Fd file;                // open for writing
    std::string name;       // the final base name
    std::string temp_name;  // non-empty: a replacing upload written to this temporary file
    std::uint64_t position = 0;  // where the next byte goes (APPE: how many were appended)
    bool append = false;
    bool truncate_first = false;  // REST + STOR: drop what follows `position` once data arrives
    mode_t final_mode = 0644;  // applied at commit to a temporary file
    std::string display;       // the provider-relative path, for messages
    bool created = false;      // this upload created `name` (no temporary file)
    std::uint64_t original_size = 0;  // otherwise: its size when the upload started writing
    dev_t dev = 0;             // the inode written, to recognise it by name later
    ino_t ino = 0;
    bool local = true;         // a local file system: write() only fills the page cache
  };

  explicit LocalWriteHandle(Target t) : t_(std::move(t)) {}

  ~LocalWriteHandle() override {
    if (!committed_ && t_.temp_name.empty() && storage_errno_ != 0) undo_after_storage_failure();
    if (!committed_ && t_.created && t_.position == 0) remove_if_still_empty();  // e.g. 425: nothing to resume
    t_.file.reset();
    if (!committed_ && !t_.temp_name.empty()) (void)::unlinkat(t_.dir.get(), t_.temp_name.c_str(), 0);
  }
  LocalWriteHandle(const LocalWriteHandle&) = delete;
  LocalWriteHandle& operator=(const LocalWriteHandle&) = delete;

  Result<std::size_t> write(std::span<const std::byte> data) noexcept override {
    if (!t_.file) return Error{Status::io_error, "write after commit"};
    if (auto cut = truncate_if_first(); !cut) return cut.error();
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = t_.append ? ::write(t_.file.get(), data.data() + done, data.size() - done)
                                  : ::pwrite(t_.file.get(), data.data() + done, data.size() - done,
                                             static_cast<off_t>(t_.position));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (done > 0) break;  // report what was written; the next call reports the error
        return fail(errno, "write");
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
      t_.position += static_cast<std::uint64_t>(n);
    }
    if (done == 0 && !data.empty()) return Error{Status::io_error, "write " + t_.display + ": no progress"};
    return done;
  }

  Result<void> commit() noexcept override {
    try {
      if (committed_) return {};
      if (!t_.file) return Error{Status::io_error, "commit without an open file"};
      if (auto cut = truncate_if_first(); !cut) return cut.error();  // an empty REST + STOR
      if (!t_.temp_name.empty()) (void)::fchmod(t_.file.get(), t_.final_mode);
      if (::fdatasync(t_.file.get()) != 0 && errno != EINVAL && errno != EROFS) return fail(errno, "sync");
      // Renamed while still open, so still locked: a listing never takes it for a crashed
      // upload's leftover in between.
      if (!t_.temp_name.empty() &&
          ::renameat(t_.dir.get(), t_.temp_name.c_str(), t_.dir.get(), t_.name.c_str()) != 0) {
        return fail(errno, "replace");  // the destructor removes the temporary file
      }
      committed_ = true;
      if (::close(t_.file.release()) != 0 && errno != EINTR) return fail(errno, "close");
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

  std::string final_name() const override { return t_.name; }
  bool fast_write() const noexcept override { return t_.local; }  // pwrite into the page cache
  // splice(2) refuses a file opened O_APPEND (APPE); everything else takes it.
  bool accepts_splice() const noexcept override { return t_.local && !t_.append; }

  Result<std::size_t> splice_from(int pipe_fd, std::size_t count) noexcept override {
    if (!t_.file) return Error{Status::io_error, "write after commit"};
    if (auto cut = truncate_if_first(); !cut) return cut.error();
    while (true) {
      loff_t position = static_cast<loff_t>(t_.position);
      const ssize_t n = ::splice(pipe_fd, nullptr, t_.file.get(), &position, count, SPLICE_F_MOVE);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(errno, "write");
      if (n == 0 && count > 0) return Error{Status::io_error, "write " + t_.display + ": no progress"};
      t_.position += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }

 private:
  Error fail(int e, std::string_view what) {
    if (is_storage_errno(e)) storage_errno_ = e;
    return errno_error(e, what, t_.display);
  }

  // REST n + STOR replaces what follows n, but only once data arrives: a transfer that never
  // starts (no data connection, 425) leaves the file as it was.
  Result<void> truncate_if_first() noexcept {
    if (!t_.truncate_first) return {};
    if (::ftruncate(t_.file.get(), static_cast<off_t>(t_.position)) != 0) return fail(errno, "resume");
    t_.truncate_first = false;
    return {};
  }

  // A file this upload created and never wrote to, if the name still holds it, empty.
  void remove_if_still_empty() noexcept {
    struct stat st {};
    if (::fstatat(t_.dir.get(), t_.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == t_.dev &&
        st.st_ino == t_.ino && st.st_size == 0) {
      (void)::unlinkat(t_.dir.get(), t_.name.c_str(), 0);
    }
  }

  // The data did not fit: remove the file this upload created (if the name still holds it),
  // or cut an existing file back to the size it had before. See "Storage failures" above.
  void undo_after_storage_failure() noexcept {
    struct stat st {};
    if (::fstatat(t_.dir.get(), t_.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != t_.dev ||
        st.st_ino != t_.ino) {
      return;  // the name holds another file by now
    }
    // The file must still end where this upload's bytes end; otherwise another session wrote
    // after them, and its data (answered 226) is not ours to cut away.
    const std::uint64_t our_end = t_.append ? t_.original_size + t_.position : t_.position;
    if (static_cast<std::uint64_t>(st.st_size) != our_end) return;
    if (t_.created) {
      (void)::unlinkat(t_.dir.get(), t_.name.c_str(), 0);
    } else if (t_.file) {
      // Best effort, as the unlink above; a (void) cast does not silence glibc's
      // warn_unused_result under _FORTIFY_SOURCE (the Debian build).
      [[maybe_unused]] const int ignored = ::ftruncate(t_.file.get(), static_cast<off_t>(t_.original_size));
    }
  }

  Target t_;
  bool committed_ = false;
  int storage_errno_ = 0;  // ENOSPC, EDQUOT or EFBIG seen by write() or commit()
};

// ---------------------------------------------------------------------------------------
// The provider

class LocalProvider final : public ferry::FileProvider {
 public:
  explicit LocalProvider(Settings s) : s_(std::move(s)), walk_(s_.force_walk) {}

  bool fast_open() const noexcept override { return s_.local; }

  Result<FileInfo> stat(const UserContext& user, std::string_view path) noexcept override {
    try {
      const std::string_view rel = relative_of(path);
      if (auto bad = check_path(path)) return *bad;
      auto root = open_root(user);
      if (!root) return root.error();
      const int fd = open_beneath(root->get(), rel, O_PATH, 0);
      if (fd < 0) return errno_error(-fd, "stat", path);
      const Fd file(fd);
      struct stat st {};
      if (::fstat(file.get(), &st) != 0) return errno_error(errno, "stat", path);
      const auto slash = rel.rfind('/');
      return info_of(std::string(slash == std::string_view::npos ? rel : rel.substr(slash + 1)), st, Credentials());
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<std::vector<FileInfo>> list(const UserContext& user, std::string_view path) noexcept override {
    try {
      const std::string_view rel = relative_of(path);
      if (auto bad = check_path(path)) return *bad;
      auto root = open_root(user);
      if (!root) return root.error();
      const int fd = open_beneath(root->get(), rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0);
      if (fd < 0) return errno_error(-fd, "list", path);
      DIR* dir = ::fdopendir(fd);
      if (dir == nullptr) {
        const int e = errno;
        ::close(fd);
        return errno_error(e, "list", path);
      }
      std::unique_ptr<DIR, int (*)(DIR*)> guard(dir, &::closedir);
      const Credentials credentials;
      std::vector<FileInfo> entries;
      for (;;) {
        errno = 0;
        const struct dirent* entry = ::readdir(dir);
        if (entry == nullptr) {
          if (errno != 0) return errno_error(errno, "list", path);
          break;
        }
        const std::string name = entry->d_name;
        if (name == "." || name == "..") continue;
        if (is_temp_name(name)) {
          if (s_.writable) remove_if_stale(::dirfd(dir), name);
          continue;
        }
        struct stat st {};
        if (::fstatat(::dirfd(dir), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // vanished
        if (S_ISLNK(st.st_mode)) {
          // Show what the link leads to, if that is beneath the root; hide it otherwise, so that
          // nothing about the world outside leaks (and hide dangling links too).
          const std::string target = rel.empty() ? name : std::string(rel) + "/" + name;
          const int link_fd = open_beneath(root->get(), target, O_PATH, 0);
          if (link_fd < 0) continue;
          const Fd link(link_fd);
          if (::fstat(link.get(), &st) != 0) continue;
        }
        entries.push_back(info_of(name, st, credentials));
      }
      return entries;
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<std::unique_ptr<ferry::ReadHandle>> open_read(const UserContext& user,
                                                       std::string_view path) noexcept override {
    try {
      const std::string_view rel = relative_of(path);
      if (auto bad = check_path(path)) return *bad;
      auto root = open_root(user);
      if (!root) return root.error();
      // O_NONBLOCK: opening a FIFO must not hang; it is refused below anyway.
      const int fd = open_beneath(root->get(), rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
      if (fd < 0) return errno_error(-fd, "open", path);
      Fd file(fd);
      struct stat st {};
      if (::fstat(file.get(), &st) != 0) return errno_error(errno, "open", path);
      if (S_ISDIR(st.st_mode)) return Error{Status::is_a_directory, std::string(path) + ": is a directory"};
      if (!S_ISREG(st.st_mode)) return Error{Status::not_supported, std::string(path) + ": not a regular file"};
      clear_nonblock(file.get());
      return std::unique_ptr<ferry::ReadHandle>(
          std::make_unique<LocalReadHandle>(std::move(file), static_cast<std::uint64_t>(st.st_size)));
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<std::unique_ptr<ferry::WriteHandle>> open_write(const UserContext& user, std::string_view path,
                                                         WriteMode mode, std::uint64_t offset) noexcept override {
    try {
      if (auto refused = refuse_change(path)) return *refused;
      auto parent = open_parent(user, path);
      if (!parent) return parent.error();
      LocalWriteHandle::Target t;
      t.dir = std::move(parent->dir);
      t.name = std::move(parent->base);
      t.display = std::string(path);
      t.final_mode = s_.file_mode;
      t.local = s_.local;
      Result<void> opened = Error{Status::io_error, "unknown write mode"};
      switch (mode) {
        case WriteMode::replace: opened = open_replace(t); break;
        case WriteMode::resume: opened = open_resume(t, offset); break;
        case WriteMode::append: opened = open_append(t); break;
        case WriteMode::unique: opened = open_unique(t); break;
      }
      if (!opened) return opened.error();
      struct stat st {};
      if (::fstat(t.file.get(), &st) != 0) return errno_error(errno, "upload", path);
      t.dev = st.st_dev;
      t.ino = st.st_ino;
      // What a storage failure cuts back to; for REST + STOR the offset, since what followed
      // it is replaced (see LocalWriteHandle::truncate_if_first).
      if (!t.created) t.original_size = mode == WriteMode::resume ? offset : static_cast<std::uint64_t>(st.st_size);
      return std::unique_ptr<ferry::WriteHandle>(std::make_unique<LocalWriteHandle>(std::move(t)));
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<void> make_directory(const UserContext& user, std::string_view path) noexcept override {
    try {
      if (auto refused = refuse_change(path)) return *refused;
      auto parent = open_parent(user, path);
      if (!parent) return parent.error();
      const int dir = parent->dir.get();
      const char* name = parent->base.c_str();
      if (::mkdirat(dir, name, s_.dir_mode) != 0) return errno_error(errno, "mkdir", path);
      // The configured mode, not the one the process umask left; never through a symlink.
      [[maybe_unused]] const int ignored = ::fchmodat(dir, name, s_.dir_mode, AT_SYMLINK_NOFOLLOW);
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<void> remove_directory(const UserContext& user, std::string_view path) noexcept override {
    try {
      if (auto refused = refuse_change(path)) return *refused;
      auto parent = open_parent(user, path);
      if (!parent) return parent.error();
      if (::unlinkat(parent->dir.get(), parent->base.c_str(), AT_REMOVEDIR) != 0) {
        const int e = errno == EEXIST ? ENOTEMPTY : errno;  // POSIX allows EEXIST for "not empty"
        return errno_error(e, "rmdir", path);
      }
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<void> remove_file(const UserContext& user, std::string_view path) noexcept override {
    try {
      if (auto refused = refuse_change(path)) return *refused;
      auto parent = open_parent(user, path);
      if (!parent) return parent.error();
      // A symlink is removed itself, never what it points to.
      if (::unlinkat(parent->dir.get(), parent->base.c_str(), 0) != 0) return errno_error(errno, "delete", path);
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<void> rename(const UserContext& user, std::string_view from, std::string_view to) noexcept override {
    try {
      if (auto refused = refuse_change(from)) return *refused;
      if (auto refused = refuse_change(to)) return *refused;
      auto source = open_parent(user, from);
      if (!source) return source.error();
      auto target = open_parent(user, to);
      if (!target) return target.error();
      if (::renameat(source->dir.get(), source->base.c_str(), target->dir.get(), target->base.c_str()) != 0) {
        // Here EXDEV means two file systems inside the root (a mount point), not an escape.
        if (errno == EXDEV) return Error{Status::not_supported, "rename " + std::string(from) + ": across file systems"};
        return errno_error(errno, "rename", from);
      }
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<void> set_mtime(const UserContext& user, std::string_view path, std::int64_t mtime) noexcept override {
    try {
      if (auto refused = refuse_change(path)) return *refused;
      auto target = open_target(user, path);
      if (!target) return target.error();
      struct timespec times[2] = {{0, UTIME_OMIT}, {static_cast<time_t>(mtime), 0}};
      if (::utimensat(AT_FDCWD, proc_fd_path(target->get()).c_str(), times, 0) != 0) {
        return errno_error(errno, "set time of", path);
      }
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

  Result<void> set_mode(const UserContext& user, std::string_view path, std::uint32_t mode) noexcept override {
    try {
      if (auto refused = refuse_change(path)) return *refused;
      if (mode > 0777) return Error{Status::not_supported, "only the permission bits 0777 can be set"};
      auto target = open_target(user, path);
      if (!target) return target.error();
      if (::fchmodat(AT_FDCWD, proc_fd_path(target->get()).c_str(), static_cast<mode_t>(mode), 0) != 0) {
        return errno_error(errno, "chmod", path);
      }
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

 private:
  struct Parent {
    Fd dir;
    std::string base;
  };

  static std::optional<Error> check_path(std::string_view path) {
    if (path.find('\0') != std::string_view::npos) return Error{Status::bad_name, "file name contains a NUL byte"};
    if (names_a_temp_file(path)) return Error{Status::not_found, std::string(path) + ": an upload's temporary file"};
    return std::nullopt;
  }

  std::optional<Error> refuse_change(std::string_view path) const {
    if (!s_.writable) return Error{Status::permission_denied, "read-only file system"};
    if (names_a_temp_file(path)) return Error{Status::bad_name, std::string(path) + ": reserved for uploads"};
    if (auto bad = check_path(path)) return bad;
    if (relative_of(path).empty()) return Error{Status::permission_denied, "the root directory cannot be changed"};
    return std::nullopt;
  }

  // Removes the temporary file `name` in `dir` if no upload holds it (see "Temporary files").
  static void remove_if_stale(int dir, const std::string& name) {
    const Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
    if (!fd) return;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    // Only what open_replace() makes: ours and 0600. A look-alike someone put there is left alone.
    if (st.st_uid != ::geteuid() || (st.st_mode & 07777) != 0600) return;
    if (st.st_mtim.tv_sec > ::time(nullptr) - stale_temp_age) return;  // may be just created
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return;             // an upload in progress
    struct stat now {};
    if (::fstatat(dir, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0 && now.st_dev == st.st_dev &&
        now.st_ino == st.st_ino) {
      (void)::unlinkat(dir, name.c_str(), 0);
    }
  }

  FileInfo info_of(std::string name, const struct stat& st, const Credentials& credentials) const {
    FileInfo info;
    info.name = std::move(name);
    info.type = type_of(st.st_mode);
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec);
    info.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
    // Device and inode mixed (MLSx "unique"): a hard link or a followed symlink shows the same id.
    info.unique_id = (static_cast<std::uint64_t>(st.st_dev) * 0x9E3779B97F4A7C15ull) ^ static_cast<std::uint64_t>(st.st_ino);
    if (info.unique_id == 0) info.unique_id = 1;
    const Access a = credentials.access_of(st);
    const bool dir = S_ISDIR(st.st_mode);
    info.readable = a.read && (!dir || a.search);
    info.writable = s_.writable && a.write && (!dir || a.search);
    return info;
  }

  // The user's root, created on first use when so configured.
  Result<Fd> open_root(const UserContext& user) const {
    std::string root = s_.root;
    if (s_.per_user) {
      if (!safe_user_component(user.user)) {
        return Error{Status::permission_denied, "the user name cannot name a directory"};
      }
      root = replace_all(std::move(root), "%u", user.user);
    }
    for (int attempt = 0;; ++attempt) {
      const int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd >= 0) return Fd(fd);
      const int e = errno;
      if (e == ENOENT && s_.create_root && attempt == 0) {
        if (const int made = make_directories(root, 0750); made != 0) {
          return errno_error(made, "create the user's root directory", "");
        }
        continue;
      }
      if (e == ENOENT) return Error{Status::not_found, "the user's root directory does not exist"};
      return errno_error(e, "open the user's root directory", "");
    }
  }

  // The file or directory `path` names, resolved beneath the root (a symlink inside the
  // tree is followed, like reads do; one that leaves it is refused), as an O_PATH descriptor.
  Result<Fd> open_target(const UserContext& user, std::string_view path) const {
    auto root = open_root(user);
    if (!root) return root.error();
    const int fd = open_beneath(root->get(), relative_of(path), O_PATH, 0);
    if (fd < 0) return errno_error(-fd, "open", path);
    return Fd(fd);
  }

  // utimensat/fchmodat cannot take an O_PATH descriptor itself; its /proc link names
  // exactly the inode that was resolved beneath the root, with no second lookup.
  static std::string proc_fd_path(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

  // The parent directory of `path` (resolved beneath the root) and its last component.
  Result<Parent> open_parent(const UserContext& user, std::string_view path) const {
    auto split = split_last(relative_of(path), path);
    if (!split) return split.error();
    auto root = open_root(user);
    if (!root) return root.error();
    const int fd = open_beneath(root->get(), split->parent, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return errno_error(-fd, "open the directory of", path);
    return Parent{Fd(fd), std::move(split->base)};
  }

  // Opens `rel` (relative, "" = the root) beneath `root`: a descriptor or -errno.
  int open_beneath(int root, std::string_view rel, int flags, mode_t mode) const {
    const std::string path = rel.empty() ? std::string(".") : std::string(rel);
    if (!walk_.load(std::memory_order_relaxed)) {
      struct open_how how {};
      how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
      how.mode = (flags & O_CREAT) ? mode : 0;
      how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
      for (int attempt = 0; attempt < 16; ++attempt) {
        const long fd = ::syscall(SYS_openat2, root, path.c_str(), &how, sizeof how);
        if (fd >= 0) return static_cast<int>(fd);
        if (errno == EINTR || errno == EAGAIN) continue;  // EAGAIN: a rename raced with ".."
        if (errno != ENOSYS) return -errno;
        walk_.store(true, std::memory_order_relaxed);
        break;
      }
      if (!walk_.load(std::memory_order_relaxed)) return -EAGAIN;
    }
    return walk_open(root, path, flags, mode);
  }

  // The fallback for kernels without openat2: one component at a time, O_NOFOLLOW, holding
  // a descriptor for every directory on the way (".." pops one; popping the root is EXDEV),
  // relative symlinks expanded in place, absolute ones refused (EXDEV).
  static int walk_open(int root, std::string_view path, int flags, mode_t mode) {
    std::deque<std::string> pending;
    for (auto& c : components_of(path)) pending.push_back(std::move(c));
    std::vector<Fd> stack;  // directories beneath the root, deepest last
    const auto current = [&] { return stack.empty() ? root : stack.back().get(); };
    int links = 0;
    // Replaces the link `name` in `dir` (or the link open as `link_fd`) by its target's components.
    const auto expand = [&](int dir, const char* name) -> int {
      if (++links > max_symlinks) return ELOOP;
      std::string target;
      if (const int e = read_link(dir, name, target); e != 0) return e;
      if (target.empty()) return ENOENT;
      if (target.front() == '/') return EXDEV;
      auto parts = components_of(target);
      pending.insert(pending.begin(), parts.begin(), parts.end());
      return 0;
    };
    while (!pending.empty()) {
      const std::string name = std::move(pending.front());
      pending.pop_front();
      if (name == ".") continue;
      if (name == "..") {
        if (stack.empty()) return -EXDEV;
        stack.pop_back();
        continue;
      }
      if (!pending.empty()) {
        // A directory on the way: open it (or the link itself) without following.
        Fd fd(::openat(current(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) return -errno;
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) return -errno;
        if (S_ISLNK(st.st_mode)) {
          if (const int e = expand(fd.get(), ""); e != 0) return -e;
          continue;
        }
        if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
        stack.push_back(std::move(fd));
        continue;
      }
      // The last component, with the caller's flags.
      const int fd = ::openat(current(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
      if (fd >= 0) {
        if (!(flags & O_PATH)) return fd;
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISLNK(st.st_mode)) return fd;  // O_PATH opened the link itself
        const int e = expand(fd, "");
        ::close(fd);
        if (e != 0) return -e;
        continue;
      }
      const int e = errno;
      // ELOOP (or ENOTDIR with O_DIRECTORY) may mean "a symlink": follow it like openat2 would,
      // except where O_EXCL says the name itself must be new.
      if ((e != ELOOP && e != ENOTDIR) || (flags & O_EXCL)) return -e;
      struct stat st {};
      if (::fstatat(current(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode)) return -e;
      const int x = expand(current(), name.c_str());
      if (x == EINVAL) {  // no longer a link: try the name again
        pending.push_front(name);
        continue;
      }
      if (x != 0) return -x;
    }
    // Only "." and ".." were left: the directory reached so far.
    const int fd = ::openat(current(), ".", flags | O_CLOEXEC, mode);
    return fd >= 0 ? fd : -errno;
  }

  // Opens `name` in `t.dir` without following a symlink, for writing; must be a regular file.
  static int open_existing_for_write(int dir, const std::string& name, int extra, Fd& out) {
    Fd fd(::openat(dir, name.c_str(), O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | extra));
    if (!fd) return errno;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (!S_ISREG(st.st_mode)) return ENXIO;
    clear_nonblock(fd.get());
    out = std::move(fd);
    return 0;
  }

  // Creates `name` in `dir` (must be new) with the configured mode.
  int create_new(int dir, const std::string& name, Fd& out) const {
    Fd fd(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC, s_.file_mode));
    if (!fd) return errno;
    (void)::fchmod(fd.get(), s_.file_mode);  // the configured mode, whatever the umask
    out = std::move(fd);
    return 0;
  }

  // STOR. The rule: an existing file is replaced atomically at commit() through a temporary
  // file; a new file is written in place, so that an aborted upload stays resumable.
  Result<void> open_replace(LocalWriteHandle::Target& t) const {
    const int dir = t.dir.get();
    for (int attempt = 0; attempt < 8; ++attempt) {
      struct stat st {};
      if (::fstatat(dir, t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT) return errno_error(errno, "upload", t.display);
        const int e = create_new(dir, t.name, t.file);
        if (e == 0) {
          t.created = true;
          return {};
        }
        if (e == EEXIST) continue;  // appeared meanwhile: replace it
        return errno_error(e, "upload", t.display);
      }
      if (S_ISDIR(st.st_mode)) return Error{Status::is_a_directory, t.display + ": is a directory"};
      if (S_ISREG(st.st_mode)) {
        if (!Credentials().access_of(st).write) return errno_error(EACCES, "upload", t.display);
        // The replacement keeps the old file's permissions, but not setuid, setgid or sticky:
        // a write by anyone but root clears those too, and the new content is the uploader's.
        t.final_mode = st.st_mode & 0777;
      }
      // A symlink or special file is replaced by the new file (the link is never followed).
      for (int tries = 0; tries < 100; ++tries) {
        const std::string temp = temp_name_for(t.name);
        Fd fd(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (fd) {
          // Held until the handle closes: an unlocked temporary file is a crashed server's.
          (void)::flock(fd.get(), LOCK_EX | LOCK_NB);
          t.file = std::move(fd);
          t.temp_name = temp;
          return {};
        }
        if (errno != EEXIST) return errno_error(errno, "upload", t.display);
      }
      return Error{Status::io_error, t.display + ": cannot find a free temporary name"};
    }
    return Error{Status::io_error, t.display + ": the file keeps changing"};
  }

  Result<void> open_resume(LocalWriteHandle::Target& t, std::uint64_t offset) const {
    const int dir = t.dir.get();
    int e = open_existing_for_write(dir, t.name, 0, t.file);
    if (e == ENOENT && offset == 0) {
      e = create_new(dir, t.name, t.file);
      t.created = e == 0;
    }
    if (e != 0) return errno_error(e, "resume", t.display);
    struct stat st {};
    if (::fstat(t.file.get(), &st) != 0) return errno_error(errno, "resume", t.display);
    if (offset > static_cast<std::uint64_t>(st.st_size)) {
      return Error{Status::not_supported, "restart offset beyond end of file"};
    }
    t.position = offset;
    t.truncate_first = true;
    return {};
  }

  Result<void> open_append(LocalWriteHandle::Target& t) const {
    const int dir = t.dir.get();
    for (int attempt = 0; attempt < 8; ++attempt) {
      int e = open_existing_for_write(dir, t.name, O_APPEND, t.file);
      if (e == ENOENT) {
        e = create_new(dir, t.name, t.file);
        if (e == EEXIST) continue;
        t.created = e == 0;
      }
      if (e != 0) return errno_error(e, "append to", t.display);
      t.append = true;
      return {};
    }
    return Error{Status::io_error, t.display + ": the file keeps changing"};
  }

  Result<void> open_unique(LocalWriteHandle::Target& t) const {
    const std::string suggested = t.name;
    for (int n = 0; n <= max_unique_suffix; ++n) {
      std::string candidate = n == 0 ? suggested : suggested + "." + std::to_string(n);
      const int e = create_new(t.dir.get(), candidate, t.file);
      if (e == 0) {
        t.created = true;
        t.name = std::move(candidate);
        return {};
      }
      if (e != EEXIST) return errno_error(e, "upload", t.display);
    }
    return Error{Status::already_exists, t.display + ": no free unique name"};
  }

  Settings s_;
  mutable std::atomic<bool> walk_;
};

// ---------------------------------------------------------------------------------------
// Options

// A mode given as an integer (TOML 0o644) or a string of octal digits ("0644").
mode_t read_mode(ferry::OptionReader& reader, const ferry::PluginOptions& options, std::string_view key,
                 mode_t fallback) {
  const auto it = std::find_if(options.values.begin(), options.values.end(),
                               [&](const ferry::OptionValue& v) { return v.key == key; });
  if (it == options.values.end()) return fallback;
  std::int64_t value = -1;
  if (std::holds_alternative<std::string>(it->value)) {
    const std::string text = reader.optional_string(key, "");
    char* end = nullptr;
    errno = 0;
    const long parsed = text.empty() ? -1 : std::strtol(text.c_str(), &end, 8);
    value = (errno == 0 && end != nullptr && *end == '\0') ? parsed : -1;
  } else {
    value = reader.optional_int(key, fallback);
  }
  if (value < 0 || value > 0777) {
    reader.fail_key(key, "must be a permission mode from 0 to 0o777 (write 0o644 or \"0644\")");
    return fallback;
  }
  return static_cast<mode_t>(value);
}

// False when the tree lives on a network (or FUSE) file system, where an open or a write
// can wait on a server: then the core keeps every call on its blocking pool. Looks at the
// root, or for a per-user root at the deepest directory above its first %u that exists.
bool on_local_file_system(const std::string& root) {
  std::string probe = root.substr(0, root.find("%u"));
  struct statfs fs {};
  while (::statfs(probe.empty() ? "/" : probe.c_str(), &fs) != 0) {
    if (probe.empty() || probe == "/") return false;  // cannot tell: assume it may stall
    probe = std::filesystem::path(probe).parent_path().string();
  }
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0x6969:      // NFS
    case 0x517B:      // SMB
    case 0xFF534D42:  // CIFS
    case 0xFE534D42:  // SMB2
    case 0x65735546:  // FUSE
    case 0x00C36400:  // Ceph
    case 0x5346414F:  // AFS
    case 0x01021997:  // 9P
    case 0x73757245:  // Coda
    case 0x7461636F:  // OCFS2
    case 0x01161970:  // GFS2
      return false;
    default:
      return true;
  }
}

ferry::PluginObject* create(const ferry::PluginOptions& options, std::string* error) noexcept {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  try {
    ferry::OptionReader reader(options);
    Settings s;
    const std::string configured = reader.required_string("root");
    s.writable = reader.optional_bool("writable", false);  // read-only unless asked, as vsftpd
    s.create_root = reader.optional_bool("create_root", true);
    s.file_mode = read_mode(reader, options, "file_mode", 0644);
    s.dir_mode = read_mode(reader, options, "dir_mode", 0755);
    if (!reader.finish()) {
      *error = reader.error();
      return nullptr;
    }
    if (configured.empty()) {
      reader.fail_key("root", "must not be empty");
      *error = reader.error();
      return nullptr;
    }
    if (configured.find('\0') != std::string::npos) {
      reader.fail_key("root", "must not contain a NUL byte");
      *error = reader.error();
      return nullptr;
    }
    s.root = std::filesystem::absolute(reader.resolve(configured)).lexically_normal().string();
    while (s.root.size() > 1 && s.root.back() == '/') s.root.pop_back();
    s.per_user = s.root.find("%u") != std::string::npos;
    if (!s.per_user) {
      struct stat st {};
      if (::stat(s.root.c_str(), &st) != 0 && errno == ENOENT && s.create_root) {
        if (const int e = make_directories(s.root, 0750); e != 0) {
          reader.fail_key("root", "names a directory that cannot be created: " + s.root + ": " + std::strerror(e));
          *error = reader.error();
          return nullptr;
        }
      }
      if (::stat(s.root.c_str(), &st) != 0) {
        const int e = errno;
        reader.fail_key("root", (e == ENOENT ? "names no such directory: " + s.root
                                             : "names a directory that cannot be used: " + s.root + ": " +
                                                   std::strerror(e)));
        *error = reader.error();
        return nullptr;
      }
      if (!S_ISDIR(st.st_mode)) {
        reader.fail_key("root", "is not a directory: " + s.root);
        *error = reader.error();
        return nullptr;
      }
    }
    s.local = on_local_file_system(s.root);
    const char* walk = std::getenv("FERRY_FS_LOCAL_WALK");
    s.force_walk = walk != nullptr && std::string_view(walk) == "1";
    return new LocalProvider(std::move(s));
  } catch (const std::exception& e) {
    *error = std::string("fs_local: ") + e.what();
  } catch (...) {
    *error = "fs_local: unexpected failure";
  }
  return nullptr;
}

const ferry::PluginDescriptor descriptor{ferry::plugin_api_version, ferry::PluginKind::file_provider, "fs_local",
                                         "0.1.0", &create};

const ferry::PluginDescriptor* entry() { return &descriptor; }

}  // namespace

FERRY_PLUGIN(entry)
