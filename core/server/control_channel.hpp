// The control connection as a channel of lines and replies: the socket, the TLS layer
// after AUTH TLS (or from the first byte, implicit FTPS), the bytes read but not yet
// consumed, and bounded line reads and reply writes. The one place where plain and TLS
// differ on the control connection; the session speaks in lines and replies only.
#pragma once

#include <array>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include "server/tls_socket.hpp"

namespace asio::ssl {
class context;
}  // namespace asio::ssl

namespace ferry {

class ControlChannel {
 public:
  explicit ControlChannel(asio::ip::tcp::socket socket);
  ~ControlChannel();

  asio::ip::tcp::socket& socket() noexcept { return socket_; }
  asio::any_io_executor get_executor() { return socket_.get_executor(); }
  // No delay, urgent data inline (Telnet's "IAC IP IAC DM ABOR"), non-blocking.
  void configure();

  enum class LineStatus { line, too_long, closed };
  // The next line, CR LF and all, at most `max_line` bytes: an over-long one is reported
  // once (too_long) and its tail skipped. closed: EOF, a reset, or our own close().
  asio::awaitable<LineStatus> read_line(std::string& line, std::size_t max_line);
  // Appends the next bytes from the client to input().
  asio::awaitable<std::error_code> read_more();
  // Bytes read and not consumed yet: the transfer's ABOR watch scans them in place.
  std::string& input() noexcept { return input_; }

  // Writes all of `bytes`; timed_out when the client stalls for `timeout`.
  asio::awaitable<std::error_code> write(std::string_view bytes, std::chrono::seconds timeout);
  // Without waiting, what the socket takes now (plain connections only; for a goodbye).
  void write_now(std::string_view bytes);

  // TLS: begin_tls() makes the layer (its SSL, to prepare before the handshake), then
  // handshake(); drop_tls() undoes a failed one.
  SSL* begin_tls(asio::ssl::context& context);
  asio::awaitable<std::error_code> handshake(std::chrono::seconds timeout);
  void drop_tls();
  bool is_tls() const noexcept { return tls_ != nullptr; }
  SSL* tls_handle() const noexcept;

  void close();

 private:
  asio::ip::tcp::socket socket_;
  std::unique_ptr<TlsSocket> tls_;
  std::string input_;
  bool discarding_ = false;  // skipping the rest of an over-long line
};

}  // namespace ferry
