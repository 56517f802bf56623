// The kinds of plugin this server knows, one row each: adding a kind is adding a row (and
// the interface it implements, and the place in ServerState where its objects are used).
// The config parser, the plugin host and the generation read everything kind-specific here.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "ferry/plugin.hpp"

namespace ferry {

struct PluginConfig;
struct ServerState;

struct PluginKindRow {
  PluginKind kind;
  std::string_view name;   // in messages and the start-up log: "authenticator"
  // config.toml: the top-level key of its tables, one [table] or any number of [[table]],
  // and whether each has a core key 'path' (a virtual path, normalised, unique per kind).
  std::string_view table;
  bool many;
  bool mounted;
  std::string_view missing;  // the error when the config has none; "" = optional
  // Hands an object the plugin made to the generation being built; an error when the
  // object does not implement the kind's interface.
  Result<void> (*install)(ServerState& state, const PluginConfig& config, std::shared_ptr<PluginObject> object);
};

// Every row, in the order the generation creates them.
std::span<const PluginKindRow> plugin_kinds() noexcept;
// nullptr for a kind this server does not know (a plugin built for a newer ferryd).
const PluginKindRow* find_plugin_kind(PluginKind kind) noexcept;
const PluginKindRow* find_plugin_kind(std::string_view table) noexcept;
// The row's name, or "unknown kind N".
std::string plugin_kind_name(PluginKind kind);

}  // namespace ferry
