// The one translation unit that compiles Asio and its TLS layer
// (ASIO_SEPARATE_COMPILATION everywhere else).
#include <asio/impl/src.hpp>
#include <asio/ssl/impl/src.hpp>
