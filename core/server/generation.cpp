// Building a generation of the server (see generation.hpp).
#include "server/generation.hpp"

#include <filesystem>

#include "server/log.hpp"
#include "server/plugin_host.hpp"
#include "server/plugin_kinds.hpp"
#include "server/tls_context.hpp"

namespace ferry {

namespace {

// A key a running server cannot change (bound sockets, I/O threads, identity): a reload
// keeps its running value, and warns when the file changed it.
struct RestartOnlyKey {
  const char* name;
  bool (*changed)(const Config& before, const Config& after);
  void (*keep)(const Config& running, Config& next);
};

template <auto Member>
constexpr RestartOnlyKey server_key(const char* name) {
  return {name, [](const Config& before, const Config& after) { return !(before.*Member == after.*Member); },
          [](const Config& running, Config& next) { next.*Member = running.*Member; }};
}

std::vector<ListenAddress> implicit_listen(const Config& config) {
  return config.tls ? config.tls->implicit_listen : std::vector<ListenAddress>{};
}

const RestartOnlyKey restart_only_keys[] = {
    server_key<&Config::listen>("server.listen"),  // as running: --listen may have replaced the file's
    {"tls.implicit_listen",
     [](const Config& before, const Config& after) { return implicit_listen(before) != implicit_listen(after); },
     [](const Config& running, Config& next) {
       if (next.tls && running.tls) next.tls->implicit_listen = running.tls->implicit_listen;
     }},
    server_key<&Config::workers>("server.workers"),
    server_key<&Config::busy_poll_us>("server.busy_poll_us"),
    server_key<&Config::user>("server.user"),
    server_key<&Config::group>("server.group"),
    server_key<&Config::allow_root>("server.allow_root"),
    server_key<&Config::confine>("server.confine"),
    {"admin.listen", [](const Config& before, const Config& after) { return before.admin.listen != after.admin.listen; },
     [](const Config& running, Config& next) { next.admin.listen = running.admin.listen; }},
    {"admin.tls", [](const Config& before, const Config& after) { return before.admin.tls != after.admin.tls; },
     [](const Config& running, Config& next) { next.admin.tls = running.admin.tls; }},
};

}  // namespace

std::shared_ptr<ServerState> build_generation(Config config, std::shared_ptr<ServerRuntime> runtime,
                                              std::string& error) {
  std::string plugin_dir = config.plugin_dir.empty()                               ? std::string(FERRY_DEFAULT_PLUGIN_DIR)
                           : std::filesystem::path(config.plugin_dir).is_absolute() ? config.plugin_dir
                                                                                    : config.dir + "/" + config.plugin_dir;
  // Under confinement (a reload): the core's paths and ports must be those start-up allowed.
  if (error = Confinement::process().check(core_confinement_needs(config, plugin_dir)); !error.empty()) return nullptr;
  if (error = Confinement::process().check_ports(config); !error.empty()) return nullptr;
  auto plugins = std::make_shared<PluginHost>(plugin_dir);
  auto state = std::make_shared<ServerState>(std::move(config), plugins, std::move(runtime));
  const Config& c = state->config;

  // Kind by kind, in the table's order: the authenticator's errors come first.
  for (const PluginKindRow& kind : plugin_kinds()) {
    for (const PluginConfig* plugin : c.plugins_of(kind.kind)) {
      auto object = plugins->create(*plugin);
      if (!object) {
        error = object.error().message;
        return nullptr;
      }
      if (auto installed = kind.install(*state, *plugin, std::move(object.value())); !installed) {
        error = installed.error().message;
        return nullptr;
      }
    }
  }
  if (c.tls) {
    state->tls = make_tls_context(*c.tls, error);
    if (!state->tls) return nullptr;  // the error names the key's file, line and column
  }
  if (c.admin.enabled()) {
    auto operators = passwd::load_users_file(c.admin.operators);
    if (!operators.file) {
      error = c.admin.operators_at + ": [admin] operators: " + operators.error;
      return nullptr;
    }
    state->operators = std::make_shared<const passwd::UsersFile>(std::move(*operators.file));
  }
  state->number = state->runtime->generations.fetch_add(1) + 1;

  for (const auto& plugin : plugins->loaded()) {
    log_info("loaded plugin ", plugin.name, " ", plugin.version, " (", plugin_kind_name(plugin.kind), ") from ",
             plugin.path);
  }
  for (const PluginConfig& plugin : c.plugins) {
    if (!plugin.path.empty()) log_info("mounted ", plugin.plugin, " at ", plugin.path);
  }
  if (c.tls) log_info("FTPS enabled", c.tls->require ? " and required" : "", " (certificate ", c.tls->certificate, ")");
  return state;
}

std::shared_ptr<ServerState> reload_generation(const ServerState& running, Config& previous, std::string& error) {
  auto reloaded = load_config(running.config.file);
  if (!reloaded.config) {
    error = reloaded.error;
    return nullptr;
  }
  Config next = *reloaded.config;
  for (const RestartOnlyKey& key : restart_only_keys) {
    if (key.changed(previous, next)) {
      log_warning("reload: ", key.name, " changed; that takes effect only when ferryd is restarted");
    }
    key.keep(running.config, next);
  }
  auto generation = build_generation(std::move(next), running.runtime, error);
  if (generation) previous = std::move(*reloaded.config);
  return generation;
}

}  // namespace ferry
