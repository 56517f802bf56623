// Loads plugins with Boost.DLL, checks their descriptor and API version, and creates
// their objects. Every object holds its library loaded (the library unloads last).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "ferry/plugin.hpp"
#include "server/config.hpp"
#include "server/confinement/confinement.hpp"

namespace ferry {

struct LoadedPluginInfo {
  std::string name;
  std::string version;
  PluginKind kind;
  std::string path;
};

class PluginHost {
 public:
  explicit PluginHost(std::string plugin_dir);
  ~PluginHost();
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  // Loads config.plugin, checks that it is of config.kind, and creates its object; or an
  // error naming the plugin and the config line.
  Result<std::shared_ptr<PluginObject>> create(const PluginConfig& config);
  // The same, as the interface of the kind (for tests and tools that need one kind).
  template <class Interface>
  Result<std::shared_ptr<Interface>> create_as(const PluginConfig& config) {
    auto object = create(config);
    if (!object) return object.error();
    auto typed = std::dynamic_pointer_cast<Interface>(object.value());
    if (!typed) return Error{Status::not_supported, "plugin '" + config.plugin + "' created an object of another interface"};
    return typed;
  }

  // What was loaded so far (one entry per library), for the start-up log.
  const std::vector<LoadedPluginInfo>& loaded() const noexcept { return loaded_; }
  const std::string& plugin_dir() const noexcept { return plugin_dir_; }
  // The paths the created objects need once ferryd is confined (their descriptors say).
  const std::vector<ConfinementNeed>& confinement_needs() const noexcept { return confinement_needs_; }

 private:
  struct Library;
  Result<std::shared_ptr<Library>> load(const PluginConfig& config);

  std::string plugin_dir_;
  std::vector<std::shared_ptr<Library>> libraries_;
  std::vector<LoadedPluginInfo> loaded_;
  std::vector<ConfinementNeed> confinement_needs_;
};

}  // namespace ferry
