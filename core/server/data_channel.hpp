// The data connection: a passive listener (PASV/EPSV) that admits only the control
// connection's peer, and the connection itself with its bounded-time transfers.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

#include "server/address_range.hpp"
#include "server/byte_counter.hpp"
#include "server/server_state.hpp"
#include "server/tls_session_owners.hpp"
#include "server/tls_socket.hpp"
#include "server/unique_fd.hpp"

namespace asio::ssl {
class context;
}  // namespace asio::ssl

namespace ferry {

// The error of an upload whose data connection started with a PROXY header that nobody
// there may send (DataConnection::refuse_proxy_header).
std::error_code proxy_header_in_data_error();

// Both kinds of data socket join the event loop (epoll_ctl, FIONBIO) only when a call would
// block: a passive connection is usually waiting when RETR or STOR comes, and a small file
// fits in the socket at once, so most data connections never need the loop at all.

class PassiveListener {
 public:
  // Listens on `local` (the control connection's local address) on a port of the range;
  // nullptr when every port in the range is taken.
  static std::unique_ptr<PassiveListener> open(const asio::any_io_executor& executor, const asio::ip::address& local,
                                               PassivePorts& ports);
  ~PassiveListener();

  std::uint16_t port() const noexcept { return port_; }
  asio::ip::tcp protocol() const noexcept { return protocol_; }

  // Accepts the data connection from `peer`, as a non-blocking socket descriptor.
  // Connections from other addresses are refused and logged (no data theft). An empty
  // descriptor on timeout or error. A connection from one of `proxies` must start with a
  // PROXY header naming `peer` (a balancer relaying the client); the header is taken off
  // and `proxied` set. Refusals are published as events of session `session_id`.
  asio::awaitable<UniqueFd> accept(asio::ip::address peer, std::chrono::seconds timeout, std::uint64_t session_id,
                                   const EventBus& events, const std::vector<AddressRange>& proxies, bool& proxied);

  // Kept after a transfer, for the session's next PASV or EPSV, if the range allows
  // (PassivePorts::reserve_kept); false: close it as usual.
  bool keep(PassivePorts& ports) noexcept;
  // Taken again for a PASV or EPSV: connections that wait from before are not the client's
  // next one (it connects only after our reply) and are closed; those from another
  // address are logged as intruders.
  void reuse(const asio::ip::address& peer, std::uint64_t session_id, const EventBus& events) noexcept;

 private:
  PassiveListener(asio::any_io_executor executor, UniqueFd fd, asio::ip::tcp protocol, std::uint16_t port);
  int listening_fd() noexcept { return acceptor_ ? acceptor_->native_handle() : fd_.get(); }
  PassivePorts* kept_in_ = nullptr;  // while kept: the range's count to give back
  asio::any_io_executor executor_;
  UniqueFd fd_;                                       // the listening socket, until acceptor_ takes it
  std::optional<asio::ip::tcp::acceptor> acceptor_;  // made for the first wait
  asio::ip::tcp protocol_;
  std::uint16_t port_;
};

// One data connection: plain TCP, or TLS over it after start_tls() (PROT P).
// Every operation is bounded by `timeout` of no progress.
class DataConnection {
 public:
  // An accepted passive connection (non-blocking), not yet in the event loop.
  DataConnection(const asio::any_io_executor& executor, asio::ip::tcp protocol, UniqueFd fd,
                 std::chrono::seconds timeout);
  // An active connection, connected through the event loop.
  DataConnection(asio::ip::tcp::socket socket, std::chrono::seconds timeout);
  ~DataConnection();

  // Server-side TLS handshake. With `require_reuse`, a client that did not resume a TLS
  // session is refused (it could be someone else); whose session it resumed is the
  // caller's to check (resumed_session_token). The error says which went wrong.
  enum class TlsResult { ok, handshake_failed, not_resumed };
  asio::awaitable<TlsResult> start_tls(asio::ssl::context& context, bool require_reuse);
  // The token of the control connection whose session this one resumed (TLS only).
  std::optional<TlsSessionToken> resumed_session_token();

  bool is_tls() const noexcept { return tls_ != nullptr; }
  // Its PROXY header was taken off at accept: what follows is the client's data.
  void proxy_header_taken() noexcept { check_first_bytes_ = false; }
  // Where proxies are configured, a connection straight from the client is refused for a
  // v1 header too ("PROXY "), not only for the v2 signature (see refuse_proxy_header).
  void refuse_v1_header_too() noexcept { screen_v1_ = true; }
  asio::awaitable<std::error_code> write_all(std::span<const char> data);
  // Reads some bytes; eof at the end of the upload.
  asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<char> buffer);
  // Moves up to `count` received bytes into the pipe `pipe_fd` (splice(2), plain TCP only,
  // the pipe empty); eof at the end of the upload.
  asio::awaitable<std::pair<std::error_code, std::size_t>> splice_some(int pipe_fd, std::size_t count);
  // sendfile(2) (plain TCP only) of what the socket takes now of [offset, offset+count) of
  // `file_fd`, without waiting; `sent` counts progress. An error other than a full socket
  // is returned.
  std::error_code try_send_file(int file_fd, std::uint64_t offset, std::uint64_t count, ByteCounter& sent);
  // sendfile(2) of all of [offset, offset+count) of `file_fd`; `sent` counts progress.
  asio::awaitable<std::error_code> send_file(int file_fd, std::uint64_t offset, std::uint64_t count,
                                             ByteCounter& sent);
  // Ends the connection: TLS close_notify first (bounded), then close.
  asio::awaitable<void> close();

 private:
  int native_handle() noexcept { return socket_ ? socket_->native_handle() : pending_.get(); }
  // The socket in the event loop, registered on first use: for a wait, or for TLS.
  asio::ip::tcp::socket& socket();
  // Repeats `call` (one recv, splice or send on the bare descriptor, its ssize_t result)
  // until it moves bytes (eof for 0, which only a receive returns) or fails, waiting for the
  // socket to be ready for `what` while it would block.
  template <typename Call>
  asio::awaitable<std::pair<std::error_code, std::size_t>> when_ready(asio::ip::tcp::socket::wait_type what,
                                                                      Call call);

  // Before the first received byte of a plain connection that brought no PROXY header: one
  // that starts like a header is refused (errc proxy_header_in_data), so that a header sent
  // where none is expected never becomes the start of an uploaded file. Without proxies
  // configured only the v2 signature counts: a text file may well start with "PROXY ".
  asio::awaitable<std::error_code> refuse_proxy_header();

  // TCP_NOTSENT_LOWAT, set before the first send larger than the limit itself: a small
  // file or reply cannot queue more, and an upload sends nothing (one call fewer a file).
  void limit_unsent_for(std::size_t bytes) noexcept;

  bool check_first_bytes_ = true;
  bool screen_v1_ = false;
  bool unsent_limited_ = false;
  asio::any_io_executor executor_;
  asio::ip::tcp protocol_;  // of pending_ (an active connection's socket is open already)
  UniqueFd pending_;         // the descriptor until socket() registers it
  std::optional<asio::ip::tcp::socket> socket_;
  std::chrono::seconds timeout_;
  std::unique_ptr<TlsSocket> tls_;
};

}  // namespace ferry
