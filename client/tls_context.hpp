#pragma once
// The client's TLS contexts, one per set of options for the whole process.
//
// Building a context is costly next to a handshake: the system CA store
// (set_default_verify_paths) is the whole Debian bundle, about 140 certificates parsed on
// every call, 25 ms or more. A mirror with -j 8, the GUI reconnecting, or a load generator
// opening thousands of sessions would pay that per connection. A context holds no session
// of its own (clients resume only what FtpClient hands each data connection), so sharing
// it changes nothing on the wire: a new control connection is still a full handshake.

#include <asio/ssl/context.hpp>
#include <memory>

#include "ftp_client.hpp"

namespace ferry::client {

// The context for these options: built on first use, then shared (thread-safe). A CA file
// is read again when it changes (its inode, size or modification time). Throws ClientError
// (ErrorKind::local) when the CA file cannot be loaded.
std::shared_ptr<asio::ssl::context> client_tls_context(const TlsOptions& options);

}  // namespace ferry::client
