#include "server/poll_window.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using ferry::PollWindow;

namespace {
const PollWindow::time_point t0{std::chrono::seconds(1000)};
}

TEST_CASE("the poll window starts at its maximum and keeps it while events come soon", "[poll_window]") {
  PollWindow w(200us);
  CHECK(w.current() == 200us);
  for (int i = 0; i < 10; ++i) w.after_sleep(150us, t0);
  CHECK(w.current() == 200us);
}

TEST_CASE("long sleeps halve the window down to none, soon events grow it back", "[poll_window]") {
  PollWindow w(200us);
  w.after_sleep(10ms, t0);
  CHECK(w.current() == 100us);
  for (int i = 0; i < 5; ++i) w.after_sleep(1s, t0);
  CHECK(w.current() == 0us);  // 50, 25, 12.5, 6.25, then under 5 us: none
  w.after_sleep(1s, t0);
  CHECK(w.current() == 0us);
  w.after_sleep(30us, t0);  // an event just after the thread went to sleep
  CHECK(w.current() == 10us);
  w.after_sleep(30us, t0);
  CHECK(w.current() == 20us);
  for (int i = 0; i < 10; ++i) w.after_sleep(100us, t0);
  CHECK(w.current() == 200us);  // never past the maximum
}

TEST_CASE("a maximum below the growth step is reached at once", "[poll_window]") {
  PollWindow w(3us);
  w.after_sleep(1ms, t0);
  CHECK(w.current() == 0us);  // 1.5 us: below the floor
  w.after_sleep(2us, t0);
  CHECK(w.current() == 3us);
}

TEST_CASE("a poll that lost the CPU stops polling for the hold-off, then grows back", "[poll_window]") {
  PollWindow w(200us);
  w.lost_cpu(t0);
  CHECK(w.current() == 0us);
  w.after_sleep(30us, t0 + PollWindow::hold_off - 1ms);  // an event came soon, but the CPU is contended
  CHECK(w.current() == 0us);
  w.after_sleep(30us, t0 + PollWindow::hold_off + 1ms);
  CHECK(w.current() == 10us);
}
