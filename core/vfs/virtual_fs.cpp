// One user's view of the mount table (see virtual_fs.hpp).
#include "vfs/virtual_fs.hpp"

#include <algorithm>
#include <ctime>

#include "vfs/path.hpp"

namespace ferry::vfs {

namespace {

// A directory that exists only because mounts lie beneath it.
FileInfo synthetic_directory(std::string_view name) {
  FileInfo info;
  info.name = std::string(name);
  info.type = FileType::directory;
  info.mode = 0555;
  info.mtime = static_cast<std::int64_t>(std::time(nullptr));
  info.readable = true;
  info.writable = false;
  return info;
}

}  // namespace

Result<FileInfo> VirtualFs::stat(std::string_view path) const {
  Resolved r = mounts_->resolve(path);
  if (r.mount) {
    auto info = r.mount->provider->stat(context(), r.relative);
    if (info) {
      info->name = std::string(base_name(path));
      if (read_only_) info->writable = false;
      return info;
    }
    if (info.error().status != Status::not_found || !mounts_->is_mount_ancestor(path)) return info;
  } else if (!mounts_->is_mount_ancestor(path)) {
    return Error{Status::not_found, "no such file or directory"};
  }
  return synthetic_directory(base_name(path));
}

Result<std::vector<FileInfo>> VirtualFs::list(std::string_view path) const {
  std::vector<FileInfo> entries;
  Resolved r = mounts_->resolve(path);
  bool ancestor = mounts_->is_mount_ancestor(path);
  if (r.mount) {
    auto listed = r.mount->provider->list(context(), r.relative);
    if (listed) {
      entries = std::move(listed.value());
    } else if (listed.error().status != Status::not_found || !ancestor) {
      return listed.error();
    }
  } else if (!ancestor) {
    return Error{Status::not_found, "no such file or directory"};
  }
  // Mount points show up as directories, shadowing anything of the same name below.
  for (const std::string& name : mounts_->child_mounts(path)) {
    entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const FileInfo& e) { return e.name == name; }),
                  entries.end());
    std::string child = std::string(path == "/" ? "" : path) + "/" + name;
    auto info = stat(child);
    entries.push_back(info ? info.value() : synthetic_directory(name));
    entries.back().name = name;
  }
  std::sort(entries.begin(), entries.end(), [](const FileInfo& a, const FileInfo& b) { return a.name < b.name; });
  if (read_only_) {
    for (FileInfo& entry : entries) entry.writable = false;
  }
  return entries;
}

Result<std::unique_ptr<ReadHandle>> VirtualFs::open_read(std::string_view path) const {
  if (mounts_->is_mount_ancestor(path)) return Error{Status::is_a_directory, "is a directory"};
  Resolved r = mounts_->resolve(path);
  if (!r.mount) return Error{Status::not_found, "no such file"};
  return r.mount->provider->open_read(context(), r.relative);
}

bool VirtualFs::fast_open(std::string_view path) const {
  Resolved r = mounts_->resolve(path);
  return r.mount != nullptr && r.mount->io_hints != nullptr && r.mount->io_hints->fast_open();
}

Result<ContentStamp> VirtualFs::content_stamp(std::string_view path) const {
  Resolved r = mounts_->resolve(path);
  auto* stamps = r.mount ? dynamic_cast<ProviderStamps*>(r.mount->provider.get()) : nullptr;
  if (!stamps || mounts_->is_mount_ancestor(path)) return Error{Status::not_supported, "no content stamps here"};
  return stamps->content_stamp(context(), r.relative);
}

Result<Resolved> VirtualFs::resolve_for_change(std::string_view path) const {
  if (read_only_) return Error{Status::permission_denied, "read-only account"};
  Resolved r = mounts_->resolve(path);
  if (!r.mount) return Error{Status::permission_denied, "nothing is mounted here"};
  if (r.relative == "/" || mounts_->is_mount_ancestor(path)) {
    return Error{Status::permission_denied, "a mount point cannot be changed"};
  }
  return r;
}

Result<std::unique_ptr<WriteHandle>> VirtualFs::open_write(std::string_view path, WriteMode mode,
                                                           std::uint64_t offset) const {
  auto r = resolve_for_change(path);
  if (!r) return r.error();
  return r->mount->provider->open_write(context(), r->relative, mode, offset);
}

Result<void> VirtualFs::make_directory(std::string_view path) const {
  auto r = resolve_for_change(path);
  if (!r) return r.error();
  return r->mount->provider->make_directory(context(), r->relative);
}

Result<void> VirtualFs::remove_directory(std::string_view path) const {
  auto r = resolve_for_change(path);
  if (!r) return r.error();
  return r->mount->provider->remove_directory(context(), r->relative);
}

Result<void> VirtualFs::remove_file(std::string_view path) const {
  auto r = resolve_for_change(path);
  if (!r) return r.error();
  return r->mount->provider->remove_file(context(), r->relative);
}

Result<void> VirtualFs::rename(std::string_view from, std::string_view to) const {
  auto source = resolve_for_change(from);
  if (!source) return source.error();
  auto target = resolve_for_change(to);
  if (!target) return target.error();
  if (source->mount != target->mount) return Error{Status::bad_name, "cannot rename across mounts"};
  return source->mount->provider->rename(context(), source->relative, target->relative);
}

Result<void> VirtualFs::set_mtime(std::string_view path, std::int64_t mtime) const {
  auto r = resolve_for_change(path);
  if (!r) return r.error();
  return r->mount->provider->set_mtime(context(), r->relative, mtime);
}

Result<void> VirtualFs::set_mode(std::string_view path, std::uint32_t mode) const {
  auto r = resolve_for_change(path);
  if (!r) return r.error();
  return r->mount->provider->set_mode(context(), r->relative, mode);
}

}  // namespace ferry::vfs
