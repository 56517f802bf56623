// Parsing of ftp:// URLs (RFC 1738 section 3.2, with RFC 3986's bracketed IPv6 hosts).
#include "url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ferry::client {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool has_control_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Decodes one URL component and refuses what could break the FTP command it ends up in.
std::string decode_component(std::string_view text, std::string_view what) {
  std::string decoded = percent_decode(text);
  if (has_control_character(decoded)) {
    throw UrlError("the URL's " + std::string(what) + " contains a control character");
  }
  return decoded;
}

bool starts_with_scheme(std::string_view text, std::string_view scheme) {
  if (text.size() < scheme.size()) return false;
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != scheme[i]) return false;
  }
  return true;
}

std::uint16_t parse_port(std::string_view text, std::string_view url, std::uint16_t default_port) {
  if (text.empty()) return default_port;  // "host:" is allowed by RFC 3986 and means the default
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
    throw UrlError("bad port '" + std::string(text) + "' in " + std::string(url));
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      throw UrlError("bad percent escape in '" + std::string(text) + "'");
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

std::string FtpUrl::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

FtpUrl parse_url(std::string_view text) {
  const bool ftps = starts_with_scheme(text, "ftps://");
  if (!ftps && !starts_with_scheme(text, "ftp://")) {
    throw UrlError("not an ftp:// or ftps:// URL: " + std::string(text));
  }
  const std::string_view rest = text.substr(ftps ? 7 : 6);
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);

  FtpUrl url;
  url.implicit_tls = ftps;

  // The last '@' separates the user information: an unencoded '@' in a user name (an e-mail
  // address as anonymous login) is common enough to tolerate.
  std::string_view host_port = authority;
  if (const std::size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    host_port = authority.substr(at + 1);
    const std::size_t colon = userinfo.find(':');
    url.user = decode_component(userinfo.substr(0, colon), "user name");
    if (colon != std::string_view::npos) {
      url.password = decode_component(userinfo.substr(colon + 1), "password");
    }
  }

  std::string_view port_text;
  if (!host_port.empty() && host_port.front() == '[') {
    const std::size_t close = host_port.find(']');
    if (close == std::string_view::npos) {
      throw UrlError("unterminated '[' in the host of " + std::string(text));
    }
    url.host = std::string(host_port.substr(1, close - 1));
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw UrlError("unexpected text after ']' in " + std::string(text));
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = host_port.find(':');
    if (colon != std::string_view::npos && host_port.find(':', colon + 1) != std::string_view::npos) {
      throw UrlError("an IPv6 address in a URL needs brackets, e.g. ftp://[::1]/ (in " + std::string(text) + ")");
    }
    url.host = std::string(host_port.substr(0, colon));
    if (colon != std::string_view::npos) port_text = host_port.substr(colon + 1);
  }
  if (url.host.empty()) throw UrlError("no host in " + std::string(text));
  if (has_control_character(url.host) || url.host.find_first_of(" /?#") != std::string::npos) {
    throw UrlError("bad host '" + url.host + "' in " + std::string(text));
  }
  url.port = parse_port(port_text, text, ftps ? 990 : 21);

  url.path = path.empty() ? "/" : decode_component(path, "path");
  return url;
}

}  // namespace ferry::client
