// fs_local: a FileProvider serving a local directory tree, optionally writable, with one
// root per user ("%u" in `root`). This file reads its options and exports the plugin; the
// jail is in jail.hpp, the upload rules in handles.hpp, reserved names in names.hpp, the
// provider in provider.hpp.
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "ferry/export.hpp"
#include "ferry/plugin.hpp"
#include "provider.hpp"

namespace fs_local {
namespace {

// A mode given as an integer (TOML 0o644) or a string of octal digits ("0644").
mode_t read_mode(ferry::OptionReader& reader, const ferry::PluginOptions& options, std::string_view key,
                 mode_t fallback) {
  const auto it = std::find_if(options.values.begin(), options.values.end(),
                               [&](const ferry::OptionValue& v) { return v.key == key; });
  if (it == options.values.end()) return fallback;
  std::int64_t value = -1;
  if (std::holds_alternative<std::string>(it->value)) {
    const std::string text = reader.optional_string(key, "");
    char* end = nullptr;
    errno = 0;
    const long parsed = text.empty() ? -1 : std::strtol(text.c_str(), &end, 8);
    value = (errno == 0 && end != nullptr && *end == '\0') ? parsed : -1;
  } else {
    value = reader.optional_int(key, fallback);
  }
  if (value < 0 || value > 0777) {
    reader.fail_key(key, "must be a permission mode from 0 to 0o777 (write 0o644 or \"0644\")");
    return fallback;
  }
  return static_cast<mode_t>(value);
}

// False when the tree lives on a network (or FUSE) file system, where an open or a write
// can wait on a server: then the core keeps every call on its blocking pool. Looks at the
// root, or for a per-user root at the deepest directory above its first %u that exists.
bool on_local_file_system(const std::string& root) {
  std::string probe = root.substr(0, root.find("%u"));
  struct statfs fs {};
  while (::statfs(probe.empty() ? "/" : probe.c_str(), &fs) != 0) {
    if (probe.empty() || probe == "/") return false;  // cannot tell: assume it may stall
    probe = std::filesystem::path(probe).parent_path().string();
  }
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0x6969:      // NFS
    case 0x517B:      // SMB
    case 0xFF534D42:  // CIFS
    case 0xFE534D42:  // SMB2
    case 0x65735546:  // FUSE
    case 0x00C36400:  // Ceph
    case 0x5346414F:  // AFS
    case 0x01021997:  // 9P
    case 0x73757245:  // Coda
    case 0x7461636F:  // OCFS2
    case 0x01161970:  // GFS2
      return false;
    default:
      return true;
  }
}

ferry::PluginObject* create(const ferry::PluginOptions& options, std::string* error) noexcept {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  try {
    ferry::OptionReader reader(options);
    Settings s;
    const std::string configured = reader.required_string("root");
    s.writable = reader.optional_bool("writable", false);  // read-only unless asked, as vsftpd
    s.create_root = reader.optional_bool("create_root", true);
    s.file_mode = read_mode(reader, options, "file_mode", 0644);
    s.dir_mode = read_mode(reader, options, "dir_mode", 0755);
    if (!reader.finish()) {
      *error = reader.error();
      return nullptr;
    }
    if (configured.empty()) {
      reader.fail_key("root", "must not be empty");
      *error = reader.error();
      return nullptr;
    }
    if (configured.find('\0') != std::string::npos) {
      reader.fail_key("root", "must not contain a NUL byte");
      *error = reader.error();
      return nullptr;
    }
    s.root = std::filesystem::absolute(reader.resolve(configured)).lexically_normal().string();
    while (s.root.size() > 1 && s.root.back() == '/') s.root.pop_back();
    s.per_user = s.root.find("%u") != std::string::npos;
    if (!s.per_user) {
      struct stat st {};
      if (::stat(s.root.c_str(), &st) != 0 && errno == ENOENT && s.create_root) {
        if (const int e = make_directories(s.root, 0750); e != 0) {
          reader.fail_key("root", "names a directory that cannot be created: " + s.root + ": " + std::strerror(e));
          *error = reader.error();
          return nullptr;
        }
      }
      if (::stat(s.root.c_str(), &st) != 0) {
        const int e = errno;
        reader.fail_key("root", (e == ENOENT ? "names no such directory: " + s.root
                                             : "names a directory that cannot be used: " + s.root + ": " +
                                                   std::strerror(e)));
        *error = reader.error();
        return nullptr;
      }
      if (!S_ISDIR(st.st_mode)) {
        reader.fail_key("root", "is not a directory: " + s.root);
        *error = reader.error();
        return nullptr;
      }
    }
    s.local = on_local_file_system(s.root);
    const char* walk = std::getenv("FERRY_FS_LOCAL_WALK");
    s.force_walk = walk != nullptr && std::string_view(walk) == "1";
    return make_provider(std::move(s));
  } catch (const std::exception& e) {
    *error = std::string("fs_local: ") + e.what();
  } catch (...) {
    *error = "fs_local: unexpected failure";
  }
  return nullptr;
}

// Once ferryd is confined: the root (a per-user root: the directory above its first %u,
// where the users' roots are made), read-only or, on a writable mount, to change too.
std::vector<ferry::PathNeed> confinement_paths(const ferry::PluginOptions& options) noexcept {
  try {
    ferry::OptionReader reader(options);
    const std::string configured = reader.optional_string("root", "");
    const bool writable = reader.optional_bool("writable", false);
    const bool create_root = reader.optional_bool("create_root", true);
    if (configured.empty() || configured.find('\0') != std::string::npos) return {};
    std::string root = std::filesystem::absolute(reader.resolve(configured)).lexically_normal().string();
    std::uint32_t access = ferry::path_read;
    if (writable) access |= ferry::path_write | ferry::path_create | ferry::path_remove;
    if (const std::size_t user = root.find("%u"); user != std::string::npos) {
      root = root.substr(0, root.rfind('/', user));  // the directory holding the first %u component
      if (root.empty()) root = "/";
      if (create_root) access |= ferry::path_create;
    }
    return {ferry::PathNeed{root, access, "root"}};
  } catch (...) {
    return {};
  }
}

const ferry::PluginDescriptor descriptor{ferry::plugin_api_version, ferry::PluginKind::file_provider, "fs_local",
                                         "0.1.0", &create, &confinement_paths};

const ferry::PluginDescriptor* entry() { return &descriptor; }

}  // namespace
}  // namespace fs_local

FERRY_PLUGIN(fs_local::entry)
