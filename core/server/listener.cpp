// Listening sockets (see listener.hpp).
#include "server/listener.hpp"

#include <asio/ip/v6_only.hpp>

namespace ferry {

std::unique_ptr<asio::ip::tcp::acceptor> open_listener(asio::io_context& io, const ListenAddress& address,
                                                       std::string& error) {
  using asio::ip::tcp;
  std::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  if (!ec) {
    tcp::endpoint endpoint(ip, address.port);
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && ip.is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
    if (!ec) acceptor->bind(endpoint, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    error = "cannot listen on " + to_string(address) + ": " + ec.message();
    return nullptr;
  }
  return acceptor;
}

}  // namespace ferry
