// The data connection: a passive listener (PASV/EPSV) that admits only the control
// connection's peer, and the bounded-time send helpers transfers use.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>

#include "server/server_state.hpp"

namespace ferry {

class PassiveListener {
 public:
  // Listens on `local` (the control connection's local address) on a port of the range;
  // nullptr when every port in the range is taken.
  static std::unique_ptr<PassiveListener> open(const asio::any_io_executor& executor, const asio::ip::address& local,
                                               PassivePorts& ports);

  std::uint16_t port() const noexcept { return port_; }

  // Accepts the data connection from `peer`. Connections from other addresses are
  // refused and logged (no data theft). nullopt on timeout or error.
  asio::awaitable<std::optional<asio::ip::tcp::socket>> accept(asio::ip::address peer, std::chrono::seconds timeout,
                                                               std::uint64_t session_id);

 private:
  explicit PassiveListener(asio::ip::tcp::acceptor acceptor, std::uint16_t port)
      : acceptor_(std::move(acceptor)), port_(port) {}
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_;
};

// Writes all of `data`, failing with timed_out when the peer stalls for `timeout`.
asio::awaitable<std::error_code> send_all(asio::ip::tcp::socket& socket, std::span<const char> data,
                                          std::chrono::seconds timeout);

// sendfile(2) of [offset, offset+count) of `fd` to the socket; `sent` counts progress.
asio::awaitable<std::error_code> send_file(asio::ip::tcp::socket& socket, int fd, std::uint64_t offset,
                                           std::uint64_t count, std::chrono::seconds timeout, std::uint64_t& sent);

}  // namespace ferry
