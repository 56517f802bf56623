// ferry-loadgen: the bench's C++ load generator. Every session is a ferry::client::FtpClient
// (the project's own protocol code) running as a coroutine on one of --threads io_contexts
// (one thread each). It prints one JSON object on stdout; errors go to stderr.
//
//   ferry-loadgen MODE --port P [--host 127.0.0.1] [--user U] [--password W] [--threads 1|2] ...
//
//   small       one session: RETR --files N files named by --pattern (printf, one %d) in turn
//   logins      --clients C workers, --count N logins in all: connect, USER/PASS, QUIT
//   concurrent  --sessions S log in (--clients at a time, default 32), wait for each other, then each RETRs --path --repeat R times
//   hold        --sessions S logged-in sessions (opened --clients C at a time); prints a READY
//               line, waits for a line on stdin (at most --hold-seconds), sends NOOP on every
//               session, then QUITs them all
//
// Bounded: every operation has the client's watchdog (--timeout, default 60 s), and the
// whole run a deadline (--deadline, default 600 s) after which it exits with status 3.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ftp_client.hpp"

namespace {

using Clock = std::chrono::steady_clock;
using ferry::client::FtpClient;

struct Options {
  std::string mode;
  std::string host = "127.0.0.1";
  unsigned port = 0;
  std::string user = "bench";
  std::string password = "bench";
  unsigned threads = 1;
  unsigned files = 2000;
  std::string pattern = "/small/f%05d";
  unsigned clients = 1;
  unsigned count = 100;
  unsigned sessions = 200;
  unsigned repeat = 5;
  std::string path = "/f1m";
  double hold_seconds = 60;
  double timeout = 60;
  double deadline = 600;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "ferry-loadgen: " << why << "\n"
            << "usage: ferry-loadgen small|logins|concurrent|hold --port P [--host H] [--user U] [--password W]\n"
            << "       [--threads 1|2] [--files N] [--pattern /small/f%05d] [--clients C] [--count N]\n"
            << "       [--sessions S] [--repeat R] [--path P] [--hold-seconds T] [--timeout T] [--deadline T]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  if (argc < 2) usage("no mode");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (i + 1 >= argc) usage("missing value for " + k);
    std::string v = argv[++i];
    auto num = [&] { return static_cast<unsigned>(std::stoul(v)); };
    if (k == "--host") o.host = v;
    else if (k == "--port") o.port = num();
    else if (k == "--user") o.user = v;
    else if (k == "--password") o.password = v;
    else if (k == "--threads") o.threads = std::clamp(num(), 1u, 16u);
    else if (k == "--files") o.files = num();
    else if (k == "--pattern") o.pattern = v;
    else if (k == "--clients") o.clients = std::max(1u, num());
    else if (k == "--count") o.count = num();
    else if (k == "--sessions") o.sessions = num();
    else if (k == "--repeat") o.repeat = num();
    else if (k == "--path") o.path = v;
    else if (k == "--hold-seconds") o.hold_seconds = std::stod(v);
    else if (k == "--timeout") o.timeout = std::stod(v);
    else if (k == "--deadline") o.deadline = std::stod(v);
    else usage("unknown option " + k);
  }
  if (o.port == 0 || o.port > 65535) usage("--port is required");
  if (o.mode != "small" && o.mode != "logins" && o.mode != "concurrent" && o.mode != "hold") usage("unknown mode " + o.mode);
  return o;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

// Shared results: latencies (seconds) and error counts, merged under one mutex (a push per
// operation is far below the cost of the operation itself).
struct Stats {
  std::mutex m;
  std::vector<double> latencies;
  std::uint64_t bytes = 0;
  unsigned errors = 0;
  unsigned ok = 0;
  std::map<std::string, unsigned> error_kinds;

  void record(double seconds, std::uint64_t n = 0) {
    std::lock_guard lock(m);
    latencies.push_back(seconds);
    bytes += n;
    ++ok;
  }
  void fail(const std::string& what) {
    std::lock_guard lock(m);
    if (errors < 5) std::cerr << "ferry-loadgen: " << what << "\n";
    ++errors;
    ++error_kinds[what.substr(0, 60)];
  }
};

// io_contexts with one thread each; work is spread round-robin.
class Pool {
 public:
  explicit Pool(unsigned n) {
    for (unsigned i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(contexts_.back()->get_executor());
    }
    for (auto& c : contexts_) threads_.emplace_back([ctx = c.get()] { ctx->run(); });
  }
  ~Pool() { join(); }
  asio::io_context& at(std::size_t i) { return *contexts_[i % contexts_.size()]; }
  std::size_t size() const { return contexts_.size(); }
  void join() {
    guards_.clear();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
};

// Counts finished coroutines; the main thread waits for all (bounded by the deadline).
struct Latch {
  std::mutex m;
  std::condition_variable cv;
  std::size_t left;
  explicit Latch(std::size_t n) : left(n) {}
  void done() {
    std::lock_guard lock(m);
    if (--left == 0) cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return left == 0; });
  }
};

std::unique_ptr<FtpClient> make_client(asio::io_context& io, const Options& o) {
  auto c = std::make_unique<FtpClient>(io.get_executor());
  c->set_timeout(std::chrono::milliseconds(static_cast<long>(o.timeout * 1000)));
  return c;
}

asio::awaitable<void> open_session(FtpClient& c, const Options& o) {
  co_await c.connect(o.host, static_cast<std::uint16_t>(o.port));
  co_await c.login(o.user, o.password);
}

const ferry::client::DataSink discard = [](std::span<const std::byte>) {};

std::string name_of(const std::string& pattern, unsigned i) {
  char buf[512];
  std::snprintf(buf, sizeof buf, pattern.c_str(), i);
  return buf;
}

void print_summary(const char* mode, const Options& o, Stats& s, double elapsed, const std::string& extra) {
  std::printf(
      "{\"mode\":\"%s\",\"client\":\"ferry-loadgen (FtpClient, %u io thread%s)\",\"ok\":%u,\"errors\":%u,"
      "\"elapsed\":%.6f,\"bytes\":%llu,\"rate\":%.3f,\"p50\":%.6f,\"p99\":%.6f,\"mean\":%.6f%s}\n",
      mode, o.threads, o.threads == 1 ? "" : "s", s.ok, s.errors, elapsed, static_cast<unsigned long long>(s.bytes),
      elapsed > 0 ? s.ok / elapsed : 0.0, percentile(s.latencies, 0.50), percentile(s.latencies, 0.99),
      s.latencies.empty() ? 0.0
                          : [&] {
                              double sum = 0;
                              for (double d : s.latencies) sum += d;
                              return sum / static_cast<double>(s.latencies.size());
                            }(),
      extra.c_str());
  std::fflush(stdout);
}

// small: one control connection, N files one after the other (a data connection each).
int run_small(const Options& o) {
  Pool pool(1);
  Stats s;
  Latch latch(1);
  double elapsed = 0;
  auto client = make_client(pool.at(0), o);
  asio::co_spawn(
      pool.at(0),
      [&]() -> asio::awaitable<void> {
        try {
          co_await open_session(*client, o);
          co_await client->type_binary();
          auto t0 = Clock::now();
          for (unsigned i = 0; i < o.files; ++i) {
            auto t = Clock::now();
            try {
              std::uint64_t n = co_await client->retrieve(name_of(o.pattern, i), discard, 0, 0, {});
              s.record(seconds_since(t), n);
            } catch (const std::exception& e) {
              s.fail(e.what());
              if (!client->is_connected()) break;
            }
          }
          elapsed = seconds_since(t0);
          co_await client->quit();
        } catch (const std::exception& e) {
          s.fail(e.what());
        }
        latch.done();
      },
      asio::detached);
  latch.wait();
  pool.join();
  print_summary("small", o, s, elapsed, "");
  return s.errors == 0 ? 0 : 1;
}

// logins: C workers; each takes the next login from a shared counter until N are done.
int run_logins(const Options& o) {
  Pool pool(o.threads);
  Stats s;
  Latch latch(o.clients);
  std::atomic<unsigned> next{0};
  auto t0 = Clock::now();
  for (unsigned w = 0; w < o.clients; ++w) {
    asio::io_context& io = pool.at(w);
    asio::co_spawn(
        io,
        [&, &io = io]() -> asio::awaitable<void> {
          while (next.fetch_add(1) < o.count) {
            auto client = make_client(io, o);
            auto t = Clock::now();
            try {
              co_await open_session(*client, o);
              s.record(seconds_since(t));
            } catch (const std::exception& e) {
              s.fail(e.what());
            }
            co_await client->quit();
          }
          latch.done();
        },
        asio::detached);
  }
  latch.wait();
  double elapsed = seconds_since(t0);
  pool.join();
  print_summary("logins", o, s, elapsed, ",\"clients\":" + std::to_string(o.clients));
  return s.errors == 0 ? 0 : 1;
}

// concurrent: S sessions log in; when all are in, each downloads the file R times.
int run_concurrent(const Options& o) {
  Pool pool(o.threads);
  Stats s;
  Latch logged_in(o.sessions), finished(o.sessions);
  std::vector<std::unique_ptr<asio::steady_timer>> gates;
  for (std::size_t i = 0; i < pool.size(); ++i) {
    gates.push_back(std::make_unique<asio::steady_timer>(pool.at(i), Clock::time_point::max()));
  }
  std::atomic<unsigned> login_failures{0};
  std::atomic<unsigned> logging_in{0};
  const unsigned login_limit = o.clients > 1 ? o.clients : 32;
  for (unsigned i = 0; i < o.sessions; ++i) {
    asio::io_context& io = pool.at(i);
    asio::steady_timer& gate = *gates[i % pool.size()];
    asio::co_spawn(
        io,
        [&, &io = io, &gate = gate]() -> asio::awaitable<void> {
          auto client = make_client(io, o);
          bool ok = true;
          // At most --clients logins in flight (default 32): a burst of 200 connects overflows
          // a small listen backlog (vsftpd's is 32) and measures the SYN retry timer instead.
          asio::steady_timer pause(io);
          while (logging_in.fetch_add(1) >= login_limit) {
            --logging_in;
            pause.expires_after(std::chrono::milliseconds(2));
            co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
          }
          try {
            co_await open_session(*client, o);
            co_await client->type_binary();
          } catch (const std::exception& e) {
            s.fail(std::string("login: ") + e.what());
            ++login_failures;
            ok = false;
          }
          --logging_in;
          logged_in.done();
          co_await gate.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
          for (unsigned r = 0; ok && r < o.repeat; ++r) {
            auto t = Clock::now();
            try {
              std::uint64_t n = co_await client->retrieve(o.path, discard, 0, 0, {});
              s.record(seconds_since(t), n);
            } catch (const std::exception& e) {
              s.fail(e.what());
              if (!client->is_connected()) break;
            }
          }
          co_await client->quit();
          finished.done();
        },
        asio::detached);
  }
  logged_in.wait();
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < pool.size(); ++i) {
    asio::post(pool.at(i), [g = gates[i].get()] { g->cancel(); });
  }
  finished.wait();
  double elapsed = seconds_since(t0);
  pool.join();
  char extra[160];
  std::snprintf(extra, sizeof extra, ",\"sessions\":%u,\"mib_per_s\":%.3f,\"login_failures\":%u", o.sessions,
                elapsed > 0 ? static_cast<double>(s.bytes) / elapsed / (1024.0 * 1024.0) : 0.0, login_failures.load());
  print_summary("concurrent", o, s, elapsed, extra);
  return s.errors == 0 ? 0 : 1;
}

// hold: S logged-in sessions, opened C at a time; READY; wait for stdin; NOOP each; QUIT.
int run_hold(const Options& o) {
  Pool pool(o.threads);
  Stats s;
  std::vector<std::unique_ptr<FtpClient>> clients(o.sessions);
  for (unsigned i = 0; i < o.sessions; ++i) clients[i] = make_client(pool.at(i), o);
  std::vector<char> alive(o.sessions, 0);
  std::atomic<unsigned> next{0};
  auto t0 = Clock::now();
  {
    Latch opened(o.clients);
    for (unsigned w = 0; w < o.clients; ++w) {
      // Worker w handles the indices i with i % pool.size() == w % pool.size(), so each client
      // is only ever touched from its own io_context.
      const std::size_t lane = w % pool.size();
      asio::co_spawn(
          pool.at(lane),
          [&, lane, w]() -> asio::awaitable<void> {
            const std::size_t lanes = pool.size();
            const std::size_t workers_in_lane = (o.clients - lane + lanes - 1) / lanes;
            const std::size_t k = w / lanes;  // this worker's number within its lane
            for (std::size_t i = lane + k * lanes; i < o.sessions; i += lanes * workers_in_lane) {
              auto t = Clock::now();
              try {
                co_await open_session(*clients[i], o);
                alive[i] = 1;
                s.record(seconds_since(t));
              } catch (const std::exception& e) {
                s.fail(std::string("open: ") + e.what());
              }
            }
            opened.done();
          },
          asio::detached);
    }
    opened.wait();
  }
  (void)next;
  double open_seconds = seconds_since(t0);
  unsigned open_ok = s.ok, open_errors = s.errors;
  std::fprintf(stderr, "READY %u %u\n", open_ok, open_errors);
  std::printf("READY %u %u\n", open_ok, open_errors);
  std::fflush(stdout);
  // Wait for the orchestrator (a line on stdin) or the hold time, whichever comes first.
  {
    std::mutex m;
    std::condition_variable cv;
    bool go = false;
    std::thread([&] {
      std::string line;
      std::getline(std::cin, line);
      std::lock_guard lock(m);
      go = true;
      cv.notify_all();
    }).detach();
    std::unique_lock lock(m);
    cv.wait_for(lock, std::chrono::milliseconds(static_cast<long>(o.hold_seconds * 1000)), [&] { return go; });
  }
  // Every session must still answer.
  Stats noop;
  {
    Latch checked(o.sessions);
    for (unsigned i = 0; i < o.sessions; ++i) {
      asio::co_spawn(
          pool.at(i),
          [&, i]() -> asio::awaitable<void> {
            if (alive[i]) {
              auto t = Clock::now();
              try {
                auto reply = co_await clients[i]->command("NOOP");
                if (reply.code == 200) noop.record(seconds_since(t));
                else noop.fail("NOOP answered " + std::to_string(reply.code));
              } catch (const std::exception& e) {
                noop.fail(std::string("NOOP: ") + e.what());
              }
              co_await clients[i]->quit();
            }
            checked.done();
          },
          asio::detached);
    }
    checked.wait();
  }
  pool.join();
  char extra[200];
  std::snprintf(extra, sizeof extra,
                ",\"sessions\":%u,\"open_ok\":%u,\"open_errors\":%u,\"open_seconds\":%.3f,\"noop_ok\":%u,"
                "\"noop_errors\":%u",
                o.sessions, open_ok, open_errors, open_seconds, noop.ok, noop.errors);
  print_summary("hold", o, s, open_seconds, extra);
  return open_errors == 0 && noop.errors == 0 && noop.ok == o.sessions ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  // The whole run is bounded: a watchdog thread ends the process at the deadline.
  std::thread([d = o.deadline] {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(d * 1000)));
    std::fprintf(stderr, "ferry-loadgen: deadline of %.0f s reached\n", d);
    std::fflush(stdout);
    std::_Exit(3);
  }).detach();
  try {
    if (o.mode == "small") return run_small(o);
    if (o.mode == "logins") return run_logins(o);
    if (o.mode == "concurrent") return run_concurrent(o);
    return run_hold(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-loadgen: %s\n", e.what());
    return 1;
  }
}
