// The xferlog(5) transfer log (see transfer_log.hpp).
#include "server/transfer_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>

namespace ferry {

TransferLog::~TransferLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::string TransferLog::open(const std::string& path) {
  int fd = -1;
  if (!path.empty()) {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) return path + ": " + std::strerror(errno);
  }
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return {};
}

std::string TransferLog::check(const std::string& path) {
  if (path.empty()) return {};
  if (::access(path.c_str(), F_OK) == 0) {
    if (::access(path.c_str(), W_OK) != 0) return path + ": " + std::strerror(errno);
    return {};
  }
  if (errno != ENOENT) return path + ": " + std::strerror(errno);
  // Not there yet: open() would create it, so its directory must take a new file.
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/'));
  if (dir.empty()) dir = path.starts_with('/') ? "/" : ".";
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return path + ": " + std::strerror(errno);
  return {};
}

std::string TransferLog::format(const Record& record, std::int64_t now) {
  // "Tue Dec  1 16:45:26 2026 1 127.0.0.1 17799 /ferry.png b _ o r alice ftp 0 * c"
  std::time_t t = static_cast<std::time_t>(now);
  std::tm tm{};
  localtime_r(&t, &tm);
  char when[64];
  std::strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm);
  // Fields are separated by spaces, so a name's spaces (and anything unprintable) become '_'.
  auto field = [](std::string_view text) {
    std::string out(text.empty() ? "-" : text);
    for (char& c : out) {
      auto u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u == 0x7f) c = '_';
    }
    return out;
  };
  auto seconds = static_cast<long long>(std::llround(record.seconds));
  std::string line = when;
  line += ' ' + std::to_string(seconds < 1 ? 1 : seconds);
  line += ' ' + field(record.peer);
  line += ' ' + std::to_string(record.bytes);
  line += ' ' + field(record.path);
  line += record.binary ? " b" : " a";
  line += " _";
  line += record.incoming ? " i" : " o";
  line += " r " + field(record.user) + " ftp 0 *";
  line += record.complete ? " c" : " i";
  return line;
}

void TransferLog::write(const Record& record) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return;
  std::string line = format(record, static_cast<std::int64_t>(std::time(nullptr))) + "\n";
  // One write(2) per line with O_APPEND: lines from many sessions never interleave.
  ssize_t n;
  do {
    n = ::write(fd_, line.data(), line.size());
  } while (n < 0 && errno == EINTR);
}

}  // namespace ferry
