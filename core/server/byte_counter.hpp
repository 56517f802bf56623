// Bytes a transfer has moved so far: the transfer loop, on its session's thread, adds to
// it; the live view (session_registry.hpp) reads it from any thread.
#pragma once

#include <atomic>
#include <cstdint>

namespace ferry {

using ByteCounter = std::atomic<std::uint64_t>;

}  // namespace ferry
