// The plugin host (see plugin_host.hpp).
#include "server/plugin_host.hpp"

#include <dlfcn.h>
#include <link.h>

#include <algorithm>
#include <boost/dll/import.hpp>
#include <boost/dll/shared_library.hpp>
#include <exception>
#include <filesystem>

#include "server/plugin_kinds.hpp"

namespace ferry {

struct PluginHost::Library {
  boost::dll::shared_library library;
  const PluginDescriptor* descriptor = nullptr;
  std::string name;
};

namespace {

// Plugin names are file names: keep them to a safe alphabet (no path tricks).
bool valid_plugin_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

// True if `address` is where a dynamic symbol of a pointer's size holding data (not code)
// starts: what BOOST_DLL_ALIAS exports.
bool is_pointer_symbol(const void* address) {
  Dl_info info{};
  void* entry = nullptr;  // the ElfW(Sym) of the symbol
  if (::dladdr1(address, &info, &entry, RTLD_DL_SYMENT) == 0 || !entry) return false;
  const auto* symbol = static_cast<const ElfW(Sym)*>(entry);
  return info.dli_saddr == address && ELF64_ST_TYPE(symbol->st_info) == STT_OBJECT &&
         symbol->st_size == sizeof(void*);
}

}  // namespace

PluginHost::PluginHost(std::string plugin_dir) : plugin_dir_(std::move(plugin_dir)) {}

// Objects handed out hold their own reference to their library, so this may run first.
PluginHost::~PluginHost() = default;

Result<std::shared_ptr<PluginHost::Library>> PluginHost::load(const PluginConfig& config) {
  std::string prefix = config.options.config_file + ":" + std::to_string(config.line) + ": " + config.where +
                       " plugin '" + config.plugin + "': ";
  for (const auto& lib : libraries_) {
    if (lib->name == config.plugin) return lib;
  }
  if (!valid_plugin_name(config.plugin)) {
    return Error{Status::bad_name, prefix + "not a valid plugin name (letters a-z, digits, '_' and '-')"};
  }
  std::filesystem::path path = std::filesystem::path(plugin_dir_) / ("lib" + config.plugin + ".so");
  std::error_code exists_ec;
  if (!std::filesystem::exists(path, exists_ec)) {
    return Error{Status::not_found, prefix + "no such plugin: " + path.string() + " does not exist"};
  }
  auto lib = std::make_shared<Library>();
  lib->name = config.plugin;
  boost::dll::fs::error_code ec;
  lib->library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) return Error{Status::io_error, prefix + "cannot load " + path.string() + ": " + ec.message()};
  if (!lib->library.has(plugin_entry_alias)) {
    return Error{Status::not_supported,
                 prefix + path.string() + " is not a ferry plugin (it exports no '" + plugin_entry_alias + "')"};
  }
  // The alias is a pointer to the entry function (Boost.DLL puts it in its section
  // "boostdll"). A plain exported function of that name would have its code read as that
  // pointer. Judged from the dynamic symbol's type, which stripping keeps (the packages'
  // plugins are stripped; boost::dll::library_info reads only the .symtab strip removes).
  if (!is_pointer_symbol(&lib->library.get<void*>(plugin_entry_alias))) {
    return Error{Status::not_supported, prefix + path.string() + ": " + plugin_entry_alias +
                                            " is not exported with FERRY_PLUGIN(...) from ferry/export.hpp"};
  }
  auto entry = lib->library.get_alias<PluginEntry>(plugin_entry_alias);
  // The entry function is not noexcept. What it throws is turned into a message here,
  // while the library is still loaded: the exception's what() and type live in it.
  const PluginDescriptor* descriptor = nullptr;
  try {
    descriptor = entry();
  } catch (const std::exception& e) {
    return Error{Status::io_error, prefix + "its entry point threw: " + e.what()};
  } catch (...) {
    return Error{Status::io_error, prefix + "its entry point threw something that is not a std::exception"};
  }
  if (!descriptor) return Error{Status::not_supported, prefix + "its entry point returned no descriptor"};
  if (descriptor->api_version != plugin_api_version) {
    return Error{Status::not_supported, prefix + "built for plugin API version " +
                                            std::to_string(descriptor->api_version) + ", this ferryd has version " +
                                            std::to_string(plugin_api_version) + "; rebuild the plugin"};
  }
  if (!descriptor->create || !descriptor->name || !descriptor->version) {
    return Error{Status::not_supported, prefix + "its descriptor is incomplete"};
  }
  if (!find_plugin_kind(descriptor->kind)) {
    return Error{Status::not_supported, prefix + "makes objects of " + plugin_kind_name(descriptor->kind) +
                                            ", which this ferryd does not know"};
  }
  lib->descriptor = descriptor;
  libraries_.push_back(lib);
  loaded_.push_back(LoadedPluginInfo{descriptor->name, descriptor->version, descriptor->kind, path.string()});
  return lib;
}

Result<std::shared_ptr<PluginObject>> PluginHost::create(const PluginConfig& config) {
  auto lib = load(config);
  if (!lib) return lib.error();
  std::string prefix = config.options.config_file + ":" + std::to_string(config.line) + ": " + config.where +
                       " plugin '" + config.plugin + "': ";
  const PluginDescriptor& d = *lib.value()->descriptor;
  if (d.kind != config.kind) {
    return Error{Status::not_supported, prefix + "is " + plugin_kind_name(d.kind) + ", but " +
                                            plugin_kind_name(config.kind) + " is needed here"};
  }
  // Under confinement (a reload), a path start-up did not allow is refused before create()
  // would fail on it half-way.
  std::vector<ConfinementNeed> needs =
      plugin_confinement_needs(config, d.confinement_paths ? d.confinement_paths(config.options) : std::vector<PathNeed>{});
  if (std::string why = Confinement::process().check(needs); !why.empty()) return Error{Status::permission_denied, why};
  std::string error;
  // No try here: create is noexcept by the ABI, so an exception in it calls std::terminate
  // inside the plugin before any handler of ours could see it (the plugin must catch).
  PluginObject* raw = d.create(config.options, &error);
  if (!raw) return Error{Status::io_error, prefix + (error.empty() ? "could not be created" : error)};
  // The deleter holds the library: it is unloaded only after the object is gone.
  std::shared_ptr<Library> keep = lib.value();
  confinement_needs_.insert(confinement_needs_.end(), needs.begin(), needs.end());
  return std::shared_ptr<PluginObject>(raw, [keep](PluginObject* object) { delete object; });
}

}  // namespace ferry
