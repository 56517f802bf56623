// The mount table (see mount_table.hpp).
#include "vfs/mount_table.hpp"

#include <algorithm>

namespace ferry::vfs {

namespace {

// True when `prefix` (a normalised mount path) covers `path` at a component boundary.
bool covers(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return true;
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

bool MountTable::add(Mount mount) {
  for (const Mount& m : mounts_) {
    if (m.path == mount.path) return false;
  }
  // Looked up once here, not per RETR.
  mount.io_hints = dynamic_cast<const ProviderIoHints*>(mount.provider.get());
  mounts_.push_back(std::move(mount));
  std::stable_sort(mounts_.begin(), mounts_.end(),
                   [](const Mount& a, const Mount& b) { return a.path.size() > b.path.size(); });
  return true;
}

Resolved MountTable::resolve(std::string_view path) const {
  for (const Mount& m : mounts_) {  // longest first, so the first match is the longest
    if (!covers(m.path, path)) continue;
    std::string_view rest = m.path == "/" ? path : path.substr(m.path.size());
    return Resolved{&m, rest.empty() ? std::string("/") : std::string(rest)};
  }
  return Resolved{};
}

std::vector<std::string> MountTable::child_mounts(std::string_view dir) const {
  std::vector<std::string> names;
  for (const Mount& m : mounts_) {
    if (m.path == "/" || !covers(dir, m.path) || m.path == dir) continue;
    std::string_view rest = std::string_view(m.path).substr(dir == "/" ? 1 : dir.size() + 1);
    std::string name(rest.substr(0, rest.find('/')));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool MountTable::is_mount_ancestor(std::string_view dir) const {
  return std::any_of(mounts_.begin(), mounts_.end(),
                     [dir](const Mount& m) { return m.path != dir && m.path != "/" && covers(dir, m.path); });
}

}  // namespace ferry::vfs
