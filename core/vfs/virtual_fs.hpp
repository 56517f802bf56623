// One user's view of the mount table: stat, list and open on virtual paths, merging the
// mount points themselves into the listings of the directories that contain them. A
// read-only user (Identity::read_only) sees every mount as a read-only one.
// Calls into providers block: the server runs these on its blocking-work pool.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/io_hints.hpp"
#include "ferry/plugin.hpp"
#include "vfs/mount_table.hpp"

namespace ferry::vfs {

class VirtualFs {
 public:
  // `home` must be normalised (see normalize()); `read_only` refuses every change.
  VirtualFs(const MountTable& mounts, std::string user, std::string home = "/", bool read_only = false)
      : mounts_(&mounts), user_(std::move(user)), home_(std::move(home)), read_only_(read_only) {}

  // All paths are normalised absolute virtual paths (see normalize()).
  Result<FileInfo> stat(std::string_view path) const;
  Result<std::vector<FileInfo>> list(std::string_view path) const;
  Result<std::unique_ptr<ReadHandle>> open_read(std::string_view path) const;
  // Whether open_read(path) may run on an I/O thread (the provider's ProviderIoHints).
  bool fast_open(std::string_view path) const;
  // The provider's stamp of the file at `path` now (ferry/io_hints.hpp's ProviderStamps);
  // Status::not_supported when its provider has none.
  Result<ContentStamp> content_stamp(std::string_view path) const;

  // Changes: refused on a mount point itself (or a directory above one), and a rename
  // across two mounts is refused with Status::bad_name (553).
  Result<std::unique_ptr<WriteHandle>> open_write(std::string_view path, WriteMode mode, std::uint64_t offset) const;
  Result<void> make_directory(std::string_view path) const;
  Result<void> remove_directory(std::string_view path) const;
  Result<void> remove_file(std::string_view path) const;
  Result<void> rename(std::string_view from, std::string_view to) const;
  Result<void> set_mtime(std::string_view path, std::int64_t mtime) const;
  Result<void> set_mode(std::string_view path, std::uint32_t mode) const;

  const std::string& user() const noexcept { return user_; }
  const std::string& home() const noexcept { return home_; }
  bool read_only() const noexcept { return read_only_; }

 private:
  UserContext context() const { return UserContext{user_, home_}; }
  // The mount and relative path for a change to `path`, or the refusal.
  Result<Resolved> resolve_for_change(std::string_view path) const;
  const MountTable* mounts_;
  std::string user_;
  std::string home_ = "/";
  bool read_only_ = false;
};

}  // namespace ferry::vfs
