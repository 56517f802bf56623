// The verified download: .part file, REST resume, HASH comparison, rename into place.
#include "download.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <random>
#include <system_error>
#include <utility>

#include "digest/digest.hpp"

namespace ferry::client {

namespace fs = std::filesystem;

namespace {

// The .part file, written with plain POSIX calls so that errors carry errno and the data
// can be fsync'ed before the rename makes it visible under its final name. It remembers what
// it started from, so that a failed download can leave things as they were.
class PartFile {
 public:
  enum class Origin {
    created,         // this download created it
    resumed_part,    // an existing TARGET.part, continued (resume)
    resumed_target,  // the target itself, moved to TARGET.part to be continued (resume)
  };
  // What a failed download keeps.
  enum class Leave {
    progress,     // the bytes received, for a later resume
    nothing_new,  // a file it created is removed; one it resumed is kept (cancel, mirror)
    bad_data,     // nothing of them: the file failed its check (digest, size)
  };

  // Never truncates, replaces or follows a symlink to a file it did not create: a new
  // partial file is created with O_EXCL, and an existing one is only ever appended to.
  PartFile(const fs::path& target, bool resume, PartialName name)
      : target_(target), unique_(name == PartialName::unique) {
    if (unique_) {
      create_unique();
      return;
    }
    path_ = partial_path(target);
    if (resume) {
      // O_NONBLOCK: a FIFO under that name must fail the S_ISREG check, not block the open.
      constexpr int existing = O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
      fd_ = ::open(path_.c_str(), existing);
      origin_ = Origin::resumed_part;
      if (fd_ < 0 && errno == ENOENT) {
        // A file under the final name may be a partial download by another client (curl -C).
        fd_ = ::open(target_.c_str(), existing);
        origin_ = Origin::resumed_target;
        if (fd_ < 0 && errno != ENOENT) fail("cannot open", target_);
      } else if (fd_ < 0) {
        fail("cannot open", path_);
      }
    }
    if (fd_ < 0) {
      origin_ = Origin::created;
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd_ < 0 && errno == EEXIST) {
        throw ClientError(ErrorKind::local,
                          path_.string() + " exists (an earlier download?): resume with -c, or remove it");
      }
      if (fd_ < 0) fail("cannot create", path_);
    }
    if (::fstat(fd_, &original_) != 0) fail("cannot read", source());
    if (!S_ISREG(original_.st_mode)) {
      ::close(std::exchange(fd_, -1));
      throw ClientError(ErrorKind::local, source().string() + " is not a regular file: cannot resume it");
    }
  }
  ~PartFile() {
    if (fd_ < 0 && !claimed_) return;
    try {
      // Not ended by commit() or abandon(): an exception, or the coroutine destroyed.
      (void)abandon(unique_ ? Leave::nothing_new : Leave::progress);
    } catch (...) {
    }
  }
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;

  Origin origin() const { return origin_; }
  const fs::path& path() const { return path_; }
  // The file resumed: TARGET.part, or the target before claim().
  const fs::path& source() const { return origin_ == Origin::resumed_target && !claimed_ ? target_ : path_; }
  std::uint64_t original_size() const { return static_cast<std::uint64_t>(original_.st_size); }

  // Moves a resumed target to TARGET.part, without replacing a TARGET.part that appeared
  // meanwhile: from here on nothing is under the final name until it is verified.
  void claim() {
    if (origin_ != Origin::resumed_target) return;
    if (::renameat2(AT_FDCWD, target_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
      const int error = errno;
      throw ClientError(ErrorKind::local, "cannot rename " + target_.string() + " to " + path_.string() + ": " +
                                              std::strerror(error));
    }
    claimed_ = true;
  }

  void write(std::span<const std::byte> data) {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail("cannot write", path_);
      data = data.subspan(static_cast<std::size_t>(n));
    }
  }

  // fsync, then the file's size.
  std::uint64_t flush() {
    if (::fsync(fd_) != 0) fail("cannot write", path_);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) fail("cannot read", path_);
    return static_cast<std::uint64_t>(st.st_size);
  }

  // The verified file goes under its final name.
  void commit() {
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) fail("cannot write", path_);
    claimed_ = false;
    std::error_code ec;
    fs::rename(path_, target_, ec);
    if (ec) {
      throw ClientError(ErrorKind::local,
                        "cannot rename " + path_.string() + " to " + target_.string() + ": " + ec.message());
    }
  }

  // After a failure: a resumed target is put back exactly as it was (size, times, name); a
  // .part file is kept for resuming or removed, as `leave` says. Returns what was done, for
  // the error message ("" for a unique temporary file, which is always removed).
  std::string abandon(Leave leave) {
    const int fd = std::exchange(fd_, -1);
    if (origin_ == Origin::resumed_target) {
      bool restored = fd >= 0 && ::ftruncate(fd, original_.st_size) == 0;
      if (fd >= 0) {
        const struct timespec times[2] = {original_.st_atim, original_.st_mtim};
        (void)::futimens(fd, times);
        ::close(fd);
      }
      if (claimed_) {
        restored = ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) == 0 && restored;
        claimed_ = false;
      }
      if (restored) return "the local file " + target_.string() + " was left as it was";
      return "the local file " + target_.string() + " could not be put back: its first " +
             std::to_string(original_.st_size) + " bytes are the original (now in " + path_.string() + ")";
    }
    if (fd >= 0) ::close(fd);
    if (unique_) leave = Leave::bad_data;
    if (leave == Leave::progress || (leave == Leave::nothing_new && origin_ == Origin::resumed_part)) {
      return path_.string() + " is kept for resuming";
    }
    std::error_code ignored;
    fs::remove(path_, ignored);
    return unique_ ? std::string() : "removed " + path_.string();
  }

 private:
  // .NAME.ferry-XXXXXXXX beside the target: hidden, and created with O_EXCL, so that it is
  // never a file someone else has (a listed name included).
  void create_unique() {
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    std::random_device random;
    std::uniform_int_distribution<std::size_t> pick(0, sizeof alphabet - 2);
    // NAME_MAX is 255: a long name is shortened in its temporary name only.
    const std::string name = target_.filename().string().substr(0, 200);
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::string temporary = "." + name + ".ferry-";
      for (int i = 0; i < 8; ++i) temporary += alphabet[pick(random)];
      path_ = target_.parent_path() / temporary;
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (fd_ >= 0 || errno != EEXIST) break;
    }
    if (fd_ < 0) fail("cannot create", path_);
    origin_ = Origin::created;
  }

  [[noreturn]] static void fail(const char* what, const fs::path& path) {
    const int error = errno;
    throw ClientError(ErrorKind::local, std::string(what) + " " + path.string() + ": " + std::strerror(error));
  }

  fs::path target_;
  fs::path path_;
  bool unique_ = false;
  int fd_ = -1;
  Origin origin_ = Origin::created;
  struct stat original_ {};
  bool claimed_ = false;  // a resumed target is now under path_
};

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
  DownloadReceipt receipt;
  receipt.file = request.target;

  co_await client.type_binary();
  const std::optional<std::uint64_t> remote_size = co_await client.size(request.remote_path);

  PartFile file(request.target, request.resume, request.partial);
  const std::uint64_t offset = file.original_size();
  if (remote_size && offset > *remote_size) {
    throw ClientError(ErrorKind::transfer, file.source().string() + " has " + std::to_string(offset) +
                                               " bytes, more than the remote file's " +
                                               std::to_string(*remote_size) + ": cannot resume");
  }
  file.claim();
  receipt.resumed_from = offset;

  // A failure ends in one ClientError that also says what became of the local file.
  std::optional<ClientError> failure;
  PartFile::Leave leave = PartFile::Leave::progress;
  try {
    // Resuming a file that is already complete needs no transfer, only the check below.
    if (!remote_size || offset < *remote_size) {
      DataSink sink = [&file](std::span<const std::byte> chunk) { file.write(chunk); };
      co_await client.retrieve(request.remote_path, std::move(sink), offset, remote_size.value_or(0), request.progress);
    }
    receipt.size = file.flush();
    if (remote_size && receipt.size > *remote_size) {
      // Not a partial file worth resuming: the bytes are not what SIZE described.
      failure = ClientError(ErrorKind::transfer, "the server sent more than it announced for " + request.remote_path +
                                                     ": " + std::to_string(receipt.size) + " bytes, SIZE said " +
                                                     std::to_string(*remote_size));
      leave = PartFile::Leave::bad_data;
    } else if (remote_size && receipt.size < *remote_size) {
      failure = ClientError(ErrorKind::transfer, "incomplete transfer of " + request.remote_path + ": " +
                                                     std::to_string(receipt.size) + " of " +
                                                     std::to_string(*remote_size) + " bytes");
    } else {
      const std::optional<std::string> remote_digest = co_await client.hash(request.remote_path, "SHA-256");
      if (remote_digest) {
        const std::optional<std::string> local_digest =
            digest::hash_file(digest::Algorithm::sha256, file.path().string());
        if (!local_digest) {
          failure = ClientError(ErrorKind::local, "cannot read " + file.path().string() + " to check it");
        } else if (*local_digest != *remote_digest) {
          failure = ClientError(ErrorKind::verify, "SHA-256 mismatch for " + request.remote_path + ": the server has " +
                                                       *remote_digest + ", the received file " + *local_digest);
          leave = PartFile::Leave::bad_data;
        } else {
          receipt.verification = Verification::matched;
          receipt.sha256 = *local_digest;
        }
      }
    }
  } catch (const ClientError& error) {
    failure = error;
    if (error.kind() == ErrorKind::cancelled && request.discard_when_cancelled) leave = PartFile::Leave::nothing_new;
  }
  if (failure) {
    const std::string left = file.abandon(leave);
    throw ClientError(failure->kind(), std::string(failure->what()) + (left.empty() ? "" : "; " + left));
  }

  file.commit();
  co_return receipt;
}

}  // namespace ferry::client
