// How long an I/O thread polls for its next event before it sleeps (see run_io_thread in
// server.cpp), adapted as the kernel's haltpoll cpuidle governor adapts its own: while
// events keep coming soon after the thread gave up polling, the window grows back to
// `busy_poll_us`; while they come only after long sleeps, polling was wasted and the
// window halves, down to none. A busy ping-pong session keeps the whole window; a thread
// that sees an event now and then stops burning a window after each.
//
// A thread that polls on a CPU other tasks want (it yields between polls) gets the CPU
// back only after them, a time slice later, while an event it would have been woken for
// waits: polling there is far worse than sleeping. So a yield that came back more than
// half a millisecond later (another task's slice; the kernel's own threads here take
// 50 us) stops polling for 20 ms: under a compiler sharing the CPU, one event in 20 ms
// waits a slice, the others wake the thread as if it never polled.
#pragma once

#include <algorithm>
#include <chrono>

namespace ferry {

class PollWindow {
 public:
  using duration = std::chrono::nanoseconds;
  using time_point = std::chrono::steady_clock::time_point;
  // A yield that takes longer than this, with another task run meanwhile, lost the CPU...
  static constexpr duration lost_cpu_after = std::chrono::microseconds(500);
  // ...and the thread does not poll for this long.
  static constexpr duration hold_off = std::chrono::milliseconds(20);

  explicit PollWindow(duration max) : max_(max), window_(max) {}

  // How long to poll now.
  duration current() const noexcept { return window_; }

  // The thread stopped polling and slept `slept` until its next event, at `now`.
  void after_sleep(duration slept, time_point now) noexcept {
    if (now < quiet_until_) {
      window_ = duration::zero();
    } else if (slept > max_) {
      window_ /= 2;  // no window we allow would have caught it
      if (window_ < shrink_floor) window_ = duration::zero();
    } else {
      window_ = std::clamp(window_ * 2, std::min(grow_start, max_), max_);  // it came within reach
    }
  }

  // A poll lost the CPU to another task, until `now`.
  void lost_cpu(time_point now) noexcept {
    window_ = duration::zero();
    quiet_until_ = now + hold_off;
  }

 private:
  static constexpr duration grow_start = std::chrono::microseconds(10);
  static constexpr duration shrink_floor = std::chrono::microseconds(5);
  duration max_;
  duration window_;
  time_point quiet_until_{};
};

}  // namespace ferry
