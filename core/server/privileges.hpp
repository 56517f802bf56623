// Who ferryd runs as: started as root, it binds its ports first and then becomes
// server.user (and group) for good, as vsftpd and ProFTPD do. Staying root needs
// server.allow_root = true.
#pragma once

#include <string>
#include <sys/types.h>

#include "server/config.hpp"

namespace ferry {

struct RunAs {
  bool change = false;  // false: keep the current identity
  std::string user;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Decides from the config and the process's identity, before anything is bound, so that
// a typo in server.user fails at start-up (and under --check). Returns "" or an error.
std::string plan_privileges(const Config& config, RunAs& plan);

// Becomes plan.user for good: supplementary groups, group, then user; checks that root
// cannot be regained. Returns "" or an error (the caller must then exit).
std::string drop_privileges(const RunAs& plan);

}  // namespace ferry
