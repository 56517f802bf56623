// ClientError: the one exception type the client library throws, with a kind the callers
// map to exit codes (CLI) or dialog texts (GUI) and a message written for the user.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace ferry::client {

enum class ErrorKind {
  connect = 1,  // no control connection (refused, unresolvable, unreachable)
  login,        // the server refused the user name or password
  not_found,    // the remote file or directory does not exist (550)
  refused,      // the server refused a change: permission, exists, not empty (550/553/452/552)
  protocol,     // the server answered something we cannot use
  transfer,     // the data connection failed or the transfer was incomplete
  verify,       // the received file does not match the server's digest
  local,        // a local file could not be written or read
  timeout,      // the server stayed silent for longer than the client's timeout
  cancelled,    // FtpClient::cancel() was called
};

// "connect", "login", ...: for logs and tests.
std::string_view kind_name(ErrorKind kind);

class ClientError : public std::runtime_error {
 public:
  ClientError(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const noexcept { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace ferry::client
