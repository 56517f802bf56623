// The EventBus hands each Event to every subscribed sink, in the publisher's thread.
// Sinks are subscribed while the server starts, before any session runs, and never change
// afterwards: publishing reads a fixed list, with no lock shared by the sessions. A sink
// must not block its caller: one that feeds something slow (a socket, a remote store)
// queues and returns.
#pragma once

#include <memory>
#include <vector>

#include "server/events/event.hpp"

namespace ferry {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void consume(const Event& event) noexcept = 0;
};

class EventBus {
 public:
  // Before the first publish() only.
  void subscribe(std::shared_ptr<EventSink> sink) { sinks_.push_back(std::move(sink)); }
  void publish(const Event& event) const noexcept {
    for (const auto& sink : sinks_) sink->consume(event);
  }

 private:
  std::vector<std::shared_ptr<EventSink>> sinks_;
};

}  // namespace ferry
