// The mount table: which FileProvider serves which part of the virtual tree.
// The longest mount path that is a prefix of the requested path (at a '/' boundary) wins.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/io_hints.hpp"
#include "ferry/plugin.hpp"

namespace ferry::vfs {

struct Mount {
  std::string path;                        // normalised, e.g. "/" or "/files"
  std::shared_ptr<FileProvider> provider;  // keeps its plugin library loaded
  std::string plugin;                      // plugin name, for logs
  const ProviderIoHints* io_hints = nullptr;  // the provider's, if it has them (set by MountTable::add)
};

struct Resolved {
  const Mount* mount = nullptr;  // nullptr: no mount covers the path
  std::string relative;          // path inside the mount, starting with '/'
};

class MountTable {
 public:
  // Adds a mount; false when the same path is already mounted.
  bool add(Mount mount);
  Resolved resolve(std::string_view normalized_path) const;
  // Names of mount points directly beneath `dir` (so "/" lists "files" for a "/files" mount).
  std::vector<std::string> child_mounts(std::string_view dir) const;
  // True when `dir` is strictly above some mount point ("/a" for a "/a/b" mount).
  bool is_mount_ancestor(std::string_view dir) const;
  const std::vector<Mount>& mounts() const noexcept { return mounts_; }

 private:
  std::vector<Mount> mounts_;  // sorted by path length, longest first
};

}  // namespace ferry::vfs
