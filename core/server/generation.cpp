// Building a generation of the server (see generation.hpp).
#include "server/generation.hpp"

#include <filesystem>

#include "server/log.hpp"
#include "server/plugin_host.hpp"
#include "server/tls_context.hpp"

namespace ferry {

namespace {

const char* kind_name(PluginKind kind) {
  return kind == PluginKind::authenticator ? "authenticator" : "file provider";
}

bool same_addresses(const std::vector<ListenAddress>& a, const std::vector<ListenAddress>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].host != b[i].host || a[i].port != b[i].port) return false;
  }
  return true;
}

// The keys whose change needs a restart, between two versions of the file.
std::vector<std::string> restart_only_changes(const Config& running, const Config& reloaded) {
  std::vector<std::string> changes;
  if (!same_addresses(running.listen, reloaded.listen)) changes.push_back("server.listen");
  std::vector<ListenAddress> none;
  if (!same_addresses(running.tls ? running.tls->implicit_listen : none,
                      reloaded.tls ? reloaded.tls->implicit_listen : none)) {
    changes.push_back("tls.implicit_listen");
  }
  if (running.workers != reloaded.workers) changes.push_back("server.workers");
  if (running.busy_poll_us != reloaded.busy_poll_us) changes.push_back("server.busy_poll_us");
  if (running.user != reloaded.user) changes.push_back("server.user");
  if (running.group != reloaded.group) changes.push_back("server.group");
  if (running.allow_root != reloaded.allow_root) changes.push_back("server.allow_root");
  return changes;
}

}  // namespace

std::shared_ptr<ServerState> build_generation(Config config, std::shared_ptr<ServerRuntime> runtime,
                                              std::string& error) {
  std::string plugin_dir = config.plugin_dir.empty()                               ? std::string(FERRY_DEFAULT_PLUGIN_DIR)
                           : std::filesystem::path(config.plugin_dir).is_absolute() ? config.plugin_dir
                                                                                    : config.dir + "/" + config.plugin_dir;
  auto plugins = std::make_shared<PluginHost>(plugin_dir);
  auto state = std::make_shared<ServerState>(std::move(config), plugins, std::move(runtime));
  const Config& c = state->config;

  auto auth = plugins->create_authenticator(c.auth);
  if (!auth) {
    error = auth.error().message;
    return nullptr;
  }
  state->authenticator = auth.value();
  if (c.tls) {
    state->tls = make_tls_context(*c.tls, error);
    if (!state->tls) {
      error = c.file + ": " + error;
      return nullptr;
    }
  }
  for (const MountConfig& mount : c.mounts) {
    auto provider = plugins->create_file_provider(mount.plugin);
    if (!provider) {
      error = provider.error().message;
      return nullptr;
    }
    state->mounts.add(vfs::Mount{mount.path, provider.value(), mount.plugin.plugin});
  }

  for (const auto& plugin : plugins->loaded()) {
    log_info("loaded plugin ", plugin.name, " ", plugin.version, " (", kind_name(plugin.kind), ") from ", plugin.path);
  }
  for (const MountConfig& mount : c.mounts) log_info("mounted ", mount.plugin.plugin, " at ", mount.path);
  if (c.tls) log_info("FTPS enabled", c.tls->require ? " and required" : "", " (certificate ", c.tls->certificate, ")");
  return state;
}

std::shared_ptr<ServerState> reload_generation(const ServerState& running, Config& previous, std::string& error) {
  auto reloaded = load_config(running.config.file);
  if (!reloaded.config) {
    error = reloaded.error;
    return nullptr;
  }
  const Config& file = *reloaded.config;
  for (const std::string& key : restart_only_changes(previous, file)) {
    log_warning("reload: ", key, " changed; that takes effect only when ferryd is restarted");
  }
  Config next = file;
  next.listen = running.config.listen;  // as running: --listen may have replaced the file's
  next.workers = running.config.workers;
  next.busy_poll_us = running.config.busy_poll_us;
  next.user = running.config.user;
  next.group = running.config.group;
  next.allow_root = running.config.allow_root;
  if (next.tls && running.config.tls) next.tls->implicit_listen = running.config.tls->implicit_listen;
  auto generation = build_generation(std::move(next), running.runtime, error);
  if (generation) previous = std::move(*reloaded.config);
  return generation;
}

}  // namespace ferry
