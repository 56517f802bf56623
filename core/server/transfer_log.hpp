// The optional transfer log ([log] xferlog): one line per transfer in the xferlog(5)
// format of wu-ftpd, vsftpd and ProFTPD, so existing log analysers read it unchanged.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace ferry {

class TransferLog {
 public:
  TransferLog() = default;
  ~TransferLog();
  TransferLog(const TransferLog&) = delete;
  TransferLog& operator=(const TransferLog&) = delete;

  // (Re)opens `path` for appending ("" closes it: no transfer log). On an error the log
  // in use stays as it was and the message says why. Reopening lets logrotate work.
  std::string open(const std::string& path);
  // For --check: why open(path) would fail, "" if it would not; creates nothing.
  static std::string check(const std::string& path);

  struct Record {
    std::string_view peer;  // the client's address
    std::uint64_t bytes = 0;
    std::string_view path;  // the virtual path
    bool binary = true;
    bool incoming = false;  // an upload
    std::string_view user;
    double seconds = 0;
    bool complete = true;
  };
  void write(const Record& record);

  // The line write() appends for `record` at `now` (seconds since the epoch), without
  // the newline. Local time, as the other servers write it.
  static std::string format(const Record& record, std::int64_t now);

 private:
  std::mutex mutex_;
  int fd_ = -1;
};

}  // namespace ferry
