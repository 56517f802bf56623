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
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>
#include <thread>

#include "server/log.hpp"
#include "server/session.hpp"

namespace ferry {

namespace {

using asio::ip::tcp;

// How long the server must stay without sessions before it gives free memory back.
constexpr auto idle_before_trim = std::chrono::seconds(1);

}  // namespace

struct Server::Impl {
  Impl(std::shared_ptr<ServerState> s, unsigned w)
      : state(std::move(s)),
        workers(w),
        io(static_cast<int>(w)),
        signals(io, SIGINT, SIGTERM),
        trim_strand(asio::make_strand(io)),
        trim_timer(trim_strand) {}

  asio::awaitable<void> run_session(tcp::socket socket, bool implicit_tls) {
    std::uint64_t id = state->next_session_id.fetch_add(1, std::memory_order_relaxed);
    {
      Session session(state, std::move(socket), id, implicit_tls);
      co_await session.run();
    }
    if (state->sessions.size() == 0) release_memory_when_idle();
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
    asio::post(trim_strand, [this] {
      trim_timer.expires_after(idle_before_trim);
      trim_timer.async_wait([this](std::error_code ec) {
        if (ec || state->sessions.size() != 0) return;
        asio::post(state->blocking, [] {
          const bool released = ::malloc_trim(0) != 0;
          log_debug("no session for a second: free memory ", released ? "returned to the system" : "already returned");
        });
      });
    });
#endif
  }

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, bool implicit_tls) {
    while (acceptor.is_open()) {
      // Each session gets its own strand: its handlers never run on two threads at once.
      auto [ec, socket] = co_await acceptor.async_accept(asio::make_strand(io),
                                                         asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        // Out of descriptors and the like: log, pause briefly, keep serving.
        log_error("accept failed: ", ec.message());
        asio::steady_timer pause(io, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
        continue;
      }
      auto executor = socket.get_executor();
      asio::co_spawn(executor, run_session(std::move(socket), implicit_tls), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log_error("session ended with an error: ", ex.what());
        }
      });
    }
  }

  // After shutdown was requested: waits (bounded) until every session has ended.
  asio::awaitable<void> drain() {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(state->config.shutdown_timeout);
    asio::steady_timer tick(io);
    while (state->sessions.size() > 0 && std::chrono::steady_clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(50));
      co_await tick.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    }
    if (std::size_t left = state->sessions.size()) {
      // Close what is still busy and let those sessions unwind on their own strands:
      // coroutines left suspended would only be torn down with the io_context, too late.
      log_info("shutdown: closing ", left, " session(s) still busy");
      state->sessions.post_to_all(&Session::force_close);
      auto grace = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (state->sessions.size() > 0 && std::chrono::steady_clock::now() < grace) {
        tick.expires_after(std::chrono::milliseconds(20));
        co_await tick.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      }
    }
    io.stop();
  }

  std::shared_ptr<ServerState> state;
  unsigned workers;
  asio::io_context io;
  asio::signal_set signals;
  asio::strand<asio::io_context::executor_type> trim_strand;
  asio::steady_timer trim_timer;  // on trim_strand
  struct Listener {
    std::unique_ptr<tcp::acceptor> acceptor;
    bool implicit_tls;
  };
  std::vector<Listener> acceptors;
};

Server::Server(std::shared_ptr<ServerState> state, unsigned workers)
    : impl_(std::make_unique<Impl>(std::move(state), workers == 0 ? 1 : workers)) {}

Server::~Server() = default;

std::string Server::bind(const std::vector<ListenAddress>& addresses, bool implicit_tls) {
  for (const ListenAddress& address : addresses) {
    std::error_code ec;
    auto ip = asio::ip::make_address(address.host, ec);
    if (ec) return "cannot listen on " + to_string(address) + ": " + ec.message();
    tcp::endpoint endpoint(ip, address.port);
    auto acceptor = std::make_unique<tcp::acceptor>(impl_->io);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return "cannot listen on " + to_string(address) + ": " + ec.message();
    ListenAddress bound{address.host, acceptor->local_endpoint().port()};
    log_info(implicit_tls ? "listening (implicit FTPS) on " : "listening on ", to_string(bound));
    impl_->acceptors.push_back(Impl::Listener{std::move(acceptor), implicit_tls});
  }
  return {};
}

int Server::run() {
  Impl& impl = *impl_;
  for (auto& listener : impl.acceptors) {
    asio::co_spawn(impl.io, impl.accept_loop(*listener.acceptor, listener.implicit_tls), asio::detached);
  }
  impl.signals.async_wait([&impl](std::error_code ec, int signal) {
    if (ec) return;
    for (auto& listener : impl.acceptors) {
      std::error_code ignored;
      listener.acceptor->close(ignored);
    }
    log_info("received ", signal == SIGINT ? "SIGINT" : "SIGTERM", ", shutting down: ", impl.state->sessions.size(),
             " session(s) open, transfers may finish within ", impl.state->config.shutdown_timeout, " s");
    impl.state->sessions.post_to_all(&Session::request_shutdown);
    asio::co_spawn(impl.io, impl.drain(), asio::detached);
    // A second signal stops at once.
    impl.signals.async_wait([&impl](std::error_code second, int) {
      if (second) return;
      log_info("second signal: stopping now");
      impl.io.stop();
    });
  });
  std::vector<std::thread> threads;
  for (unsigned i = 1; i < impl.workers; ++i) threads.emplace_back([&impl] { impl.io.run(); });
  impl.io.run();
  for (auto& t : threads) t.join();
  log_info("stopped");
  return 0;
}

}  // namespace ferry
