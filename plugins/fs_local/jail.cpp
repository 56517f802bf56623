// fs_local: the jail (see jail.hpp).
#include "jail.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "fd.hpp"
#include "names.hpp"

namespace fs_local {

namespace {

constexpr int max_symlinks = 40;  // as the kernel's own limit (ELOOP beyond)

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

}  // namespace

int Jail::open_beneath(int root, std::string_view rel, int flags, mode_t mode) const {
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

int Jail::walk_open(int root, std::string_view path, int flags, mode_t mode) {
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

}  // namespace fs_local
