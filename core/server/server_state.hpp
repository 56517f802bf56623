// What the sessions of one server share. Two lifetimes:
// - ServerRuntime lives as long as the server: the blocking-work pool, the counters behind
//   the session limits and bans, the registry of live sessions, the transfer log;
// - ServerState is one generation of the configuration and of the plugin objects made
//   from it. SIGHUP builds a new one for new sessions; a session keeps the generation it
//   started with until it ends, and the last session of an old generation frees it.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/ip/address.hpp>
#include <asio/thread_pool.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ferry/plugin.hpp"
#include "passwd/users_file.hpp"
#include "server/ban_list.hpp"

namespace asio::ssl {
class context;
}
#include "server/config.hpp"
#include "server/events/event_bus.hpp"
#include "server/events/log_sink.hpp"
#include "server/events/transfer_log_sink.hpp"
#include "server/tls_session_owners.hpp"
#include "server/session_registry.hpp"
#include "server/transfer_log.hpp"
#include "vfs/mount_table.hpp"

namespace ferry {

// What limits and bans count by: an IPv4 address, or an IPv6 address's /64 ("2001:db8::/64").
std::string client_key(const asio::ip::address& peer);

// Counts control connections, globally and per client address. Touched only when a
// session starts or ends, never per command.
class SessionLimits {
 public:
  SessionLimits(unsigned max_total, unsigned max_per_ip) : max_total_(max_total), max_per_ip_(max_per_ip) {}
  // A reload's new limits apply to the next admissions.
  void set_limits(unsigned max_total, unsigned max_per_ip);
  enum class Admission { admitted, too_many_total, too_many_from_address };
  Admission admit(const asio::ip::address& peer);
  void release(const asio::ip::address& peer);
  unsigned active() const noexcept { return total_.load(std::memory_order_relaxed); }
  // [cluster]: the sessions of each client_key on the other nodes, counted by admit() too.
  void set_elsewhere(std::unordered_map<std::string, unsigned> counts);
  // This node's sessions per client_key, for the other nodes.
  std::unordered_map<std::string, unsigned> per_address();

 private:
  std::atomic<unsigned> max_total_;
  std::atomic<unsigned> max_per_ip_;
  std::atomic<unsigned> total_{0};
  std::mutex mutex_;
  std::unordered_map<std::string, unsigned> per_ip_;
  std::unordered_map<std::string, unsigned> elsewhere_;
};

// Failed logins per client address; an address with too many within the window is banned
// for a while. Touched only on a failed login and at connect, never per command. This
// node's memory: the BanList without [cluster].
class AddressBans final : public BanList {
 public:
  AddressBans(unsigned failures, std::chrono::seconds window, std::chrono::seconds duration)
      : failures_(failures), window_(window), duration_(duration) {}
  void configure(unsigned failures, std::chrono::seconds window, std::chrono::seconds duration) override;
  bool banned(const asio::ip::address& peer) override;
  bool record_failure(const asio::ip::address& peer) override;
  std::vector<BanEntry> bans() override;
  std::optional<std::string> ban(std::string_view address, std::chrono::seconds duration, std::string reason) override;
  bool unban(std::string_view address) override;
  // The ban in force under `key` (a client_key), if any: for a cluster to share.
  std::optional<BanEntry> find(const std::string& key);

 private:
  struct Entry {
    std::deque<std::chrono::steady_clock::time_point> failures;
    std::chrono::steady_clock::time_point banned_until{};
    std::string reason;
  };
  void prune(std::chrono::steady_clock::time_point now);

  unsigned failures_;
  std::chrono::seconds window_;
  std::chrono::seconds duration_;
  std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

// Hands out passive ports round-robin over the configured range, so that consecutive
// transfers do not race for the same port.
class PassivePorts {
 public:
  PassivePorts(std::uint16_t first, std::uint16_t last) : first_(first), count_(last - first + 1u) {}
  std::uint16_t next() noexcept {
    return static_cast<std::uint16_t>(first_ + next_.fetch_add(1, std::memory_order_relaxed) % count_);
  }
  unsigned count() const noexcept { return count_; }

  // Listeners that sessions keep between transfers (PassiveListener::keep) hold at most a
  // quarter of the range: idle sessions must not starve the transfers of ports.
  bool reserve_kept() noexcept {
    unsigned now = kept_.load(std::memory_order_relaxed);
    while (now < std::max(1u, count_ / 4)) {
      if (kept_.compare_exchange_weak(now, now + 1, std::memory_order_relaxed)) return true;
    }
    return false;
  }
  void release_kept() noexcept { kept_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  std::uint16_t first_;
  unsigned count_;
  std::atomic<unsigned> next_{0};
  std::atomic<unsigned> kept_{0};
};

// Without [cluster]: AddressBans. With it: ClusterBans, which also shares `limits`' counts
// (cluster/cluster_bans.cpp).
std::unique_ptr<BanList> make_ban_list(const Config& config, SessionLimits& limits);

struct ServerRuntime {
  ServerRuntime(const Config& config, asio::thread_pool& pool, asio::thread_pool& digest_pool)
      : blocking(pool),
        digests(digest_pool),
        limits(config.max_sessions, config.max_sessions_per_ip),
        ban_list(make_ban_list(config, limits)),
        bans(*ban_list) {
    events.subscribe(std::make_shared<LogSink>());
    events.subscribe(std::make_shared<TransferLogSink>(transfer_log));
  }

  // Applies a reloaded configuration's limits and ban rule.
  void reconfigure(const Config& config) {
    limits.set_limits(config.max_sessions, config.max_sessions_per_ip);
    bans.configure(config.ban_failures, std::chrono::seconds(config.ban_window),
                   std::chrono::seconds(config.ban_duration));
  }

  asio::thread_pool& blocking;
  // HASH and its X-variants read whole files: on a pool of their own, so that however many
  // run, logins and plugin calls on `blocking` are never queued behind them.
  asio::thread_pool& digests;
  SessionLimits limits;
  std::unique_ptr<BanList> ban_list;  // this node's memory, or shared through [cluster]
  BanList& bans;
  SessionRegistry sessions;
  TransferLog transfer_log;
  // What happens, for every sink: the log, the transfer log (subscribed above).
  EventBus events;
  // Whose each TLS session is (FTPS data connections): ended control connections are
  // remembered while their sessions may be resumed, at most this many of them.
  TlsSessionOwners tls_owners{tls_session_lifetime, 16384};
  std::atomic<std::uint64_t> next_session_id{1};
  std::atomic<std::uint64_t> generations{0};  // made so far: the next one's number is this + 1
  const std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
};

class PluginHost;

struct ServerState {
  ServerState(Config c, std::shared_ptr<PluginHost> host, std::shared_ptr<ServerRuntime> rt)
      : plugins(std::move(host)),
        runtime(std::move(rt)),
        config(std::move(c)),
        blocking(runtime->blocking),
        digests(runtime->digests),
        limits(runtime->limits),
        bans(runtime->bans),
        sessions(runtime->sessions),
        transfer_log(runtime->transfer_log),
        passive_ports(config.passive_port_min, config.passive_port_max) {}

  // First, so that the libraries stay loaded until every object below made by them is gone.
  std::shared_ptr<PluginHost> plugins;
  std::shared_ptr<ServerRuntime> runtime;

  const Config config;
  // Which generation this is (1 at start-up, +1 per successful reload) and when it was made.
  std::uint64_t number = 0;
  std::chrono::system_clock::time_point loaded_at = std::chrono::system_clock::now();
  std::shared_ptr<Authenticator> authenticator;
  // [admin] operators: who may use the console (name:hash, as the users file); null when off.
  std::shared_ptr<const passwd::UsersFile> operators;
  std::shared_ptr<asio::ssl::context> tls;  // set when [tls] is configured
  vfs::MountTable mounts;
  // The runtime's parts, by their short names.
  asio::thread_pool& blocking;
  asio::thread_pool& digests;
  SessionLimits& limits;
  BanList& bans;
  SessionRegistry& sessions;
  TransferLog& transfer_log;
  PassivePorts passive_ports;
};

}  // namespace ferry
