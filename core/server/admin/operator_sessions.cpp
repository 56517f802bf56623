// Operator logins of the console (see operator_sessions.hpp).
#include "server/admin/operator_sessions.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

namespace ferry::admin {

std::string random_token(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (RAND_bytes(raw.data(), static_cast<int>(raw.size())) != 1) throw std::runtime_error("no random bytes (OpenSSL)");
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : raw) {
    out += hex[b >> 4];
    out += hex[b & 15];
  }
  return out;
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string OperatorSessions::create(std::string user, Clock::time_point now) {
  for (auto it = logins_.begin(); it != logins_.end();) it = expired(it->second, now) ? logins_.erase(it) : std::next(it);
  if (logins_.size() >= max_ && !logins_.empty()) {
    auto oldest = logins_.begin();
    for (auto it = logins_.begin(); it != logins_.end(); ++it) {
      if (it->second.created < oldest->second.created) oldest = it;
    }
    logins_.erase(oldest);
  }
  std::string token = random_token();
  logins_.emplace(token, Login{std::move(user), random_token(), now, now});
  return token;
}

const OperatorSessions::Login* OperatorSessions::find(std::string_view token, Clock::time_point now) {
  auto it = logins_.find(std::string(token));
  if (it == logins_.end()) return nullptr;
  if (expired(it->second, now)) {
    logins_.erase(it);
    return nullptr;
  }
  it->second.last_used = now;
  return &it->second;
}

void OperatorSessions::remove(std::string_view token) { logins_.erase(std::string(token)); }

}  // namespace ferry::admin
