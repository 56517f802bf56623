// fs_local: what the server's process may do with a file, as the kernel would judge it.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace fs_local {

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

}  // namespace fs_local
