// run_blocking: runs a blocking call (password hashing, a plugin's disk access) on the
// blocking-work pool and resumes the calling coroutine on its own executor.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <optional>
#include <type_traits>

namespace ferry {

template <class F>
asio::awaitable<std::invoke_result_t<F>> run_blocking(asio::thread_pool& pool, F fn) {
  using R = std::invoke_result_t<F>;
  // co_spawn needs a default-constructible result: carry it in an optional.
  std::optional<R> result = co_await asio::co_spawn(
      pool, [fn = std::move(fn)]() mutable -> asio::awaitable<std::optional<R>> { co_return std::optional<R>(fn()); },
      asio::use_awaitable);
  co_return std::move(*result);
}

}  // namespace ferry
