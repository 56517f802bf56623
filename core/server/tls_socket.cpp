// TLS on a socket BIO, driven by readiness waits (see tls_socket.hpp).
#include "server/tls_socket.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/socket.h>

#include <algorithm>
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
// The most plaintext encrypted per SSL_write: four records, gathered and sent at once.
constexpr std::size_t gather_limit = 64 * 1024;

// A write-only BIO that appends to the std::vector<char> in its data: OpenSSL writes a
// data connection's records there, and TlsSocket::flush sends them together.
int gather_write(BIO* bio, const char* data, std::size_t length, std::size_t* written) {
  auto* out = static_cast<std::vector<char>*>(BIO_get_data(bio));
  out->insert(out->end(), data, data + length);
  *written = length;
  return 1;
}

long gather_ctrl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

int gather_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

const BIO_METHOD* gather_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ferry gather");
    if (m == nullptr) return m;
    BIO_meth_set_write_ex(m, gather_write);
    BIO_meth_set_ctrl(m, gather_ctrl);
    BIO_meth_set_create(m, gather_create);
    return m;
  }();
  return method;
}

}  // namespace

TlsSocket::TlsSocket(tcp::socket& socket, SSL_CTX* context, Use use) : socket_(socket), ssl_(SSL_new(context)) {
  if (ssl_ == nullptr || SSL_set_fd(ssl_, socket_.native_handle()) != 1) {
    if (ssl_ != nullptr) SSL_free(ssl_);
    ERR_clear_error();
    throw std::runtime_error("TLS: cannot make the connection's SSL object");
  }
  SSL_set_accept_state(ssl_);
  std::error_code ignored;
  socket_.native_non_blocking(true, ignored);  // OpenSSL's own reads and writes must not block
  if (use == Use::control) {
    SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS);
    return;
  }
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_default_read_buffer_len(ssl_, data_read_buffer);
  const BIO_METHOD* method = gather_method();
  BIO* gather = method != nullptr ? BIO_new(method) : nullptr;
  if (gather == nullptr) return;  // then records go out one send() each, through the socket BIO
  BIO_set_data(gather, &gathered_);
  SSL_set0_wbio(ssl_, gather);
  gathered_.reserve(gather_limit + 1024);  // four records and their headers and tags, grown once
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

asio::awaitable<std::error_code> TlsSocket::wait(tcp::socket::wait_type what,
                                                 std::optional<std::chrono::seconds> timeout) {
  if (timeout) {
    auto [ec] = co_await with_timeout(socket_.async_wait(what, as_tuple_awaitable), *timeout);
    co_return ec;
  }
  auto [ec] = co_await socket_.async_wait(what, as_tuple_awaitable);
  co_return ec;
}

asio::awaitable<std::error_code> TlsSocket::flush(std::optional<std::chrono::seconds> timeout) {
  while (gathered_sent_ < gathered_.size()) {
    const ssize_t n = ::send(socket_.native_handle(), gathered_.data() + gathered_sent_,
                             gathered_.size() - gathered_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      gathered_sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) co_return std::error_code(errno, std::system_category());
    if (auto ec = co_await wait(tcp::socket::wait_write, timeout)) co_return ec;
  }
  gathered_.clear();
  gathered_sent_ = 0;
  co_return std::error_code{};
}

template <typename Call>
asio::awaitable<std::error_code> TlsSocket::drive(Call call, std::optional<std::chrono::seconds> timeout) {
  while (true) {
    ERR_clear_error();
    errno = 0;
    const int result = call();
    auto what = tcp::socket::wait_read;
    std::optional<std::error_code> failed;
    if (result != 1) failed = failure(result, what);
    if (failed) co_return *failed;
    // What OpenSSL wrote (records, a handshake flight, close_notify) goes out before we
    // report success or wait for the peer's answer.
    if (auto ec = co_await flush(timeout)) co_return ec;
    if (result == 1) co_return std::error_code{};
    if (auto ec = co_await wait(what, timeout)) co_return ec;
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
  // Not SSL_MODE_ENABLE_PARTIAL_WRITE: one call writes every record of its chunk, and after
  // a WANT_WRITE (socket BIO) the same call resumes where the socket stopped taking them.
  while (!data.empty()) {
    const std::span<const char> chunk = data.first(std::min(data.size(), gather_limit));
    std::size_t n = 0;
    auto write = [this, chunk, &n] { return SSL_write_ex(ssl_, chunk.data(), chunk.size(), &n); };
    if (auto ec = co_await drive(write, timeout)) co_return ec;
    data = data.subspan(chunk.size());
  }
  co_return std::error_code{};
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
