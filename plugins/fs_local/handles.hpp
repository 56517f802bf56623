// fs_local: the handles of open files, for reading and for an upload.
//
// Uploads (open_write):
//   replace  the file exists: the data goes to ".<name>.ferry-XXXXXX" in the same directory
//            and commit() renames it over the old file, which stays intact until then; a
//            handle dropped without commit() unlinks the temporary file.
//            The file does NOT exist yet: the data goes straight to the final name (created
//            with O_EXCL), so an aborted upload leaves a partial file that the client can
//            resume with REST + STOR or APPE. (There is no old file to protect.)
//   resume   REST n + STOR: the existing file is truncated to n (n beyond its end is refused)
//            and written from n; a partial upload stays.
//   append   APPE: appends, creating the file when missing.
//   unique   STOU: creates <name>, else <name>.1, <name>.2, ... (O_EXCL); final_name() tells.
//
// Storage failures. A write or commit that fails with ENOSPC (452), EDQUOT or EFBIG (552)
// leaves nothing behind when the handle is dropped: the temporary file of a replace is
// removed (the old file stays), a file this upload created is removed, and a file that
// existed (APPE, REST + STOR) is cut back to the size it had when the upload started. Both
// only while the file still ends with this upload's bytes: another session's append that
// landed meanwhile was answered 226 and is never cut away. The
// bytes that did not fit would otherwise keep the disk full for every other session, and a
// resume could not succeed before space is freed (or, for EFBIG, ever). Only a transfer that
// was interrupted (connection lost, ABOR, a server crash) keeps its partial new file.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "fd.hpp"
#include "ferry/plugin.hpp"

namespace fs_local {

// What open_write found or made, handed to the upload's handle.
struct WriteTarget {
  Fd dir;                 // the parent directory (O_PATH)
  Fd file;                // open for writing
  std::string name;       // the final base name
  std::string temp_name;  // non-empty: a replacing upload written to this temporary file
  std::uint64_t position = 0;  // where the next byte goes (APPE: how many were appended)
  bool append = false;
  bool truncate_first = false;  // REST + STOR: drop what follows `position` once data arrives
  mode_t final_mode = 0644;  // applied at commit to a temporary file
  std::string display;       // the provider-relative path, for messages
  bool created = false;      // this upload created `name` (no temporary file)
  std::uint64_t original_size = 0;  // otherwise: its size when the upload started writing
  dev_t dev = 0;             // the inode written, to recognise it by name later
  ino_t ino = 0;
  bool local = true;         // a local file system: write() only fills the page cache
};

// A regular file open for reading; `size` as fstat saw it at open.
std::unique_ptr<ferry::ReadHandle> make_read_handle(Fd file, std::uint64_t size);
// An upload's handle; also a ferry::WriteIoHints (fast writes and splice on a local file
// system).
std::unique_ptr<ferry::WriteHandle> make_write_handle(WriteTarget target);

}  // namespace fs_local
