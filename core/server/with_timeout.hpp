// The one deadline idiom of the server: an Asio operation that completes with
// (error_code, values...), or errc::timed_out once the deadline passes (the operation is
// then cancelled). Operations complete through as_tuple_awaitable, so that a peer's EOF
// ends the race at once instead of counting as a failure that waits for the timer
// (Asio 1.22's || waits for the first *success*).
#pragma once

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <system_error>
#include <tuple>
#include <utility>

namespace ferry {

inline constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);

template <typename... Values>
asio::awaitable<std::tuple<std::error_code, Values...>> with_timeout(
    asio::awaitable<std::tuple<std::error_code, Values...>> operation, asio::steady_timer::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  auto result = co_await (std::move(operation) || timer.async_wait(as_tuple_awaitable));
  if (result.index() == 1) {
    co_return std::tuple<std::error_code, Values...>{std::make_error_code(std::errc::timed_out), Values{}...};
  }
  co_return std::get<0>(std::move(result));
}

template <typename... Values>
asio::awaitable<std::tuple<std::error_code, Values...>> with_timeout(
    asio::awaitable<std::tuple<std::error_code, Values...>> operation, asio::steady_timer::duration timeout) {
  return with_timeout(std::move(operation), asio::steady_timer::clock_type::now() + timeout);
}

}  // namespace ferry
