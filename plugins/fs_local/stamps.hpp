// fs_local: content stamps (ferry/io_hints.hpp). What a file's stat says about its content,
// whether this file system tells every later change apart, and which inodes more than one
// upload writes at a time.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>

#include "ferry/io_hints.hpp"

namespace fs_local {

// Device, inode, size, modification and change times to the nanosecond.
ferry::ContentStamp stamp_of(const struct stat& st);

// Whether every change made to the file after `st` was read will change its stamp. The
// change time is what moves on every write, but the kernel takes it from a clock that ticks
// every few milliseconds: a write in the tick of `st`'s change time could leave it as it is.
// True when that tick is over (the next change gets a later time), or when the file system
// hands out a finer time to the first change after a stat (Linux 6.13's multigrain
// timestamps on ext4, xfs, btrfs and tmpfs), probed once per device with an unnamed
// temporary file in `dir` (a directory of that file system, opened O_PATH is fine).
bool later_changes_show(const struct stat& st, int dir);

// The uploads writing an inode at the same time: an upload that shared its inode with
// another cannot vouch for the file's bytes. Thread-safe (one table for the process).
class WriterTicket {
 public:
  WriterTicket() = default;
  WriterTicket(dev_t dev, ino_t ino);
  ~WriterTicket();
  WriterTicket(WriterTicket&& other) noexcept;
  WriterTicket& operator=(WriterTicket&& other) noexcept;
  WriterTicket(const WriterTicket&) = delete;
  WriterTicket& operator=(const WriterTicket&) = delete;

  // No other upload wrote this inode while this ticket was held (nor was writing it when the
  // ticket was taken).
  bool alone() const;

 private:
  void release() noexcept;
  bool held_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::uint64_t taken_at_ = 0;  // the inode's count of tickets when this one was taken
  bool shared_from_start_ = false;
};

}  // namespace fs_local
