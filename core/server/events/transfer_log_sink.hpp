// The transfer log's sink: each transfer event as one xferlog(5) line (transfer_log.hpp).
#pragma once

#include "server/events/event_bus.hpp"
#include "server/transfer_log.hpp"

namespace ferry {

class TransferLogSink final : public EventSink {
 public:
  explicit TransferLogSink(TransferLog& log) : log_(log) {}
  void consume(const Event& event) noexcept override;

 private:
  TransferLog& log_;
};

}  // namespace ferry
