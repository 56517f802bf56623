// Confining ferryd after start-up (see confinement.hpp).
#include "server/confinement/confinement.hpp"

#include "pq/socket_directories.hpp"

#include <dirent.h>
#include <openssl/ssl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>

#include "server/confinement/landlock.hpp"
#include "server/confinement/seccomp.hpp"
#include "server/log.hpp"
#include "server/plugin_host.hpp"
#include "server/server_state.hpp"

namespace ferry {

namespace {

namespace fs = std::filesystem;

// The path as the kernel resolves it (symbolic links followed as far as it exists).
std::string canonical(const std::string& path) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec).lexically_normal();
  fs::path out = fs::weakly_canonical(absolute, ec);
  return ec ? absolute.string() : out.string();
}

bool beneath(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// Where a need is granted. A directory: itself. A file: its directory, for files only, so
// that one replaced by a rename (ferryd passwd, an editor, certbot, logrotate) stays
// reachable. A path that does not exist yet: its deepest existing ancestor (to be made).
struct Placement {
  std::string path;
  bool files_only;
};

Placement place(const std::string& path) {
  std::string at = canonical(path);
  struct stat st {};
  if (::stat(at.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {at, false};
    std::string dir = fs::path(at).parent_path().string();
    return {dir.empty() ? "/" : dir, true};
  }
  fs::path ancestor = fs::path(at).parent_path();
  while (!ancestor.empty() && ancestor != ancestor.root_path() && ::stat(ancestor.c_str(), &st) != 0) {
    ancestor = ancestor.parent_path();
  }
  const std::string dir = ancestor.empty() ? "/" : ancestor.string();
  // The log and other files ferryd makes itself: in their directory, files only.
  return {dir, false};
}

std::uint64_t landlock_rights(std::uint32_t access, bool files_only) {
  using namespace landlock;
  std::uint64_t rights = 0;
  if (access & path_read) rights |= fs_read_file | (files_only ? 0 : fs_read_dir);
  if (access & path_write) rights |= fs_write_file | fs_truncate;
  if (access & path_create) rights |= fs_make_reg | (files_only ? 0 : fs_make_dir);
  if (access & path_remove) rights |= fs_remove_file | (files_only ? 0 : fs_remove_dir);
  if ((access & path_create) && (access & path_remove)) rights |= fs_refer;  // renames between directories
  return rights;
}

std::string access_text(std::uint32_t access) {
  std::string out;
  auto add = [&out](const char* word) { out += out.empty() ? word : std::string("+") + word; };
  if (access & path_read) add("read");
  if (access & path_write) add("write");
  if (access & path_create) add("create");
  if (access & path_remove) add("remove");
  return out.empty() ? "none" : out;
}

// "FILE:LINE:COLUMN" of a plugin's option, or "FILE:LINE" of its plugin key.
std::string option_at(const PluginConfig& config, const std::string& key) {
  for (const OptionValue& value : config.options.values) {
    if (value.key == key) {
      return config.options.config_file + ":" + std::to_string(value.line) + ":" + std::to_string(value.column);
    }
  }
  return config.options.config_file + ":" + std::to_string(config.line);
}

std::size_t thread_count() {
  std::size_t count = 0;
  if (DIR* dir = ::opendir("/proc/self/task")) {
    while (const dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.';
    ::closedir(dir);
  }
  return count;
}

}  // namespace

std::vector<ConfinementNeed> core_confinement_needs(const Config& config, const std::string& plugin_dir) {
  std::vector<ConfinementNeed> needs;
  needs.push_back({PathNeed{config.dir, path_read, ""}, config.file, "the configuration's directory"});
  needs.push_back({PathNeed{plugin_dir, path_read, ""}, config.plugin_dir_at.empty() ? config.file : config.plugin_dir_at,
                   "server.plugin_dir"});
  // Plugins linked into plugin_dir from elsewhere are read (and loaded) where they really are.
  std::error_code ec;
  for (fs::directory_iterator it(plugin_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_symlink(ec) && name.starts_with("lib") && name.ends_with(".so")) {
      needs.push_back({PathNeed{it->path().string(), path_read, ""}, config.plugin_dir_at.empty() ? config.file : config.plugin_dir_at,
                       "server.plugin_dir " + name});
    }
  }
  if (config.tls) {
    needs.push_back({PathNeed{config.tls->certificate, path_read, ""}, config.tls->certificate_at, "tls.certificate"});
    needs.push_back({PathNeed{config.tls->private_key, path_read, ""}, config.tls->private_key_at, "tls.private_key"});
  }
  if (config.admin.enabled()) {
    needs.push_back({PathNeed{config.admin.operators, path_read, ""}, config.admin.operators_at, "admin.operators"});
  }
  if (!config.log.xferlog.empty()) {
    needs.push_back({PathNeed{config.log.xferlog, path_write | path_create, ""}, config.log.xferlog_at, "log.xferlog"});
  }
  if (config.cluster) {  // a local database's Unix socket directory (TCP needs no path)
    for (std::string& dir : pq::socket_directories(config.cluster->database)) {
      needs.push_back({PathNeed{std::move(dir), path_read, ""}, config.cluster->database_at, "cluster.database"});
    }
  }
  return needs;
}

std::vector<ConfinementNeed> plugin_confinement_needs(const PluginConfig& config, std::vector<PathNeed> needs) {
  std::vector<ConfinementNeed> out;
  for (PathNeed& need : needs) {
    if (need.path.empty()) continue;
    std::string at = option_at(config, need.key);
    std::string what = config.where + (need.key.empty() ? "" : " " + need.key);
    out.push_back({std::move(need), std::move(at), std::move(what)});
  }
  return out;
}

Confinement& Confinement::process() {
  static Confinement confinement;
  return confinement;
}

std::string Confinement::apply(const ServerState& state) {
  const Config& config = state.config;
  std::vector<ConfinementNeed> needs = core_confinement_needs(config, state.plugins->plugin_dir());
  for (const ConfinementNeed& need : state.plugins->confinement_needs()) needs.push_back(need);

  // What glibc and OpenSSL would otherwise read from /etc and /usr on first use.
  ::tzset();
  OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_LOAD_SSL_STRINGS | OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr);

  std::string summary;
  const int abi = landlock::abi_version();
  landlock::Ruleset ruleset;
  if (abi == 0) {
    log_warning("confinement: this kernel has no Landlock (or it is disabled): ferryd can still reach every file "
                "and port its user can; only seccomp applies");
  } else {
    landlock::Rules rules;
    std::vector<Grant> grants;
    for (const ConfinementNeed& need : needs) {
      Placement at = place(need.need.path);
      rules.paths.push_back({at.path, landlock_rights(need.need.access, at.files_only)});
      grants.push_back({at.path, need.need.access, at.files_only});
      log_debug("confinement: ", need.what, " ", need.need.path, ": ", access_text(need.need.access), " on ", at.path,
                at.files_only ? " (its files)" : "");
    }
#if defined(__SANITIZE_ADDRESS__)
    // The leak check at exit reads the process's /proc entries from a tracer task of its own
    // (sanitizer builds only). A rule on /proc/PID would not hold: procfs makes those inodes
    // afresh.
    rules.paths.push_back({"/proc", landlock::fs_read_file | landlock::fs_read_dir});
#endif
    const std::uint16_t min = config.passive_port_min, max = config.passive_port_max;
    for (std::uint32_t port = min; port <= max; ++port) rules.bind_ports.push_back(static_cast<std::uint16_t>(port));
    rules.bind_ports.push_back(0);  // active mode binds its data socket to an ephemeral port
    rules.connect_from = 1024;      // active mode connects only to ports >= 1024 (RFC 2577)
    if (abi < 2) {
      log_warning("confinement: Landlock ABI ", abi, " refuses every rename between directories (EXDEV)");
    }
    if (const std::size_t threads = thread_count(); threads > 1) {
      log_warning("confinement: ", threads - 1, " thread(s) started by a library or plugin before "
                  "confinement are not confined by Landlock");
    }
    if (std::string error = ruleset.make(abi, rules); !error.empty()) return "confinement: " + error;
    if (std::string error = ruleset.restrict_calling_thread(); !error.empty()) return "confinement: " + error;
    grants_ = std::move(grants);
    paths_confined_ = true;
    ports_confined_ = ruleset.handles_network();
    passive_min_ = min;
    passive_max_ = max;
    summary = "Landlock ABI " + std::to_string(abi) + " (" + std::to_string(grants_.size()) + " paths" +
              (ports_confined_ ? ", TCP bind to ports " + std::to_string(min) + "-" + std::to_string(max) +
                                     " and ephemeral, connect to ports >= 1024"
                               : ", TCP ports unrestricted (ABI < 4)") +
              (ruleset.scoped() ? ", signals scoped" : "") + ")";
  }
  // No core dumps, no ptrace by other processes of this user, no /proc/PID/mem for them.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return "confinement: prctl(PR_SET_DUMPABLE): cannot turn core dumps off";
  std::string filter;
  if (std::string error = seccomp::install(filter); !error.empty()) return "confinement: " + error;
  log_info("confined: ", summary.empty() ? "" : summary + ", ", filter, ", not dumpable");
  return {};
}

bool Confinement::covered(const ConfinementNeed& need) const {
  const std::string path = canonical(need.need.path);
  struct stat st {};
  const bool is_dir = ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  std::uint32_t missing = need.need.access;
  for (const Grant& grant : grants_) {
    if (!beneath(path, grant.path)) continue;
    if (grant.files_only && (is_dir || path == grant.path)) continue;
    missing &= ~grant.access;
  }
  return missing == 0;
}

std::string Confinement::check(const std::vector<ConfinementNeed>& needs) const {
  if (!paths_confined_) return {};
  for (const ConfinementNeed& need : needs) {
    if (!covered(need)) {
      return need.at + ": " + need.what + ": " + need.need.path + " (" + access_text(need.need.access) +
             ") is outside what ferryd allowed itself at start-up (server.confine); that needs a restart";
    }
  }
  return {};
}

std::string Confinement::check_ports(const Config& config) const {
  if (!ports_confined_) return {};
  if (config.passive_port_min < passive_min_ || config.passive_port_max > passive_max_) {
    return (config.passive_ports_at.empty() ? config.file : config.passive_ports_at) + ": server.passive_ports [" +
           std::to_string(config.passive_port_min) + ", " + std::to_string(config.passive_port_max) +
           "] is outside the ports ferryd allowed itself at start-up (" + std::to_string(passive_min_) + "-" +
           std::to_string(passive_max_) + ", server.confine); that needs a restart";
  }
  return {};
}

}  // namespace ferry
