// TLS straight on a non-blocking socket, server side: OpenSSL reads and writes the
// descriptor itself (a socket BIO), and the coroutine waits in the event loop only when
// OpenSSL asks to (SSL_ERROR_WANT_READ / WANT_WRITE).
//
// Why not asio::ssl::stream: it relays every record through a BIO pair and two buffers of
// its own, 4 × 17 KiB per connection held for the connection's life (an idle FTPS session
// cost ~70 KiB more than a plain one), and one more copy of every byte each way (perf of a
// 1 GiB FTPS download: see bench/results/notes.md, 2026-12-07).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace ferry {

class TlsSocket {
 public:
  // What the connection is for: a control connection is idle most of its life, so OpenSSL
  // frees its record buffers between records. A data connection keeps them, reads ahead,
  // and sends the records of one write together (up to 64 KiB a send(), instead of one
  // send() and one wake-up of the client per 16 KiB record).
  enum class Use { control, data };

  // A server-side SSL of `context` on `socket`, which must stay open, non-blocking and
  // registered in its event loop for this object's life.
  TlsSocket(asio::ip::tcp::socket& socket, SSL_CTX* context, Use use);
  ~TlsSocket();
  TlsSocket(const TlsSocket&) = delete;
  TlsSocket& operator=(const TlsSocket&) = delete;

  SSL* native_handle() const noexcept { return ssl_; }

  // Each operation fails with errc::timed_out after `timeout` without progress (nullopt:
  // no limit; the caller may cancel it instead). A peer that closes without close_notify is
  // asio::ssl::error::stream_truncated; one that sent close_notify, asio::error::eof.
  asio::awaitable<std::error_code> handshake(std::chrono::seconds timeout);
  asio::awaitable<std::pair<std::error_code, std::size_t>> read_some(std::span<char> buffer,
                                                                     std::optional<std::chrono::seconds> timeout);
  asio::awaitable<std::error_code> write_all(std::span<const char> data, std::chrono::seconds timeout);
  // Sends close_notify, then waits (within `timeout`) for the peer's, as asio::ssl::stream did.
  asio::awaitable<std::error_code> shutdown(std::chrono::seconds timeout);

 private:
  // Runs `call` (one SSL_* call returning 1 on success) until it succeeds or fails, waiting
  // for the socket in between as OpenSSL asks, and sending what it gathered.
  template <typename Call>
  asio::awaitable<std::error_code> drive(Call call, std::optional<std::chrono::seconds> timeout);
  // The error of a failed SSL_* call (`result`), or nullopt when it only wants the socket
  // ready for `wait` first.
  std::optional<std::error_code> failure(int result, asio::ip::tcp::socket::wait_type& wait);
  asio::awaitable<std::error_code> wait(asio::ip::tcp::socket::wait_type what,
                                        std::optional<std::chrono::seconds> timeout);
  // Sends the gathered records (data connections).
  asio::awaitable<std::error_code> flush(std::optional<std::chrono::seconds> timeout);

  asio::ip::tcp::socket& socket_;
  SSL* ssl_;
  std::vector<char> gathered_;  // records written by OpenSSL, not sent yet (data connections)
  std::size_t gathered_sent_ = 0;
};

}  // namespace ferry
