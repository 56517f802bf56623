// ferry-loadgen: the bench's C++ load generator. Every session is a ferry::client::FtpClient
// (the project's own protocol code) running as a coroutine on one of --threads io_contexts
// (one thread each). It prints one JSON object on stdout; errors go to stderr.
//
//   ferry-loadgen MODE --port P [--host 127.0.0.1] [--user U] [--password W] [--threads 1|2] ...
//
//   small       one session: RETR --files N files named by --pattern (printf, one %d) in turn;
//               with --poll yes its thread polls for events instead of sleeping in epoll_wait
//               (give it a CPU of its own), so the client's wake-ups stay out of the figure
//   logins      --clients C workers, --count N logins in all: connect, USER/PASS, QUIT
//   concurrent  --sessions S log in (--clients at a time, default 32), wait for each other, then each RETRs --path --repeat R times;
//               --trace FILE writes one line per download: session, round, start and latency (ms,
//               start counted from the moment all sessions are let go), to see where the tail comes from
//   hold        --sessions S logged-in sessions (opened --clients C at a time; --sources N spreads
//               them over the source addresses 127.0.0.2 .. 127.0.0.N+1); prints a READY
//               line, waits for a line on stdin (at most --hold-seconds), sends NOOP on every
//               session, then QUITs them all
//   stress      --sessions S workers for --seconds T against a writable mount. One session first
//               puts seed files of deterministic content (from --seed) under --dir (default
//               /stress/seed); then each worker logs in (--clients at a time, default 32), makes
//               --dir/wNNN and loops over a weighted mix: a fresh login (+ STAT listing, QUIT),
//               MLSD (names and sizes compared), RETR of a seed file (byte for byte), RETR after
//               REST, STOR of a new file (then SIZE + HASH SHA-256 compared), STOR resumed with
//               REST, RETR of its own upload, RNFR/RNTO, DELE of its oldest upload. Any unexpected
//               reply or mismatch is an error of its kind (details on stderr). At the end every
//               worker checks that its directory holds exactly the uploads it kept, each with the
//               right SIZE and SHA-256, and the seed files are checked again; --manifest FILE
//               lists "path size sha256" of every file that must exist, for a check on disk.
//
// --tls yes: explicit FTPS (AUTH TLS, PBSZ 0, PROT P; every data connection resumes the
// control connection's TLS session), the server's certificate verified against --ca-file
// (the bench's self-signed test certificate, whose subjectAltName is 127.0.0.1). Every
// session has its own TLS context, so each login is a full handshake.
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
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>

#include "digest/digest.hpp"
#include "ftp/listing.hpp"
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
  unsigned sources = 0;  // hold: spread sessions over 127.0.0.2 .. 127.0.0.(1 + sources); 0 = the kernel's choice
  double seconds = 60;
  std::uint64_t seed = 1;
  std::string dir = "/stress";
  std::string manifest;
  std::string trace;
  double timeout = 60;
  double deadline = 600;
  bool poll = false;
  bool tls = false;
  std::string ca_file;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "ferry-loadgen: " << why << "\n"
            << "usage: ferry-loadgen small|logins|concurrent|hold|stress --port P [--host H] [--user U] [--password W]\n"
            << "       [--threads 1|2] [--files N] [--pattern /small/f%05d] [--clients C] [--count N]\n"
            << "       [--sessions S] [--repeat R] [--path P] [--hold-seconds T] [--sources N] [--timeout T] [--deadline T]\n"
            << "       [--tls yes|no] [--ca-file PEM]\n"
            << "       small: [--poll yes|no]\n"
            << "       concurrent: [--trace FILE]\n"
            << "       stress: [--seconds T] [--seed N] [--dir /stress] [--manifest FILE]\n";
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
    else if (k == "--sources") o.sources = static_cast<unsigned>(std::stoul(v));
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--seed") o.seed = std::stoull(v);
    else if (k == "--dir") o.dir = v;
    else if (k == "--manifest") o.manifest = v;
    else if (k == "--trace") o.trace = v;
    else if (k == "--timeout") o.timeout = std::stod(v);
    else if (k == "--deadline") o.deadline = std::stod(v);
    else if (k == "--ca-file") o.ca_file = v;
    else if (k == "--tls") {
      if (v != "yes" && v != "no") usage("--tls takes yes or no");
      o.tls = v == "yes";
    }
    else if (k == "--poll") {
      if (v != "yes" && v != "no") usage("--poll takes yes or no");
      o.poll = v == "yes";
    }
    else usage("unknown option " + k);
  }
  if (o.port == 0 || o.port > 65535) usage("--port is required");
  if (o.mode != "small" && o.mode != "logins" && o.mode != "concurrent" && o.mode != "hold" && o.mode != "stress") usage("unknown mode " + o.mode);
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
  void fail(const std::string& what, bool print = true) {
    std::lock_guard lock(m);
    if (print && errors < 5) std::cerr << "ferry-loadgen: " << what << "\n";
    ++errors;
    ++error_kinds[what.substr(0, 60)];
  }
};

// io_contexts with one thread each; work is spread round-robin. A polling thread never sleeps
// in epoll_wait: on this VM a sleeping thread costs the peer that wakes it an IPI and itself
// ~10 us before it runs again, per reply, which would count against the server measured.
class Pool {
 public:
  explicit Pool(unsigned n, bool poll = false) {
    for (unsigned i = 0; i < n; ++i) {
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(contexts_.back()->get_executor());
    }
    for (auto& c : contexts_) {
      threads_.emplace_back([ctx = c.get(), poll] {
        if (!poll) {
          ctx->run();
          return;
        }
        while (!ctx->stopped()) {
          if (ctx->poll() == 0) sched_yield();
        }
      });
    }
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

std::unique_ptr<FtpClient> make_client(asio::io_context& io, const Options& o, unsigned index = 0) {
  auto c = std::make_unique<FtpClient>(io.get_executor());
  c->set_timeout(std::chrono::milliseconds(static_cast<long>(o.timeout * 1000)));
  if (o.tls) c->set_tls({ferry::client::TlsMode::explicit_tls, true, o.ca_file});
  // --sources N: session i comes from 127.0.0.(2 + i % N), each address with its own
  // ephemeral port range (about 28,000 ports toward one server port).
  if (o.sources > 0) {
    c->set_source_address(asio::ip::make_address_v4(0x7f000002u + index % o.sources));
  }
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
      "{\"mode\":\"%s\",\"client\":\"ferry-loadgen (FtpClient, %u %s io thread%s)\",\"ok\":%u,\"errors\":%u,"
      "\"tls\":%s,\"elapsed\":%.6f,\"bytes\":%llu,\"rate\":%.3f,\"p50\":%.6f,\"p99\":%.6f,\"mean\":%.6f%s}\n",
      mode, o.threads, o.poll ? "polling" : "sleeping", o.threads == 1 ? "" : "s", s.ok, s.errors, o.tls ? "true" : "false", elapsed,
      static_cast<unsigned long long>(s.bytes),
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
  Pool pool(1, o.poll);
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

// One download of the concurrent mode, for --trace.
struct TracedDownload {
  unsigned session;
  unsigned round;
  double start;  // seconds after the sessions were let go
  double seconds;
};

void write_trace(const std::string& file, std::vector<TracedDownload> downloads) {
  std::sort(downloads.begin(), downloads.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
  std::FILE* f = std::fopen(file.c_str(), "w");
  if (f == nullptr) {
    std::cerr << "ferry-loadgen: cannot write " << file << ": " << std::strerror(errno) << "\n";
    return;
  }
  std::fprintf(f, "# session round start_ms latency_ms\n");
  for (const auto& d : downloads) std::fprintf(f, "%u %u %.3f %.3f\n", d.session, d.round, d.start * 1e3, d.seconds * 1e3);
  std::fclose(f);
}

// concurrent: S sessions log in; when all are in, each downloads the file R times.
int run_concurrent(const Options& o) {
  Pool pool(o.threads);
  Stats s;
  std::mutex trace_mutex;
  std::vector<TracedDownload> traced;
  Clock::time_point let_go{};
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
        [&, i, &io = io, &gate = gate]() -> asio::awaitable<void> {
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
              const double seconds = seconds_since(t);
              s.record(seconds, n);
              if (!o.trace.empty()) {
                std::lock_guard lock(trace_mutex);
                traced.push_back({i, r, std::chrono::duration<double>(t - let_go).count(), seconds});
              }
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
  let_go = t0;  // written before the gates open; the sessions read it only after
  for (std::size_t i = 0; i < pool.size(); ++i) {
    asio::post(pool.at(i), [g = gates[i].get()] { g->cancel(); });
  }
  finished.wait();
  double elapsed = seconds_since(t0);
  pool.join();
  if (!o.trace.empty()) write_trace(o.trace, std::move(traced));
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
  for (unsigned i = 0; i < o.sessions; ++i) clients[i] = make_client(pool.at(i), o, i);
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


// ---------------------------------------------------------------------------------------
// stress: --sessions S workers for --seconds T, each looping over a weighted mix of
// operations on its own logged-in session, every result checked against content the
// generator knows (see the comment at the top of the file).

// Deterministic content: the 8-byte word number w of a file with seed s is splitmix64(s, w),
// so any byte range (a REST offset, the second part of a resumed upload) can be produced
// and compared without keeping the file.
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void fill_content(std::uint64_t seed, std::uint64_t offset, std::span<std::byte> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    const std::uint64_t pos = offset + i;
    const std::uint64_t word = splitmix64(seed ^ (pos / 8) * 0xd6e8feb86659fd93ULL);
    for (std::uint64_t b = pos % 8; b < 8 && i < out.size(); ++b, ++i) {
      out[i] = static_cast<std::byte>(word >> (8 * b));
    }
  }
}

std::string sha256_of_content(std::uint64_t seed, std::uint64_t size) {
  ferry::digest::Hasher hasher(ferry::digest::Algorithm::sha256);
  std::vector<std::byte> buffer(64 * 1024);
  for (std::uint64_t pos = 0; pos < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - pos));
    fill_content(seed, pos, std::span(buffer.data(), n));
    hasher.update(std::span<const std::byte>(buffer.data(), n));
    pos += n;
  }
  return hasher.hex();
}

// A sink that compares what arrives with the expected content from `offset` on.
ferry::client::DataSink checking_sink(std::uint64_t seed, std::uint64_t offset, const std::string& path) {
  auto expected = std::make_shared<std::vector<std::byte>>();
  auto position = std::make_shared<std::uint64_t>(offset);
  return [seed, expected, position, path](std::span<const std::byte> chunk) {
    expected->resize(chunk.size());
    fill_content(seed, *position, *expected);
    if (std::memcmp(expected->data(), chunk.data(), chunk.size()) != 0) {
      std::size_t at = 0;
      while (expected->data()[at] == chunk[at]) ++at;
      throw std::runtime_error(path + ": corrupted download: byte " + std::to_string(*position + at) +
                               " differs from the expected content");
    }
    *position += chunk.size();
  };
}

// A source of the expected content from `offset` to `end`.
ferry::client::DataSource content_source(std::uint64_t seed, std::uint64_t offset, std::uint64_t end) {
  auto position = std::make_shared<std::uint64_t>(offset);
  return [seed, position, end](std::span<std::byte> buffer) -> std::size_t {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), end - *position));
    fill_content(seed, *position, buffer.first(n));
    *position += n;
    return n;
  };
}

enum OpKind : std::size_t { op_login, op_list, op_retr, op_rest, op_stor, op_resume, op_verify, op_rename, op_dele,
                            op_session, op_final, op_kinds };
constexpr const char* op_names[op_kinds] = {"login", "list", "retr", "rest", "stor", "resume", "verify", "rename",
                                            "dele", "session", "final"};
// Weights of the mix (op_session is the reconnect after a failure, op_final the closing check).
constexpr unsigned op_weights[] = {8, 8, 25, 6, 20, 6, 12, 4, 11};

struct KnownFile {
  std::string name;
  std::uint64_t seed = 0;
  std::uint64_t size = 0;
};

// The seed files every worker downloads: sizes around the interesting edges (empty, one
// byte, a page, the server's 256 KiB transfer buffer, several MiB).
std::vector<KnownFile> seed_files(std::uint64_t seed) {
  const std::uint64_t sizes[] = {0, 1, 1000, 4096, 65543, 262144, 262145, 1048579, 3 * 1048576 + 17};
  std::vector<KnownFile> files;
  for (std::size_t i = 0; i < std::size(sizes); ++i) {
    files.push_back({"seed-f" + std::to_string(i), splitmix64(seed ^ (0x5eed0000 + i)), sizes[i]});
  }
  return files;
}

constexpr std::uint64_t upload_sizes[] = {0, 1, 513, 8192, 65537, 200000, 262144, 1048575};

struct StressShared {
  const Options& o;
  std::vector<KnownFile> seeds;
  std::string top;  // "/stress"
  Stats kinds[op_kinds];
  std::atomic<unsigned> printed{0};
  Clock::time_point stop_at;

  explicit StressShared(const Options& options) : o(options) {}
  void fail(OpKind kind, unsigned worker, const std::string& what) {
    if (printed.fetch_add(1) < 200) {
      std::fprintf(stderr, "ferry-loadgen: worker %u: %s: %s\n", worker, op_names[kind], what.c_str());
    }
    kinds[kind].fail(what, false);
  }
};

struct Worker {
  unsigned id = 0;
  std::unique_ptr<FtpClient> client;
  std::mt19937_64 rng;
  std::string dir;                 // "/stress/wNNN"
  std::vector<KnownFile> uploads;  // present on the server, oldest first
  std::vector<std::string> doubtful;  // a failed upload or delete: state unknown, cleaned up at the end
  unsigned next_name = 0;
  bool alive = false;
  unsigned files_checked = 0, files_lost = 0, files_corrupted = 0, files_unexpected = 0;
};

// Removes the files a failed upload, rename or delete may have left (none is in w.uploads).
asio::awaitable<void> stress_forget_doubtful(Worker& w) {
  for (const auto& name : w.doubtful) {
    try {
      co_await w.client->remove(w.dir + "/" + name);
    } catch (const ferry::client::ClientError& e) {
      if (e.kind() != ferry::client::ErrorKind::not_found) throw;
    }
  }
  w.doubtful.clear();
}

// Opens (or reopens after a failure) the worker's session.
asio::awaitable<bool> stress_connect(StressShared& sh, Worker& w, asio::io_context& io) {
  if (w.client) co_await w.client->quit();
  w.client = make_client(io, sh.o);
  auto t = Clock::now();
  try {
    co_await open_session(*w.client, sh.o);
    co_await w.client->type_binary();
    sh.kinds[op_session].record(seconds_since(t));
    w.alive = true;
  } catch (const std::exception& e) {
    sh.fail(op_session, w.id, std::string("connect/login: ") + e.what());
    w.alive = false;
  }
  co_return w.alive;
}

std::string sizes_text(const std::vector<ferry::FileInfo>& got) {
  std::string text;
  for (const auto& f : got) text += " " + f.name + "=" + std::to_string(f.size);
  return text;
}

// Compares a listing with the files it must hold, exactly (names and sizes, nothing more).
void check_listing(const std::vector<ferry::FileInfo>& got, const std::vector<KnownFile>& want, const std::string& dir) {
  std::map<std::string, std::uint64_t> expected;
  for (const auto& f : want) expected[f.name] = f.size;
  std::map<std::string, std::uint64_t> listed;
  for (const auto& f : got) listed[f.name] = f.size;
  if (listed != expected) throw std::runtime_error(dir + ": listing differs from the expected files:" + sizes_text(got));
}

asio::awaitable<void> stress_check_file(FtpClient& c, const std::string& path, const KnownFile& f) {
  auto size = co_await c.size(path);
  if (!size || *size != f.size) {
    throw std::runtime_error(path + ": SIZE " + (size ? std::to_string(*size) : "unknown") + ", expected " +
                             std::to_string(f.size));
  }
  auto hash = co_await c.hash(path, "SHA-256");
  const std::string want = sha256_of_content(f.seed, f.size);
  if (!hash || *hash != want) {
    throw std::runtime_error(path + ": HASH " + (hash ? *hash : "unavailable") + ", expected " + want);
  }
}

// One operation of the mix; throws on any unexpected reply or mismatch.
asio::awaitable<std::uint64_t> stress_op(StressShared& sh, Worker& w, asio::io_context& io, OpKind kind) {
  FtpClient& c = *w.client;
  const std::string seed_dir = sh.top + "/seed";
  auto pick = [&](std::size_t n) { return static_cast<std::size_t>(w.rng() % n); };
  switch (kind) {
    case op_login: {  // a fresh session: log in, a LIST-format listing on the control connection, QUIT
      auto fresh = make_client(io, sh.o);
      std::exception_ptr failure;
      try {
        co_await open_session(*fresh, sh.o);
        auto reply = co_await fresh->command("STAT " + seed_dir);
        if (reply.code != 213) throw std::runtime_error("STAT " + seed_dir + " answered " + std::to_string(reply.code));
        std::vector<ferry::FileInfo> got;
        for (const auto& line : reply.lines) {
          std::string_view l = line;
          while (!l.empty() && l.front() == ' ') l.remove_prefix(1);
          if (auto info = ferry::ftp::parse_list_line(l)) got.push_back(*info);
        }
        check_listing(got, sh.seeds, "STAT " + seed_dir);
      } catch (...) {
        failure = std::current_exception();
      }
      co_await fresh->quit();
      if (failure) std::rethrow_exception(failure);
      co_return 0;
    }
    case op_list: {  // MLSD of the seed directory or of its own
      if (w.rng() % 2 == 0) {
        check_listing(co_await c.list(seed_dir), sh.seeds, seed_dir);
      } else {
        check_listing(co_await c.list(w.dir), w.uploads, w.dir);
      }
      co_return 0;
    }
    case op_retr:
    case op_rest: {
      const KnownFile& f = sh.seeds[pick(sh.seeds.size())];
      const std::string path = seed_dir + "/" + f.name;
      const std::uint64_t offset = kind == op_rest && f.size > 0 ? 1 + w.rng() % f.size : 0;
      const std::uint64_t n = co_await c.retrieve(path, checking_sink(f.seed, offset, path), offset, f.size, {});
      if (n != f.size - offset) {
        throw std::runtime_error(path + ": received " + std::to_string(n) + " bytes from " + std::to_string(offset) +
                                 ", expected " + std::to_string(f.size - offset));
      }
      co_return n;
    }
    case op_stor:
    case op_resume: {
      KnownFile f{"u" + std::to_string(w.next_name++), w.rng(), upload_sizes[pick(std::size(upload_sizes))]};
      const std::string path = w.dir + "/" + f.name;
      w.doubtful.push_back(f.name);
      std::uint64_t sent = 0;
      if (kind == op_stor) {
        sent = co_await c.store(path, content_source(f.seed, 0, f.size), 0, f.size, {});
      } else {  // a first part, then REST + STOR of the rest (what `ferry put -c` does)
        const std::uint64_t cut = f.size / 3;
        sent = co_await c.store(path, content_source(f.seed, 0, cut), 0, f.size, {});
        sent += co_await c.store(path, content_source(f.seed, cut, f.size), cut, f.size, {});
      }
      if (sent != f.size) throw std::runtime_error(path + ": sent " + std::to_string(sent) + " bytes");
      co_await stress_check_file(c, path, f);
      w.doubtful.pop_back();
      w.uploads.push_back(f);
      co_return sent;
    }
    case op_verify: {
      const KnownFile& f = w.uploads[pick(w.uploads.size())];
      const std::string path = w.dir + "/" + f.name;
      const std::uint64_t n = co_await c.retrieve(path, checking_sink(f.seed, 0, path), 0, f.size, {});
      if (n != f.size) throw std::runtime_error(path + ": received " + std::to_string(n) + " of " + std::to_string(f.size));
      co_return n;
    }
    case op_rename: {
      // Out of the known set while in flight: after a failure either name may exist.
      const std::size_t i = pick(w.uploads.size());
      KnownFile f = w.uploads[i];
      w.uploads.erase(w.uploads.begin() + static_cast<std::ptrdiff_t>(i));
      const std::string from = f.name;
      f.name = "r" + std::to_string(w.next_name++);
      w.doubtful.push_back(from);
      w.doubtful.push_back(f.name);
      co_await c.rename(w.dir + "/" + from, w.dir + "/" + f.name);
      w.doubtful.resize(w.doubtful.size() - 2);
      w.uploads.push_back(f);
      auto size = co_await c.size(w.dir + "/" + f.name);
      if (!size || *size != f.size) throw std::runtime_error(w.dir + "/" + f.name + ": wrong SIZE after RNTO");
      co_return 0;
    }
    case op_dele: {  // the oldest upload
      const std::string name = w.uploads.front().name;
      w.uploads.erase(w.uploads.begin());
      w.doubtful.push_back(name);
      co_await c.remove(w.dir + "/" + name);
      w.doubtful.pop_back();
      co_return 0;
    }
    default: co_return 0;
  }
}

asio::awaitable<void> stress_worker(StressShared& sh, Worker& w, asio::io_context& io, std::atomic<unsigned>& logging_in,
                                    unsigned login_limit) {
  // At most login_limit initial logins in flight (as in `concurrent`): all 500 at once
  // would measure the SYN retry timer of a full backlog, not the server.
  asio::steady_timer pause(io);
  while (logging_in.fetch_add(1) >= login_limit) {
    --logging_in;
    pause.expires_after(std::chrono::milliseconds(5));
    co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  bool up = co_await stress_connect(sh, w, io);
  --logging_in;
  if (up) {
    try {
      co_await w.client->make_directory(w.dir);
    } catch (const std::exception& e) {
      sh.fail(op_session, w.id, std::string("MKD: ") + e.what());
    }
  }
  unsigned weight_sum = 0;
  for (unsigned x : op_weights) weight_sum += x;
  const std::size_t keep = 4;  // uploads a worker keeps at most (tmpfs space)
  while (Clock::now() < sh.stop_at) {
    if (!w.alive) {
      if (!co_await stress_connect(sh, w, io)) {  // back off, bounded by stop_at
        pause.expires_after(std::chrono::milliseconds(200));
        co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        continue;
      }
      try {
        co_await stress_forget_doubtful(w);
      } catch (const std::exception& e) {
        sh.fail(op_session, w.id, std::string("clean-up after a failure: ") + e.what());
        w.alive = false;
        continue;
      }
    }
    unsigned r = static_cast<unsigned>(w.rng() % weight_sum);
    std::size_t k = 0;
    while (r >= op_weights[k]) r -= op_weights[k++];
    auto kind = static_cast<OpKind>(k);
    if (w.uploads.empty() && (kind == op_verify || kind == op_rename || kind == op_dele)) kind = op_stor;
    if (w.uploads.size() >= keep && (kind == op_stor || kind == op_resume)) kind = op_dele;
    auto t = Clock::now();
    try {
      std::uint64_t bytes = co_await stress_op(sh, w, io, kind);
      sh.kinds[kind].record(seconds_since(t), bytes);
    } catch (const std::exception& e) {
      sh.fail(kind, w.id, e.what());
      // The session may be out of step (a transfer cut short): start a new one.
      w.alive = false;
    }
  }
}

// The closing check: the worker's directory holds exactly its uploads, each with the right
// SIZE and SHA-256; files in doubt after a failed operation are removed first.
asio::awaitable<void> stress_final(StressShared& sh, Worker& w, asio::io_context& io) {
  if (!w.alive && !co_await stress_connect(sh, w, io)) {
    w.files_lost += static_cast<unsigned>(w.uploads.size());
    co_return;
  }
  FtpClient& c = *w.client;
  auto t = Clock::now();
  try {
    co_await stress_forget_doubtful(w);
    auto listed = co_await c.list(w.dir);
    for (const auto& f : w.uploads) {
      auto it = std::find_if(listed.begin(), listed.end(), [&](const ferry::FileInfo& i) { return i.name == f.name; });
      if (it == listed.end()) {
        ++w.files_lost;
        sh.fail(op_final, w.id, w.dir + "/" + f.name + ": lost (not in the listing)");
        continue;
      }
      try {
        co_await stress_check_file(c, w.dir + "/" + f.name, f);
        ++w.files_checked;
      } catch (const std::exception& e) {
        ++w.files_corrupted;
        sh.fail(op_final, w.id, e.what());
      }
    }
    for (const auto& i : listed) {
      if (std::none_of(w.uploads.begin(), w.uploads.end(), [&](const KnownFile& f) { return f.name == i.name; })) {
        ++w.files_unexpected;
        sh.fail(op_final, w.id, w.dir + "/" + i.name + ": unexpected file (" + std::to_string(i.size) + " bytes)");
      }
    }
    sh.kinds[op_final].record(seconds_since(t));
  } catch (const std::exception& e) {
    sh.fail(op_final, w.id, e.what());
    w.files_lost = static_cast<unsigned>(w.uploads.size()) - w.files_checked - w.files_corrupted;  // unconfirmed
  }
  co_await c.quit();
}

// Runs `body` on one logged-in session on the pool's first thread and waits for it: the
// error text when the login or `body` threw, nullopt when all went well.
std::optional<std::string> on_one_session(Pool& pool, const Options& o,
                                          const std::function<asio::awaitable<void>(FtpClient&)>& body) {
  Latch done(1);
  std::optional<std::string> error;
  asio::co_spawn(
      pool.at(0),
      [&]() -> asio::awaitable<void> {
        auto c = make_client(pool.at(0), o);
        try {
          co_await open_session(*c, o);
          co_await body(*c);
        } catch (const std::exception& e) {
          error = e.what();
        }
        co_await c->quit();
        done.done();
      },
      asio::detached);
  done.wait();
  return error;
}

int run_stress(const Options& o) {
  Pool pool(o.threads);
  StressShared sh(o);
  sh.seeds = seed_files(o.seed);
  sh.top = o.dir;
  // Set-up on one session: the directories and the seed files, each checked with HASH.
  auto setup_failed = on_one_session(pool, o, [&](FtpClient& c) -> asio::awaitable<void> {
    co_await c.type_binary();
    co_await c.make_directory(sh.top);
    co_await c.make_directory(sh.top + "/seed");
    for (const auto& f : sh.seeds) {
      const std::string path = sh.top + "/seed/" + f.name;
      co_await c.store(path, content_source(f.seed, 0, f.size), 0, f.size, {});
      co_await stress_check_file(c, path, f);
    }
  });
  if (setup_failed) {
    std::fprintf(stderr, "ferry-loadgen: stress set-up failed: %s\n", setup_failed->c_str());
    return 1;
  }
  std::vector<Worker> workers(o.sessions);
  std::atomic<unsigned> logging_in{0};
  const unsigned login_limit = o.clients > 1 ? o.clients : 32;
  auto t0 = Clock::now();
  sh.stop_at = t0 + std::chrono::milliseconds(static_cast<long>(o.seconds * 1000));
  {
    Latch finished(o.sessions);
    for (unsigned i = 0; i < o.sessions; ++i) {
      Worker& w = workers[i];
      w.id = i;
      w.rng.seed(splitmix64(o.seed ^ (0x10000 + i)));
      char dir[64];
      std::snprintf(dir, sizeof dir, "/w%03u", i);
      w.dir = sh.top + dir;
      asio::io_context& io = pool.at(i);
      asio::co_spawn(
          io,
          [&, &w = w, &io = io]() -> asio::awaitable<void> {
            co_await stress_worker(sh, w, io, logging_in, login_limit);
            finished.done();
          },
          asio::detached);
    }
    finished.wait();
  }
  const double elapsed = seconds_since(t0);
  {
    Latch checked(o.sessions);
    for (unsigned i = 0; i < o.sessions; ++i) {
      asio::co_spawn(
          pool.at(i),
          [&, i]() -> asio::awaitable<void> {
            co_await stress_final(sh, workers[i], pool.at(i));
            checked.done();
          },
          asio::detached);
    }
    checked.wait();
  }
  // The seed files too must be unchanged after the run.
  auto seeds_failed = on_one_session(pool, o, [&](FtpClient& c) -> asio::awaitable<void> {
    for (const auto& f : sh.seeds) co_await stress_check_file(c, sh.top + "/seed/" + f.name, f);
  });
  if (seeds_failed) sh.fail(op_final, 0, "seed files: " + *seeds_failed);
  const bool seeds_ok = !seeds_failed;
  pool.join();
  // A manifest of what must be on disk, for an independent check that bypasses the server.
  if (!o.manifest.empty()) {
    if (FILE* m = std::fopen(o.manifest.c_str(), "w")) {
      for (const auto& f : sh.seeds) {
        std::fprintf(m, "%s/seed/%s %llu %s\n", sh.top.c_str(), f.name.c_str(), static_cast<unsigned long long>(f.size),
                     sha256_of_content(f.seed, f.size).c_str());
      }
      for (const auto& w : workers) {
        for (const auto& f : w.uploads) {
          std::fprintf(m, "%s/%s %llu %s\n", w.dir.c_str(), f.name.c_str(), static_cast<unsigned long long>(f.size),
                       sha256_of_content(f.seed, f.size).c_str());
        }
      }
      std::fclose(m);
    }
  }
  Stats total;
  unsigned checked = 0, lost = 0, corrupted = 0, unexpected = 0;
  for (const auto& w : workers) {
    checked += w.files_checked;
    lost += w.files_lost;
    corrupted += w.files_corrupted;
    unexpected += w.files_unexpected;
  }
  std::string per_kind = ",\"kinds\":{";
  for (std::size_t k = 0; k < op_kinds; ++k) {
    Stats& s = sh.kinds[k];
    total.ok += s.ok;
    total.errors += s.errors;
    total.bytes += s.bytes;
    total.latencies.insert(total.latencies.end(), s.latencies.begin(), s.latencies.end());
    char buf[256];
    std::snprintf(buf, sizeof buf, "%s\"%s\":{\"ok\":%u,\"errors\":%u,\"bytes\":%llu,\"p50\":%.6f,\"p99\":%.6f}",
                  k ? "," : "", op_names[k], s.ok, s.errors, static_cast<unsigned long long>(s.bytes),
                  percentile(s.latencies, 0.50), percentile(s.latencies, 0.99));
    per_kind += buf;
  }
  per_kind += "}";
  char extra[400];
  std::snprintf(extra, sizeof extra,
                ",\"sessions\":%u,\"seconds\":%.1f,\"seed\":%llu,\"files_checked\":%u,\"files_lost\":%u,"
                "\"files_corrupted\":%u,\"files_unexpected\":%u,\"seeds_ok\":%s,\"errors_printed\":%u",
                o.sessions, o.seconds, static_cast<unsigned long long>(o.seed), checked, lost, corrupted, unexpected,
                seeds_ok ? "true" : "false", std::min(sh.printed.load(), 200u));
  print_summary("stress", o, total, elapsed, extra + per_kind);
  return total.errors == 0 && lost == 0 && corrupted == 0 && unexpected == 0 && seeds_ok ? 0 : 1;
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
    if (o.mode == "stress") return run_stress(o);
    return run_hold(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ferry-loadgen: %s\n", e.what());
    return 1;
  }
}
