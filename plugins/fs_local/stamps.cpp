// fs_local: content stamps (see stamps.hpp).
#include "stamps.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <map>
#include <mutex>
#include <utility>

#include "fd.hpp"

namespace fs_local {

namespace {

bool earlier(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

// Writes a byte to an unnamed temporary file and stats it, three times: each change must
// show a later change time than the stat before it, well inside one clock tick.
bool probe_fine_change_times(int dir) {
  const Fd file(::openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!file) return false;  // no O_TMPFILE here, or not writable: assume coarse times
  struct stat before {};
  if (::fstat(file.get(), &before) != 0) return false;
  for (int i = 0; i < 3; ++i) {
    if (::write(file.get(), "x", 1) != 1) return false;
    struct stat after {};
    if (::fstat(file.get(), &after) != 0 || !earlier(before.st_ctim, after.st_ctim)) return false;
    before = after;
  }
  return true;
}

struct Writers {
  unsigned open = 0;
  std::uint64_t tickets = 0;  // ever taken on this inode
};

std::mutex& table_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::pair<dev_t, ino_t>, Writers>& table() {
  static std::map<std::pair<dev_t, ino_t>, Writers> t;
  return t;
}

}  // namespace

ferry::ContentStamp stamp_of(const struct stat& st) {
  ferry::ContentStamp s;
  s.words = {static_cast<std::uint64_t>(st.st_dev),          static_cast<std::uint64_t>(st.st_ino),
             static_cast<std::uint64_t>(st.st_size),         static_cast<std::uint64_t>(st.st_mtim.tv_sec),
             static_cast<std::uint64_t>(st.st_mtim.tv_nsec) | (static_cast<std::uint64_t>(st.st_ctim.tv_nsec) << 32),
             static_cast<std::uint64_t>(st.st_ctim.tv_sec),  static_cast<std::uint64_t>(st.st_mode)};
  return s;
}

bool later_changes_show(const struct stat& st, int dir) {
  struct timespec now {};
  // The coarse clock is the one the kernel stamps changes with: once it has moved past the
  // change time, a later change cannot get the same time.
  if (::clock_gettime(CLOCK_REALTIME_COARSE, &now) == 0 && earlier(st.st_ctim, now)) return true;
  static std::mutex m;
  static std::map<dev_t, bool> probed;
  std::lock_guard lock(m);
  auto found = probed.find(st.st_dev);
  if (found == probed.end()) found = probed.emplace(st.st_dev, probe_fine_change_times(dir)).first;
  return found->second;
}

WriterTicket::WriterTicket(dev_t dev, ino_t ino) : held_(true), dev_(dev), ino_(ino) {
  std::lock_guard lock(table_mutex());
  Writers& w = table()[{dev, ino}];
  shared_from_start_ = w.open > 0;
  ++w.open;
  taken_at_ = ++w.tickets;
}

WriterTicket::~WriterTicket() { release(); }

WriterTicket::WriterTicket(WriterTicket&& other) noexcept
    : held_(std::exchange(other.held_, false)),
      dev_(other.dev_),
      ino_(other.ino_),
      taken_at_(other.taken_at_),
      shared_from_start_(other.shared_from_start_) {}

WriterTicket& WriterTicket::operator=(WriterTicket&& other) noexcept {
  if (this != &other) {
    release();
    held_ = std::exchange(other.held_, false);
    dev_ = other.dev_;
    ino_ = other.ino_;
    taken_at_ = other.taken_at_;
    shared_from_start_ = other.shared_from_start_;
  }
  return *this;
}

bool WriterTicket::alone() const {
  if (!held_) return false;
  std::lock_guard lock(table_mutex());
  auto found = table().find({dev_, ino_});
  return !shared_from_start_ && found != table().end() && found->second.tickets == taken_at_;
}

void WriterTicket::release() noexcept {
  if (!std::exchange(held_, false)) return;
  std::lock_guard lock(table_mutex());
  auto found = table().find({dev_, ino_});
  if (found != table().end() && --found->second.open == 0) table().erase(found);
}

}  // namespace fs_local
