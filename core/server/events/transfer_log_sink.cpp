// The transfer log's sink (see transfer_log_sink.hpp).
#include "server/events/transfer_log_sink.hpp"

namespace ferry {

void TransferLogSink::consume(const Event& event) noexcept {
  if (event.kind != EventKind::transfer) return;
  try {
    log_.write(TransferLog::Record{
      .peer = event.peer,
      .bytes = event.bytes,
      .path = event.path,
      .binary = event.binary,
      .incoming = event.verb != "RETR",
      .user = event.user,
      .seconds = event.elapsed,
      .complete = event.ok,
    });
  } catch (...) {
    // Out of memory while formatting the line: this transfer's line is lost, nothing else.
  }
}

}  // namespace ferry
