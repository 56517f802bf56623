// Passive data connections and send helpers (see data_channel.hpp).
#include "server/data_channel.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/error.hpp>
#include <openssl/ssl.h>
#include <algorithm>
#include <cerrno>

#include "server/log.hpp"
#include "server/proxy_header_reader.hpp"
#include "server/proxy_protocol.hpp"
#include "server/tls_context.hpp"
#include "server/with_timeout.hpp"

namespace ferry {

namespace {

using asio::ip::tcp;
// TCP_NOTSENT_LOWAT of data connections: unsent bytes a socket may hold (see DataConnection).
constexpr std::size_t notsent_lowat = 32 * 1024;

// Waits until the socket is writable (or has bytes, or EOF, for wait_read), or the
// timeout passes (-> timed_out).
asio::awaitable<std::error_code> wait_ready(tcp::socket& socket, tcp::socket::wait_type what,
                                            std::chrono::seconds timeout) {
  auto [ec] = co_await with_timeout(socket.async_wait(what, as_tuple_awaitable), timeout);
  co_return ec;
}

}  // namespace

std::unique_ptr<PassiveListener> PassiveListener::open(const asio::any_io_executor& executor,
                                                       const asio::ip::address& local, PassivePorts& ports) {
  const tcp protocol = local.is_v6() ? tcp::v6() : tcp::v4();
  for (unsigned attempt = 0; attempt < ports.count(); ++attempt) {
    std::uint16_t port = ports.next();
    UniqueFd fd(::socket(protocol.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return nullptr;
    // The server closes data connections first, so their ports linger in TIME_WAIT: without
    // SO_REUSEADDR a busy client would exhaust the range within a minute.
    int on = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    tcp::endpoint endpoint(local, port);
    if (::bind(fd.get(), endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) continue;  // in use
    if (::listen(fd.get(), 1) != 0) continue;
    return std::unique_ptr<PassiveListener>(new PassiveListener(executor, std::move(fd), protocol, port));
  }
  return nullptr;
}

PassiveListener::PassiveListener(asio::any_io_executor executor, UniqueFd fd, tcp protocol, std::uint16_t port)
    : executor_(std::move(executor)), fd_(std::move(fd)), protocol_(protocol), port_(port) {}

PassiveListener::~PassiveListener() {
  if (kept_in_) kept_in_->release_kept();
}

bool PassiveListener::keep(PassivePorts& ports) noexcept {
  if (kept_in_ || !ports.reserve_kept()) return false;
  kept_in_ = &ports;
  return true;
}

void PassiveListener::reuse(const asio::ip::address& peer, std::uint64_t session_id, const EventBus& events) noexcept {
  if (kept_in_) std::exchange(kept_in_, nullptr)->release_kept();
  tcp::endpoint remote;
  for (unsigned n = 0; n < 64; ++n) {  // bounded: the backlog holds one or two
    socklen_t length = static_cast<socklen_t>(remote.capacity());
    UniqueFd stale(::accept4(listening_fd(), remote.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!stale) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // EAGAIN: none waiting
    }
    remote.resize(length);
    asio::ip::address from = remote.address();
    if (from.is_v6() && from.to_v6().is_v4_mapped()) from = asio::ip::make_address_v4(asio::ip::v4_mapped, from.to_v6());
    if (from == peer) continue;
    try {
      events.publish({.kind = EventKind::refused_intruder,
                      .level = LogLevel::warning,
                      .session = session_id,
                      .peer = peer.to_string(),
                      .target = from.to_string()});
    } catch (...) {
      // out of memory for the event: the connection is refused all the same
    }
  }
}

asio::awaitable<UniqueFd> PassiveListener::accept(asio::ip::address peer, std::chrono::seconds timeout,
                                                  std::uint64_t session_id, const EventBus& events,
                                                  const std::vector<AddressRange>& proxies, bool& proxied) {
  proxied = false;
  const int listening = listening_fd();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Clients connect before they send RETR or STOR: the connection is usually waiting
    // already, and is taken without the event loop or a timeout race.
    tcp::endpoint remote;
    socklen_t length = static_cast<socklen_t>(remote.capacity());
    UniqueFd accepted(::accept4(listening, remote.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!accepted) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN) co_return UniqueFd{};
      if (std::chrono::steady_clock::now() >= deadline) co_return UniqueFd{};  // timed out
      if (!acceptor_) {
        std::error_code ec;
        acceptor_.emplace(executor_);
        acceptor_->assign(protocol_, fd_.get(), ec);
        if (ec) co_return UniqueFd{};
        fd_.release();  // the acceptor owns it now
      }
      auto [ec] = co_await with_timeout(acceptor_->async_wait(tcp::acceptor::wait_read, as_tuple_awaitable), deadline);
      if (ec) co_return UniqueFd{};  // timed out, or closed
      continue;
    }
    remote.resize(length);
    asio::ip::address from = remote.address();
    if (from.is_v6() && from.to_v6().is_v4_mapped()) from = asio::ip::make_address_v4(asio::ip::v4_mapped, from.to_v6());
    if (is_proxy(proxies, from)) {
      // Through the balancer: its header says who connected to it.
      tcp::socket relayed(executor_);
      std::error_code ec;
      relayed.assign(protocol_, accepted.get(), ec);
      if (ec) continue;  // `accepted` still owns (and closes) the descriptor
      accepted.release();
      const auto header_deadline = std::min(deadline, std::chrono::steady_clock::now() + proxy_header_timeout);
      ProxyOrigin origin = co_await read_proxy_header(relayed, from, header_deadline);
      if (origin.ok && !origin.local && origin.client == peer) {
        proxied = true;
        co_return UniqueFd(relayed.release(ec));
      }
      relayed.close(ec);
      if (!origin.ok) {
        events.publish({.kind = EventKind::refused_proxy_header,
                        .level = LogLevel::warning,
                        .session = session_id,
                        .peer = from.to_string(),
                        .reason = "data connection from a proxy: " + origin.reason});
      } else if (!origin.local) {  // LOCAL: the balancer's health check, nobody's data
        events.publish({.kind = EventKind::refused_intruder,
                        .level = LogLevel::warning,
                        .session = session_id,
                        .peer = peer.to_string(),
                        .target = origin.client.to_string() + " via proxy " + from.to_string()});
      }
      continue;
    }
    if (from == peer) co_return accepted;
    // Someone else raced for our port: refuse them and keep waiting for the real client.
    std::string intruder = remote.address().to_string();
    events.publish({.kind = EventKind::refused_intruder,
                    .level = LogLevel::warning,
                    .session = session_id,
                    .peer = peer.to_string(),
                    .target = std::move(intruder)});
  }
}

DataConnection::DataConnection(const asio::any_io_executor& executor, tcp protocol, UniqueFd fd,
                               std::chrono::seconds timeout)
    : executor_(executor), protocol_(protocol), pending_(std::move(fd)), timeout_(timeout) {}

DataConnection::DataConnection(tcp::socket socket, std::chrono::seconds timeout)
    : executor_(socket.get_executor()), protocol_(tcp::v4()), socket_(std::move(socket)), timeout_(timeout) {
  std::error_code ignored;
  socket_->non_blocking(true, ignored);  // once: every transfer loop tries a direct call first
}

// Queue little beyond what the network takes: sendfile() then sends the data from this
// thread, instead of leaving megabytes queued for the kernel to transmit when the client's
// ACKs arrive, in the client's context (on loopback, on the client's CPU, which it needs to
// read). Measured: a 1 GiB download 2,800 -> 4,400 MiB/s, 200 concurrent ones 2,500 -> 3,400
// MiB/s, with less server CPU. In-flight data is not limited.
void DataConnection::limit_unsent_for(std::size_t bytes) noexcept {
  if (unsent_limited_ || bytes <= notsent_lowat) return;
  unsent_limited_ = true;
  int lowat = static_cast<int>(notsent_lowat);
  ::setsockopt(native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
}

tcp::socket& DataConnection::socket() {
  if (!socket_) {
    socket_.emplace(executor_);
    std::error_code ec;
    socket_->assign(protocol_, pending_.get(), ec);
    // Registered: the socket owns the descriptor. If not (epoll_ctl failed), it stays
    // closed, and every wait on it fails at once with bad_descriptor.
    if (!ec) {
      pending_.release();
      socket_->non_blocking(true, ec);  // asio's own flag: its direct calls must not block
    }
  }
  return *socket_;
}

DataConnection::~DataConnection() = default;

asio::awaitable<DataConnection::TlsResult> DataConnection::start_tls(asio::ssl::context& context, bool require_reuse) {
  tls_ = std::make_unique<TlsSocket>(socket(), context.native_handle(), TlsSocket::Use::data);
  // No TLS 1.3 session tickets here: a data connection is never resumed from, and a ticket
  // is a write the client does not read. An uploading client sends its data and closes at
  // once; the ticket, arriving after that, makes its kernel answer with a reset, which
  // throws away the upload still queued at our end (426 after ~112 KiB, 1 upload in 4).
  SSL_set_num_tickets(tls_->native_handle(), 0);
  // TLS sends small records that the client waits for: the handshake's, and close_notify
  // right behind a file's last bytes. With Nagle on, that close_notify waited for the
  // client's delayed ACK of the data: 40 ms per file (bench/results/notes.md, 2026-12-07).
  const int on = 1;
  ::setsockopt(native_handle(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (co_await tls_->handshake(timeout_)) co_return TlsResult::handshake_failed;
  if (require_reuse && !SSL_session_reused(tls_->native_handle())) co_return TlsResult::not_resumed;
  co_return TlsResult::ok;
}

std::optional<TlsSessionToken> DataConnection::resumed_session_token() {
  if (!tls_) return std::nullopt;
  return ferry::resumed_session_token(tls_->native_handle());
}

asio::awaitable<std::error_code> DataConnection::write_all(std::span<const char> data) {
  limit_unsent_for(data.size());
  if (!tls_) {
    while (!data.empty()) {
      auto [ec, n] = co_await when_ready(tcp::socket::wait_write, [&] {
        return ::send(native_handle(), data.data(), data.size(), MSG_NOSIGNAL);
      });
      if (ec) co_return ec;
      data = data.subspan(n);
    }
    co_return std::error_code{};
  }
  co_return co_await tls_->write_all(data, timeout_);
}

// The bytes (or the room) are usually there already: take them at once, and arm the
// timeout race only when the socket would block (one timer and two waits fewer a chunk).
template <typename Call>
asio::awaitable<std::pair<std::error_code, std::size_t>> DataConnection::when_ready(tcp::socket::wait_type what,
                                                                                     Call call) {
  while (true) {
    ssize_t n = call();
    if (n > 0) co_return std::pair{std::error_code{}, static_cast<std::size_t>(n)};
    if (n == 0) co_return std::pair{std::error_code(asio::error::eof), std::size_t{0}};
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return std::pair{std::error_code(errno, std::system_category()), std::size_t{0}};
    if (auto wait_ec = co_await wait_ready(socket(), what, timeout_)) co_return std::pair{wait_ec, std::size_t{0}};
  }
}

namespace {

class ProxyHeaderInDataCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry.proxy"; }
  std::string message(int) const override {
    return "it started with a PROXY header, which no one may send there (not in server.proxy_protocol_from): "
           "refused, nothing written";
  }
};

}  // namespace

std::error_code proxy_header_in_data_error() {
  static const ProxyHeaderInDataCategory category;
  return {1, category};
}

asio::awaitable<std::error_code> DataConnection::refuse_proxy_header() {
  check_first_bytes_ = false;
  // The v2 signature is 12 bytes, "PROXY " 6: a header sent by a proxy arrives whole, in
  // one segment. Fewer bytes that could begin one are given a moment to grow (a tiny
  // upload that happens to start like one then goes through).
  constexpr int max_waits = 10;
  for (int waits = 0;; ++waits) {
    char first[16];
    const ssize_t n = ::recv(native_handle(), first, sizeof first, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (auto ec = co_await wait_ready(socket(), tcp::socket::wait_read, timeout_)) co_return ec;
      continue;
    }
    if (n <= 0) co_return std::error_code{};  // EOF or an error: the read itself reports it
    const std::string_view bytes(first, static_cast<std::size_t>(n));
    if (proxy_protocol::looks_like_header(bytes, screen_v1_)) co_return proxy_header_in_data_error();
    if (!proxy_protocol::may_become_header(bytes, screen_v1_) || waits == max_waits) co_return std::error_code{};
    asio::steady_timer pause(executor_, std::chrono::milliseconds(20));
    co_await pause.async_wait(as_tuple_awaitable);
  }
}

asio::awaitable<std::pair<std::error_code, std::size_t>> DataConnection::read_some(std::span<char> buffer) {
  if (check_first_bytes_ && !tls_) {
    if (auto ec = co_await refuse_proxy_header()) co_return std::pair{ec, std::size_t{0}};
  }
  if (!tls_) {
    co_return co_await when_ready(tcp::socket::wait_read,
                                  [&] { return ::recv(native_handle(), buffer.data(), buffer.size(), 0); });
  }
  auto [ec, n] = co_await tls_->read_some(buffer, timeout_);
  // A TLS peer that closes without close_notify still ends the upload.
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
  co_return std::pair{ec, n};
}

asio::awaitable<std::pair<std::error_code, std::size_t>> DataConnection::splice_some(int pipe_fd, std::size_t count) {
  if (check_first_bytes_) {
    if (auto ec = co_await refuse_proxy_header()) co_return std::pair{ec, std::size_t{0}};
  }
  // Non-blocking on both ends: the pipe is empty, so EAGAIN means the socket is.
  co_return co_await when_ready(tcp::socket::wait_read, [&] {
    return ::splice(native_handle(), nullptr, pipe_fd, nullptr, count, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
  });
}

asio::awaitable<void> DataConnection::close() {
  std::error_code ignored;
  if (tls_) {
    co_await tls_->shutdown(std::chrono::seconds(2));
  }
  // close() alone sends the FIN (our receive side is drained: uploads read to EOF, and a
  // download's client sends nothing); a separate shutdown() would only cost a call.
  if (socket_) socket_->close(ignored);
  pending_.reset();
}

std::error_code DataConnection::try_send_file(int file_fd, std::uint64_t offset, std::uint64_t count,
                                             ByteCounter& sent) {
  limit_unsent_for(count);
  while (count > 0) {
    off_t position = static_cast<off_t>(offset);
    std::size_t chunk = count > (1u << 30) ? (1u << 30) : static_cast<std::size_t>(count);
    ssize_t n = ::sendfile(native_handle(), file_fd, &position, chunk);
    if (n > 0) {
      offset += static_cast<std::uint64_t>(n);
      count -= static_cast<std::uint64_t>(n);
      sent += static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) return std::make_error_code(std::errc::io_error);  // the file shrank under us
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return {};
    return std::error_code(errno, std::system_category());
  }
  return {};
}

asio::awaitable<std::error_code> DataConnection::send_file(int file_fd, std::uint64_t offset, std::uint64_t count,
                                                           ByteCounter& sent) {
  std::uint64_t end = offset + count;
  while (true) {
    std::uint64_t before = sent;
    if (auto ec = try_send_file(file_fd, offset, end - offset, sent)) co_return ec;
    offset += sent - before;
    if (offset == end) co_return std::error_code{};
    if (auto wait_ec = co_await wait_ready(socket(), tcp::socket::wait_write, timeout_)) co_return wait_ec;
  }
}

}  // namespace ferry
