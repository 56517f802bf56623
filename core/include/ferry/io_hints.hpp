// ferry plugin API: optional interfaces that let the core take a shorter I/O path. A provider
// or a write handle MAY also derive from one; the core finds it with dynamic_cast (the
// types have default visibility: FERRY_INTERFACE) and without it takes the general path.
// A new hint is a new interface here, never a virtual added to the core interfaces.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "ferry/plugin.hpp"

namespace ferry {

// A FileProvider whose files may live on a local file system that the kernel caches.
class FERRY_INTERFACE ProviderIoHints {
 public:
  virtual ~ProviderIoHints() = default;
  // True when open_read only looks up such a file system (as nginx opens files on its event
  // loop): the core then opens files to download on its I/O thread, sparing each RETR a
  // round trip to the blocking pool. False for anything that can stall: a network file
  // system, a remote store.
  virtual bool fast_open() const noexcept = 0;
};

// A WriteHandle that writes to a local file.
class FERRY_INTERFACE WriteIoHints {
 public:
  virtual ~WriteIoHints() = default;
  // True when write() only copies into the kernel's page cache: the core then calls it on
  // its I/O thread, as it reads local files there, instead of paying a hop to the blocking
  // pool for every chunk. False for anything that can stall.
  virtual bool fast_write() const noexcept = 0;
  // True when splice_from() works: the core then moves a binary upload from the socket into
  // the file through a pipe (splice(2)), without copying it through user space.
  virtual bool accepts_splice() const noexcept = 0;
  // Moves up to `count` bytes from the pipe `pipe_fd` to where write() would put them
  // (splice(2)); returns how many moved. Called on the I/O thread, like a fast write().
  virtual Result<std::size_t> splice_from(int pipe_fd, std::size_t count) noexcept = 0;
};

// What tells a file's content apart from any later content without reading it: for a local
// file its device, inode, size, and modification and change times to the nanosecond. Two
// equal stamps of one path: the same bytes. (The core compares stamps only for equality.)
struct ContentStamp {
  std::array<std::uint64_t, 7> words{};
  friend bool operator==(const ContentStamp&, const ContentStamp&) = default;
};

// A FileProvider that can stamp its files (API 7). With a WriteHandle's WriteStamps, it lets
// the core answer HASH right after an upload from the digest it computed while the bytes
// arrived, instead of reading the file again, for as long as the stamp has not changed.
class FERRY_INTERFACE ProviderStamps {
 public:
  virtual ~ProviderStamps() = default;
  // The stamp of the regular file at `path` as it is now; an error when it has none (the
  // core then reads the file). Blocking, like stat.
  virtual Result<ContentStamp> content_stamp(const UserContext& user, std::string_view path) noexcept = 0;
};

// A WriteHandle that can stamp the file it wrote (API 7).
class FERRY_INTERFACE WriteStamps {
 public:
  virtual ~WriteStamps() = default;
  // After a successful commit(): the committed file's stamp, but only when the provider can
  // vouch that (1) the file holds exactly the bytes write()/splice_from() received, from its
  // first byte to its last (no append, no resume, no other writer meanwhile), and (2) any
  // later change will change the stamp (on a file system whose times are coarser than the
  // changes, a change in the same tick would not). nullopt otherwise: the core reads the file.
  // Blocking, like commit().
  virtual std::optional<ContentStamp> committed_stamp() noexcept = 0;
};

}  // namespace ferry
