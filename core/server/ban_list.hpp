// Who is banned: ONE interface for the FTP side (a connection's admission, a PASS, a failed
// login) and the operator's (the console, `ferryd ban`: list, ban an address for a while,
// lift a ban). Two implementations: AddressBans (server_state.hpp), this node's memory,
// the default; ClusterBans (cluster/cluster_bans.hpp), the same shared by every node
// through PostgreSQL when [cluster] is configured.
#pragma once

#include <asio/ip/address.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry {

struct BanEntry {
  std::string address;                          // as bans count: IPv4, or an IPv6 /64 ("2001:db8::/64")
  std::chrono::system_clock::time_point until;  // the ban ends then
  std::string reason;                           // "10 failed logins", "by operator alice: ..."
  std::string node;                             // [cluster]: the node that made it ("" without)
};

// Every method is thread-safe and non-blocking (memory only; a cluster's database is
// written and read by a thread of its own), so I/O threads may call them.
class BanList {
 public:
  virtual ~BanList() = default;

  // ---- the FTP side ----
  // True when `peer` is banned right now.
  virtual bool banned(const asio::ip::address& peer) = 0;
  // Records a failed login from `peer`; true when this failure started a ban.
  virtual bool record_failure(const asio::ip::address& peer) = 0;
  // A reload's new rule applies from now on; bans in force stay.
  virtual void configure(unsigned failures, std::chrono::seconds window, std::chrono::seconds duration) = 0;

  // ---- the operator's ----
  // Bans in force now, soonest ending first.
  virtual std::vector<BanEntry> bans() = 0;
  // Bans `address` (an IP address, or an IPv6 "/64") for `duration`; returns the key it
  // was banned under, or nullopt when `address` is no address.
  virtual std::optional<std::string> ban(std::string_view address, std::chrono::seconds duration,
                                         std::string reason) = 0;
  // Lifts a ban (and forgets the address's failed logins); false when it had none.
  virtual bool unban(std::string_view address) = 0;
};

// The key bans and limits count `address` by (see client_key), or nullopt when it is no
// IP address; "ADDR/64" is accepted for IPv6.
std::optional<std::string> ban_key(std::string_view address);

}  // namespace ferry
