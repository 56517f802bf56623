// The console's live events: an EventSink that keeps the last events (copied under a
// short lock on the publishing thread) and wakes the admin thread, at most once per
// burst and only while a browser or API client listens. Formatting happens there.
#pragma once

#include <asio/any_io_executor.hpp>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "server/events/event_bus.hpp"

namespace ferry::admin {

class EventFeed final : public EventSink {
 public:
  explicit EventFeed(std::size_t keep) : keep_(keep) {}
  void consume(const Event& event) noexcept override;

  // Before events flow: `wake` runs on `executor` after new events, while listening() > 0.
  void on_new_events(asio::any_io_executor executor, std::function<void()> wake);
  void listen(int delta) noexcept { listeners_.fetch_add(delta, std::memory_order_relaxed); }

  // The kept events after sequence number `after` (0: all kept), oldest first.
  std::vector<std::pair<std::uint64_t, Event>> since(std::uint64_t after) const;

 private:
  std::size_t keep_;
  mutable std::mutex mutex_;
  std::deque<std::pair<std::uint64_t, Event>> events_;
  std::uint64_t next_ = 1;
  std::atomic<int> listeners_{0};
  std::atomic<bool> wake_pending_{false};
  asio::any_io_executor executor_;
  std::function<void()> wake_;
};

}  // namespace ferry::admin
