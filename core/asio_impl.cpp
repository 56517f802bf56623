// The one translation unit that compiles Asio (ASIO_SEPARATE_COMPILATION elsewhere).
#include <asio/impl/src.hpp>
