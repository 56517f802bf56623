// One user's view of the mount table: stat, list and open on virtual paths, merging the
// mount points themselves into the listings of the directories that contain them.
// Calls into providers block: the server runs these on its blocking-work pool.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/plugin.hpp"
#include "vfs/mount_table.hpp"

namespace ferry::vfs {

class VirtualFs {
 public:
  VirtualFs(const MountTable& mounts, std::string user) : mounts_(&mounts), user_(std::move(user)) {}

  // All paths are normalised absolute virtual paths (see normalize()).
  Result<FileInfo> stat(std::string_view path) const;
  Result<std::vector<FileInfo>> list(std::string_view path) const;
  Result<std::unique_ptr<ReadHandle>> open_read(std::string_view path) const;

  const std::string& user() const noexcept { return user_; }

 private:
  UserContext context() const { return UserContext{user_}; }
  const MountTable* mounts_;
  std::string user_;
};

}  // namespace ferry::vfs
