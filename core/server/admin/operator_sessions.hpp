// Who is logged in to the console: a random token per operator login (the cookie's value,
// or a bearer token), with its own CSRF token, ending after `idle` without a request or
// `lifetime` after the login. Time is passed in, so expiry is tested without waiting.
// Not thread-safe: the admin server uses it from its one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ferry::admin {

// `bytes` random bytes from OpenSSL's CSPRNG, as lower-case hex.
std::string random_token(std::size_t bytes = 32);
// Compares in time independent of where they differ.
bool same_secret(std::string_view a, std::string_view b);

class OperatorSessions {
 public:
  using Clock = std::chrono::steady_clock;
  struct Login {
    std::string user;
    std::string csrf;
    Clock::time_point created;
    Clock::time_point last_used;
  };

  OperatorSessions(std::chrono::seconds idle, std::chrono::seconds lifetime, std::size_t max_logins)
      : idle_(idle), lifetime_(lifetime), max_(max_logins) {}

  // A new login; returns its token. The oldest login goes when there are max_logins.
  std::string create(std::string user, Clock::time_point now);
  // The login of `token`, its idle time restarted; nullptr when unknown or expired.
  const Login* find(std::string_view token, Clock::time_point now);
  void remove(std::string_view token);
  std::size_t size() const noexcept { return logins_.size(); }
  std::chrono::seconds idle() const noexcept { return idle_; }

 private:
  bool expired(const Login& login, Clock::time_point now) const {
    return now - login.last_used >= idle_ || now - login.created >= lifetime_;
  }
  std::chrono::seconds idle_;
  std::chrono::seconds lifetime_;
  std::size_t max_;
  std::unordered_map<std::string, Login> logins_;
};

}  // namespace ferry::admin
