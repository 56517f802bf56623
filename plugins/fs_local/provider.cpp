// fs_local: the provider (see provider.hpp): stat, list, open and every change, each
// resolved beneath the user's root through the jail.
#include "provider.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "credentials.hpp"
#include "errors.hpp"
#include "fd.hpp"
#include "ferry/io_hints.hpp"
#include "handles.hpp"
#include "jail.hpp"
#include "names.hpp"
#include "stamps.hpp"

namespace fs_local {

int make_directories(const std::string& path, mode_t mode) {
  std::size_t pos = 0;
  for (;;) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && ::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) return errno;
    if (pos == std::string::npos) return 0;
  }
}

namespace {

using ferry::Error;
using ferry::FileInfo;
using ferry::FileType;
using ferry::Result;
using ferry::Status;
using ferry::UserContext;
using ferry::WriteMode;

constexpr int max_unique_suffix = 9999;
constexpr time_t stale_temp_age = 10;  // seconds; see "Temporary files" in names.hpp

FileType type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileType::file;
  if (S_ISDIR(mode)) return FileType::directory;
  if (S_ISLNK(mode)) return FileType::symlink;
  return FileType::other;
}

// Sets O_NONBLOCK off again (files are opened with it so that a FIFO never blocks the open).
// `opened_with` are the open(2) flags: F_SETFL takes the status flags among them (O_APPEND
// stays) and ignores the rest, so no F_GETFL first (one call fewer a file).
void clear_nonblock(int fd, int opened_with) { (void)::fcntl(fd, F_SETFL, opened_with & ~O_NONBLOCK); }

class LocalProvider final : public ferry::FileProvider, public ferry::ProviderIoHints, public ferry::ProviderStamps {
 public:
  explicit LocalProvider(Settings s) : s_(std::move(s)), jail_(s_.force_walk) {}

  bool fast_open() const noexcept override { return s_.local; }

  Result<FileInfo> stat(const UserContext& user, std::string_view path) noexcept override {
    try {
      const std::string_view rel = relative_of(path);
      if (auto bad = check_path(path)) return *bad;
      auto root = open_root(user);
      if (!root) return root.error();
      const int fd = jail_.open_beneath(root->get(), rel, O_PATH, 0);
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

  Result<ferry::ContentStamp> content_stamp(const UserContext& user, std::string_view path) noexcept override {
    try {
      if (auto bad = check_path(path)) return *bad;
      auto target = open_target(user, path);
      if (!target) return target.error();
      struct stat st {};
      if (::fstat(target->get(), &st) != 0) return errno_error(errno, "stat", path);
      if (!S_ISREG(st.st_mode)) return Error{Status::not_supported, std::string(path) + ": not a regular file"};
      return stamp_of(st);
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
      const int fd = jail_.open_beneath(root->get(), rel, O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0);
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
          const int link_fd = jail_.open_beneath(root->get(), target, O_PATH, 0);
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
      constexpr int read_flags = O_RDONLY | O_NOCTTY | O_NONBLOCK;
      const int fd = jail_.open_beneath(root->get(), rel, read_flags, 0);
      if (fd < 0) return errno_error(-fd, "open", path);
      Fd file(fd);
      struct stat st {};
      if (::fstat(file.get(), &st) != 0) return errno_error(errno, "open", path);
      if (S_ISDIR(st.st_mode)) return Error{Status::is_a_directory, std::string(path) + ": is a directory"};
      if (!S_ISREG(st.st_mode)) return Error{Status::not_supported, std::string(path) + ": not a regular file"};
      clear_nonblock(file.get(), read_flags);
      return make_read_handle(std::move(file), static_cast<std::uint64_t>(st.st_size));
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
      WriteTarget t;
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
      return make_write_handle(std::move(t));
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
    const int fd = jail_.open_beneath(root->get(), relative_of(path), O_PATH, 0);
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
    const int fd = jail_.open_beneath(root->get(), split->parent, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return errno_error(-fd, "open the directory of", path);
    return Parent{Fd(fd), std::move(split->base)};
  }

  // Opens `name` in `t.dir` without following a symlink, for writing; must be a regular file.
  static int open_existing_for_write(int dir, const std::string& name, int extra, Fd& out) {
    const int flags = O_WRONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | extra;
    Fd fd(::openat(dir, name.c_str(), flags));
    if (!fd) return errno;
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno;
    if (S_ISDIR(st.st_mode)) return EISDIR;
    if (!S_ISREG(st.st_mode)) return ENXIO;
    clear_nonblock(fd.get(), flags);
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
  Result<void> open_replace(WriteTarget& t) const {
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

  Result<void> open_resume(WriteTarget& t, std::uint64_t offset) const {
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

  Result<void> open_append(WriteTarget& t) const {
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

  Result<void> open_unique(WriteTarget& t) const {
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
  Jail jail_;
};

}  // namespace

ferry::PluginObject* make_provider(Settings settings) { return new LocalProvider(std::move(settings)); }

}  // namespace fs_local
