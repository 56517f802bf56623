// TLS on a socket BIO, driven by readiness waits (see tls_socket.hpp).
#include "server/tls_socket.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <asio/ssl/error.hpp>
#include <cerrno>
#include <stdexcept>

#include "server/with_timeout.hpp"

namespace ferry {

namespace {

using asio::ip::tcp;

// A data connection's record buffer: with read-ahead, one recv() takes up to this much
// (four full records) instead of a header and a body per record.
constexpr std::size_t data_read_buffer = 64 * 1024;

}  // namespace

TlsSocket::TlsSocket(tcp::socket& socket, SSL_CTX* context, Use use) : socket_(socket), ssl_(SSL_new(context)) {
  if (ssl_ == nullptr || SSL_set_fd(ssl_, socket_.native_handle()) != 1) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ERR_clear_error();
    throw std::runtime_error("TLS: cannot make the connection's SSL object");
  }
  SSL_set_accept_state(ssl_);
  if (use == Use::control) {
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
  } else {
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_default_read_buffer_len(ssl_, data_read_buffer);
  }
}

TlsSocket::~TlsSocket() { SSL_free(ssl_); }

std::optional<std::error_code> TlsSocket::failure(int result, tcp::socket::wait_type& wait) {
  const int saved_errno = errno;
  switch (SSL_get_error(ssl_, result)) {
    case SSL_ERROR_WANT_READ:
      wait = tcp::socket::wait_read;
      return std::nullopt;
    case SSL_ERROR_WANT_WRITE:
      wait = tcp::socket::wait_write;
      return std::nullopt;
    case SSL_ERROR_ZERO_RETURN:
      return std::error_code(asio::error::eof);
    case SSL_ERROR_SYSCALL:
      ERR_clear_error();
      if (saved_errno == 0) return std::error_code(asio::ssl::error::stream_truncated);
      return std::error_code(saved_errno, std::system_category());
    default: {
      const unsigned long code = ERR_peek_last_error();
      ERR_clear_error();
      if (ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        return std::error_code(asio::ssl::error::stream_truncated);
      }
      return std::error_code(static_cast<int>(code), asio::error::get_ssl_category());
    }
  }
}

template <typename Call>
asio::awaitable<std::error_code> TlsSocket::drive(Call call, std::optional<std::chrono::seconds> timeout) {
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int result = call();
    if (result == 1) co_return std::error_code{};
    auto wait = tcp::socket::wait_read;
    if (auto ec = failure(result, wait)) co_return *ec;
    if (timeout) {
      auto [ec] = co_await with_timeout(socket_.async_wait(wait, as_tuple_awaitable), *timeout);
      if (ec) co_return ec;
    } else {
      auto [ec] = co_await socket_.async_wait(wait, as_tuple_awaitable);
      if (ec) co_return ec;
    }
  }
}

asio::awaitable<std::error_code> TlsSocket::handshake(std::chrono::seconds timeout) {
  auto step = [this] { return SSL_do_handshake(ssl_); };
  co_return co_await drive(step, timeout);
}

asio::awaitable<std::pair<std::error_code, std::size_t>> TlsSocket::read_some(
    std::span<char> buffer, std::optional<std::chrono::seconds> timeout) {
  std::size_t n = 0;
  auto read = [this, buffer, &n] { return SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n); };
  auto ec = co_await drive(read, timeout);
  co_return std::pair{ec, ec ? std::size_t{0} : n};
}

asio::awaitable<std::error_code> TlsSocket::write_all(std::span<const char> data, std::chrono::seconds timeout) {
  if (data.empty()) co_return std::error_code{};
  // Not SSL_MODE_ENABLE_PARTIAL_WRITE: one call writes every record of `data`, and after a
  // WANT_WRITE the same call resumes where the socket stopped taking them.
  std::size_t n = 0;
  auto write = [this, data, &n] { return SSL_write_ex(ssl_, data.data(), data.size(), &n); };
  co_return co_await drive(write, timeout);
}

asio::awaitable<std::error_code> TlsSocket::shutdown(std::chrono::seconds timeout) {
  // As asio::ssl::stream does: send close_notify, then wait for the peer's, so that the
  // socket is not closed with its close_notify unread (a reset that could cut our data).
  auto step = [this] {
    int result = SSL_shutdown(ssl_);
    if (result == 0) result = SSL_shutdown(ssl_);
    return result;
  };
  co_return co_await drive(step, timeout);
}

}  // namespace ferry
