// Parsing of ftp:// URLs (RFC 1738 section 3.2, with RFC 3986's bracketed IPv6 hosts).
#include "url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <optional>

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

// "%41" -> "A"; nullopt on a truncated or non-hex escape.
std::optional<std::string> try_percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

// Decodes one URL component and refuses what could break the FTP command it ends up in.
// A broken password is named, never quoted: the message may end up on a shared screen.
std::string decode_component(std::string_view text, std::string_view what) {
  std::optional<std::string> maybe_decoded = try_percent_decode(text);
  if (!maybe_decoded) {
    if (what == "password") throw UrlError("bad percent escape in the password");
    throw UrlError("bad percent escape in '" + std::string(text) + "'");
  }
  std::string decoded = std::move(*maybe_decoded);
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

// `url` is already masked (mask_password).
std::uint16_t parse_port(std::string_view text, const std::string& url, std::uint16_t default_port) {
  if (text.empty()) return default_port;  // "host:" is allowed by RFC 3986 and means the default
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value == 0 || value > 65535) {
    throw UrlError("bad port '" + std::string(text) + "' in " + url);
  }
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string percent_decode(std::string_view text) {
  std::optional<std::string> decoded = try_percent_decode(text);
  if (!decoded) throw UrlError("bad percent escape in '" + std::string(text) + "'");
  return std::move(*decoded);
}

std::string mask_password(std::string_view url_text) {
  const std::size_t scheme_end = url_text.find("://");
  if (scheme_end == std::string_view::npos) return std::string(url_text);
  const std::size_t start = scheme_end + 3;
  const std::size_t authority_end = url_text.find('/', start);
  const std::string_view authority = url_text.substr(start, authority_end == std::string_view::npos
                                                                ? std::string_view::npos
                                                                : authority_end - start);
  const std::size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url_text);
  const std::size_t colon = authority.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(url_text);
  return std::string(url_text.substr(0, start + colon + 1)) + "****" + std::string(url_text.substr(start + at));
}

std::string FtpUrl::authority() const {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

FtpUrl parse_url(std::string_view text) {
  const std::string quoted = mask_password(text);  // the URL as messages show it
  const bool ftps = starts_with_scheme(text, "ftps://");
  if (!ftps && !starts_with_scheme(text, "ftp://")) {
    throw UrlError("not an ftp:// or ftps:// URL: " + quoted);
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
      throw UrlError("unterminated '[' in the host of " + quoted);
    }
    url.host = std::string(host_port.substr(1, close - 1));
    const std::string_view after = host_port.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw UrlError("unexpected text after ']' in " + quoted);
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = host_port.find(':');
    if (colon != std::string_view::npos && host_port.find(':', colon + 1) != std::string_view::npos) {
      throw UrlError("an IPv6 address in a URL needs brackets, e.g. ftp://[::1]/ (in " + quoted + ")");
    }
    url.host = std::string(host_port.substr(0, colon));
    if (colon != std::string_view::npos) port_text = host_port.substr(colon + 1);
  }
  if (url.host.empty()) throw UrlError("no host in " + quoted);
  if (has_control_character(url.host) || url.host.find_first_of(" /?#") != std::string::npos) {
    throw UrlError("bad host '" + url.host + "' in " + quoted);
  }
  url.port = parse_port(port_text, quoted, ftps ? 990 : 21);

  url.path = path.empty() ? "/" : decode_component(path, "path");
  return url;
}

std::string resolve_url_path(std::string login_directory, const std::string& url_path) {
  if (url_path.starts_with("//")) return url_path.substr(1);  // ftp://host/%2Fetc/x
  while (login_directory.size() > 1 && login_directory.back() == '/') login_directory.pop_back();
  if (!login_directory.starts_with('/') || login_directory == "/") return url_path.empty() ? "/" : url_path;
  if (url_path.empty() || url_path == "/") return login_directory;
  return login_directory + url_path;
}

}  // namespace ferry::client
