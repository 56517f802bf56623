// The live view: snapshots taken from one thread while sessions on others come, run
// commands and transfers, and go; and the registry's wish for when the last one has gone.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "server/session_registry.hpp"

using namespace ferry;

TEST_CASE("a session's view shows its user, command, cwd, TLS and transfer", "[registry]") {
  SessionStatus status;
  status.peer("127.0.0.1");
  status.user("alice");
  status.cwd("/pub");
  status.tls(true);
  status.command("RETR");
  ByteCounter bytes{0};
  {
    LiveTransfer live(status, "RETR", "/pub/big.iso", false, 1000, bytes);
    bytes += 250;
    SessionView view = status.view(7);
    CHECK(view.id == 7);
    CHECK(view.peer == "127.0.0.1");
    CHECK(view.user == "alice");
    CHECK(view.cwd == "/pub");
    CHECK(view.command == "RETR");
    CHECK(view.tls);
    REQUIRE(view.transfer);
    CHECK(view.transfer->path == "/pub/big.iso");
    CHECK(view.transfer->bytes == 250);
    CHECK(view.transfer->size == std::optional<std::uint64_t>(1000));
    CHECK_FALSE(view.transfer->incoming);
  }
  CHECK_FALSE(status.view(7).transfer);  // over when the LiveTransfer is gone
}

TEST_CASE("snapshots are consistent while sessions come and go on several threads", "[registry]") {
  SessionRegistry registry;
  std::atomic<bool> stop{false};
  std::atomic<bool> observing{false};
  constexpr int threads = 4;
  constexpr int sessions_per_thread = 300;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&registry, &observing, t] {
      while (!observing.load()) std::this_thread::yield();
      for (int i = 0; i < sessions_per_thread; ++i) {
        const std::uint64_t id = static_cast<std::uint64_t>(t * sessions_per_thread + i + 1);
        SessionStatus status;
        status.peer("127.0.0.1");
        registry.add(id, nullptr, &status, {});
        status.command("USER");
        status.user("user" + std::to_string(t));
        ByteCounter bytes{0};
        {
          LiveTransfer live(status, "STOR", "/f" + std::to_string(i), true, std::nullopt, bytes);
          for (int chunk = 0; chunk < 10; ++chunk) bytes += 4096;
        }
        status.command("QUIT");
        registry.remove(id);
      }
    });
  }
  std::size_t snapshots = 0;
  std::size_t seen = 0;
  // Catch's assertions are not thread-safe: only the observer asserts until it is joined.
  std::thread observer([&] {
    while (!stop.load()) {
      observing = true;
      for (const SessionView& view : registry.snapshot()) {
        ++seen;
        CHECK(view.peer == "127.0.0.1");
        if (view.transfer) {
          CHECK(view.transfer->incoming);
          CHECK(view.transfer->bytes <= 40960);
          CHECK(view.transfer->bytes % 4096 == 0);
        }
      }
      ++snapshots;
    }
  });
  for (auto& worker : workers) worker.join();
  stop = true;
  observer.join();
  CHECK(registry.size() == 0);
  CHECK(registry.snapshot().empty());
  CHECK(snapshots > 0);
  INFO("sessions seen in snapshots: " << seen);
}

TEST_CASE("when_empty fires once the last session has gone, or at once", "[registry]") {
  SessionRegistry registry;
  int fired = 0;
  registry.when_empty([&] { ++fired; });
  CHECK(fired == 1);  // nobody there
  SessionStatus a, b;
  registry.add(1, nullptr, &a, {});
  registry.add(2, nullptr, &b, {});
  registry.when_empty([&] { ++fired; });
  registry.remove(1);
  CHECK(fired == 1);
  registry.remove(2);
  CHECK(fired == 2);
  registry.add(3, nullptr, &a, {});
  registry.remove(3);
  CHECK(fired == 2);  // a wish is granted once
  CHECK_FALSE(registry.close(3));
  CHECK_FALSE(registry.abort_transfer(3));
}
