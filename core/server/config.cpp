// config.toml parsing and validation (see config.hpp).
#include "server/config.hpp"

#include <arpa/inet.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "server/plugin_kinds.hpp"
#include "vfs/path.hpp"

namespace ferry {

namespace {

// Thrown inside this file only, to unwind to parse_config with a positioned message.
struct ConfigError {
  std::string message;
};

class Parser {
 public:
  explicit Parser(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(const toml::source_region& where, std::string_view what) const {
    throw ConfigError{at(where) + ": " + std::string(what)};
  }

  // "FILE:LINE:COLUMN", also kept for the errors of checks made after parsing.
  std::string at(const toml::source_region& where) const {
    std::ostringstream out;
    out << file_ << ":" << where.begin.line << ":" << where.begin.column;
    return out.str();
  }

  std::string string(const toml::node& node, std::string_view key) const {
    if (auto v = node.value<std::string>(); v && node.is_string()) return *v;
    fail(node.source(), std::string("'") + std::string(key) + "' must be a string");
  }

  std::int64_t integer(const toml::node& node, std::string_view key, std::int64_t min, std::int64_t max) const {
    if (!node.is_integer()) fail(node.source(), std::string("'") + std::string(key) + "' must be an integer");
    std::int64_t v = *node.value<std::int64_t>();
    if (v < min || v > max) {
      fail(node.source(), std::string("'") + std::string(key) + "' must be between " + std::to_string(min) + " and " +
                              std::to_string(max));
    }
    return v;
  }

  // [server]'s whole-number keys: the field each sets and the range it allows.
  struct NumberKey {
    std::string_view name;
    unsigned Config::*field;
    std::int64_t min, max;
  };
  static constexpr NumberKey server_numbers[] = {
      {"workers", &Config::workers, 0, 256},
      {"busy_poll_us", &Config::busy_poll_us, 0, 10000},
      {"max_sessions", &Config::max_sessions, 1, 1'000'000},
      {"max_sessions_per_ip", &Config::max_sessions_per_ip, 1, 1'000'000},
      {"login_timeout", &Config::login_timeout, 1, 86400},
      {"idle_timeout", &Config::idle_timeout, 1, 86400},
      {"data_timeout", &Config::data_timeout, 1, 86400},
      {"shutdown_timeout", &Config::shutdown_timeout, 0, 86400},
      {"max_login_failures", &Config::max_login_failures, 1, 1000},
      {"ban_failures", &Config::ban_failures, 1, 1'000'000},
      {"ban_window", &Config::ban_window, 1, 86400 * 30},
      {"ban_duration", &Config::ban_duration, 0, 86400 * 365},
  };

  void server(const toml::table& table, Config& config) {
    for (auto&& [key, node] : table) {
      std::string_view k = key.str();
      if (const NumberKey* number = find_number(k)) {
        config.*number->field = static_cast<unsigned>(integer(node, k, number->min, number->max));
      } else if (k == "listen") {
        server_listen(node, config);
      } else if (k == "banner") {
        config.banner = string(node, k);
        if (config.banner.find_first_of("\r\n") != std::string::npos) fail(node.source(), "'banner' must be one line");
      } else if (k == "passive_ports") {
        passive_ports(node, config);
      } else if (k == "passive_address") {
        config.passive_address = string(node, k);
        in_addr a{};
        if (!config.passive_address.empty() && inet_pton(AF_INET, config.passive_address.c_str(), &a) != 1) {
          fail(node.source(), "'passive_address' must be an IPv4 address (or \"\")");
        }
      } else if (k == "proxy_protocol_from") {
        const toml::array* list = node.as_array();
        if (!list) fail(node.source(), "'proxy_protocol_from' must be an array of addresses or CIDR blocks");
        config.proxy_protocol_from.clear();
        for (const toml::node& item : *list) {
          auto range = parse_address_range(string(item, k));
          if (!range) {
            fail(item.source(), "'proxy_protocol_from' entries must be addresses or CIDR blocks, like \"10.0.0.5\", "
                                "\"10.0.0.0/24\" or \"fd00::/8\" (host bits zero)");
          }
          config.proxy_protocol_from.push_back(*range);
        }
      } else if (k == "plugin_dir") {
        config.plugin_dir = string(node, k);
        config.plugin_dir_at = at(node.source());
      } else if (k == "user") {
        config.user = string(node, k);
        config.user_at = at(node.source());
      } else if (k == "group") {
        config.group = string(node, k);
        config.group_at = at(node.source());
      } else if (k == "allow_root") {
        config.allow_root = boolean(node, k);
      } else if (k == "confine") {
        config.confine = boolean(node, k);
      } else {
        fail(key.source(), "unknown key 'server." + std::string(k) + "'");
      }
    }
  }

  static const NumberKey* find_number(std::string_view name) {
    for (const NumberKey& key : server_numbers) {
      if (key.name == name) return &key;
    }
    return nullptr;
  }

  // An array of "host:port" strings (server.listen, tls.implicit_listen, admin.listen), each
  // claimed: no two listeners of the file may overlap.
  std::vector<ListenAddress> addresses(const toml::node& node, std::string_view key, std::string_view examples) {
    const toml::array* list = node.as_array();
    if (!list) fail(node.source(), "'" + std::string(key) + "' must be an array of \"host:port\" strings");
    std::vector<ListenAddress> out;
    for (const toml::node& item : *list) {
      auto address = parse_listen_address(string(item, key));
      if (!address) fail(item.source(), "'" + std::string(key) + "' entries must look like " + std::string(examples));
      claim(*address, item.source());
      out.push_back(*address);
    }
    return out;
  }

  void server_listen(const toml::node& node, Config& config) {
    config.listen = addresses(node, "listen", "\"127.0.0.1:2121\" or \"[::1]:2121\"");
    listen_given_ = true;
    if (config.listen.empty()) fail(node.source(), "'listen' must name at least one address");
  }

  void passive_ports(const toml::node& node, Config& config) const {
    const toml::array* range = node.as_array();
    if (!range || range->size() != 2) fail(node.source(), "'passive_ports' must be [first, last]");
    auto first = integer(*range->get(0), "passive_ports", 1024, 65535);
    auto last = integer(*range->get(1), "passive_ports", 1024, 65535);
    if (first > last) fail(node.source(), "'passive_ports' first port is above the last");
    config.passive_port_min = static_cast<std::uint16_t>(first);
    config.passive_port_max = static_cast<std::uint16_t>(last);
    config.passive_ports_at = at(node.source());
  }

  bool boolean(const toml::node& node, std::string_view key) const {
    if (!node.is_boolean()) fail(node.source(), std::string("'") + std::string(key) + "' must be true or false");
    return *node.value<bool>();
  }

  LogConfig log(const toml::table& table) const {
    LogConfig log;
    for (auto&& [key, node] : table) {
      std::string_view k = key.str();
      if (k == "format") {
        std::string format = string(node, k);
        if (format == "text") log.format = LogFormat::text;
        else if (format == "json") log.format = LogFormat::json;
        else fail(node.source(), "'format' must be \"text\" or \"json\"");
      } else if (k == "xferlog") {
        std::string p = string(node, k);
        log.xferlog = p.empty() ? p : path(node, k);
        log.xferlog_at = at(node.source());
      } else {
        fail(key.source(), "unknown key 'log." + std::string(k) + "'");
      }
    }
    return log;
  }

  std::string path(const toml::node& node, std::string_view key) const {
    std::string p = string(node, key);
    if (p.empty()) fail(node.source(), std::string("'") + std::string(key) + "' must not be empty");
    return std::filesystem::path(p).is_absolute() ? p : config_dir_ + "/" + p;
  }

  TlsConfig tls(const toml::table& table) {
    TlsConfig tls;
    bool have_certificate = false;
    bool have_key = false;
    for (auto&& [key, node] : table) {
      std::string_view k = key.str();
      if (k == "certificate") {
        tls.certificate = path(node, k);
        tls.certificate_at = at(node.source());
        have_certificate = true;
      } else if (k == "private_key") {
        tls.private_key = path(node, k);
        tls.private_key_at = at(node.source());
        have_key = true;
      } else if (k == "require") {
        tls.require = boolean(node, k);
      } else if (k == "require_session_reuse") {
        tls.require_session_reuse = boolean(node, k);
      } else if (k == "implicit_listen") {
        tls.implicit_listen = addresses(node, "implicit_listen", "\"127.0.0.1:990\"");
      } else {
        fail(key.source(), "unknown key 'tls." + std::string(k) + "'");
      }
    }
    if (!have_certificate) fail(table.source(), "[tls] needs 'certificate' (a PEM file)");
    if (!have_key) fail(table.source(), "[tls] needs 'private_key' (a PEM file)");
    return tls;
  }

  AdminConfig admin(const toml::table& table) {
    AdminConfig admin;
    for (auto&& [key, node] : table) {
      std::string_view k = key.str();
      if (k == "listen") {
        admin.listen = addresses(node, "listen", "\"127.0.0.1:2180\" or \"[::1]:2180\"");
      } else if (k == "operators") {
        admin.operators = path(node, k);
        admin.operators_at = at(node.source());
      } else if (k == "tls") {
        admin.tls = boolean(node, k);
        admin_tls_at_ = node.source();
      } else if (k == "metrics_public") {
        admin.metrics_public = boolean(node, k);
      } else {
        fail(key.source(), "unknown key 'admin." + std::string(k) + "'");
      }
    }
    if (admin.enabled() && admin.operators.empty()) {
      fail(table.source(), "[admin] needs 'operators' (a file of name:hash lines, as the users file) when it listens");
    }
    return admin;
  }

  // The "plugin" key and the rest of the table, flattened for the plugin.
  PluginConfig plugin_table(const toml::table& table, std::string where, std::initializer_list<std::string_view> core_keys) const {
    PluginConfig pc;
    pc.where = std::move(where);
    pc.options.config_file = file_;
    pc.options.config_dir = config_dir_;
    const toml::node* plugin = table.get("plugin");
    if (!plugin) fail(table.source(), pc.where + " needs a 'plugin' key");
    pc.plugin = string(*plugin, "plugin");
    pc.line = static_cast<std::uint32_t>(plugin->source().begin.line);
    for (auto&& [key, node] : table) {
      std::string_view k = key.str();
      bool is_core = k == "plugin";
      for (std::string_view c : core_keys) is_core = is_core || k == c;
      if (is_core) continue;
      OptionValue ov;
      ov.key = std::string(k);
      ov.line = static_cast<std::uint32_t>(key.source().begin.line);
      ov.column = static_cast<std::uint32_t>(key.source().begin.column);
      if (node.is_string()) {
        ov.value = *node.value<std::string>();
      } else if (node.is_integer()) {
        ov.value = *node.value<std::int64_t>();
      } else if (node.is_boolean()) {
        ov.value = *node.value<bool>();
      } else if (node.is_floating_point()) {
        ov.value = *node.value<double>();
      } else if (const toml::array* arr = node.as_array(); arr && arr->is_homogeneous(toml::node_type::string)) {
        std::vector<std::string> items;
        for (const toml::node& item : *arr) items.push_back(*item.value<std::string>());
        ov.value = std::move(items);
      } else {
        fail(node.source(), "'" + std::string(k) + "': unsupported value type for a plugin option");
      }
      pc.options.values.push_back(std::move(ov));
    }
    return pc;
  }

  // The tables of one plugin kind: one [table], or an array of them ([[table]]).
  void plugin_tables(const PluginKindRow& row, const toml::node& node, Config& config) const {
    const std::string name(row.table);
    if (!row.many) {
      const toml::table* t = node.as_table();
      if (!t) fail(node.source(), "'" + name + "' must be a table");
      config.plugins.push_back(plugin_table(*t, "[" + name + "]", {}));
      config.plugins.back().kind = row.kind;
      return;
    }
    const toml::array* tables = node.as_array();
    if (!tables || !tables->is_homogeneous(toml::node_type::table)) {
      fail(node.source(), "'" + name + "' must be an array of tables ([[" + name + "]])");
    }
    std::size_t number = 0;
    for (const toml::node& item : *tables) {
      const toml::table& t = *item.as_table();
      std::string where = "[[" + name + "]] number " + std::to_string(++number);
      std::string path;
      if (row.mounted) {
        path = mount_path(t, name, config.plugins_of(row.kind));
        where = "[[" + name + "]] path = \"" + path + "\"";
      }
      config.plugins.push_back(row.mounted ? plugin_table(t, std::move(where), {"path"}) : plugin_table(t, std::move(where), {}));
      config.plugins.back().kind = row.kind;
      config.plugins.back().path = std::move(path);
    }
  }

  // The core key 'path' of a mounted kind's table: normalised, not taken by another.
  std::string mount_path(const toml::table& t, const std::string& name, const std::vector<const PluginConfig*>& others) const {
    const toml::node* path = t.get("path");
    if (!path) fail(t.source(), "[[" + name + "]] needs a 'path' key");
    std::string p = string(*path, "path");
    if (p.empty() || p.front() != '/') fail(path->source(), name + " 'path' must start with '/'");
    auto normal = vfs::normalize("/", p);
    if (!normal) fail(path->source(), name + " 'path' is not a valid path");
    for (const PluginConfig* other : others) {
      if (other->path == *normal) fail(path->source(), name + " path '" + *normal + "' is mounted twice");
    }
    return *normal;
  }

  // [cluster]: this node's name and the PostgreSQL database the nodes share.
  ClusterConfig cluster(const toml::table& table, const toml::source_region& where) {
    ClusterConfig cluster;
    cluster.at = at(where);
    bool node_given = false;
    bool database_given = false;
    for (auto&& [key, node] : table) {
      std::string_view k = key.str();
      if (k == "node") {
        cluster.node = string(node, k);
        node_given = true;
        bool ok = !cluster.node.empty() && cluster.node.size() <= 63;
        for (char c : cluster.node) {
          ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
        }
        if (!ok) fail(node.source(), "[cluster] 'node' must be 1 to 63 letters, digits, '-', '_' or '.'");
      } else if (k == "database") {
        cluster.database = string(node, k);
        database_given = true;
        if (cluster.database.empty()) fail(node.source(), "[cluster] 'database' must be a libpq connection string or URI");
        cluster.database_at = at(node.source());
      } else {
        fail(key.source(), "unknown key 'cluster." + std::string(k) + "'");
      }
    }
    if (!node_given) fail(where, "[cluster] needs 'node' (this node's name)");
    if (!database_given) fail(where, "[cluster] needs 'database' (a libpq connection string)");
    return cluster;
  }

  Config parse(std::string_view text) {
    config_dir_ = std::filesystem::path(file_).parent_path().string();
    if (config_dir_.empty()) config_dir_ = ".";
    toml::table root;
    try {
      root = toml::parse(text, std::string_view(file_));
    } catch (const toml::parse_error& e) {
      fail(e.source(), e.description());
    }
    Config config;
    config.file = file_;
    config.dir = config_dir_;
    config.listen = {ListenAddress{"127.0.0.1", 2121}};
    for (auto&& [key, node] : root) {
      std::string_view k = key.str();
      if (k == "server") {
        const toml::table* t = node.as_table();
        if (!t) fail(node.source(), "'server' must be a table");
        server(*t, config);
      } else if (k == "log") {
        const toml::table* t = node.as_table();
        if (!t) fail(node.source(), "'log' must be a table");
        config.log = log(*t);
      } else if (k == "tls") {
        const toml::table* t = node.as_table();
        if (!t) fail(node.source(), "'tls' must be a table");
        config.tls = tls(*t);
      } else if (k == "admin") {
        const toml::table* t = node.as_table();
        if (!t) fail(node.source(), "'admin' must be a table");
        config.admin = admin(*t);
      } else if (k == "cluster") {
        const toml::table* t = node.as_table();
        if (!t) fail(node.source(), "'cluster' must be a table");
        config.cluster = cluster(*t, node.source());
      } else if (const PluginKindRow* row = find_plugin_kind(k)) {
        plugin_tables(*row, node, config);
      } else {
        fail(key.source(), "unknown key '" + std::string(k) + "'");
      }
    }
    if (!listen_given_) {
      for (const auto& [address, where] : claimed_) {  // implicit_listen against the default
        if (listen_conflict(address, config.listen.front())) {
          fail(where, to_string(address) + " overlaps the default listen address " + to_string(config.listen.front()) +
                          ": only one of them can listen");
        }
      }
    }
    if (config.admin.tls && !config.tls) fail(*admin_tls_at_, "'admin.tls' needs a [tls] table (its certificate)");
    for (const PluginKindRow& row : plugin_kinds()) {
      if (!row.missing.empty() && config.plugins_of(row.kind).empty()) {
        throw ConfigError{file_ + ": " + std::string(row.missing)};
      }
    }
    return config;
  }

 private:
  // listen and implicit_listen together: a clash would only show when binding.
  void claim(const ListenAddress& address, const toml::source_region& where) {
    for (const auto& [other, other_where] : claimed_) {
      if (listen_conflict(address, other)) {
        fail(where, to_string(address) + " overlaps " + to_string(other) + " (line " +
                        std::to_string(other_where.begin.line) + "): only one of them can listen");
      }
    }
    claimed_.emplace_back(address, where);
  }

  std::string file_;
  std::string config_dir_;
  std::vector<std::pair<ListenAddress, toml::source_region>> claimed_;
  bool listen_given_ = false;
  std::optional<toml::source_region> admin_tls_at_;
};

}  // namespace

std::vector<const PluginConfig*> Config::plugins_of(PluginKind kind) const {
  std::vector<const PluginConfig*> found;
  for (const PluginConfig& plugin : plugins) {
    if (plugin.kind == kind) found.push_back(&plugin);
  }
  return found;
}

ConfigResult parse_config(std::string_view text, const std::string& file) {
  try {
    return ConfigResult{Parser(file).parse(text), {}};
  } catch (const ConfigError& e) {
    return ConfigResult{std::nullopt, e.message};
  }
}

ConfigResult load_config(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return ConfigResult{std::nullopt, file + ": cannot open the configuration file"};
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file);
}

}  // namespace ferry
