// Address ranges of the configuration (see address_range.hpp).
#include "server/address_range.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

namespace ferry {

namespace {

bool host_bits_zero(const std::array<std::uint8_t, 16>& bytes, unsigned prefix, unsigned width) {
  for (unsigned bit = prefix; bit < width; ++bit) {
    if (bytes[bit / 8] & (0x80u >> (bit % 8))) return false;
  }
  return true;
}

bool prefix_equal(const std::uint8_t* a, const std::uint8_t* b, unsigned prefix) {
  const unsigned whole = prefix / 8;
  if (std::memcmp(a, b, whole) != 0) return false;
  const unsigned rest = prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
  return (a[whole] & mask) == (b[whole] & mask);
}

}  // namespace

std::optional<AddressRange> parse_address_range(std::string_view text) {
  const std::size_t slash = text.find('/');
  std::string_view address = text.substr(0, slash);
  char buffer[64];
  if (address.empty() || address.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, address.data(), address.size());
  buffer[address.size()] = '\0';
  AddressRange range;
  if (::inet_pton(AF_INET, buffer, range.bytes.data()) == 1) {
    range.v6 = false;
  } else if (::inet_pton(AF_INET6, buffer, range.bytes.data()) == 1) {
    range.v6 = true;
  } else {
    return std::nullopt;
  }
  const unsigned width = range.v6 ? 128 : 32;
  range.prefix = width;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3) return std::nullopt;
    unsigned value = 0;
    for (char c : digits) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > width) return std::nullopt;
    range.prefix = value;
    if (!host_bits_zero(range.bytes, range.prefix, width)) return std::nullopt;
  }
  return range;
}

bool AddressRange::contains(std::span<const std::uint8_t> address) const noexcept {
  static constexpr std::uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.size() == 16 && std::memcmp(address.data(), mapped_prefix, 12) == 0) address = address.subspan(12);
  if (address.size() == 4) return !v6 && prefix_equal(bytes.data(), address.data(), prefix);
  if (address.size() == 16) return v6 && prefix_equal(bytes.data(), address.data(), prefix);
  return false;
}

std::string AddressRange::to_string() const {
  char buffer[INET6_ADDRSTRLEN];
  if (::inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof buffer) == nullptr) return {};
  return std::string(buffer) + "/" + std::to_string(prefix);
}

bool any_contains(const std::vector<AddressRange>& ranges, std::span<const std::uint8_t> address) noexcept {
  for (const AddressRange& range : ranges) {
    if (range.contains(address)) return true;
  }
  return false;
}

}  // namespace ferry
