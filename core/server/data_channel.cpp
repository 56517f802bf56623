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
#include <asio/read.hpp>
#include <asio/ssl/error.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>
#include <cerrno>

#include "server/log.hpp"

namespace ferry {

namespace {

using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
// TCP_NOTSENT_LOWAT of data connections: unsent bytes a socket may hold (see DataConnection).
constexpr std::size_t notsent_lowat = 32 * 1024;

// Waits until the socket is writable (or has bytes, or EOF, for wait_read), or the
// timeout passes (-> timed_out).
asio::awaitable<std::error_code> wait_ready(tcp::socket& socket, tcp::socket::wait_type what,
                                            std::chrono::seconds timeout) {
  asio::steady_timer timer(socket.get_executor(), timeout);
  auto result = co_await (socket.async_wait(what, as_tuple_awaitable) || timer.async_wait(as_tuple_awaitable));
  if (result.index() == 1) co_return std::make_error_code(std::errc::timed_out);
  auto [ec] = std::get<0>(result);
  co_return ec;
}

}  // namespace

std::unique_ptr<PassiveListener> PassiveListener::open(const asio::any_io_executor& executor,
                                                       const asio::ip::address& local, PassivePorts& ports) {
  for (unsigned attempt = 0; attempt < ports.count(); ++attempt) {
    std::uint16_t port = ports.next();
    tcp::acceptor acceptor(executor);
    std::error_code ec;
    tcp::endpoint endpoint(local, port);
    acceptor.open(endpoint.protocol(), ec);
    if (ec) return nullptr;
    // The server closes data connections first, so their ports linger in TIME_WAIT: without
    // SO_REUSEADDR a busy client would exhaust the range within a minute.
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
    if (ec) continue;  // in use: try the next port
    acceptor.listen(1, ec);
    if (ec) continue;
    return std::unique_ptr<PassiveListener>(new PassiveListener(std::move(acceptor), port));
  }
  return nullptr;
}

asio::awaitable<std::optional<tcp::socket>> PassiveListener::accept(asio::ip::address peer,
                                                                     std::chrono::seconds timeout,
                                                                     std::uint64_t session_id) {
  std::error_code ec;
  acceptor_.non_blocking(true, ec);
  if (ec) co_return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // Clients connect before they send RETR or STOR: the connection is usually waiting
    // already, and is taken without arming the timeout race.
    tcp::socket socket(acceptor_.get_executor());
    acceptor_.accept(socket, ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      if (std::chrono::steady_clock::now() >= deadline) co_return std::nullopt;  // timed out
      asio::steady_timer timer(acceptor_.get_executor(), deadline);
      auto result = co_await (acceptor_.async_wait(tcp::acceptor::wait_read, as_tuple_awaitable) ||
                              timer.async_wait(as_tuple_awaitable));
      if (result.index() == 1 || std::get<0>(std::get<0>(result))) co_return std::nullopt;  // timed out, or closed
      continue;
    }
    if (ec) co_return std::nullopt;
    std::error_code peer_ec;
    auto remote = socket.remote_endpoint(peer_ec);
    if (!peer_ec && remote.address() == peer) co_return std::move(socket);
    // Someone else raced for our port: refuse them and keep waiting for the real client.
    std::string intruder = peer_ec ? std::string("?") : remote.address().to_string();
    log_session(LogLevel::warning, session_id, "refused", {{"peer", peer.to_string()}, {"intruder", intruder},
                                                            {"reason", "data connection from another address"}},
                "refused data connection from ", intruder, " (control connection is from ", peer.to_string(), ")");
  }
}

DataConnection::DataConnection(tcp::socket socket, std::chrono::seconds timeout)
    : socket_(std::move(socket)), timeout_(timeout) {
  std::error_code ignored;
  socket_.non_blocking(true, ignored);  // once: every transfer loop tries a direct call first
  // Queue little beyond what the network takes: sendfile() then sends the data from this
  // thread, instead of leaving megabytes queued for the kernel to transmit when the
  // client's ACKs arrive, in the client's context (on loopback, on the client's CPU, which
  // it needs to read). Measured: a 1 GiB download 2,800 -> 4,400 MiB/s, 200 concurrent
  // ones 2,500 -> 3,400 MiB/s, with less server CPU. In-flight data is not limited.
  int lowat = static_cast<int>(notsent_lowat);
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
}

DataConnection::~DataConnection() = default;

asio::awaitable<DataConnection::TlsResult> DataConnection::start_tls(asio::ssl::context& context, bool require_reuse) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, context);
  asio::steady_timer timer(socket_.get_executor(), timeout_);
  auto result = co_await (tls_->async_handshake(asio::ssl::stream_base::server, as_tuple_awaitable) ||
                          timer.async_wait(as_tuple_awaitable));
  if (result.index() == 1 || std::get<0>(std::get<0>(result))) co_return TlsResult::handshake_failed;
  if (require_reuse && !SSL_session_reused(tls_->native_handle())) co_return TlsResult::not_resumed;
  co_return TlsResult::ok;
}

asio::awaitable<std::error_code> DataConnection::write_all(std::span<const char> data) {
  if (!tls_) co_return co_await send_all(socket_, data, timeout_);
  asio::steady_timer timer(socket_.get_executor(), timeout_);
  auto result = co_await (asio::async_write(*tls_, asio::buffer(data.data(), data.size()), as_tuple_awaitable) ||
                          timer.async_wait(as_tuple_awaitable));
  if (result.index() == 1) co_return std::make_error_code(std::errc::timed_out);
  co_return std::get<0>(std::get<0>(result));
}

asio::awaitable<std::pair<std::error_code, std::size_t>> DataConnection::read_some(std::span<char> buffer) {
  if (!tls_) {
    // In a fast upload bytes are usually waiting already: take them at once, and arm the
    // timeout race only when the socket is empty (one timer and two waits fewer a chunk).
    while (true) {
      std::error_code ec;
      std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return std::pair{ec, n};
      if (auto wait_ec = co_await wait_ready(socket_, tcp::socket::wait_read, timeout_)) {
        co_return std::pair{wait_ec, std::size_t{0}};
      }
    }
  }
  asio::steady_timer timer(socket_.get_executor(), timeout_);
  auto result = co_await (tls_->async_read_some(asio::buffer(buffer.data(), buffer.size()), as_tuple_awaitable) ||
                          timer.async_wait(as_tuple_awaitable));
  if (result.index() == 1) co_return std::pair{std::make_error_code(std::errc::timed_out), std::size_t{0}};
  auto [ec, n] = std::get<0>(result);
  // A TLS peer that closes without close_notify still ends the upload.
  if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
  co_return std::pair{ec, n};
}

asio::awaitable<std::pair<std::error_code, std::size_t>> DataConnection::splice_some(int pipe_fd, std::size_t count) {
  while (true) {
    // Non-blocking on both ends: the pipe is empty, so EAGAIN means the socket is.
    ssize_t n = ::splice(socket_.native_handle(), nullptr, pipe_fd, nullptr, count, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n > 0) co_return std::pair{std::error_code{}, static_cast<std::size_t>(n)};
    if (n == 0) co_return std::pair{std::error_code(asio::error::eof), std::size_t{0}};
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return std::pair{std::error_code(errno, std::system_category()), std::size_t{0}};
    if (auto wait_ec = co_await wait_ready(socket_, tcp::socket::wait_read, timeout_)) {
      co_return std::pair{wait_ec, std::size_t{0}};
    }
  }
}

asio::awaitable<void> DataConnection::close() {
  std::error_code ignored;
  if (tls_) {
    asio::steady_timer timer(socket_.get_executor(), std::chrono::seconds(2));
    co_await (tls_->async_shutdown(as_tuple_awaitable) || timer.async_wait(as_tuple_awaitable));
  }
  // close() alone sends the FIN (our receive side is drained: uploads read to EOF, and a
  // download's client sends nothing); a separate shutdown() would only cost a call.
  socket_.close(ignored);
}

asio::awaitable<std::error_code> send_all(tcp::socket& socket, std::span<const char> data,
                                          std::chrono::seconds timeout) {
  while (!data.empty()) {
    std::error_code ec;
    std::size_t n = socket.write_some(asio::buffer(data.data(), data.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      if (auto wait_ec = co_await wait_ready(socket, tcp::socket::wait_write, timeout)) co_return wait_ec;
      continue;
    }
    if (ec) co_return ec;
    data = data.subspan(n);
  }
  co_return std::error_code{};
}

std::error_code try_send_file(tcp::socket& socket, int fd, std::uint64_t offset, std::uint64_t count,
                              std::uint64_t& sent) {
  while (count > 0) {
    off_t position = static_cast<off_t>(offset);
    std::size_t chunk = count > (1u << 30) ? (1u << 30) : static_cast<std::size_t>(count);
    ssize_t n = ::sendfile(socket.native_handle(), fd, &position, chunk);
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

asio::awaitable<std::error_code> send_file(tcp::socket& socket, int fd, std::uint64_t offset, std::uint64_t count,
                                           std::chrono::seconds timeout, std::uint64_t& sent) {
  std::uint64_t end = offset + count;
  while (true) {
    std::uint64_t before = sent;
    if (auto ec = try_send_file(socket, fd, offset, end - offset, sent)) co_return ec;
    offset += sent - before;
    if (offset == end) co_return std::error_code{};
    if (auto wait_ec = co_await wait_ready(socket, tcp::socket::wait_write, timeout)) co_return wait_ec;
  }
}

}  // namespace ferry
