// [cluster]: bans and per-address session counts shared by every node through PostgreSQL
// (tables ferry_bans and ferry_sessions, deploy/schema.sql). The BanList the sessions ask
// stays in memory: this node's own bans at once, the other nodes' as of the last sync. A
// thread of its own syncs every half second (the database never blocks an I/O thread), so
// a ban made on one node holds on every node within about a second; while the database is
// unreachable each node goes on with what it knows, and says so in its log.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "server/ban_list.hpp"
#include "server/config.hpp"
#include "server/server_state.hpp"

namespace ferry {

// How often a node pushes its changes and reads the others'.
inline constexpr std::chrono::milliseconds cluster_sync_interval{500};
// A node's session counts older than this are a dead node's, and no longer count.
inline constexpr std::chrono::seconds cluster_node_stale_after{5};

class ClusterBans final : public BanList {
 public:
  ClusterBans(const Config& config, SessionLimits& limits);
  ~ClusterBans() override;

  bool banned(const asio::ip::address& peer) override;
  bool record_failure(const asio::ip::address& peer) override;
  void configure(unsigned failures, std::chrono::seconds window, std::chrono::seconds duration) override;
  // Every node's bans (each entry names its node).
  std::vector<BanEntry> bans() override;
  std::optional<std::string> ban(std::string_view address, std::chrono::seconds duration, std::string reason) override;
  // Lifts the ban on every node (this node's own copy at once, the others' at their next
  // read of the table).
  bool unban(std::string_view address) override;

 private:
  struct Change {
    BanEntry ban;  // until at the epoch: lift the ban
  };
  void share(const std::string& key);
  void run();
  // One round with the database: false (with `error`) when it failed.
  bool sync(std::string& error);
  // sync()'s steps, on the sync thread; each false with `error` set when the database fails.
  bool connect(std::string& error);
  bool write_changes(std::string& error);
  bool read_bans(std::unordered_map<std::string, BanEntry>& shared, std::unordered_set<std::string>& lifted,
                 std::string& error);
  bool share_session_counts(std::string& error);

  std::string node_;
  std::string database_;
  SessionLimits& limits_;
  AddressBans local_;  // failures counted here; this node's bans at once

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<Change> outbox_;  // this node's bans and lifts, not yet written
  std::unordered_map<std::string, BanEntry> shared_;  // every node's bans, as last read
  // This node's bans written to the table: one that is gone from it was lifted elsewhere
  // (an operator on another node), and is lifted here too. The sync thread's only.
  std::unordered_set<std::string> written_;
  std::thread thread_;
  void* connection_ = nullptr;  // PGconn, the sync thread's only
};

}  // namespace ferry
