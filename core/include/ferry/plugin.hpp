// ferry plugin API: the interfaces a plugin implements and the one symbol it exports.
// This directory is the only thing a plugin includes. Bump plugin_api_version on ANY change
// to a type under core/include/ferry/; the server refuses a plugin built against another.
//
// Threading: the core calls a plugin from its blocking-work pool, and possibly from several
// threads at once: implementations must be thread-safe. Three calls may run on an I/O
// thread instead, where they must not stall:
// - ReadHandle::read_at, when the handle exposes a descriptor (native_fd() >= 0): the
//   core treats it as a local file, read at page-cache speed like sendfile would;
// - FileProvider::open_read, and WriteHandle::write / splice_from, when the object also
//   implements the optional interfaces of ferry/io_hints.hpp and says so there.
// Methods are noexcept; a plugin catches everything at its own edge.
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

// 6: plugin kinds by table, Identity's home and read-only flag, optional I/O hints,
// PluginDescriptor::confinement_paths (one bump for all of them).
// 7: content stamps (ferry/io_hints.hpp: ContentStamp, ProviderStamps, WriteStamps).
inline constexpr std::uint32_t plugin_api_version = 7;

// What a plugin makes. The server knows each kind by a row of its kind table
// (core/server/plugin_kinds.cpp): its name, its config table, what it does with the object.
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

// Per-user limits an authenticator may set. 0 means "no limit of this user's own": the
// server's limits apply. Reserved: this ferryd does not enforce them yet (they are here so
// that an authenticator written now need not change when it does).
struct UserLimits {
  std::uint32_t max_sessions = 0;            // control connections at once
  std::uint64_t download_bytes_per_second = 0;
  std::uint64_t upload_bytes_per_second = 0;
};

struct Identity {
  std::string name;  // the user name the session runs as (used for %u in mounts)
  // The virtual directory the session starts in (PWD shows it after login). Absolute; the
  // core starts in "/" instead when it is no directory this user can see.
  std::string home = "/";
  // The session may change nothing: uploads, deletes, renames, MKD/RMD, MFMT and SITE CHMOD
  // are refused (550) as on a read-only mount, and listings show nothing writable.
  bool read_only = false;
  UserLimits limits;
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
  std::string_view home = "/";  // Identity::home (a virtual path), for providers that want it
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
  // The name the upload ends up with (STOU needs to tell the client); "" = the one asked for.
  virtual std::string final_name() const noexcept { return {}; }
};

class FERRY_INTERFACE FileProvider : public PluginObject {
 public:
  virtual Result<FileInfo> stat(const UserContext& user, std::string_view path) noexcept = 0;
  virtual Result<std::vector<FileInfo>> list(const UserContext& user, std::string_view path) noexcept = 0;
  // A directory is refused with Status::is_a_directory: RETR relies on it, with no stat first.
  virtual Result<std::unique_ptr<ReadHandle>> open_read(const UserContext& user, std::string_view path) noexcept = 0;

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
// Confinement (API 6). After start-up ferryd confines itself (Landlock, `server.confine`):
// from then on it can open only the paths its configuration needs. A plugin says which of
// its paths it needs, from its options, before create() runs, so that a SIGHUP naming a
// path outside them is refused ("needs a restart") instead of failing half-way.

enum PathAccess : std::uint32_t {
  path_read = 1,    // open files for reading, list directories
  path_write = 2,   // open existing files for writing, truncate them
  path_create = 4,  // create files and directories (also: be the target of a rename)
  path_remove = 8,  // remove files and directories (also: be the source of a rename)
};

struct PathNeed {
  std::string path;  // absolute; a directory covers everything beneath it. One that does not
                     // exist yet is granted on its deepest existing ancestor (to be created)
  std::uint32_t access = path_read;  // PathAccess bits
  std::string key;   // the option that named it, for messages ("" = none)
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
  // Optional (API 6): the files and directories the object that `options` would create needs
  // after start-up. Must not touch them; options create() would refuse may give anything.
  // nullptr: the plugin needs no path of its own once ferryd is confined.
  std::vector<PathNeed> (*confinement_paths)(const PluginOptions& options) noexcept = nullptr;
};

using PluginEntry = const PluginDescriptor*();

inline constexpr const char* plugin_entry_alias = "ferry_plugin";

}  // namespace ferry
