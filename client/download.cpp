// The verified download: .part file, REST resume, HASH comparison, rename into place.
#include "download.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "digest/digest.hpp"

namespace ferry::client {

namespace fs = std::filesystem;

namespace {

// The .part file, written with plain POSIX calls so that errors carry errno and the data
// can be fsync'ed before the rename makes it visible under its final name.
class PartFile {
 public:
  PartFile(const fs::path& path, bool append) : path_(path) {
    const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
    fd_ = ::open(path.c_str(), flags, 0644);
    if (fd_ < 0) fail("cannot create");
  }
  ~PartFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  void write(std::span<const std::byte> data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("cannot write");
      data = data.subspan(static_cast<std::size_t>(n));
    }
  }

  void finish() {
    if (::fsync(fd_) != 0) fail("cannot write");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot write");
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw ClientError(ErrorKind::local, std::string(what) + " " + path_.string() + ": " + std::strerror(errno));
  }

  fs::path path_;
  int fd_ = -1;
};

std::uint64_t existing_size(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

void rename_or_fail(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::rename(from, to, ec);
  if (ec)
    throw ClientError(ErrorKind::local, "cannot rename " + from.string() + " to " + to.string() + ": " + ec.message());
}

}  // namespace

std::string describe(const DownloadReceipt& receipt) {
  std::string text = "received " + std::to_string(receipt.size) + " bytes, ";
  if (receipt.verification == Verification::matched) {
    text += "SHA-256 matches the server (" + receipt.sha256 + ")";
  } else {
    text += "not verified: server does not offer HASH";
  }
  return text;
}

fs::path partial_path(const fs::path& target) {
  fs::path part = target;
  part += ".part";
  return part;
}

fs::path choose_target(std::string_view remote_path, const std::string& output) {
  const std::size_t slash = remote_path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? remote_path : remote_path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") {
    throw ClientError(ErrorKind::local, "the URL must name a file, not a directory: " + std::string(remote_path));
  }
  if (output.empty()) return fs::path(std::string(name));
  std::error_code ec;
  if (output.back() == '/' || fs::is_directory(output, ec)) return fs::path(output) / std::string(name);
  return fs::path(output);
}

asio::awaitable<DownloadReceipt> download_file(FtpClient& client, DownloadRequest request) {
  const fs::path part = partial_path(request.target);
  DownloadReceipt receipt;
  receipt.file = request.target;

  co_await client.type_binary();
  const std::optional<std::uint64_t> remote_size = co_await client.size(request.remote_path);

  std::uint64_t offset = 0;
  bool resume_from_target = false;
  if (request.resume) {
    std::error_code ec;
    // A file under the final name may be a partial download by another client (curl -C).
    resume_from_target = !fs::exists(part, ec) && fs::exists(request.target, ec);
    offset = existing_size(resume_from_target ? request.target : part);
  }
  if (remote_size && offset > *remote_size) {
    throw ClientError(ErrorKind::transfer, (resume_from_target ? request.target : part).string() + " has " +
                                               std::to_string(offset) + " bytes, more than the remote file's " +
                                               std::to_string(*remote_size) + ": cannot resume");
  }
  if (resume_from_target) rename_or_fail(request.target, part);
  receipt.resumed_from = offset;

  {
    PartFile file(part, offset > 0);
    // Resuming a file that is already complete needs no transfer, only the check below.
    if (!remote_size || offset < *remote_size) {
      DataSink sink = [&file](std::span<const std::byte> chunk) { file.write(chunk); };
      co_await client.retrieve(request.remote_path, std::move(sink), offset, remote_size.value_or(0), request.progress);
    }
    file.finish();
  }

  receipt.size = existing_size(part);
  if (remote_size && receipt.size != *remote_size) {
    throw ClientError(ErrorKind::transfer, "incomplete transfer of " + request.remote_path + ": " +
                                               std::to_string(receipt.size) + " of " + std::to_string(*remote_size) +
                                               " bytes; " + part.string() + " is kept for resuming");
  }

  const std::optional<std::string> remote_digest = co_await client.hash(request.remote_path, "SHA-256");
  if (remote_digest) {
    const std::optional<std::string> local_digest = digest::hash_file(digest::Algorithm::sha256, part.string());
    if (!local_digest) throw ClientError(ErrorKind::local, "cannot read " + part.string() + " to check it");
    if (*local_digest != *remote_digest) {
      std::error_code ignored;
      fs::remove(part, ignored);
      throw ClientError(ErrorKind::verify, "SHA-256 mismatch for " + request.remote_path + ": the server has " +
                                               *remote_digest + ", the received file " + *local_digest + "; removed " +
                                               part.string());
    }
    receipt.verification = Verification::matched;
    receipt.sha256 = *local_digest;
  }

  rename_or_fail(part, request.target);
  co_return receipt;
}

}  // namespace ferry::client
