// The verified download job shared by `ferry get` and the GUI: receive into NAME.part,
// resume with REST, compare the local SHA-256 with the server's HASH, and only then
// rename to the final name.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "ftp_client.hpp"

namespace ferry::client {

// Where a download is written until it is verified and renamed to its final name.
enum class PartialName {
  // TARGET.part, which `resume` can continue. Without `resume` an existing TARGET.part is
  // refused (an earlier download, or someone else's file), never overwritten.
  part,
  // A hidden name of its own beside the target (.NAME.ferry-XXXXXXXX), created exclusively so
  // that no two transfers ever share one, and removed after any failure (mirror).
  unique,
};

struct DownloadRequest {
  std::string remote_path;
  std::filesystem::path target;  // the final local name
  // Continue from what an earlier attempt left: TARGET.part, or else TARGET itself.
  bool resume = false;
  PartialName partial = PartialName::part;
  // A cancelled download removes the .part file it created (one it resumed is kept).
  bool discard_when_cancelled = false;
  ProgressSink progress;
};

enum class Verification {
  matched,      // the server's SHA-256 equals the received file's
  not_offered,  // the server has neither HASH nor XSHA256: the file is kept unverified
};

struct DownloadReceipt {
  std::filesystem::path file;      // where the file now is (the final name)
  std::uint64_t size = 0;          // bytes in the final file
  std::uint64_t resumed_from = 0;  // bytes already present before this transfer
  Verification verification = Verification::not_offered;
  std::string sha256;  // lower-case hex; empty when not verified
};

// "received N bytes, SHA-256 matches the server (HEX)" or
// "received N bytes, not verified: server does not offer HASH". N is the file's size.
std::string describe(const DownloadReceipt& receipt);

// The local name for a remote file: its last path component, inside `output` when that
// is an existing directory (or ends in '/'), else `output` itself; the remote name in the
// current directory when `output` is empty. Throws ClientError(local) when the remote path
// names no file (empty, "/", or ending in '/').
std::filesystem::path choose_target(std::string_view remote_path, const std::string& output);

// TARGET + ".part". No two downloads may share one: the file is created with O_EXCL.
std::filesystem::path partial_path(const std::filesystem::path& target);

// Runs the job on a logged-in client (it sends TYPE I itself). On a digest mismatch the
// .part file is removed, nothing is left under the target name, and ClientError(verify) is
// thrown. After any other failure the .part file stays, so that `resume` can continue it.
// A target that was resumed itself (no .part file) is never lost: after any failure,
// mismatch included, it is put back as it was (size, times, name). The error's message
// ends with what became of the local file.
// Hashing the received file blocks the calling thread (the client's I/O thread) for the
// time it takes to read the file once.
asio::awaitable<DownloadReceipt> download_file(FtpClient& client, DownloadRequest request);

}  // namespace ferry::client
