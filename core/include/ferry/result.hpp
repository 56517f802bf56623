// ferry plugin API: the outcome type every plugin call returns.
// Plugins never throw across the boundary; they return a Status and a message instead.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace ferry {

// What went wrong, in terms the core can map to an FTP reply (see core/server/reply_map).
enum class Status {
  ok = 0,
  not_found,          // 550
  permission_denied,  // 550
  already_exists,     // 550 / 553
  not_a_directory,    // 550
  is_a_directory,     // 550
  not_empty,          // 550
  bad_name,           // 553
  no_space,           // 452
  quota_exceeded,     // 552
  not_supported,      // 502 for the verb, 550/553 for the object
  io_error,           // 451
};

// The error half of a Result: a status and a human-readable reason (no secrets in it).
struct Error {
  Status status = Status::io_error;
  std::string message;
};

// Either a T or an Error. Small on purpose: std::expected is C++23.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : error_(std::move(error)) {}  // NOLINT
  Result(Status status, std::string message) : error_{status, std::move(message)} {}

  bool ok() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const Error& error() const noexcept { return error_; }

 private:
  std::optional<T> value_;
  Error error_;
};

template <>
class Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  Result(Status status, std::string message) : error_{status, std::move(message)}, ok_(false) {}

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace ferry
