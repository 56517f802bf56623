// The table of plugin kinds (see plugin_kinds.hpp).
#include "server/plugin_kinds.hpp"

#include "server/config.hpp"
#include "server/server_state.hpp"

namespace ferry {

namespace {

template <class Interface>
std::shared_ptr<Interface> as(const PluginConfig& config, std::shared_ptr<PluginObject> object, Error& error) {
  auto typed = std::dynamic_pointer_cast<Interface>(std::move(object));
  if (!typed) {
    error = Error{Status::not_supported,
                  "plugin '" + config.plugin + "' created an object that is no " + plugin_kind_name(config.kind)};
  }
  return typed;
}

Result<void> install_authenticator(ServerState& state, const PluginConfig& config, std::shared_ptr<PluginObject> object) {
  Error error;
  auto authenticator = as<Authenticator>(config, std::move(object), error);
  if (!authenticator) return error;
  state.authenticator = std::move(authenticator);
  return {};
}

Result<void> install_file_provider(ServerState& state, const PluginConfig& config, std::shared_ptr<PluginObject> object) {
  Error error;
  auto provider = as<FileProvider>(config, std::move(object), error);
  if (!provider) return error;
  state.mounts.add(vfs::Mount{config.path, std::move(provider), config.plugin});
  return {};
}

constexpr PluginKindRow rows[] = {
    {PluginKind::authenticator, "authenticator", "auth", false, false,
     "missing [auth] table (which plugin checks passwords)", &install_authenticator},
    {PluginKind::file_provider, "file provider", "mount", true, true, "no [[mount]]: a user would see no files",
     &install_file_provider},
};

}  // namespace

std::span<const PluginKindRow> plugin_kinds() noexcept { return rows; }

const PluginKindRow* find_plugin_kind(PluginKind kind) noexcept {
  for (const PluginKindRow& row : rows) {
    if (row.kind == kind) return &row;
  }
  return nullptr;
}

const PluginKindRow* find_plugin_kind(std::string_view table) noexcept {
  for (const PluginKindRow& row : rows) {
    if (row.table == table) return &row;
  }
  return nullptr;
}

std::string plugin_kind_name(PluginKind kind) {
  if (const PluginKindRow* row = find_plugin_kind(kind)) return std::string(row->name);
  return "unknown kind " + std::to_string(static_cast<std::uint32_t>(kind));
}

}  // namespace ferry
