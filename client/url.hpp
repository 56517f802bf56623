// ftp:// URLs as the command line and the GUI's connect form take them:
// ftp://[user[:password]@]host[:port]/path, and ftps:// for implicit FTPS (TLS from the
// first byte, default port 990). Pure parsing, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ferry::client {

struct FtpUrl {
  std::string user;  // percent-decoded; "" when the URL names none
  // Accepted for compatibility with other tools, but discouraged: a password on the command
  // line shows up in `ps` and in shell history. FERRY_PASSWORD or ~/.netrc are better.
  std::optional<std::string> password;
  std::string host;  // an IPv6 address comes without its brackets
  std::uint16_t port = 21;
  bool implicit_tls = false;  // ftps://
  // Percent-decoded, starting with '/' ("/" when the URL has no path). It names a path
  // under the directory the login lands in (RFC 1738); "//" (from "%2F") one from the
  // server's root. The ferry command resolves it after login (PWD).
  std::string path;

  // "host:port", with brackets around an IPv6 address: for messages.
  std::string authority() const;
};

class UrlError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws UrlError with a message fit for the user (it quotes the offending part, never the
// password: a URL is quoted through mask_password, a bad password is only named). Decoded
// parts never contain control characters: a "%0D%0A" in a path would otherwise smuggle a
// second command onto the control connection.
FtpUrl parse_url(std::string_view text);

// "%41" -> "A". Throws UrlError on a truncated or non-hex escape.
std::string percent_decode(std::string_view text);

// A URL as a message may quote it: the password in "scheme://user:password@host..." is
// shown as "****" (the last '@' before the first '/' ends it, as parse_url reads it). Any
// other text comes back unchanged. Every message that quotes a URL goes through this.
std::string mask_password(std::string_view url_text);

// RFC 1738: an ftp:// URL's path is under the directory the login lands in (PWD; curl,
// lftp and wget read it so), and "%2F" at its start (a path beginning "//") makes it
// absolute. The path on the server for `url_path`, given that directory (a Unix path;
// anything else counts as "/").
std::string resolve_url_path(std::string login_directory, const std::string& url_path);

}  // namespace ferry::client
