// An address or a CIDR block from the configuration ("10.0.0.5", "10.0.0.0/8", "fd00::/8"):
// who may send a PROXY header (server.proxy_protocol_from). Pure, std and libc only.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry {

struct AddressRange {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 in the first 4 bytes, host bits zero
  unsigned prefix = 0;                   // 0..32 or 0..128

  // `address` is 4 bytes (IPv4) or 16 (IPv6); an IPv4-mapped IPv6 address is matched as IPv4.
  bool contains(std::span<const std::uint8_t> address) const noexcept;
  std::string to_string() const;
};

// "ADDRESS" (a /32 or /128) or "ADDRESS/PREFIX"; nullopt when it is neither. Host bits set
// below the prefix ("10.0.0.1/8") are refused: they are usually a typo.
std::optional<AddressRange> parse_address_range(std::string_view text);

// True when any range holds `address`.
bool any_contains(const std::vector<AddressRange>& ranges, std::span<const std::uint8_t> address) noexcept;

}  // namespace ferry
