// Dropping root after binding (see privileges.hpp).
#include "server/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "server/log.hpp"

namespace ferry {

namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

bool is_current_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  return ::getpwnam_r(name.c_str(), &pw, buffer.data(), buffer.size(), &found) == 0 && found &&
         pw.pw_uid == ::geteuid();
}

}  // namespace

std::string plan_privileges(const Config& config, RunAs& plan) {
  plan = RunAs{};
  if (::geteuid() != 0) {
    // Already that user (a systemd unit's User=, runuser): nothing to drop, nothing to say.
    if (!config.user.empty() && !is_current_user(config.user)) {
      log_warning("server.user = \"", config.user, "\" ignored: ferryd was not started as root, it runs as uid ",
                  ::geteuid());
    }
    return {};
  }
  if (config.user.empty()) {
    if (!config.allow_root) {
      return config.file + ": refusing to run as root: set server.user (e.g. \"nobody\") to drop privileges "
                           "once the ports are bound, or server.allow_root = true to stay root";
    }
    log_warning("running as root (server.allow_root = true): plugins and uploads have every right on this machine");
    return {};
  }
  std::vector<char> buffer(16384);
  passwd pw{};
  passwd* found = nullptr;
  int rc = ::getpwnam_r(config.user.c_str(), &pw, buffer.data(), buffer.size(), &found);
  // Named by the key's line and column when the config file set it.
  const std::string& user_at = config.user_at.empty() ? config.file : config.user_at;
  if (rc != 0 || !found) return user_at + ": server.user: no such user '" + config.user + "'";
  plan.change = true;
  plan.user = config.user;
  plan.uid = pw.pw_uid;
  plan.gid = pw.pw_gid;
  if (!config.group.empty()) {
    group gr{};
    group* found_group = nullptr;
    rc = ::getgrnam_r(config.group.c_str(), &gr, buffer.data(), buffer.size(), &found_group);
    const std::string& group_at = config.group_at.empty() ? config.file : config.group_at;
    if (rc != 0 || !found_group) return group_at + ": server.group: no such group '" + config.group + "'";
    plan.gid = gr.gr_gid;
  }
  if (plan.uid == 0 && !config.allow_root) {
    return user_at + ": server.user '" + config.user + "' is root: name an unprivileged user";
  }
  return {};
}

std::string drop_privileges(const RunAs& plan) {
  if (!plan.change) return {};
  // Supplementary groups first (they need root), then the group, then the user. glibc
  // applies each to every thread of the process. Only the one group: the user's other
  // groups in /etc/group (ssl-cert, say) are not the server's business.
  if (::setgroups(1, &plan.gid) != 0) return errno_text("setgroups");
  if (::setgid(plan.gid) != 0) return errno_text("setgid");
  if (::setuid(plan.uid) != 0) return errno_text("setuid");
  if (plan.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) return "root could be regained after setuid";
  log_info("running as user ", plan.user, " (uid ", plan.uid, ", gid ", plan.gid, ")");
  return {};
}

}  // namespace ferry
