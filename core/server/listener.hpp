// A listening TCP socket on a configured address: the FTP listeners and the admin
// console's open theirs alike (address reuse, IPv6 only on an IPv6 address).
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "server/listen_address.hpp"

namespace ferry {

// Bound and listening (port 0: a free one, see local_endpoint()); nullptr with `error`
// ("cannot listen on HOST:PORT: why") when it cannot be.
std::unique_ptr<asio::ip::tcp::acceptor> open_listener(asio::io_context& io, const ListenAddress& address,
                                                       std::string& error);

}  // namespace ferry
