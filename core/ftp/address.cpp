// PASV/PORT and EPSV/EPRT address encodings (see address.hpp).
#include "ftp/address.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <vector>

namespace ferry::ftp {

namespace {

std::optional<unsigned> parse_number(std::string_view text, unsigned max) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) return std::nullopt;
  return value;
}

// "h1,h2,h3,h4,p1,p2" -> HostPort; the six numbers must be the whole of `text`.
std::optional<HostPort> parse_six(std::string_view text) {
  std::array<unsigned, 6> n{};
  for (std::size_t i = 0; i < 6; ++i) {
    std::size_t comma = text.find(',');
    if ((i < 5) != (comma != std::string_view::npos)) return std::nullopt;
    auto v = parse_number(text.substr(0, comma), 255);
    if (!v) return std::nullopt;
    n[i] = *v;
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  HostPort hp;
  hp.host = std::to_string(n[0]) + "." + std::to_string(n[1]) + "." + std::to_string(n[2]) + "." +
            std::to_string(n[3]);
  hp.port = static_cast<std::uint16_t>(n[4] * 256 + n[5]);
  return hp;
}

bool valid_ip(int family, const std::string& text) {
  unsigned char buf[16];
  return inet_pton(family, text.c_str(), buf) == 1;
}

}  // namespace

std::string format_pasv(std::string_view ipv4, std::uint16_t port) {
  std::string out = "Entering Passive Mode (";
  for (char c : ipv4) out.push_back(c == '.' ? ',' : c);
  out.push_back(',');
  out.append(std::to_string(port / 256));
  out.push_back(',');
  out.append(std::to_string(port % 256));
  out.append(").");
  return out;
}

std::string format_epsv(std::uint16_t port) {
  std::string out = "Entering Extended Passive Mode (|||";
  out.append(std::to_string(port));
  out.append("|)");
  return out;
}

std::optional<HostPort> parse_port_argument(std::string_view argument) {
  auto hp = parse_six(argument);
  if (!hp || !valid_ip(AF_INET, hp->host)) return std::nullopt;
  return hp;
}

std::optional<HostPort> parse_eprt_argument(std::string_view argument) {
  if (argument.size() < 7) return std::nullopt;
  char d = argument.front();
  if (d < 33 || d > 126 || argument.back() != d) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = argument.substr(1, argument.size() - 2);
  while (true) {
    std::size_t pos = rest.find(d);
    fields.push_back(rest.substr(0, pos));
    if (pos == std::string_view::npos) break;
    rest.remove_prefix(pos + 1);
  }
  if (fields.size() != 3) return std::nullopt;
  auto proto = parse_number(fields[0], 2);
  auto port = parse_number(fields[2], 65535);
  if (!proto || !port || *port == 0) return std::nullopt;
  HostPort hp{std::string(fields[1]), static_cast<std::uint16_t>(*port)};
  if (*proto == 1 && valid_ip(AF_INET, hp.host)) return hp;
  if (*proto == 2 && valid_ip(AF_INET6, hp.host)) return hp;
  return std::nullopt;
}

std::optional<unsigned> eprt_network_protocol(std::string_view argument) {
  if (argument.size() < 3) return std::nullopt;
  const char d = argument.front();
  const std::size_t end = argument.find(d, 1);
  if (d < 33 || d > 126 || end == std::string_view::npos) return std::nullopt;
  auto protocol = parse_number(argument.substr(1, end - 1), 255);
  if (!protocol) return std::nullopt;
  return static_cast<unsigned>(*protocol);
}

std::optional<HostPort> parse_pasv_reply(std::string_view text) {
  // The numbers may or may not be in parentheses; find the first run of "d,d,d,d,d,d".
  for (std::size_t start = 0; start < text.size(); ++start) {
    if (text[start] < '0' || text[start] > '9') continue;
    std::size_t end = start;
    while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || text[end] == ',' || text[end] == ' ')) {
      ++end;
    }
    std::string_view candidate = text.substr(start, end - start);
    while (!candidate.empty() && (candidate.back() == ' ' || candidate.back() == ',')) candidate.remove_suffix(1);
    if (auto hp = parse_six(candidate)) return hp;
    start = end;
  }
  return std::nullopt;
}

std::optional<std::uint16_t> parse_epsv_reply(std::string_view text) {
  std::size_t open = text.find('(');
  std::size_t close = text.find(')', open == std::string_view::npos ? 0 : open);
  if (open == std::string_view::npos || close == std::string_view::npos || close - open < 6) return std::nullopt;
  std::string_view inner = text.substr(open + 1, close - open - 1);  // "|||port|"
  char d = inner.front();
  if (inner.size() < 5 || inner[1] != d || inner[2] != d || inner.back() != d) return std::nullopt;
  auto port = parse_number(inner.substr(3, inner.size() - 4), 65535);
  if (!port || *port == 0) return std::nullopt;
  return static_cast<std::uint16_t>(*port);
}

}  // namespace ferry::ftp
