// Where the user name and password for a URL come from: the URL, FERRY_PASSWORD, ~/.netrc,
// then a no-echo prompt on the terminal. Never from a command-line option.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "url.hpp"

namespace ferry::client {

// One `machine` (or `default`) block of a .netrc file.
struct NetrcEntry {
  std::string machine;  // "" for the `default` entry
  bool is_default = false;
  std::optional<std::string> login;
  std::optional<std::string> password;
};

// Parses the text of a .netrc file (the format of ftp(1), curl and Python's netrc):
// whitespace-separated tokens `machine NAME`, `default`, `login NAME`, `password PASS`,
// `account X` (ignored), `macdef NAME` (its body, up to an empty line, is skipped).
// Tokens may be double-quoted with backslash escapes; '#' at the start of a token
// comments out the rest of the line. Unknown tokens are skipped. Pure.
std::vector<NetrcEntry> parse_netrc(std::string_view text);

// The entry for `host` (case-insensitive): the first `machine` entry whose login equals
// `user` or that has no login (any, when `user` is empty); failing that, `default` on the
// same terms. nullptr when none fits.
const NetrcEntry* find_netrc_entry(const std::vector<NetrcEntry>& entries, std::string_view host,
                                   std::string_view user);

struct Credentials {
  std::string user;
  std::string password;
};

// What resolve_credentials() may consult; from_environment() fills it from the real
// process, tests fill it by hand.
struct CredentialSources {
  std::optional<std::string> env_password;  // FERRY_PASSWORD
  std::optional<std::string> netrc_text;    // contents of ~/.netrc, when it exists
  // Asks for a password without echo; nullopt when there is no terminal to ask on.
  std::function<std::optional<std::string>(const std::string& prompt)> prompt;

  // FERRY_PASSWORD (when set and non-empty), $HOME/.netrc, and prompt_password_on_tty.
  static CredentialSources from_environment();
};

class CredentialError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// User: the URL's, else the netrc entry's login, else CredentialError. Password: the URL's
// (discouraged), FERRY_PASSWORD, the netrc entry's, then the prompt; CredentialError with
// "no password: set FERRY_PASSWORD or add ~/.netrc entry" when all of them come up empty.
Credentials resolve_credentials(const FtpUrl& url, const CredentialSources& sources);

// Prompts on /dev/tty with echo off and reads one line. nullopt when the process has no
// controlling terminal (cron, CI, a pipeline under setsid). Restores the terminal's mode
// even if the user presses Ctrl-C at the prompt.
std::optional<std::string> prompt_password_on_tty(const std::string& prompt);

}  // namespace ferry::client
