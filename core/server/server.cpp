// The server's accept loops, I/O threads and signal handling (see server.hpp).
#include "server/server.hpp"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include <sched.h>
#include <sys/resource.h>

#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/poll_window.hpp"
#include "server/proxy_header_reader.hpp"
#include "server/session.hpp"
#include "server/systemd_notify.hpp"

namespace ferry {

namespace {

using asio::ip::tcp;

// How long the server must stay without sessions before it gives free memory back.
constexpr auto idle_before_trim = std::chrono::seconds(1);

// This thread's involuntary context switches so far (a sched_yield that let another task
// run counts as one).
long involuntary_switches() {
  rusage usage{};
  ::getrusage(RUSAGE_THREAD, &usage);
  return usage.ru_nivcsw;
}

// Runs `context` on this thread until it is stopped. After each burst of events the
// thread keeps polling before it sleeps in epoll_wait: on a virtual machine a sleeping
// CPU takes ~20 us to wake (a pipe ping-pong between two CPUs here takes 42 us a round
// trip, 7-11 us when one side polls), which is a large part of an FTP command's round trip
// on loopback. How long it polls adapts (PollWindow) up to `busy_poll`; the poll yields
// the CPU to anything else runnable, and an idle server sleeps.
void run_io_thread(asio::io_context& context, std::chrono::microseconds busy_poll) {
  if (busy_poll.count() == 0) {
    context.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  PollWindow window(busy_poll);
  while (!context.stopped()) {
    auto asleep = clock::now();
    if (context.run_one() == 0) break;  // stopped, or out of work
    auto idle_since = clock::now();
    window.after_sleep(idle_since - asleep, idle_since);
    long switches = window.current().count() > 0 ? involuntary_switches() : 0;
    while (!context.stopped()) {
      if (context.poll() > 0) {
        idle_since = clock::now();
        continue;
      }
      auto now = clock::now();
      if (now - idle_since >= window.current()) break;  // idle long enough: sleep in run_one()
      sched_yield();
      // A slow yield: another task ran (the yield counted as an involuntary switch), or
      // only the hypervisor or an interrupt held the CPU, where sleeping would not help.
      auto back = clock::now();
      if (back - now > PollWindow::lost_cpu_after / 10) {
        long now_switches = involuntary_switches();
        if (back - now > PollWindow::lost_cpu_after && now_switches != switches) {
          window.lost_cpu(back);  // another task wants this CPU: sleep, to be woken
          break;
        }
        switches = now_switches;  // a kernel thread's brief turn: the next yield is judged alone
      }
    }
  }
}

}  // namespace

struct Server::Impl {
  Impl(std::shared_ptr<ServerState> s, unsigned w)
      : runtime(s->runtime),
        state(std::move(s)),
        contexts(make_contexts(w)),
        io(*contexts.front()),
        signals(io, SIGINT, SIGTERM),
        hangup(io, SIGHUP),
        trim_timer(io) {}

  // One io_context per I/O thread, each run by that thread alone. A session stays on the
  // context it was given, so its handlers never run concurrently (no strand needed), and
  // one session's wake-ups never disturb the other threads.
  static std::vector<std::unique_ptr<asio::io_context>> make_contexts(unsigned count) {
    std::vector<std::unique_ptr<asio::io_context>> out;
    for (unsigned i = 0; i < count; ++i) out.push_back(std::make_unique<asio::io_context>(1));
    return out;
  }

  // Where the next session lives: round robin over the I/O threads.
  asio::io_context& next_context() {
    return *contexts[next_session_context.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
  }

  void stop_all() {
    for (auto& context : contexts) context->stop();
  }

  // The generation new sessions start with.
  std::shared_ptr<ServerState> current() {
    std::lock_guard lock(state_mutex);
    return state;
  }

  asio::awaitable<void> run_session(std::shared_ptr<ServerState> generation, tcp::socket socket, bool implicit_tls) {
    std::uint64_t id = runtime->next_session_id.fetch_add(1, std::memory_order_relaxed);
    std::optional<ProxyOrigin> origin;
    if (!generation->config.proxy_protocol_from.empty()) {
      origin = co_await take_proxy_header(*generation, socket, id);
      if (origin && !origin->ok) co_return;
    }
    {
      Session session(std::move(generation), std::move(socket), id, implicit_tls, origin ? &*origin : nullptr);
      co_await session.run();
    }
    if (runtime->sessions.size() == 0) release_memory_when_idle();
  }

  // A connection from a configured proxy starts with its PROXY header (before the TLS
  // handshake too, on an implicit FTPS listener): read it here, before the session exists.
  // nullopt: not from a proxy. A refusal is logged and closes the connection.
  asio::awaitable<std::optional<ProxyOrigin>> take_proxy_header(const ServerState& generation, tcp::socket& socket,
                                                                std::uint64_t id) {
    std::error_code ec;
    auto remote = socket.remote_endpoint(ec);
    if (ec) co_return std::nullopt;  // reset already: the session finds no peer and ends
    asio::ip::address peer = remote.address();
    if (peer.is_v6() && peer.to_v6().is_v4_mapped()) peer = asio::ip::make_address_v4(asio::ip::v4_mapped, peer.to_v6());
    if (!is_proxy(generation.config.proxy_protocol_from, peer)) co_return std::nullopt;
    ProxyOrigin origin =
        co_await read_proxy_header(socket, peer, std::chrono::steady_clock::now() + proxy_header_timeout);
    if (!origin.ok) {
      runtime->events.publish({.kind = EventKind::refused_proxy_header,
                               .level = LogLevel::warning,
                               .session = id,
                               .peer = peer.to_string(),
                               .reason = "from a proxy: " + origin.reason});
      socket.close(ec);
    }
    co_return origin;
  }

  // glibc keeps what a thread frees in that thread's arena for reuse, so after a burst of
  // sessions (their transfer buffers, listings, coroutine frames, spread over the I/O and
  // blocking threads) an idle ferryd stayed megabytes above its size before the burst
  // (bench/stress: 6.8 MiB PSS before 500 sessions, 12 MiB after). Once the last session
  // has gone and none came for idle_before_trim, malloc_trim gives the free pages back;
  // it runs on the blocking pool, as it walks and locks every arena. A new session
  // that ends restarts the wait, so a busy server never trims.
  void release_memory_when_idle() {
#ifdef __GLIBC__
    asio::post(io, [this] {  // the timer belongs to the first context's thread
      trim_timer.expires_after(idle_before_trim);
      trim_timer.async_wait([this](std::error_code ec) {
        if (ec || runtime->sessions.size() != 0) return;
        asio::post(runtime->blocking, [] {
          const bool released = ::malloc_trim(0) != 0;
          log_debug("no session for a second: free memory ", released ? "returned to the system" : "already returned");
        });
      });
    });
#endif
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool implicit_tls) {
    // Out of descriptors and the like: log, pause briefly, keep serving. The log says it once
    // a minute while it lasts, and when accepting works again.
    constexpr auto report_every = std::chrono::seconds(60);
    std::uint64_t failures = 0;
    std::chrono::steady_clock::time_point reported{};
    while (acceptor.is_open()) {
      auto [ec, socket] = co_await acceptor.async_accept(next_context(), asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        const auto now = std::chrono::steady_clock::now();
        if (++failures == 1 || now - reported >= report_every) {
          log_error("accept failed: ", ec.message(), failures == 1 ? "" : " (still; " + std::to_string(failures) + " failed attempts)");
          reported = now;
        }
        asio::steady_timer pause(io, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        continue;
      }
      if (failures > 0) {
        log_info("accepting connections again after ", failures, " failed attempts");
        failures = 0;
      }
      auto executor = socket.get_executor();
      asio::co_spawn(executor, run_session(current(), std::move(socket), implicit_tls), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log_error("session ended with an error: ", ex.what());
        }
      });
    }
  }

  // Waits until the last session has gone (the registry says so), or until `within`.
  asio::awaitable<void> sessions_gone(std::chrono::steady_clock::duration within) {
    // Shared with the registry's wish, which may fire after this wait timed out.
    auto wait = std::make_shared<asio::steady_timer>(io, within);
    runtime->sessions.when_empty([this, wait] { asio::post(io, [wait] { wait->cancel(); }); });
    co_await wait->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }

  // After shutdown was requested (each session asked to end): a bounded wait for them,
  // then the rest are closed, and a short wait for those to unwind on their own threads
  // (coroutines left suspended would only be torn down with the io_context, too late).
  asio::awaitable<void> drain() {
    SessionRegistry& sessions = runtime->sessions;
    co_await sessions_gone(std::chrono::seconds(current()->config.shutdown_timeout));
    if (std::size_t left = sessions.size()) {
      log_info("shutdown: closing ", left, " session(s) still busy");
      sessions.post_to_all(&Session::force_close);
      co_await sessions_gone(std::chrono::seconds(5));
    }
    stop_all();
  }

  void wait_for_hangup() {
    hangup.async_wait([this](std::error_code ec, int) {
      if (ec) return;
      reload();
      wait_for_hangup();
    });
  }

  // SIGHUP: the next generation is made on the blocking pool (it reads files and loads
  // plugins), then swapped in on an I/O thread. One reload at a time; a SIGHUP during one
  // runs another right after it. Runs on `io`'s thread.
  void reload() {
    if (!reloader) {
      log_warning("received SIGHUP: this server cannot reload, ignored");
      for (auto& done : std::exchange(reload_waiters, {})) done("this server cannot reload");
      return;
    }
    if (reloading.exchange(true)) {
      reload_again = true;
      return;
    }
    reload_running_waiters = std::exchange(reload_waiters, {});
    std::shared_ptr<ServerState> running = current();
    // The console's reload has logged who asked; a signal says it was one.
    log_info(reload_running_waiters.empty() ? "received SIGHUP: " : "", "reloading ", running->config.file);
    tell_systemd(systemd_reloading_state());
    asio::post(runtime->blocking, [this, running] {
      std::string error;
      std::shared_ptr<ServerState> next;
      // Nothing a reload throws may escape onto the pool (std::terminate): it is refused
      // like any broken configuration. The plugin host catches plugins' own exceptions
      // while their library is loaded; what arrives here is the core's.
      try {
        next = reloader(*running, error);
      } catch (const std::exception& e) {
        next = nullptr;
        error = std::string("unexpected error: ") + e.what();
      } catch (...) {
        next = nullptr;
        error = "unexpected error (not a std::exception)";
      }
      // A transfer log the new configuration names but cannot open refuses it, as at
      // start-up. Otherwise the running one is reopened all the same, so that log
      // rotation works.
      std::string log_error_text;
      if (next) {
        if (std::string why = runtime->transfer_log.open(next->config.log.xferlog); !why.empty()) {
          error = next->config.log.xferlog_at + ": [log] xferlog: " + why;
          next = nullptr;
        }
      }
      if (!next) log_error_text = runtime->transfer_log.open(running->config.log.xferlog);
      asio::post(io, [this, next = std::move(next), error = std::move(error), log_error_text]() mutable {
        if (!log_error_text.empty()) log_error("transfer log: ", log_error_text);
        finish_reload(std::move(next), error);
      });
    });
  }

  void finish_reload(std::shared_ptr<ServerState> next, const std::string& error) {
    const bool reloaded = next != nullptr;
    if (!next) {
      log_error("reload failed, the running configuration stays in force: ", error);
    } else if (!stopping) {
      runtime->reconfigure(next->config);
      set_log_format(next->config.log.format);
      {
        std::lock_guard lock(state_mutex);
        state = std::move(next);
      }
      log_info("reloaded ", current()->config.file, ": new sessions use it, ", runtime->sessions.size(),
               " session(s) in progress keep the previous configuration");
    }
    if (!stopping) tell_systemd(reloaded ? "READY=1\nSTATUS=serving" : "READY=1\nSTATUS=serving; the last reload failed");
    reloading = false;
    for (auto& done : std::exchange(reload_running_waiters, {})) done(reloaded ? std::string() : error);
    if (reload_again.exchange(false) && !stopping) reload();
  }

  std::shared_ptr<ServerRuntime> runtime;
  std::mutex state_mutex;
  std::shared_ptr<ServerState> state;
  Reloader reloader;
  // Who waits for the result of the next reload, and of the one running (io's thread only).
  std::vector<std::function<void(const std::string&)>> reload_waiters;
  std::vector<std::function<void(const std::string&)>> reload_running_waiters;
  std::vector<std::function<void()>> shutdown_hooks;
  std::atomic<bool> reloading{false};
  std::atomic<bool> reload_again{false};
  std::atomic<bool> stopping{false};
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  asio::io_context& io;  // the first context: accept loops, signals, reloads
  std::atomic<unsigned> next_session_context{0};
  asio::signal_set signals;
  asio::signal_set hangup;
  asio::steady_timer trim_timer;  // used on the first context's thread only
  struct Listener {
    std::unique_ptr<tcp::acceptor> acceptor;
    bool implicit_tls;
  };
  std::vector<Listener> acceptors;
  std::vector<Server::Bound> bound;
};

Server::Server(std::shared_ptr<ServerState> state, unsigned workers)
    : impl_(std::make_unique<Impl>(std::move(state), workers == 0 ? 1 : workers)) {}

Server::~Server() = default;

std::string Server::bind(const std::vector<ListenAddress>& addresses, bool implicit_tls) {
  for (const ListenAddress& address : addresses) {
    std::string error;
    auto acceptor = open_listener(impl_->io, address, error);
    if (!acceptor) return error;
    ListenAddress bound{address.host, acceptor->local_endpoint().port()};
    log_info(implicit_tls ? "listening (implicit FTPS) on " : "listening on ", to_string(bound));
    impl_->bound.push_back({to_string(bound), implicit_tls});
    impl_->acceptors.push_back(Impl::Listener{std::move(acceptor), implicit_tls});
  }
  return {};
}

void Server::on_reload(Reloader reloader) { impl_->reloader = std::move(reloader); }

std::shared_ptr<ServerState> Server::current() { return impl_->current(); }

void Server::reload(std::function<void(const std::string& error)> done) {
  asio::post(impl_->io, [impl = impl_.get(), done = std::move(done)]() mutable {
    if (impl->stopping) {
      done("the server is shutting down");
      return;
    }
    impl->reload_waiters.push_back(std::move(done));
    impl->reload();
  });
}

std::vector<Server::Bound> Server::bound() const { return impl_->bound; }

asio::io_context& Server::main_context() { return impl_->io; }

void Server::on_shutdown(std::function<void()> hook) { impl_->shutdown_hooks.push_back(std::move(hook)); }

int Server::run() {
  Impl& impl = *impl_;
  for (auto& listener : impl.acceptors) {
    asio::co_spawn(impl.io, impl.accept_loop(*listener.acceptor, listener.implicit_tls), asio::detached);
  }
  impl.wait_for_hangup();
  impl.signals.async_wait([&impl](std::error_code ec, int signal) {
    if (ec) return;
    impl.stopping = true;
    tell_systemd("STOPPING=1");
    for (auto& hook : impl.shutdown_hooks) hook();
    std::error_code ignored;
    impl.hangup.cancel(ignored);
    for (auto& listener : impl.acceptors) {
      std::error_code ignored;
      listener.acceptor->close(ignored);
    }
    log_info("received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down: ", impl.runtime->sessions.size(),
             " session(s) open, transfers may finish within ", impl.current()->config.shutdown_timeout, " s");
    impl.runtime->sessions.post_to_all(&Session::request_shutdown);
    asio::co_spawn(impl.io, impl.drain(), asio::detached);
    // A second signal stops at once.
    impl.signals.async_wait([&impl](std::error_code second, int) {
      if (second) return;
      log_info("second signal: stopping now");
      impl.stop_all();
    });
  });
  // The other contexts may have no session for a while: keep them running until stop_all().
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  for (auto& context : impl.contexts) keep_running.push_back(asio::make_work_guard(*context));
  std::chrono::microseconds busy_poll(impl.current()->config.busy_poll_us);
  std::vector<std::thread> threads;
  for (std::size_t i = 1; i < impl.contexts.size(); ++i) {
    threads.emplace_back([&context = *impl.contexts[i], busy_poll] { run_io_thread(context, busy_poll); });
  }
  run_io_thread(impl.io, busy_poll);
  for (auto& t : threads) t.join();
  log_info("stopped");
  return 0;
}

}  // namespace ferry
