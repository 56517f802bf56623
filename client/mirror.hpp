// `ferry mirror`: make a local directory tree match a remote one (download) or a remote
// tree match a local one (upload, -R), transferring only what changed, over N parallel
// control connections, every file verified with HASH when the server offers it.
//
// The decision of what to transfer is a pure function over two listings (plan_mirror), so
// it is tested without a network; run_mirror does the I/O.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/plugin.hpp"
#include "ftp_client.hpp"

namespace ferry::client {

// One entry of a tree, named by its path relative to the tree's root with '/' separators
// ("a", "a/b.txt"). Names are bytes as the server or the file system gave them.
struct TreeEntry {
  std::string path;
  FileType type = FileType::file;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;  // seconds since the epoch, UTC; 0 = unknown
};

struct MirrorPlan {
  std::vector<std::string> directories;  // to create on the target side, parents first
  std::vector<TreeEntry> transfers;      // source files to copy, in path order
  std::uint64_t unchanged = 0;           // source files the target already has
  std::vector<std::string> notes;        // what is skipped and why (symlinks, type clashes)
};

// What to transfer: a source file missing on the target, of a different size, or (when
// `compare_mtime` and both times are known) newer than the target's copy. Source symlinks and
// other non-regular entries are skipped with a note; so is a source file where the target has
// a directory (or the reverse), together with everything below such a directory.
MirrorPlan plan_mirror(const std::vector<TreeEntry>& source, const std::vector<TreeEntry>& target,
                       bool compare_mtime);

struct UnreadableDirectory {
  std::string path;    // relative to the tree's root
  std::string reason;  // e.g. "Permission denied"
};

// A local tree, recursively, without following symlinks (they are listed as symlinks).
// Empty when `root` does not exist. Throws ClientError(local) when the root cannot be read;
// a subdirectory that cannot be read is left out (its entry stays, nothing below it) and
// named in `unreadable`, or thrown as well when `unreadable` is null.
std::vector<TreeEntry> list_local_tree(const std::filesystem::path& root,
                                       std::vector<UnreadableDirectory>* unreadable = nullptr);

// "/a/b" + "c/d" -> "/a/b/c/d"; "/" + "c" -> "/c".
std::string join_remote(std::string_view root, std::string_view relative);

enum class MirrorDirection { download, upload };

struct MirrorRequest {
  MirrorDirection direction = MirrorDirection::download;
  std::string remote_root;             // absolute remote directory
  std::filesystem::path local_root;    // local directory
  unsigned jobs = 1;                   // parallel control connections, 1..16
  // Connects and logs in a fresh client (called once per extra connection; the client
  // handed to run_mirror is already logged in).
  std::function<asio::awaitable<void>(FtpClient&)> open_connection;
  // Set up each extra client (e.g. its transcript) before it connects.
  std::function<void(FtpClient&, unsigned index)> configure;
  // Bytes of all planned transfers done so far / in total, and files done / planned.
  std::function<void(std::uint64_t done, std::uint64_t total, std::size_t files_done, std::size_t files_total)>
      progress;
  // One line for the user: skipped entries, failed files.
  std::function<void(const std::string& line)> note;
};

struct MirrorSummary {
  std::uint64_t transferred = 0;  // files
  std::uint64_t bytes = 0;        // bytes of the transferred files
  std::uint64_t unchanged = 0;
  std::uint64_t failed = 0;  // files, and directories that could not be created or listed
  std::uint64_t directories_created = 0;
  std::uint64_t verified = 0;  // transferred files checked against the server's SHA-256
  std::uint64_t skipped = 0;   // notes in the plan (symlinks, type clashes)
};

// "mirror: 12 files (3.4 MiB) transferred, 40 unchanged, 0 failed"
std::string describe(const MirrorSummary& summary);

// Runs the job with `first` (logged in) plus jobs-1 more connections opened through
// request.open_connection. Failures of single files (and directories) are counted and
// reported through request.note, and so is a remote subdirectory that cannot be listed (its
// subtree is left out: nothing is uploaded into it); a failure to list the local tree or the
// remote root is thrown as ClientError. The extra connections are closed (QUIT) before it
// returns; `first` stays open.
asio::awaitable<MirrorSummary> run_mirror(FtpClient& first, MirrorRequest request);

}  // namespace ferry::client
