// The verified upload: REST+STOR resume, then SIZE and HASH checked against the local file.
#include "upload.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

#include "digest/digest.hpp"

namespace ferry::client {

namespace fs = std::filesystem;

namespace {

// The local file, read with pread from a moving offset, so errors carry errno.
class SourceFile {
 public:
  explicit SourceFile(const fs::path& path) : path_(path) {
    // O_NONBLOCK: opening a FIFO (or a device) for reading would otherwise wait for a
    // writer forever; it is refused below, before anything is read.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd_ < 0) fail("cannot open");
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("cannot read");
    if (!S_ISREG(st.st_mode)) {
      ::close(fd_);
      fd_ = -1;
      throw ClientError(ErrorKind::local, path_.string() + ": not a regular file");
    }
    const int flags = ::fcntl(fd_, F_GETFL);
    if (flags < 0 || ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK) != 0) fail("cannot read");
    size_ = static_cast<std::uint64_t>(st.st_size);
  }
  ~SourceFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  SourceFile(const SourceFile&) = delete;
  SourceFile& operator=(const SourceFile&) = delete;

  std::uint64_t size() const { return size_; }

  // Adds the file's bytes [from, to) to `hasher`, read through the descriptor opened above:
  // by name it could be another file by now (renamed over, or a FIFO that never ends).
  // Returns where it stopped (before `to` when the file shrank meanwhile: the digest will not
  // match, and says so).
  std::uint64_t digest_range(digest::Hasher& hasher, std::uint64_t from, std::uint64_t to) {
    std::vector<std::byte> buffer(256 * 1024);
    while (from < to) {
      const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), to - from));
      const std::size_t n = read_at(from, std::span<std::byte>(buffer.data(), want));
      if (n == 0) break;
      hasher.update(std::span<const std::byte>(buffer.data(), n));
      from += n;
    }
    return from;
  }

  std::size_t read_at(std::uint64_t offset, std::span<std::byte> buffer) {
    for (;;) {
      const ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("cannot read");
      return static_cast<std::size_t>(n);
    }
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw ClientError(ErrorKind::local, std::string(what) + " " + path_.string() + ": " + std::strerror(errno));
  }

  fs::path path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

}  // namespace

std::string describe(const UploadReceipt& receipt) {
  std::string text = "sent " + std::to_string(receipt.size) + " bytes, ";
  if (receipt.verification == Verification::matched) {
    text += "SHA-256 matches the server (" + receipt.sha256 + ")";
  } else {
    text += "not verified: server does not offer HASH";
  }
  return text;
}

std::string choose_remote_target(std::string_view remote_path, const fs::path& source) {
  const std::string name = source.filename().string();
  if (name.empty() || name == "." || name == "..") {
    throw ClientError(ErrorKind::local, "not a file name: " + source.string());
  }
  if (remote_path.empty()) return "/" + name;
  if (remote_path.back() == '/') return std::string(remote_path) + name;
  return std::string(remote_path);
}

asio::awaitable<UploadReceipt> upload_file(FtpClient& client, UploadRequest request) {
  SourceFile file(request.source);
  UploadReceipt receipt;
  receipt.remote_path = request.remote_path;
  receipt.size = file.size();

  co_await client.type_binary();
  std::uint64_t offset = 0;
  if (request.resume) {
    std::optional<std::uint64_t> remote_size;
    try {
      remote_size = co_await client.size(request.remote_path);
    } catch (const ClientError& error) {
      if (error.kind() != ErrorKind::not_found) throw;
      remote_size = 0;  // nothing there yet: a resume from 0
    }
    if (!remote_size) {
      throw ClientError(ErrorKind::transfer, "cannot resume " + request.remote_path +
                                                 ": the server does not tell file sizes (SIZE)");
    }
    if (*remote_size > file.size()) {
      throw ClientError(ErrorKind::transfer, request.remote_path + " has " + std::to_string(*remote_size) +
                                                 " bytes on the server, more than the local file's " +
                                                 std::to_string(file.size()) + ": cannot resume");
    }
    offset = *remote_size;
  }
  receipt.resumed_from = offset;

  // One pass over the local file: the bytes sent are digested as they go (the part the
  // server already has first, for a resume). And OPTS HASH before STOR lets a server such
  // as ferryd digest them as they arrive, so that HASH below reads nothing again.
  co_await client.select_hash("SHA-256");  // false: HASH below falls back to the X-command
  digest::Hasher local(digest::Algorithm::sha256);
  std::uint64_t digested = file.digest_range(local, 0, offset);

  // A resume of a complete file sends nothing: only the checks below.
  if (!request.resume || offset < file.size()) {
    // Only the size seen at the start is sent (a log still being written would otherwise
    // be read on and on); the SIZE and HASH checks below judge those bytes.
    std::uint64_t position = offset;
    DataSource source = [&file, &position, &local, &digested](std::span<std::byte> buffer) {
      const std::uint64_t left = file.size() - std::min(position, file.size());
      if (left < buffer.size()) buffer = buffer.first(static_cast<std::size_t>(left));
      if (buffer.empty()) return std::size_t{0};
      const std::size_t n = file.read_at(position, buffer);
      if (digested == position) {  // in order (a shrunken prefix stops the digest short)
        local.update(std::span<const std::byte>(buffer.data(), n));
        digested += n;
      }
      position += n;
      return n;
    };
    receipt.sent = co_await client.store(request.remote_path, std::move(source), offset, file.size(), request.progress);
  }

  const std::optional<std::uint64_t> remote_size = co_await client.size(request.remote_path);
  if (remote_size && *remote_size != file.size()) {
    throw ClientError(ErrorKind::transfer, "incomplete upload of " + request.source.string() + ": the server has " +
                                               std::to_string(*remote_size) + " of " + std::to_string(file.size()) +
                                               " bytes in " + request.remote_path +
                                               " (left there; -c continues it)");
  }

  const std::optional<std::string> remote_digest = co_await client.hash(request.remote_path, "SHA-256");
  if (remote_digest) {
    const std::string local_digest = local.hex();
    if (local_digest != *remote_digest) {
      throw ClientError(ErrorKind::verify, "SHA-256 mismatch after uploading " + request.source.string() +
                                               ": the server has " + *remote_digest + ", the local file " +
                                               local_digest + "; the remote file " + request.remote_path +
                                               " was left in place");
    }
    receipt.verification = Verification::matched;
    receipt.sha256 = local_digest;
  }
  co_return receipt;
}

}  // namespace ferry::client
