// Shared bans and session counts (see cluster_bans.hpp).
#include "server/cluster/cluster_bans.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "server/log.hpp"

namespace ferry {

namespace {

struct ResultCloser {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using QueryResult = std::unique_ptr<PGresult, ResultCloser>;

PGconn* pg(void* connection) { return static_cast<PGconn*>(connection); }

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

double epoch_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_epoch(double seconds) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(seconds)));
}

// An array literal of text values for $n::text[] (client keys hold no quote or backslash).
std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? ",\"" : "\"") + values[i] + "\"";
  return out + "}";
}

}  // namespace

std::unique_ptr<BanList> make_ban_list(const Config& config, SessionLimits& limits) {
  if (config.cluster) return std::make_unique<ClusterBans>(config, limits);
  return std::make_unique<AddressBans>(config.ban_failures, std::chrono::seconds(config.ban_window),
                                       std::chrono::seconds(config.ban_duration));
}

ClusterBans::ClusterBans(const Config& config, SessionLimits& limits)
    : node_(config.cluster->node),
      database_(config.cluster->database),
      limits_(limits),
      local_(config.ban_failures, std::chrono::seconds(config.ban_window), std::chrono::seconds(config.ban_duration)) {
  thread_ = std::thread([this] { run(); });
}

ClusterBans::~ClusterBans() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ClusterBans::banned(const asio::ip::address& peer) {
  if (local_.banned(peer)) return true;
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mutex_);
  if (shared_.empty()) return false;
  auto it = shared_.find(client_key(peer));
  return it != shared_.end() && now < it->second.until;
}

bool ClusterBans::record_failure(const asio::ip::address& peer) {
  if (!local_.record_failure(peer)) return false;
  share(client_key(peer));
  return true;
}

std::optional<std::string> ClusterBans::ban(std::string_view address, std::chrono::seconds duration, std::string reason) {
  auto key = local_.ban(address, duration, std::move(reason));
  if (key) share(*key);
  return key;
}

bool ClusterBans::unban(std::string_view address) {
  auto key = ban_key(address);
  if (!key) return false;
  bool lifted = local_.unban(address);
  {
    std::lock_guard lock(mutex_);
    lifted = shared_.erase(*key) > 0 || lifted;
    outbox_.push_back({BanEntry{*key, {}, {}, node_}});
  }
  wake_.notify_all();
  return lifted;
}

std::vector<BanEntry> ClusterBans::bans() {
  std::vector<BanEntry> out = local_.bans();
  for (BanEntry& mine : out) mine.node = node_;
  const auto now = std::chrono::system_clock::now();
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, entry] : shared_) {
      if (entry.until <= now) continue;
      auto same = std::find_if(out.begin(), out.end(), [&](const BanEntry& e) { return e.address == key; });
      if (same == out.end()) out.push_back(entry);
    }
  }
  std::sort(out.begin(), out.end(), [](const BanEntry& a, const BanEntry& b) { return a.until < b.until; });
  return out;
}

void ClusterBans::configure(unsigned failures, std::chrono::seconds window, std::chrono::seconds duration) {
  local_.configure(failures, window, duration);
}

void ClusterBans::share(const std::string& key) {
  auto entry = local_.find(key);
  if (!entry) return;
  entry->node = node_;
  {
    std::lock_guard lock(mutex_);
    outbox_.push_back({*entry});
    shared_[key] = *entry;
  }
  wake_.notify_all();  // written at once, not at the next round
}

void ClusterBans::run() {
  bool reachable = true;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::string error;
    const bool ok = sync(error);
    if (!ok && reachable) {
      log_warning("cluster: no sync with the database (", error, "): node ", node_,
                  " enforces its own bans and counts only its own sessions until it is back");
    } else if (ok && !reachable) {
      log_info("cluster: in sync with the database again: bans and session counts are shared again");
    }
    reachable = ok;
    lock.lock();
    wake_.wait_for(lock, cluster_sync_interval, [this] { return stopping_ || !outbox_.empty(); });
  }
  lock.unlock();
  // Leaving: this node's sessions no longer count anywhere.
  if (connection_) {
    const char* values[1] = {node_.c_str()};
    QueryResult(PQexecParams(pg(connection_), "DELETE FROM ferry_sessions WHERE node = $1", 1, nullptr, values, nullptr,
                             nullptr, 0));
    PQfinish(pg(connection_));
    connection_ = nullptr;
  }
}

namespace {

bool failed(PGconn* c, const char* what, std::string& error) {
  error = std::string(what) + ": " + trimmed(PQerrorMessage(c));
  return false;
}

}  // namespace

bool ClusterBans::connect(std::string& error) {
  if (connection_ && PQstatus(pg(connection_)) != CONNECTION_OK) {
    PQfinish(pg(connection_));
    connection_ = nullptr;
  }
  if (connection_) return true;
  PGconn* made = PQconnectdb(("connect_timeout=2 application_name=ferryd-cluster " + database_).c_str());
  if (!made || PQstatus(made) != CONNECTION_OK) {
    error = made ? trimmed(PQerrorMessage(made)) : "out of memory";
    PQfinish(made);
    return false;
  }
  connection_ = made;
  return true;
}

bool ClusterBans::sync(std::string& error) {
  if (!connect(error) || !write_changes(error)) return false;
  std::unordered_map<std::string, BanEntry> shared;
  std::unordered_set<std::string> lifted;
  if (!read_bans(shared, lifted, error) || !share_session_counts(error)) return false;
  std::lock_guard lock(mutex_);
  // Bans this node made since its writes above stay until the next read shows them.
  for (auto& [key, entry] : shared_) {
    if (entry.node == node_ && !shared.contains(key) && !lifted.contains(key)) shared.emplace(key, entry);
  }
  shared_.swap(shared);
  return true;
}

// 1. This node's new bans and lifts; what fails is tried again next round.
bool ClusterBans::write_changes(std::string& error) {
  PGconn* c = pg(connection_);
  std::deque<Change> changes;
  {
    std::lock_guard lock(mutex_);
    changes.swap(outbox_);
  }
  while (!changes.empty()) {
    const BanEntry& change = changes.front().ban;
    const bool lift = change.until == std::chrono::system_clock::time_point{};
    QueryResult r;
    if (lift) {
      const char* values[1] = {change.address.c_str()};
      r.reset(PQexecParams(c, "DELETE FROM ferry_bans WHERE address = $1", 1, nullptr, values, nullptr, nullptr, 0));
    } else {
      const std::string until = std::to_string(epoch_seconds(change.until));
      const char* values[4] = {change.address.c_str(), until.c_str(), node_.c_str(), change.reason.c_str()};
      r.reset(PQexecParams(c,
                           "INSERT INTO ferry_bans (address, until, node, reason) "
                           "VALUES ($1, to_timestamp($2::float8), $3, $4) "
                           "ON CONFLICT (address) DO UPDATE SET until = GREATEST(ferry_bans.until, EXCLUDED.until), "
                           "node = EXCLUDED.node, reason = EXCLUDED.reason",
                           4, nullptr, values, nullptr, nullptr, 0));
    }
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      std::lock_guard lock(mutex_);
      outbox_.insert(outbox_.begin(), changes.begin(), changes.end());
      return failed(c, "writing a ban", error);
    }
    if (lift) {
      written_.erase(change.address);
    } else {
      written_.insert(change.address);
    }
    changes.pop_front();
  }
  return true;
}

// 2. Every node's bans in force; this node's own that were lifted elsewhere (or are over)
// go here too, and are named in `lifted`.
bool ClusterBans::read_bans(std::unordered_map<std::string, BanEntry>& shared, std::unordered_set<std::string>& lifted,
                            std::string& error) {
  PGconn* c = pg(connection_);
  QueryResult bans(
      PQexec(c, "SELECT address, extract(epoch FROM until)::float8, node, reason FROM ferry_bans WHERE until > now()"));
  if (PQresultStatus(bans.get()) != PGRES_TUPLES_OK) return failed(c, "reading bans", error);
  for (int i = 0; i < PQntuples(bans.get()); ++i) {
    std::string address = PQgetvalue(bans.get(), i, 0);
    shared[address] = BanEntry{address, from_epoch(std::strtod(PQgetvalue(bans.get(), i, 1), nullptr)),
                               PQgetvalue(bans.get(), i, 3), PQgetvalue(bans.get(), i, 2)};
  }
  for (auto it = written_.begin(); it != written_.end();) {
    if (shared.contains(*it)) {
      ++it;
      continue;
    }
    (void)local_.unban(*it);
    lifted.insert(*it);
    it = written_.erase(it);
  }
  return true;
}

// 3. This node's sessions per address, replaced whole; 4. the other live nodes' sums.
bool ClusterBans::share_session_counts(std::string& error) {
  PGconn* c = pg(connection_);
  std::vector<std::string> addresses;
  std::string count_array = "{";
  for (const auto& [address, count] : limits_.per_address()) {
    count_array += (addresses.empty() ? "" : ",") + std::to_string(count);
    addresses.push_back(address);
  }
  count_array += "}";
  const std::string address_array = text_array(addresses);
  const char* session_values[3] = {node_.c_str(), address_array.c_str(), count_array.c_str()};
  // (Two statements: a DELETE and an INSERT in one would see the same snapshot.)
  QueryResult gone(PQexecParams(c, "DELETE FROM ferry_sessions WHERE node = $1 AND NOT (address = ANY($2::text[]))", 2,
                                nullptr, session_values, nullptr, nullptr, 0));
  if (PQresultStatus(gone.get()) != PGRES_COMMAND_OK) return failed(c, "writing session counts", error);
  QueryResult replaced(PQexecParams(c,
                                    "INSERT INTO ferry_sessions (node, address, sessions, updated_at) "
                                    "SELECT $1, a, s, now() FROM unnest($2::text[], $3::int[]) AS t(a, s) "
                                    "ON CONFLICT (node, address) DO UPDATE SET sessions = EXCLUDED.sessions, "
                                    "updated_at = EXCLUDED.updated_at",
                                    3, nullptr, session_values, nullptr, nullptr, 0));
  if (PQresultStatus(replaced.get()) != PGRES_COMMAND_OK) return failed(c, "writing session counts", error);
  const std::string stale = std::to_string(cluster_node_stale_after.count());
  const char* other_values[2] = {node_.c_str(), stale.c_str()};
  QueryResult others(PQexecParams(c,
                                  "SELECT address, sum(sessions)::int FROM ferry_sessions WHERE node <> $1 AND "
                                  "updated_at > now() - make_interval(secs => $2::int) GROUP BY address",
                                  2, nullptr, other_values, nullptr, nullptr, 0));
  if (PQresultStatus(others.get()) != PGRES_TUPLES_OK) return failed(c, "reading session counts", error);
  std::unordered_map<std::string, unsigned> elsewhere;
  for (int i = 0; i < PQntuples(others.get()); ++i) {
    elsewhere[PQgetvalue(others.get(), i, 0)] = static_cast<unsigned>(std::strtoul(PQgetvalue(others.get(), i, 1), nullptr, 10));
  }
  limits_.set_elsewhere(std::move(elsewhere));
  return true;
}

}  // namespace ferry
