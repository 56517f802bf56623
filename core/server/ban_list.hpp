// The bans as the operator sees and changes them (the console, `ferryd ban`): list, ban an
// address for a while, lift a ban. Whatever keeps the bans (in memory today, a shared
// database in a cluster) sits behind this; the FTP side asks AddressBans directly.
#pragma once

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
};

class BanList {
 public:
  virtual ~BanList() = default;
  // Bans in force now, soonest ending first. Thread-safe, as every method here.
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
