// ferryd confines itself once started (`server.confine`, on by default): Landlock limits the
// files it can open and the TCP ports it can bind and connect to, to what the configuration
// needs; seccomp limits its system calls to an allow-list; core dumps and ptrace from other
// processes of its user are off. A reload may then use only what start-up allowed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ferry/plugin.hpp"
#include "server/config.hpp"

namespace ferry {

struct ServerState;

// A path ferryd needs once confined, and where the configuration named it (for messages).
struct ConfinementNeed {
  PathNeed need;    // absolute path
  std::string at;   // "FILE:LINE:COLUMN" (or FILE) of the key that named it
  std::string what; // the key, e.g. "tls.certificate" or "[auth] users"
};

// The core's own paths: the configuration's directory, the plugin directory, the TLS
// certificate and key, the transfer log.
std::vector<ConfinementNeed> core_confinement_needs(const Config& config, const std::string& plugin_dir);

// A plugin's own paths (its descriptor's confinement_paths), positioned at their keys.
std::vector<ConfinementNeed> plugin_confinement_needs(const PluginConfig& config, std::vector<PathNeed> needs);

class Confinement {
 public:
  // The process's confinement (one per process: Landlock and seccomp are).
  static Confinement& process();

  // Confines the process for `state`: the calling thread and every thread started later
  // (up to Landlock ABI 7 a thread confines only itself; ferryd starts its other threads
  // afterwards, so that all share one Landlock domain). Logs what it did. Returns "" or why
  // it failed (ferryd must then stop: it may be half confined).
  std::string apply(const ServerState& state);

  // For a reload: "" when the confinement (if any) allows each of `needs` and the passive
  // ports of `config`; else "FILE:LINE:COLUMN: ... needs a restart" for the first that it
  // does not.
  std::string check(const std::vector<ConfinementNeed>& needs) const;
  std::string check_ports(const Config& config) const;

 private:
  struct Grant {
    std::string path;        // canonical
    std::uint32_t access;    // PathAccess bits
    bool files_only;         // granted on a file's directory for files in it, not listings
  };
  bool covered(const ConfinementNeed& need) const;

  bool paths_confined_ = false;
  bool ports_confined_ = false;
  std::vector<Grant> grants_;
  std::uint16_t passive_min_ = 0;
  std::uint16_t passive_max_ = 0;
};

}  // namespace ferry
