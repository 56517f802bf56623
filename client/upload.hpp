// The verified upload job behind `ferry put` and `ferry mirror -R`: STOR (or REST+STOR to
// resume from the remote file's size), then the remote SIZE and SHA-256 (HASH) compared
// with the local file's.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "download.hpp"
#include "ftp_client.hpp"

namespace ferry::client {

struct UploadRequest {
  std::filesystem::path source;  // a regular local file
  std::string remote_path;       // the remote file's full path
  // Continue an earlier upload: keep the remote file's first SIZE bytes and send the rest.
  bool resume = false;
  ProgressSink progress;
};

struct UploadReceipt {
  std::string remote_path;
  std::uint64_t size = 0;          // bytes in the remote file (= the local file's size)
  std::uint64_t resumed_from = 0;  // bytes the server already had
  std::uint64_t sent = 0;          // bytes sent in this run
  Verification verification = Verification::not_offered;
  std::string sha256;  // lower-case hex; empty when not verified
};

// "sent N bytes, SHA-256 matches the server (HEX)" or
// "sent N bytes, not verified: server does not offer HASH". N is the file's size.
std::string describe(const UploadReceipt& receipt);

// The remote path for `ferry put FILE URL`: a URL path ending in '/' (or empty) means "into
// that directory, under the local file's name". Throws ClientError(local) when FILE has no
// file name (e.g. "dir/").
std::string choose_remote_target(std::string_view remote_path, const std::filesystem::path& source);

// Runs the job on a logged-in client (it sends TYPE I itself). Throws ClientError(local) when
// the source is not a readable regular file; ClientError(transfer) when the remote size
// differs afterwards or, on resume, the remote file is larger than the local one;
// ClientError(verify) on a digest mismatch. The remote file is never removed: the messages
// say that it was left in place. The local file is read once: the bytes sent are digested as
// they go; a resume's first part (what the server already has) is digested before sending,
// blocking the calling thread for that long. It sends OPTS HASH SHA-256 before STOR when
// FEAT offers it, so that a server digesting as the bytes arrive answers HASH at once.
asio::awaitable<UploadReceipt> upload_file(FtpClient& client, UploadRequest request);

}  // namespace ferry::client
