// Landlock rulesets (see landlock.hpp).
#include "server/confinement/landlock.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ferry::landlock {

namespace {

#ifndef SYS_landlock_create_ruleset
constexpr long SYS_landlock_create_ruleset = 444;
constexpr long SYS_landlock_add_rule = 445;
constexpr long SYS_landlock_restrict_self = 446;
#endif

// The ABI 7 forms of the structures of <linux/landlock.h> (the kernel takes their size).
struct RulesetAttr {
  std::uint64_t handled_access_fs;
  std::uint64_t handled_access_net;  // ABI 4
  std::uint64_t scoped;              // ABI 6
};

struct [[gnu::packed]] PathBeneathAttr {
  std::uint64_t allowed_access;
  std::int32_t parent_fd;
};

struct NetPortAttr {
  std::uint64_t allowed_access;
  std::uint64_t port;
};

constexpr unsigned create_ruleset_version = 1U << 0;
constexpr int rule_path_beneath = 1;
constexpr int rule_net_port = 2;
constexpr std::uint64_t net_bind_tcp = 1ULL << 0;
constexpr std::uint64_t net_connect_tcp = 1ULL << 1;
constexpr std::uint64_t scope_signal = 1ULL << 1;

std::string errno_text(const std::string& what) { return what + ": " + std::strerror(errno); }

// Every file-system access the ABI knows: all of them are denied unless a rule grants them.
std::uint64_t fs_rights_of(int abi) {
  std::uint64_t rights = (fs_make_sym << 1) - 1;  // ABI 1: execute .. make_sym
  if (abi >= 2) rights |= fs_refer;
  if (abi >= 3) rights |= fs_truncate;
  if (abi >= 5) rights |= fs_ioctl_dev;
  return rights;
}

}  // namespace

int abi_version() {
  const long abi = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, create_ruleset_version);
  return abi < 0 ? 0 : static_cast<int>(abi);
}

std::string Ruleset::make(int abi, const Rules& rules) {
  abi_ = abi;
  handled_fs_ = fs_rights_of(abi);
  handled_net_ = abi >= 4 ? net_bind_tcp | net_connect_tcp : 0;
  // Signals only: systemd's notification socket ($NOTIFY_SOCKET) may be an abstract one.
  scoped_ = abi >= 6 ? scope_signal : 0;
  RulesetAttr attr{handled_fs_, handled_net_, scoped_};
  // Older ABIs take the structure only as far as they know it.
  const std::size_t size = abi >= 6 ? sizeof attr : abi >= 4 ? 2 * sizeof(std::uint64_t) : sizeof(std::uint64_t);
  const long fd = ::syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
  if (fd < 0) return errno_text("landlock_create_ruleset");
  fd_.reset(static_cast<int>(fd));
  rule_count_ = 0;
  for (const PathRule& rule : rules.paths) {
    UniqueFd path(::open(rule.path.c_str(), O_PATH | O_CLOEXEC));
    if (!path) return errno_text("landlock: " + rule.path);
    PathBeneathAttr beneath{rule.access & handled_fs_, path.get()};
    if (beneath.allowed_access == 0) continue;
    if (::syscall(SYS_landlock_add_rule, fd_.get(), rule_path_beneath, &beneath, 0U) != 0) {
      return errno_text("landlock_add_rule " + rule.path);
    }
    ++rule_count_;
  }
  if (handled_net_ == 0) return {};
  auto add_port = [this](std::uint64_t access, std::uint64_t port) -> std::string {
    NetPortAttr net{access, port};
    if (::syscall(SYS_landlock_add_rule, fd_.get(), rule_net_port, &net, 0U) != 0) {
      return errno_text("landlock_add_rule port " + std::to_string(port));
    }
    ++rule_count_;
    return {};
  };
  // A port that is both bound and connected to takes one rule with both rights.
  std::vector<std::uint64_t> access(65536, 0);
  for (std::uint16_t port : rules.bind_ports) access[port] |= net_bind_tcp;
  if (rules.connect_from != 0) {
    for (std::uint32_t port = rules.connect_from; port <= 65535; ++port) access[port] |= net_connect_tcp;
  }
  for (std::uint32_t port = 0; port <= 65535; ++port) {
    if (access[port] == 0) continue;
    if (std::string error = add_port(access[port], port); !error.empty()) return error;
  }
  return {};
}

std::string Ruleset::restrict_calling_thread() const {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno_text("prctl(PR_SET_NO_NEW_PRIVS)");
  if (::syscall(SYS_landlock_restrict_self, fd_.get(), 0U) != 0) return errno_text("landlock_restrict_self");
  return {};
}

}  // namespace ferry::landlock
