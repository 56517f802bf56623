// Whose a TLS session is (see tls_session_owners.hpp).
#include "server/tls_session_owners.hpp"

#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace ferry {

std::size_t TlsSessionOwners::TokenHash::operator()(const TlsSessionToken& token) const noexcept {
  std::size_t hash;  // the token is random already
  std::memcpy(&hash, token.data(), sizeof hash);
  return hash;
}

TlsSessionToken TlsSessionOwners::issue(const asio::ip::address& peer) {
  TlsSessionToken token;
  if (RAND_bytes(token.data(), static_cast<int>(token.size())) != 1) throw std::runtime_error("RAND_bytes failed");
  std::lock_guard lock(mutex_);
  owners_[token] = Owner{peer, {}, false, {}};
  return token;
}

void TlsSessionOwners::set_user(const TlsSessionToken& token, std::string_view user) {
  std::lock_guard lock(mutex_);
  if (auto it = owners_.find(token); it != owners_.end()) it->second.user = user;
}

void TlsSessionOwners::release(const TlsSessionToken& token) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = owners_.find(token);
  if (it == owners_.end()) return;
  it->second.ended = true;
  it->second.forget_at = now + lifetime_;
  ended_.push_back(token);
  forget_expired(now);
}

TlsSessionOwners::Ownership TlsSessionOwners::owner_of(const TlsSessionToken& token, const asio::ip::address& peer,
                                                        std::string_view user) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = owners_.find(token);
  if (it == owners_.end()) return Ownership::not_owned;
  const Owner& owner = it->second;
  if (owner.peer != peer || (owner.ended && owner.forget_at <= now)) return Ownership::not_owned;
  if (owner.user.empty()) return owner.ended ? Ownership::not_owned : Ownership::pending;
  return owner.user == user ? Ownership::owned : Ownership::not_owned;
}

std::size_t TlsSessionOwners::size() {
  std::lock_guard lock(mutex_);
  return owners_.size();
}

// Ended owners leave in the order they ended (all share one lifetime), and beyond
// `capacity_` the oldest leave early: a flood of short TLS connections costs bounded memory.
void TlsSessionOwners::forget_expired(std::chrono::steady_clock::time_point now) {
  while (!ended_.empty()) {
    auto it = owners_.find(ended_.front());
    if (it != owners_.end() && it->second.forget_at > now && ended_.size() <= capacity_) break;
    if (it != owners_.end()) owners_.erase(it);
    ended_.pop_front();
  }
}

}  // namespace ferry
