// The server's TLS context for FTPS: certificate and key from [tls], TLS 1.2 at least,
// a server-side session cache so data connections can resume the control session.
#pragma once

#include <asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "server/config.hpp"

namespace ferry {

// nullptr and `error` set (naming the file and what is wrong) when the context cannot be made.
std::shared_ptr<asio::ssl::context> make_tls_context(const TlsConfig& config, std::string& error);

}  // namespace ferry
