// /metrics: counters kept by an EventSink (a few relaxed atomic adds per event, on the
// publishing session's thread), rendered in the Prometheus text format with gauges read
// at scrape time. Names start with ferry_; no label carries a user name.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

#include "server/events/event_bus.hpp"

namespace ferry {
class BanList;
}

namespace ferry::admin {

// A histogram with fixed upper bounds (seconds).
template <std::size_t N>
struct Histogram {
  explicit constexpr Histogram(const std::array<double, N>& b) : bounds(b) {}
  void observe(double value) noexcept;
  std::array<double, N> bounds;
  std::array<std::atomic<std::uint64_t>, N + 1> counts{};  // the last: above every bound
  std::atomic<std::uint64_t> sum_micros{0};
};

// What /metrics shows beside the counters, read when scraped.
struct MetricsGauges {
  std::uint64_t sessions_active = 0;
  std::uint64_t sessions_limit = 0;
  std::uint64_t bans_active = 0;
  std::uint64_t generation = 0;
  double start_time = 0;        // seconds since the epoch
  double last_reload_time = 0;  // when the generation in force was made
};

class Metrics final : public EventSink {
 public:
  void consume(const Event& event) noexcept override;
  std::string render(const MetricsGauges& gauges) const;

  enum Direction { download, upload, directions };
  std::uint64_t bytes(Direction d) const noexcept { return bytes_[d].load(std::memory_order_relaxed); }

 private:
  enum Refusal {
    session_limit, address_limit, banned, implicit_tls, bounce, intruder, tls_owner, tls_not_resumed, file, refusals
  };
  std::atomic<std::uint64_t> connections_{0};
  std::atomic<std::uint64_t> logins_ok_{0}, logins_refused_{0}, logins_failed_{0};
  std::array<std::array<std::atomic<std::uint64_t>, 2>, directions> transfers_{};  // [direction][ok]
  std::array<std::atomic<std::uint64_t>, directions> bytes_{};
  std::array<std::atomic<std::uint64_t>, refusals> refusals_{};
  std::atomic<std::uint64_t> bans_{0}, timeouts_{0}, tls_failures_{0};
  std::array<Histogram<12>, directions> transfer_seconds_{
      Histogram<12>({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60}),
      Histogram<12>({0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60})};
  Histogram<10> login_seconds_{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5}};
};

}  // namespace ferry::admin
