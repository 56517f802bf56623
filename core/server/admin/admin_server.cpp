// The admin listener: connections, requests, event streams (see admin_server.hpp).
#include "server/admin/admin_server.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <unordered_set>

#include "server/admin/api.hpp"
#include "server/admin/event_feed.hpp"
#include "server/admin/http_codec.hpp"
#include "server/admin/metrics.hpp"
#include "server/listener.hpp"
#include "server/log.hpp"
#include "server/server.hpp"
#include "server/server_state.hpp"
#include "server/with_timeout.hpp"

namespace ferry::admin {

namespace {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

// How often an event stream carries the status, sessions and bans (progress bars move).
constexpr auto stream_tick = std::chrono::seconds(1);
// Events a new event stream starts with (the console's "last events").
constexpr std::size_t stream_backlog = 50;
constexpr std::size_t kept_events = 200;

// Runs `on_exit` when it goes out of scope (also when the coroutine's frame is destroyed).
template <class F>
struct OnExit {
  F f;
  ~OnExit() { f(); }
};
template <class F>
OnExit(F) -> OnExit<F>;

// A refusal's bytes; the connection closes after it. (Made outside any co_await
// expression: g++ 12 mis-moves temporaries there.)
std::string error_bytes(int status, std::string_view text) {
  HttpResponse response;
  response.status = status;
  response.body = "{\"error\":\"" + json_escape(text) + "\"}\n";
  response.keep_alive = false;
  return serialize(response);
}

// The TCP socket under a connection, plain or TLS.
tcp::socket& raw_socket(tcp::socket& socket) { return socket; }
tcp::socket& raw_socket(asio::ssl::stream<tcp::socket&>& stream) { return stream.next_layer(); }

}  // namespace

struct AdminServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(Server& s, std::shared_ptr<ServerRuntime> rt, const Config& c, AdminLimits l)
      : server(s),
        runtime(rt),
        config(c.admin),
        limits(l),
        metrics(std::make_shared<Metrics>()),
        feed(std::make_shared<EventFeed>(kept_events)),
        api(s, rt, *metrics, rt->bans, c.admin.tls) {}

  asio::awaitable<void> accept_loop(tcp::acceptor& acceptor) {
    auto self = shared_from_this();
    while (acceptor.is_open()) {
      auto [ec, socket] = co_await acceptor.async_accept(as_tuple_awaitable);
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
        log_error("admin: accept failed: ", ec.message());
        asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(as_tuple_awaitable);
        continue;
      }
      if (stopping) co_return;
      if (connections >= limits.connections) {
        // The client learns why, within a second at most; past as many refusals again at
        // once, the connection just closes.
        if (refusing < limits.connections) {
          asio::co_spawn(acceptor.get_executor(), refuse_busy(std::move(socket)), asio::detached);
        }
        continue;
      }
      asio::co_spawn(acceptor.get_executor(), run_connection(std::move(socket)), [](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log_error("admin: connection ended with an error: ", ex.what());
        }
      });
    }
  }

  asio::awaitable<void> refuse_busy(tcp::socket socket) {
    auto self = shared_from_this();
    ++refusing;
    OnExit done{[this] { --refusing; }};
    std::string bytes = error_bytes(503, "too many console connections");
    if (co_await write(socket, std::move(bytes))) co_await linger(socket);
  }

  asio::awaitable<void> run_connection(tcp::socket socket) {
    auto self = shared_from_this();
    ++connections;
    sockets.insert(&socket);
    OnExit done{[this, &socket] {
      --connections;
      sockets.erase(&socket);
    }};
    std::error_code ec;
    const asio::ip::address peer = socket.remote_endpoint(ec).address();
    if (ec) co_return;
    if (!config.tls) {
      co_await serve(socket, peer);
      co_return;
    }
    std::shared_ptr<asio::ssl::context> context = server.current()->tls;  // the certificate in force
    if (!context) co_return;
    asio::ssl::stream<tcp::socket&> tls(socket, *context);
    auto [handshake] = co_await with_timeout(tls.async_handshake(asio::ssl::stream_base::server, as_tuple_awaitable),
                                             limits.request_timeout);
    if (handshake) co_return;
    co_await serve(tls, peer);
  }

  // After a refusal: stop sending, and read what the client still sends for a moment
  // before closing. Closing with unread data makes the kernel reset the connection,
  // which can destroy the refusal before the client has read it.
  template <class Stream>
  asio::awaitable<void> linger(Stream& stream) {
    tcp::socket& socket = raw_socket(stream);
    std::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    std::array<char, 4096> sink;
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    for (std::size_t drained = 0; drained < 1024 * 1024;) {
      auto [ec, n] = co_await with_timeout(socket.async_read_some(asio::buffer(sink), as_tuple_awaitable),
                                           deadline);
      if (ec) break;
      drained += n;
    }
  }

  template <class Stream>
  asio::awaitable<bool> write(Stream& stream, std::string bytes) {  // by value: kept in the frame
    auto [ec, n] = co_await with_timeout(asio::async_write(stream, asio::buffer(bytes), as_tuple_awaitable),
                                         limits.write_timeout);
    co_return !ec;
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, const asio::ip::address& peer) {
    std::string pending;
    std::array<char, 4096> buffer;
    bool first = true;
    while (!stopping) {
      HttpRequestReader reader(limits.header_bytes, limits.body_bytes);
      // A request must arrive whole within request_timeout of its first byte (slowloris);
      // between requests a connection may idle for idle_timeout.
      const auto idle_deadline = Clock::now() + (first ? limits.request_timeout : limits.idle_timeout);
      std::optional<Clock::time_point> request_deadline;
      Clock::time_point arrived = Clock::now();
      if (!pending.empty()) request_deadline = arrived + limits.request_timeout;
      for (;;) {
        if (!pending.empty()) pending.erase(0, reader.feed(pending));
        if (reader.state() != HttpRequestReader::State::need_more) break;
        auto [ec, n] = co_await with_timeout(stream.async_read_some(asio::buffer(buffer), as_tuple_awaitable),
                                             request_deadline ? *request_deadline : idle_deadline);
        if (ec == std::errc::timed_out) {
          if (request_deadline) {
            std::string bytes = error_bytes(408, "the request took too long");
            co_await write(stream, std::move(bytes));
          }
          co_return;
        }
        if (ec) {
          if (!request_deadline) co_return;  // closed between requests
          reader.end_of_input();
          break;
        }
        if (!request_deadline) {
          arrived = Clock::now();
          request_deadline = arrived + limits.request_timeout;
        }
        pending.append(buffer.data(), n);
      }
      if (reader.state() == HttpRequestReader::State::bad) {
        log_debug("admin: ", peer.to_string(), ": ", reader.error_text());
        std::string bytes = error_bytes(reader.error_status(), reader.error_text());
        if (co_await write(stream, std::move(bytes))) co_await linger(stream);
        co_return;
      }
      if (reader.state() != HttpRequestReader::State::done) co_return;
      HttpRequest request = reader.take();
      first = false;
      Api::Result result = co_await api.handle(request, peer, arrived);
      if (result.event_stream) {
        co_await event_stream(stream, std::move(result.response));
        co_return;
      }
      result.response.keep_alive = request.keep_alive && !stopping;
      std::string bytes = serialize(result.response);
      if (!co_await write(stream, std::move(bytes)) || !result.response.keep_alive) co_return;
    }
  }

  std::string state_message() const {
    return "event: state\ndata: {\"status\":" + api.status_json() + ",\"sessions\":" + api.sessions_json() +
           ",\"bans\":" + api.bans_json() + "}\n\n";
  }

  template <class Stream>
  asio::awaitable<void> event_stream(Stream& stream, HttpResponse head) {
    if (streams >= limits.event_streams) {
      std::string bytes = error_bytes(503, "too many event streams");
      co_await write(stream, std::move(bytes));
      co_return;
    }
    ++streams;
    feed->listen(1);
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer wake(executor);
    stream_timers.insert(&wake);
    OnExit done{[this, &wake] {
      --streams;
      feed->listen(-1);
      stream_timers.erase(&wake);
    }};
    std::string out = serialize_stream_head(head) + "retry: 3000\n\n";
    auto events = feed->since(0);
    std::uint64_t last = 0;
    const std::size_t skip = events.size() > stream_backlog ? events.size() - stream_backlog : 0;
    for (std::size_t i = skip; i < events.size(); ++i) {
      out += "event: event\ndata: " + Api::event_json(events[i].first, events[i].second) + "\n\n";
    }
    if (!events.empty()) last = events.back().first;
    auto next_tick = Clock::now();
    while (!stopping) {
      if (Clock::now() >= next_tick) {
        out += state_message();
        next_tick = Clock::now() + stream_tick;
      }
      if (!out.empty()) {
        std::string bytes = std::exchange(out, {});
        if (!co_await write(stream, std::move(bytes))) co_return;
        out.clear();
      }
      wake.expires_at(next_tick);
      co_await wake.async_wait(as_tuple_awaitable);
      for (auto& [seq, event] : feed->since(last)) {
        out += "event: event\ndata: " + Api::event_json(seq, event) + "\n\n";
        last = seq;
      }
    }
  }

  void wake_streams() {
    for (asio::steady_timer* timer : stream_timers) timer->cancel();
  }

  void stop() {
    stopping = true;
    for (auto& acceptor : acceptors) {
      std::error_code ignored;
      acceptor->close(ignored);
    }
    for (tcp::socket* socket : sockets) {
      std::error_code ignored;
      socket->shutdown(tcp::socket::shutdown_both, ignored);
      socket->close(ignored);
    }
  }

  Server& server;
  std::shared_ptr<ServerRuntime> runtime;
  AdminConfig config;
  AdminLimits limits;
  std::shared_ptr<Metrics> metrics;
  std::shared_ptr<EventFeed> feed;
  Api api;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;
  // The admin thread's own state (the server's main I/O thread): no locks.
  unsigned connections = 0;
  unsigned streams = 0;
  unsigned refusing = 0;  // connections past the limit being told so
  bool stopping = false;
  std::unordered_set<tcp::socket*> sockets;
  std::unordered_set<asio::steady_timer*> stream_timers;
};

AdminServer::AdminServer(Server& server, std::shared_ptr<ServerRuntime> runtime, const Config& config,
                         AdminLimits limits)
    : impl_(std::make_shared<Impl>(server, runtime, config, limits)) {
  runtime->events.subscribe(impl_->metrics);
  runtime->events.subscribe(impl_->feed);
  std::weak_ptr<Impl> weak = impl_;
  impl_->feed->on_new_events(server.main_context().get_executor(), [weak] {
    if (auto impl = weak.lock()) impl->wake_streams();
  });
}

// Its sockets belong to the server's io_context, which goes before coroutine frames that
// still hold Impl: the acceptors go now, while that context exists.
AdminServer::~AdminServer() {
  impl_->stop();
  impl_->acceptors.clear();
}

std::string AdminServer::bind() {
  asio::io_context& io = impl_->server.main_context();
  for (const ListenAddress& address : impl_->config.listen) {
    std::string error;
    auto acceptor = open_listener(io, address, error);
    if (!acceptor) return error + " ([admin] listen)";
    ListenAddress bound{address.host, acceptor->local_endpoint().port()};
    log_info("console on ", impl_->config.tls ? "https://" : "http://", to_string(bound), "/");
    impl_->acceptors.push_back(std::move(acceptor));
  }
  return {};
}

void AdminServer::start() {
  for (auto& acceptor : impl_->acceptors) {
    asio::co_spawn(impl_->server.main_context(), impl_->accept_loop(*acceptor), asio::detached);
  }
  impl_->server.on_shutdown([weak = std::weak_ptr<Impl>(impl_)] {
    if (auto impl = weak.lock()) impl->stop();
  });
}

}  // namespace ferry::admin
