// The server log's sink: each event as the line it has always been, in text (a sentence)
// or JSON (its facts as members), at the event's level (see log.hpp).
#pragma once

#include <string>
#include <vector>

#include "server/events/event_bus.hpp"

namespace ferry {

class LogSink final : public EventSink {
 public:
  void consume(const Event& event) noexcept override;
};

// The text log's sentence for `event`, without the "session N: " prefix.
std::string describe(const Event& event);
// The JSON log's members for `event`, in order.
std::vector<LogField> log_fields(const Event& event);

}  // namespace ferry
