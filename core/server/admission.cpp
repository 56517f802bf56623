// Session limits and bans per client (see server_state.hpp).
#include <algorithm>
#include <asio/ip/address.hpp>

#include "server/server_state.hpp"

namespace ferry {

std::string client_key(const asio::ip::address& peer) {
  if (peer.is_v4()) return peer.to_string();
  asio::ip::address_v6 v6 = peer.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_string();
  // One subscriber gets a whole /64 and picks addresses in it at will (RFC 4941): keyed
  // on the full address, bans and per-address limits would not hold a client back.
  asio::ip::address_v6::bytes_type bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/64";
}

void AddressBans::configure(unsigned failures, std::chrono::seconds window, std::chrono::seconds duration) {
  std::lock_guard lock(mutex_);
  failures_ = failures;
  window_ = window;
  duration_ = duration;
}

bool AddressBans::banned(const asio::ip::address& peer) {
  std::lock_guard lock(mutex_);
  if (entries_.empty()) return false;
  auto it = entries_.find(client_key(peer));
  return it != entries_.end() && std::chrono::steady_clock::now() < it->second.banned_until;
}

bool AddressBans::record_failure(const asio::ip::address& peer) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  if (duration_.count() == 0) return false;
  if (entries_.size() > 100'000) prune(now);  // bounded, even under a spray of addresses
  Entry& entry = entries_[client_key(peer)];
  while (!entry.failures.empty() && entry.failures.front() < now - window_) entry.failures.pop_front();
  entry.failures.push_back(now);
  if (entry.failures.size() < failures_ || now < entry.banned_until) return false;
  entry.banned_until = now + duration_;
  entry.reason = std::to_string(entry.failures.size()) + " failed logins within " + std::to_string(window_.count()) + " s";
  entry.failures.clear();
  return true;
}

std::optional<std::string> ban_key(std::string_view address) {
  std::string text(address);
  const bool slash64 = text.ends_with("/64");
  if (slash64) text.resize(text.size() - 3);
  std::error_code ec;
  auto ip = asio::ip::make_address(text, ec);
  if (ec || (slash64 && !ip.is_v6())) return std::nullopt;
  return client_key(ip);
}

std::vector<BanEntry> AddressBans::bans() {
  const auto now = std::chrono::steady_clock::now();
  const auto wall = std::chrono::system_clock::now();
  std::vector<BanEntry> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, entry] : entries_) {
      if (now >= entry.banned_until) continue;
      out.push_back({key, wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(entry.banned_until - now),
                     entry.reason, {}});
    }
  }
  std::sort(out.begin(), out.end(), [](const BanEntry& a, const BanEntry& b) { return a.until < b.until; });
  return out;
}

std::optional<std::string> AddressBans::ban(std::string_view address, std::chrono::seconds duration, std::string reason) {
  auto key = ban_key(address);
  if (!key) return std::nullopt;
  std::lock_guard lock(mutex_);
  Entry& entry = entries_[*key];
  entry.banned_until = std::chrono::steady_clock::now() + duration;
  entry.reason = std::move(reason);
  return key;
}

bool AddressBans::unban(std::string_view address) {
  auto key = ban_key(address);
  if (!key) return false;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(*key);
  if (it == entries_.end()) return false;
  const bool was_banned = std::chrono::steady_clock::now() < it->second.banned_until;
  entries_.erase(it);
  return was_banned;
}

void AddressBans::prune(std::chrono::steady_clock::time_point now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool stale = now >= it->second.banned_until &&
                 (it->second.failures.empty() || it->second.failures.back() < now - window_);
    it = stale ? entries_.erase(it) : std::next(it);
  }
}

std::optional<BanEntry> AddressBans::find(const std::string& key) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() || now >= it->second.banned_until) return std::nullopt;
  return BanEntry{key,
                  std::chrono::system_clock::now() +
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(it->second.banned_until - now),
                  it->second.reason, {}};
}

void SessionLimits::set_elsewhere(std::unordered_map<std::string, unsigned> counts) {
  std::lock_guard lock(mutex_);
  elsewhere_ = std::move(counts);
}

std::unordered_map<std::string, unsigned> SessionLimits::per_address() {
  std::lock_guard lock(mutex_);
  return per_ip_;
}

void SessionLimits::set_limits(unsigned max_total, unsigned max_per_ip) {
  max_total_.store(max_total, std::memory_order_relaxed);
  max_per_ip_.store(max_per_ip, std::memory_order_relaxed);
}

SessionLimits::Admission SessionLimits::admit(const asio::ip::address& peer) {
  if (total_.fetch_add(1, std::memory_order_relaxed) >= max_total_.load(std::memory_order_relaxed)) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    return Admission::too_many_total;
  }
  std::lock_guard lock(mutex_);
  const std::string key = client_key(peer);
  unsigned& count = per_ip_[key];
  // With [cluster], this client's sessions on the other nodes count too (as last synced).
  unsigned others = 0;
  if (!elsewhere_.empty()) {
    if (auto it = elsewhere_.find(key); it != elsewhere_.end()) others = it->second;
  }
  if (count + others >= max_per_ip_.load(std::memory_order_relaxed)) {
    total_.fetch_sub(1, std::memory_order_relaxed);
    if (count == 0) per_ip_.erase(key);
    return Admission::too_many_from_address;
  }
  ++count;
  return Admission::admitted;
}

void SessionLimits::release(const asio::ip::address& peer) {
  total_.fetch_sub(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  auto it = per_ip_.find(client_key(peer));
  if (it != per_ip_.end() && --it->second == 0) per_ip_.erase(it);
}

}  // namespace ferry
