// Reading the PROXY header off a socket (see proxy_header_reader.hpp).
#include "server/proxy_header_reader.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "server/proxy_protocol.hpp"
#include "server/with_timeout.hpp"

namespace ferry {

namespace {

asio::ip::address to_address(proxy_protocol::Family family, const proxy_protocol::Endpoint& endpoint) {
  if (family == proxy_protocol::Family::tcp4) {
    asio::ip::address_v4::bytes_type bytes;
    std::memcpy(bytes.data(), endpoint.address.data(), bytes.size());
    return asio::ip::address_v4(bytes);
  }
  asio::ip::address_v6::bytes_type bytes;
  std::memcpy(bytes.data(), endpoint.address.data(), bytes.size());
  asio::ip::address_v6 v6(bytes);
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6);
  return v6;
}

ProxyOrigin refused(std::string reason) {
  ProxyOrigin origin;
  origin.reason = std::move(reason);
  return origin;
}

}  // namespace

bool is_proxy(const std::vector<AddressRange>& proxies, const asio::ip::address& peer) {
  if (proxies.empty()) return false;
  if (peer.is_v4()) {
    auto bytes = peer.to_v4().to_bytes();
    return any_contains(proxies, bytes);
  }
  auto bytes = peer.to_v6().to_bytes();
  return any_contains(proxies, bytes);
}

asio::awaitable<ProxyOrigin> read_proxy_header(asio::ip::tcp::socket& socket, const asio::ip::address& peer,
                                               std::chrono::steady_clock::time_point deadline) {
  std::error_code ec;
  socket.non_blocking(true, ec);
  if (ec) co_return refused("cannot read its PROXY header: " + ec.message());
  const int fd = socket.native_handle();
  // Peeked, not read: a header arriving in pieces is looked at whole each time, and the
  // bytes after it are never taken out of the socket.
  std::string buffer(proxy_protocol::max_length, '\0');
  ssize_t seen = -1;  // bytes peeked before the last wait for more
  while (true) {
    const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), MSG_PEEK);
    if (n < 0 && errno == EINTR) continue;
    // Readable again, yet nothing new: the peer closed its side with the header unfinished
    // (a peek shows the bytes, never the end of the stream behind them).
    if (n > 0 && n == seen) co_return refused("connection closed before a complete PROXY header");
    if (n < 0 && errno != EAGAIN) co_return refused(std::string("connection failed before its PROXY header: ") + std::strerror(errno));
    if (n == 0) co_return refused("connection closed before a complete PROXY header");
    if (n > 0) {
      auto result = proxy_protocol::parse(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      if (result.status == proxy_protocol::Status::malformed) co_return refused(std::string(result.error));
      if (result.status == proxy_protocol::Status::parsed) {
        // Take exactly the header: it is all in the socket already (just peeked).
        const ssize_t taken = ::recv(fd, buffer.data(), result.header.length, 0);
        if (taken != static_cast<ssize_t>(result.header.length)) co_return refused("PROXY header could not be read whole");
        ProxyOrigin origin;
        origin.ok = true;
        origin.local = result.header.command == proxy_protocol::Command::local;
        origin.client = origin.local || result.header.family == proxy_protocol::Family::unknown
                            ? peer
                            : to_address(result.header.family, result.header.source);
        co_return origin;
      }
    }
    seen = n;
    // Incomplete (or nothing yet): wait for more bytes. This context's single thread only
    // looks for readiness once this wait is queued, so no arrival is missed in between.
    auto [wait_ec] = co_await with_timeout(socket.async_wait(asio::ip::tcp::socket::wait_read, as_tuple_awaitable), deadline);
    if (wait_ec == std::errc::timed_out) {
      co_return refused(n > 0 ? "incomplete PROXY header (timed out)" : "no PROXY header (timed out)");
    }
    if (wait_ec) co_return refused("connection failed before its PROXY header: " + wait_ec.message());
  }
}

}  // namespace ferry
