// The control connection's lines and replies (see control_channel.hpp).
#include "server/control_channel.hpp"

#include <asio/ssl/context.hpp>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "server/with_timeout.hpp"

namespace ferry {

ControlChannel::ControlChannel(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

ControlChannel::~ControlChannel() = default;

void ControlChannel::configure() {
  std::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Clients send "IAC IP IAC DM ABOR" with DM as TCP urgent data: keep it in the stream.
  socket_.set_option(asio::socket_base::out_of_band_inline(true), ec);
  socket_.non_blocking(true, ec);
}

asio::awaitable<ControlChannel::LineStatus> ControlChannel::read_line(std::string& line, std::size_t max_line) {
  while (true) {
    std::size_t newline = input_.find('\n');
    if (newline != std::string::npos) {
      if (discarding_) {  // the tail of an over-long line: drop it
        input_.erase(0, newline + 1);
        discarding_ = false;
        continue;
      }
      line.assign(input_, 0, newline + 1);
      input_.erase(0, newline + 1);
      if (input_.empty() && input_.capacity() > 256) std::string().swap(input_);
      co_return LineStatus::line;
    }
    if (input_.size() > max_line) {
      input_.clear();
      if (!discarding_) {
        discarding_ = true;
        co_return LineStatus::too_long;
      }
    }
    if (co_await read_more()) co_return LineStatus::closed;  // EOF, reset or closed by us
  }
}

asio::awaitable<std::error_code> ControlChannel::read_more() {
  while (true) {
    // One read buffer per I/O thread, not per session: idle sessions hold no buffer.
    thread_local std::array<char, 4096> buffer;
    if (tls_) {
      // Not a readiness wait first: the TLS layer may already hold bytes it read from the
      // socket (e.g. the first command, sent right behind the handshake). The wait inside
      // is cancellable, so the transfer's ABOR watch can still stop this read.
      auto [ec, n] = co_await tls_->read_some(buffer, std::nullopt);
      if (ec) co_return ec;
      input_.append(buffer.data(), n);
      co_return std::error_code{};
    }
    std::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [wait_ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_read, as_tuple_awaitable);
      if (wait_ec) co_return wait_ec;
      continue;
    }
    if (ec) co_return ec;
    input_.append(buffer.data(), n);
    co_return std::error_code{};
  }
}

asio::awaitable<std::error_code> ControlChannel::write(std::string_view bytes, std::chrono::seconds timeout) {
  if (tls_) co_return co_await tls_->write_all(bytes, timeout);
  // The socket is non-blocking: a reply usually fits at once; wait only on EAGAIN.
  while (!bytes.empty()) {
    std::error_code ec;
    std::size_t n = socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      auto [wait_ec] = co_await with_timeout(socket_.async_wait(asio::ip::tcp::socket::wait_write, as_tuple_awaitable),
                                             timeout);
      if (wait_ec) co_return wait_ec;
      continue;
    }
    if (ec) co_return ec;
    bytes.remove_prefix(n);
  }
  co_return std::error_code{};
}

void ControlChannel::write_now(std::string_view bytes) {
  if (tls_) return;
  std::error_code ignored;
  socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ignored);
}

SSL* ControlChannel::begin_tls(asio::ssl::context& context) {
  tls_ = std::make_unique<TlsSocket>(socket_, context.native_handle(), TlsSocket::Use::control);
  return tls_->native_handle();
}

asio::awaitable<std::error_code> ControlChannel::handshake(std::chrono::seconds timeout) {
  auto ec = co_await tls_->handshake(timeout);
  if (!ec) {
    // The client's Finished is in, and its ACK waits for data to ride on; none comes, since
    // ferryd sends its session ticket only with the 230. A client with Nagle on (Python's
    // ftplib, for one) holds its next command (USER) until that ACK: 40 ms per login on
    // loopback. TCP_QUICKACK sends the pending ACK now.
    const int on = 1;
    ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
  }
  co_return ec;
}

void ControlChannel::drop_tls() { tls_.reset(); }

SSL* ControlChannel::tls_handle() const noexcept { return tls_ ? tls_->native_handle() : nullptr; }

void ControlChannel::close() {
  std::error_code ec;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace ferry
