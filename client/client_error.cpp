// Names of the client's error kinds.
#include "client_error.hpp"

namespace ferry::client {

std::string_view kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::connect:
      return "connect";
    case ErrorKind::login:
      return "login";
    case ErrorKind::not_found:
      return "not_found";
    case ErrorKind::refused:
      return "refused";
    case ErrorKind::protocol:
      return "protocol";
    case ErrorKind::transfer:
      return "transfer";
    case ErrorKind::verify:
      return "verify";
    case ErrorKind::local:
      return "local";
    case ErrorKind::timeout:
      return "timeout";
    case ErrorKind::cancelled:
      return "cancelled";
  }
  return "unknown";
}

}  // namespace ferry::client
