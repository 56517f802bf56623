// Fuzzes the config.toml loader (ferry::parse_config): TOML syntax, then ferry's schema.
// A configuration that loads is written out again as TOML and must load to the same
// configuration; one that does not load must say why, naming the file.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.hpp"
#include "server/config.hpp"
#include "server/plugin_kinds.hpp"
#include "vfs/path.hpp"

using namespace ferry;

namespace {

const std::string file = "/etc/ferry/config.toml";

// A TOML basic string.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04X", u);
      out += escape;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string toml_value(const OptionValue& option) {
  if (const auto* s = std::get_if<std::string>(&option.value)) return quoted(*s);
  if (const auto* i = std::get_if<std::int64_t>(&option.value)) return std::to_string(*i);
  if (const auto* b = std::get_if<bool>(&option.value)) return *b ? "true" : "false";
  if (const auto* d = std::get_if<double>(&option.value)) {
    if (std::isnan(*d)) return std::signbit(*d) ? "-nan" : "nan";
    if (std::isinf(*d)) return *d < 0 ? "-inf" : "inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    std::string text = buf;
    if (text.find_first_of(".e") == std::string::npos) text += ".0";
    return text;
  }
  std::string out = "[";
  for (const std::string& item : std::get<std::vector<std::string>>(option.value)) out += quoted(item) + ", ";
  return out + "]";
}

std::string plugin_keys(const PluginConfig& plugin) {
  std::string out = "plugin = " + quoted(plugin.plugin) + "\n";
  for (const OptionValue& option : plugin.options.values) out += quoted(option.key) + " = " + toml_value(option) + "\n";
  return out;
}

std::string listen_list(const std::vector<ListenAddress>& addresses) {
  std::string out = "[";
  for (const ListenAddress& address : addresses) out += quoted(to_string(address)) + ", ";
  return out + "]";
}

std::string to_toml(const Config& c) {
  std::string out = "[server]\n";
  out += "listen = " + listen_list(c.listen) + "\n";
  out += "workers = " + std::to_string(c.workers) + "\n";
  out += "banner = " + quoted(c.banner) + "\n";
  out += "max_sessions = " + std::to_string(c.max_sessions) + "\n";
  out += "max_sessions_per_ip = " + std::to_string(c.max_sessions_per_ip) + "\n";
  out += "login_timeout = " + std::to_string(c.login_timeout) + "\n";
  out += "idle_timeout = " + std::to_string(c.idle_timeout) + "\n";
  out += "data_timeout = " + std::to_string(c.data_timeout) + "\n";
  out += "shutdown_timeout = " + std::to_string(c.shutdown_timeout) + "\n";
  out += "max_login_failures = " + std::to_string(c.max_login_failures) + "\n";
  out += "ban_failures = " + std::to_string(c.ban_failures) + "\n";
  out += "ban_window = " + std::to_string(c.ban_window) + "\n";
  out += "ban_duration = " + std::to_string(c.ban_duration) + "\n";
  out += "passive_ports = [" + std::to_string(c.passive_port_min) + ", " + std::to_string(c.passive_port_max) + "]\n";
  out += "passive_address = " + quoted(c.passive_address) + "\n";
  out += "plugin_dir = " + quoted(c.plugin_dir) + "\n";
  out += std::string("confine = ") + (c.confine ? "true" : "false") + "\n";
  if (c.tls) {
    out += "[tls]\n";
    out += "certificate = " + quoted(c.tls->certificate) + "\n";
    out += "private_key = " + quoted(c.tls->private_key) + "\n";
    out += std::string("require = ") + (c.tls->require ? "true" : "false") + "\n";
    out += std::string("require_session_reuse = ") + (c.tls->require_session_reuse ? "true" : "false") + "\n";
    out += "implicit_listen = " + listen_list(c.tls->implicit_listen) + "\n";
  }
  out += "[admin]\n";
  out += "listen = " + listen_list(c.admin.listen) + "\n";
  if (!c.admin.operators.empty()) out += "operators = " + quoted(c.admin.operators) + "\n";
  out += std::string("tls = ") + (c.admin.tls ? "true" : "false") + "\n";
  out += std::string("metrics_public = ") + (c.admin.metrics_public ? "true" : "false") + "\n";
  for (const PluginKindRow& row : plugin_kinds()) {
    const std::string table(row.table);
    for (const PluginConfig* plugin : c.plugins_of(row.kind)) {
      out += row.many ? "[[" + table + "]]\n" : "[" + table + "]\n";
      if (row.mounted) out += "path = " + quoted(plugin->path) + "\n";
      out += plugin_keys(*plugin);
    }
  }
  return out;
}

bool same(const std::vector<ListenAddress>& a, const std::vector<ListenAddress>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].host != b[i].host || a[i].port != b[i].port) return false;
  }
  return true;
}

bool same(const OptionValue& a, const OptionValue& b) {
  if (a.key != b.key || a.value.index() != b.value.index()) return false;
  const auto* x = std::get_if<double>(&a.value);
  const auto* y = std::get_if<double>(&b.value);
  if (x && y) return std::memcmp(x, y, sizeof *x) == 0 || (std::isnan(*x) && std::isnan(*y));
  return a.value == b.value;
}

bool same(const PluginConfig& a, const PluginConfig& b) {
  if (a.kind != b.kind || a.plugin != b.plugin || a.where != b.where || a.path != b.path ||
      a.options.values.size() != b.options.values.size()) {
    return false;
  }
  if (a.options.config_file != b.options.config_file || a.options.config_dir != b.options.config_dir) return false;
  for (std::size_t i = 0; i < a.options.values.size(); ++i) {
    if (!same(a.options.values[i], b.options.values[i])) return false;
  }
  return true;
}

void check_valid(const Config& c) {
  FUZZ_CHECK(c.file == file && c.dir == "/etc/ferry");
  FUZZ_CHECK(!c.listen.empty());
  FUZZ_CHECK(c.banner.find_first_of("\r\n") == std::string::npos);
  FUZZ_CHECK(c.passive_port_min >= 1024 && c.passive_port_min <= c.passive_port_max);
  FUZZ_CHECK(c.max_sessions >= 1 && c.login_timeout >= 1 && c.idle_timeout >= 1 && c.data_timeout >= 1);
  for (const PluginKindRow& row : plugin_kinds()) {
    const auto tables = c.plugins_of(row.kind);
    FUZZ_CHECK(row.missing.empty() || !tables.empty());
    FUZZ_CHECK(row.many || tables.size() <= 1);
    for (std::size_t i = 0; i < tables.size(); ++i) {
      // Mount paths are normalised and distinct.
      if (row.mounted) FUZZ_CHECK(vfs::normalize("/", tables[i]->path) == tables[i]->path);
      for (std::size_t j = 0; row.mounted && j < i; ++j) FUZZ_CHECK(tables[j]->path != tables[i]->path);
      for (const OptionValue& option : tables[i]->options.values) {
        FUZZ_CHECK(option.key != "plugin" && (!row.mounted || option.key != "path"));
      }
    }
  }
  FUZZ_CHECK(!c.plugins_of(PluginKind::file_provider).empty());
  if (c.tls) {
    // Certificate and key resolve against the config's directory.
    FUZZ_CHECK(!c.tls->certificate.empty() && c.tls->certificate.front() == '/');
    FUZZ_CHECK(!c.tls->private_key.empty() && c.tls->private_key.front() == '/');
  }
  // The console listens only with operators to let in, and HTTPS only with a certificate.
  FUZZ_CHECK(!c.admin.enabled() || (!c.admin.operators.empty() && c.admin.operators.front() == '/'));
  FUZZ_CHECK(!c.admin.tls || c.tls);
  for (const ListenAddress& address : c.listen) {
    const auto again = parse_listen_address(to_string(address));
    FUZZ_CHECK(again && again->host == address.host && again->port == address.port);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const ConfigResult result = parse_config(text, file);
  if (!result.config) {
    FUZZ_CHECK(result.error.compare(0, file.size(), file) == 0);
    return 0;
  }
  FUZZ_CHECK(result.error.empty());
  const Config& config = *result.config;
  check_valid(config);

  // Written out and loaded again, it is the same configuration.
  const std::string written = to_toml(config);
  const ConfigResult again = parse_config(written, file);
  if (!again.config) {
    std::fprintf(stderr, "does not load again: %s\n--- written:\n%s---\n", again.error.c_str(), written.c_str());
  }
  FUZZ_CHECK(again.config);
  const Config& c = *again.config;
  FUZZ_CHECK(same(c.listen, config.listen) && c.workers == config.workers && c.banner == config.banner);
  FUZZ_CHECK(c.max_sessions == config.max_sessions && c.max_sessions_per_ip == config.max_sessions_per_ip);
  FUZZ_CHECK(c.login_timeout == config.login_timeout && c.idle_timeout == config.idle_timeout &&
             c.data_timeout == config.data_timeout && c.shutdown_timeout == config.shutdown_timeout);
  FUZZ_CHECK(c.max_login_failures == config.max_login_failures && c.ban_failures == config.ban_failures &&
             c.ban_window == config.ban_window && c.ban_duration == config.ban_duration);
  FUZZ_CHECK(c.passive_port_min == config.passive_port_min && c.passive_port_max == config.passive_port_max);
  FUZZ_CHECK(c.passive_address == config.passive_address && c.plugin_dir == config.plugin_dir);
  FUZZ_CHECK(c.confine == config.confine);
  FUZZ_CHECK(c.tls.has_value() == config.tls.has_value());
  if (c.tls) {
    FUZZ_CHECK(c.tls->certificate == config.tls->certificate && c.tls->private_key == config.tls->private_key);
    FUZZ_CHECK(c.tls->require == config.tls->require &&
               c.tls->require_session_reuse == config.tls->require_session_reuse);
    FUZZ_CHECK(same(c.tls->implicit_listen, config.tls->implicit_listen));
  }
  FUZZ_CHECK(same(c.admin.listen, config.admin.listen) && c.admin.operators == config.admin.operators &&
             c.admin.tls == config.admin.tls && c.admin.metrics_public == config.admin.metrics_public);
  for (const PluginKindRow& row : plugin_kinds()) {
    const auto before = config.plugins_of(row.kind);
    const auto after = c.plugins_of(row.kind);
    FUZZ_CHECK(before.size() == after.size());
    for (std::size_t i = 0; i < before.size(); ++i) FUZZ_CHECK(same(*after[i], *before[i]));
  }
  return 0;
}
