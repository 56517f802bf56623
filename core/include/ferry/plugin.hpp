// ferry plugin API: the interfaces a plugin implements and the one symbol it exports.
// This directory is the only thing a plugin includes. Bump plugin_api_version on ANY change
// to a type under core/include/ferry/; the server refuses a plugin built against another.
//
// Threading: the core calls every method below from its blocking-work pool, never from an
// I/O thread (except where a provider says a call is fast: fast_open, fast_write, and
// splice_from after accepts_splice), and possibly from several threads at once:
// implementations must be thread-safe. Methods are noexcept; a plugin catches everything
// at its own edge.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/options.hpp"
#include "ferry/result.hpp"

// Interface types keep default visibility even in plugins built with hidden visibility,
// so that their type_info is one and the same on both sides (dynamic_cast works).
#define FERRY_INTERFACE __attribute__((visibility("default")))

namespace ferry {

inline constexpr std::uint32_t plugin_api_version = 5;

enum class PluginKind : std::uint32_t { authenticator = 1, file_provider = 2 };

// Base of every object a plugin creates. The core keeps the plugin's library loaded for
// longer than any object it made (the destructor's code lives in the library).
class FERRY_INTERFACE PluginObject {
 public:
  virtual ~PluginObject() = default;
};

// ---------------------------------------------------------------------------------------
// Authenticator: who may log in.

struct LoginRequest {
  std::string_view user;
  std::string_view password;
  std::string_view peer_address;  // textual IP of the client, for plugins that filter by it
};

struct Identity {
  std::string name;  // the user name the session runs as (used for %u in mounts)
};

class FERRY_INTERFACE Authenticator : public PluginObject {
 public:
  // Blocking (may hash a password for tens of milliseconds). A refused login is
  // Status::permission_denied with a message for the log (never shown to the client).
  // Any other status means the authenticator itself failed.
  virtual Result<Identity> authenticate(const LoginRequest& request) noexcept = 0;
};

// ---------------------------------------------------------------------------------------
// FileProvider: a tree of files mounted at some virtual path.
// Paths passed to a provider are relative to its mount point, already normalised by the
// core: they start with '/', never contain "." or ".." components or empty components,
// and "/" is the mount's root.

enum class FileType : std::uint8_t { file, directory, symlink, other };

struct FileInfo {
  std::string name;           // last path component ("" for a mount root)
  FileType type = FileType::file;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;     // seconds since the Unix epoch, UTC
  std::uint32_t mode = 0644;  // permission bits, as ls -l shows them
  bool readable = true;       // the session may RETR it / list it
  bool writable = false;      // the session may overwrite, delete, rename it (or create in it)
  std::uint64_t unique_id = 0;  // stable identity (e.g. device and inode mixed), 0 = none; MLSx "unique"
};

// Who is asking: the provider may use it to pick a per-user root (fs_local's %u).
struct UserContext {
  std::string_view user;
};

class FERRY_INTERFACE ReadHandle {
 public:
  virtual ~ReadHandle() = default;
  // A descriptor positioned nowhere in particular (the core uses pread/sendfile with
  // explicit offsets), or -1 when the data only comes through read().
  virtual int native_fd() const noexcept { return -1; }
  // Total size of the file in bytes.
  virtual std::uint64_t size() const noexcept = 0;
  // Reads up to buffer.size() bytes at offset; 0 means end of file. Blocking.
  virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> buffer) noexcept = 0;
};

enum class WriteMode : std::uint8_t {
  replace,  // STOR: the old file (if any) stays intact until commit()
  append,   // APPE
  resume,   // REST n + STOR: write from the given offset of the existing file
  unique,   // STOU: the provider picks a name that does not exist
};

class FERRY_INTERFACE WriteHandle {
 public:
  virtual ~WriteHandle() = default;
  virtual Result<std::size_t> write(std::span<const std::byte> data) noexcept = 0;
  // Makes the upload visible under its final name. Without commit() the destructor
  // discards a replacing upload and keeps a partial new one (so it can be resumed).
  virtual Result<void> commit() noexcept = 0;
  // The name the upload ends up with (STOU needs to tell the client).
  virtual std::string final_name() const { return {}; }
  // True when write() only copies into the kernel's page cache (a local file): the core
  // then calls it on its I/O thread, as it reads local files there, instead of paying a
  // hop to the blocking pool for every chunk. Keep false for anything that can stall.
  virtual bool fast_write() const noexcept { return false; }
  // True when splice_from() works: the core then moves a binary upload from the socket
  // into the file through a pipe (splice(2)), without copying it through user space.
  virtual bool accepts_splice() const noexcept { return false; }
  // Moves up to `count` bytes from the pipe `pipe_fd` to where write() would put them
  // (splice(2)); returns how many moved. Called on the I/O thread, like a fast_write().
  virtual Result<std::size_t> splice_from(int /*pipe_fd*/, std::size_t /*count*/) noexcept {
    return Error{Status::not_supported, "this provider takes no splice"};
  }
};

class FERRY_INTERFACE FileProvider : public PluginObject {
 public:
  virtual Result<FileInfo> stat(const UserContext& user, std::string_view path) noexcept = 0;
  virtual Result<std::vector<FileInfo>> list(const UserContext& user, std::string_view path) noexcept = 0;
  // A directory is refused with Status::is_a_directory: RETR relies on it, with no stat first.
  virtual Result<std::unique_ptr<ReadHandle>> open_read(const UserContext& user, std::string_view path) noexcept = 0;
  // True when open_read only looks up a local file system that the kernel caches (as nginx
  // opens files on its event loop): the core then opens files to download on its I/O
  // thread, sparing each RETR a round trip to the blocking pool. Keep false for anything
  // that can stall: a network file system, a remote store.
  virtual bool fast_open() const noexcept { return false; }

  // Everything below changes the tree. A read-only provider keeps the defaults, which refuse.
  virtual Result<std::unique_ptr<WriteHandle>> open_write(const UserContext&, std::string_view,
                                                          WriteMode, std::uint64_t /*offset*/) noexcept {
    return Error{Status::permission_denied, "read-only file system"};
  }
  virtual Result<void> make_directory(const UserContext&, std::string_view) noexcept {
    return Error{Status::permission_denied, "read-only file system"};
  }
  virtual Result<void> remove_directory(const UserContext&, std::string_view) noexcept {
    return Error{Status::permission_denied, "read-only file system"};
  }
  virtual Result<void> remove_file(const UserContext&, std::string_view) noexcept {
    return Error{Status::permission_denied, "read-only file system"};
  }
  virtual Result<void> rename(const UserContext&, std::string_view, std::string_view) noexcept {
    return Error{Status::permission_denied, "read-only file system"};
  }
  virtual Result<void> set_mtime(const UserContext&, std::string_view, std::int64_t) noexcept {
    return Error{Status::permission_denied, "read-only file system"};
  }
  virtual Result<void> set_mode(const UserContext&, std::string_view, std::uint32_t) noexcept {
    return Error{Status::not_supported, "SITE CHMOD is not supported here"};
  }
};

// ---------------------------------------------------------------------------------------
// The exported symbol. Every plugin defines exactly one descriptor and exports a function
// returning it under the alias "ferry_plugin" with FERRY_PLUGIN(fn) from ferry/export.hpp.

struct PluginDescriptor {
  std::uint32_t api_version;  // must stay the first member: checked before anything else is read
  PluginKind kind;
  const char* name;
  const char* version;
  // Validates the options and builds the object, or returns nullptr and sets *error
  // (a message naming the config file, line and key; see OptionReader).
  PluginObject* (*create)(const PluginOptions& options, std::string* error) noexcept;
};

using PluginEntry = const PluginDescriptor*();

inline constexpr const char* plugin_entry_alias = "ferry_plugin";

}  // namespace ferry
