// config.toml: the schema of DESIGN.md, validated strictly (unknown keys and wrong types
// are errors with file:line:column). Plugin tables are passed on, flattened, to plugins.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/options.hpp"
#include "ferry/plugin.hpp"
#include "server/address_range.hpp"
#include "server/listen_address.hpp"
#include "server/log.hpp"

namespace ferry {

// One plugin table: which kind (see plugin_kinds.hpp), which plugin with its own keys, and
// where it was configured (for messages).
struct PluginConfig {
  PluginKind kind{};
  std::string plugin;
  PluginOptions options;
  std::uint32_t line = 0;  // line of the "plugin = ..." key
  std::string where;       // e.g. "[auth]" or "[[mount]] path = \"/\""
  std::string path;        // kinds mounted at a path ([[mount]]): the normalised virtual path
};

// [tls]: FTPS (RFC 4217). Absent: no AUTH TLS.
struct TlsConfig {
  std::string certificate;  // PEM file (chain), resolved against the config's directory
  std::string private_key;  // PEM file
  bool require = false;     // refuse login before AUTH TLS, and data with PROT C
  bool require_session_reuse = true;  // data connections must resume the control session
  std::vector<ListenAddress> implicit_listen;  // implicit FTPS (TLS from the first byte)
  // "FILE:LINE:COLUMN" of the two files, for the errors of loading them (after parsing).
  std::string certificate_at;
  std::string private_key_at;
};

// [log]: how events are written (stderr), and an optional transfer log.
struct LogConfig {
  LogFormat format = LogFormat::text;
  std::string xferlog;  // path of an xferlog(5) transfer log; "" = none
  std::string xferlog_at;  // "FILE:LINE:COLUMN" of the key, for an error opening the log
};

// [admin]: the operator console, JSON API and /metrics (server/admin/). Absent or
// listen = []: off.
struct AdminConfig {
  std::vector<ListenAddress> listen;
  std::string operators;     // users-file format (name:hash), resolved against the config's directory
  std::string operators_at;  // "FILE:LINE:COLUMN" of the key
  bool tls = false;          // HTTPS with the [tls] certificate
  bool metrics_public = false;  // /metrics without a login
  bool enabled() const { return !listen.empty(); }
};

// [cluster]: several nodes behind a balancer share bans and per-address session counts
// through PostgreSQL. Absent: one node, in memory.
struct ClusterConfig {
  std::string node;      // this node's name, unique among the nodes
  std::string database;  // libpq connection string or URI
  std::string at;        // "FILE:LINE:COLUMN" of the table, and of database
  std::string database_at;
};

struct Config {
  std::string file;  // the config file's path
  std::string dir;   // its directory: relative paths resolve against it

  std::vector<ListenAddress> listen;
  unsigned workers = 0;
  unsigned busy_poll_us = 200;  // at most this long an idle I/O thread polls before sleeping
  std::string banner = "ferry ready";
  unsigned max_sessions = 1000;
  unsigned max_sessions_per_ip = 32;
  unsigned login_timeout = 30;
  unsigned idle_timeout = 300;
  unsigned data_timeout = 60;
  unsigned shutdown_timeout = 30;   // seconds transfers may run on after SIGTERM
  unsigned max_login_failures = 3;  // per session, then 421 and close
  unsigned ban_failures = 10;       // failed logins from one address within ban_window...
  unsigned ban_window = 600;        // ...seconds
  unsigned ban_duration = 900;      // ban that address for this long (0: never ban)
  std::uint16_t passive_port_min = 50000;
  std::uint16_t passive_port_max = 50999;
  std::string passive_address;
  // Peers whose connections (control and passive data) start with a PROXY header that
  // names the real client (a load balancer: HAProxy's send-proxy-v2). Empty: nobody.
  std::vector<AddressRange> proxy_protocol_from;
  std::string plugin_dir;
  std::string user;         // run as this user once bound ("" = stay who we are)
  std::string group;        // and this group ("" = the user's primary group)
  bool allow_root = false;  // without `user`, keep running as root instead of refusing
  bool confine = true;      // Landlock + seccomp once started (server/confinement/)
  // "FILE:LINE:COLUMN" of user and group, for the errors of looking them up ("" if not set).
  std::string user_at;
  std::string group_at;
  std::string plugin_dir_at;     // "FILE:LINE:COLUMN" of plugin_dir and passive_ports, for a reload
  std::string passive_ports_at;  // that confinement refuses

  LogConfig log;
  std::optional<TlsConfig> tls;
  AdminConfig admin;
  std::optional<ClusterConfig> cluster;
  std::vector<PluginConfig> plugins;  // every plugin table, in the file's order

  // The tables of one kind, in the file's order.
  std::vector<const PluginConfig*> plugins_of(PluginKind kind) const;
};

struct ConfigResult {
  std::optional<Config> config;
  std::string error;  // "FILE:LINE:COLUMN: reason" when config is empty
};

// Parses config text; `file` names it in messages and anchors relative paths.
ConfigResult parse_config(std::string_view text, const std::string& file);
ConfigResult load_config(const std::string& file);

}  // namespace ferry
