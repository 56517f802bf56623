// fs_local: the jail. Every operation starts from a descriptor of the user's root and resolves the
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
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string_view>

namespace fs_local {

class Jail {
 public:
  explicit Jail(bool force_walk) : walk_(force_walk) {}
  Jail(const Jail&) = delete;
  Jail& operator=(const Jail&) = delete;

  // Opens `rel` (relative, "" = the root) beneath `root`: a descriptor or -errno.
  // Thread-safe; the only state is the switch to the walk once openat2 reports ENOSYS.
  int open_beneath(int root, std::string_view rel, int flags, mode_t mode) const;

 private:
  // The fallback for kernels without openat2: one component at a time, O_NOFOLLOW, holding
  // a descriptor for every directory on the way (".." pops one; popping the root is EXDEV),
  // relative symlinks expanded in place, absolute ones refused (EXDEV).
  static int walk_open(int root, std::string_view path, int flags, mode_t mode);

  mutable std::atomic<bool> walk_;
};

}  // namespace fs_local
