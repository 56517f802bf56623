// The console's live events (see event_feed.hpp).
#include "server/admin/event_feed.hpp"

#include <asio/post.hpp>

namespace ferry::admin {

void EventFeed::consume(const Event& event) noexcept {
  try {
    {
      std::lock_guard lock(mutex_);
      events_.emplace_back(next_++, event);
      if (events_.size() > keep_) events_.pop_front();
    }
    if (listeners_.load(std::memory_order_relaxed) > 0 && wake_ && !wake_pending_.exchange(true)) {
      asio::post(executor_, [this] {
        wake_pending_ = false;
        wake_();
      });
    }
  } catch (...) {
    // Out of memory: the console misses an event; the server goes on.
  }
}

void EventFeed::on_new_events(asio::any_io_executor executor, std::function<void()> wake) {
  executor_ = std::move(executor);
  wake_ = std::move(wake);
}

std::vector<std::pair<std::uint64_t, Event>> EventFeed::since(std::uint64_t after) const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::uint64_t, Event>> out;
  for (const auto& entry : events_) {
    if (entry.first > after) out.push_back(entry);
  }
  return out;
}

}  // namespace ferry::admin
