// fs_local: read and upload handles (see handles.hpp).
#include "handles.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <span>
#include <string_view>

#include "errors.hpp"
#include "ferry/io_hints.hpp"
#include "stamps.hpp"

namespace fs_local {

namespace {

using ferry::Error;
using ferry::Result;
using ferry::Status;

class LocalReadHandle final : public ferry::ReadHandle {
 public:
  LocalReadHandle(Fd fd, std::uint64_t size) : fd_(std::move(fd)), size_(size) {}

  int native_fd() const noexcept override { return fd_.get(); }
  std::uint64_t size() const noexcept override { return size_; }

  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> buffer) noexcept override {
    for (;;) {
      const ssize_t n = ::pread(fd_.get(), buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return errno_error(errno, "read", "");
    }
  }

 private:
  Fd fd_;
  std::uint64_t size_;
};

class LocalWriteHandle final : public ferry::WriteHandle, public ferry::WriteIoHints, public ferry::WriteStamps {
 public:
  explicit LocalWriteHandle(WriteTarget t) : t_(std::move(t)), writer_(t_.dev, t_.ino) {}

  ~LocalWriteHandle() override {
    if (!committed_ && t_.temp_name.empty() && storage_errno_ != 0) undo_after_storage_failure();
    if (!committed_ && t_.created && t_.position == 0) remove_if_still_empty();  // e.g. 425: nothing to resume
    t_.file.reset();
    if (!committed_ && !t_.temp_name.empty()) (void)::unlinkat(t_.dir.get(), t_.temp_name.c_str(), 0);
  }
  LocalWriteHandle(const LocalWriteHandle&) = delete;
  LocalWriteHandle& operator=(const LocalWriteHandle&) = delete;

  Result<std::size_t> write(std::span<const std::byte> data) noexcept override {
    if (!t_.file) return Error{Status::io_error, "write after commit"};
    if (auto cut = truncate_if_first(); !cut) return cut.error();
    std::size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = t_.append ? ::write(t_.file.get(), data.data() + done, data.size() - done)
                                  : ::pwrite(t_.file.get(), data.data() + done, data.size() - done,
                                             static_cast<off_t>(t_.position));
      if (n < 0) {
        if (errno == EINTR) continue;
        if (done > 0) break;  // report what was written; the next call reports the error
        return fail(errno, "write");
      }
      if (n == 0) break;
      done += static_cast<std::size_t>(n);
      t_.position += static_cast<std::uint64_t>(n);
    }
    if (done == 0 && !data.empty()) return Error{Status::io_error, "write " + t_.display + ": no progress"};
    return done;
  }

  Result<void> commit() noexcept override {
    try {
      if (committed_) return {};
      if (!t_.file) return Error{Status::io_error, "commit without an open file"};
      if (auto cut = truncate_if_first(); !cut) return cut.error();  // an empty REST + STOR
      if (!t_.temp_name.empty()) (void)::fchmod(t_.file.get(), t_.final_mode);
      if (::fdatasync(t_.file.get()) != 0 && errno != EINVAL && errno != EROFS) return fail(errno, "sync");
      // Renamed while still open, so still locked: a listing never takes it for a crashed
      // upload's leftover in between.
      if (!t_.temp_name.empty() &&
          ::renameat(t_.dir.get(), t_.temp_name.c_str(), t_.dir.get(), t_.name.c_str()) != 0) {
        return fail(errno, "replace");  // the destructor removes the temporary file
      }
      committed_ = true;
      stamp_ = stamp_if_ours();  // after the rename, which changes the inode's change time too
      if (::close(t_.file.release()) != 0 && errno != EINTR) return fail(errno, "close");
      return {};
    } catch (...) {
      return out_of_memory();
    }
  }

  std::string final_name() const noexcept override { return t_.name; }
  std::optional<ferry::ContentStamp> committed_stamp() noexcept override { return stamp_; }
  bool fast_write() const noexcept override { return t_.local; }  // pwrite into the page cache
  // splice(2) refuses a file opened O_APPEND (APPE); everything else takes it.
  bool accepts_splice() const noexcept override { return t_.local && !t_.append; }

  Result<std::size_t> splice_from(int pipe_fd, std::size_t count) noexcept override {
    if (!t_.file) return Error{Status::io_error, "write after commit"};
    if (auto cut = truncate_if_first(); !cut) return cut.error();
    while (true) {
      loff_t position = static_cast<loff_t>(t_.position);
      const ssize_t n = ::splice(pipe_fd, nullptr, t_.file.get(), &position, count, SPLICE_F_MOVE);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(errno, "write");
      if (n == 0 && count > 0) return Error{Status::io_error, "write " + t_.display + ": no progress"};
      t_.position += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  }

 private:
  Error fail(int e, std::string_view what) {
    if (is_storage_errno(e)) storage_errno_ = e;
    return errno_error(e, what, t_.display);
  }

  // The committed file's stamp when it holds this upload's bytes and nothing else: an inode
  // this upload made (a new file or the temporary one), written by no other upload
  // meanwhile, as large as what was written, and whose later changes will show.
  std::optional<ferry::ContentStamp> stamp_if_ours() const noexcept {
    if (!t_.created && t_.temp_name.empty()) return std::nullopt;
    struct stat st {};
    if (::fstat(t_.file.get(), &st) != 0 || static_cast<std::uint64_t>(st.st_size) != t_.position) return std::nullopt;
    if (!writer_.alone() || !later_changes_show(st, t_.dir.get())) return std::nullopt;
    return stamp_of(st);
  }

  // REST n + STOR replaces what follows n, but only once data arrives: a transfer that never
  // starts (no data connection, 425) leaves the file as it was.
  Result<void> truncate_if_first() noexcept {
    if (!t_.truncate_first) return {};
    if (::ftruncate(t_.file.get(), static_cast<off_t>(t_.position)) != 0) return fail(errno, "resume");
    t_.truncate_first = false;
    return {};
  }

  // A file this upload created and never wrote to, if the name still holds it, empty.
  void remove_if_still_empty() noexcept {
    struct stat st {};
    if (::fstatat(t_.dir.get(), t_.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == t_.dev &&
        st.st_ino == t_.ino && st.st_size == 0) {
      (void)::unlinkat(t_.dir.get(), t_.name.c_str(), 0);
    }
  }

  // The data did not fit: remove the file this upload created (if the name still holds it),
  // or cut an existing file back to the size it had before. See "Storage failures" above.
  void undo_after_storage_failure() noexcept {
    struct stat st {};
    if (::fstatat(t_.dir.get(), t_.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != t_.dev ||
        st.st_ino != t_.ino) {
      return;  // the name holds another file by now
    }
    // The file must still end where this upload's bytes end; otherwise another session wrote
    // after them, and its data (answered 226) is not ours to cut away.
    const std::uint64_t our_end = t_.append ? t_.original_size + t_.position : t_.position;
    if (static_cast<std::uint64_t>(st.st_size) != our_end) return;
    if (t_.created) {
      (void)::unlinkat(t_.dir.get(), t_.name.c_str(), 0);
    } else if (t_.file) {
      // Best effort, as the unlink above; a (void) cast does not silence glibc's
      // warn_unused_result under _FORTIFY_SOURCE (the Debian build).
      [[maybe_unused]] const int ignored = ::ftruncate(t_.file.get(), static_cast<off_t>(t_.original_size));
    }
  }

  WriteTarget t_;
  WriterTicket writer_;
  std::optional<ferry::ContentStamp> stamp_;  // set by commit(): see stamp_if_ours()
  bool committed_ = false;
  int storage_errno_ = 0;  // ENOSPC, EDQUOT or EFBIG seen by write() or commit()
};

}  // namespace

std::unique_ptr<ferry::ReadHandle> make_read_handle(Fd file, std::uint64_t size) {
  return std::make_unique<LocalReadHandle>(std::move(file), size);
}

std::unique_ptr<ferry::WriteHandle> make_write_handle(WriteTarget target) {
  return std::make_unique<LocalWriteHandle>(std::move(target));
}

}  // namespace fs_local
