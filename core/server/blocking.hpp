// run_blocking: runs a blocking call (password hashing, a plugin's disk access) on the
// blocking-work pool and resumes the calling coroutine on its own executor.
#pragma once

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <memory>
#include <optional>
#include <type_traits>

namespace ferry {

namespace detail {

// The callable travels on the heap, behind a unique_ptr, so it keeps one address for its
// whole life. (Callers: pass a named closure, never a temporary written inside the co_await
// expression: g++ 12 relocates such temporaries bitwise, breaking captured std::strings.)
template <class F>
asio::awaitable<std::optional<std::invoke_result_t<F>>> invoke_on_pool(std::unique_ptr<F> fn) {
  co_return std::optional<std::invoke_result_t<F>>((*fn)());
}

template <class F>
asio::awaitable<std::invoke_result_t<F>> await_on_pool(asio::thread_pool& pool, std::unique_ptr<F> fn) {
  // co_spawn needs a default-constructible result: it travels in an optional.
  // No cancellation slot: a cancellation emitted on the caller's I/O thread (its session
  // closing) would reach the job's coroutine on the pool thread unsynchronised (a data race
  // ThreadSanitizer reports), and could skip the job. The job runs to its end; a long one
  // (a digest) has its own stop flag.
  auto result = co_await asio::co_spawn(pool, invoke_on_pool(std::move(fn)),
                                        asio::bind_cancellation_slot(asio::cancellation_slot(), asio::use_awaitable));
  co_return std::move(*result);
}

}  // namespace detail

// Not itself a coroutine, so `fn` is moved to the heap before any coroutine sees it.
template <class F>
asio::awaitable<std::invoke_result_t<F>> run_blocking(asio::thread_pool& pool, F fn) {
  return detail::await_on_pool(pool, std::make_unique<F>(std::move(fn)));
}

}  // namespace ferry
