// Credential lookup: the .netrc parser (pure), the lookup order, and the terminal prompt.
#include "credentials.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>

namespace ferry::client {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Splits netrc text into tokens, dropping comments and skipping macdef bodies.
class NetrcTokenizer {
 public:
  explicit NetrcTokenizer(std::string_view text) : text_(text) {}

  std::optional<std::string> next() {
    for (;;) {
      while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
      if (pos_ >= text_.size()) return std::nullopt;
      if (text_[pos_] == '#') {
        skip_line();
        continue;
      }
      break;
    }
    std::string token;
    if (text_[pos_] == '"') {
      ++pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        token.push_back(text_[pos_++]);
      }
      if (pos_ < text_.size()) ++pos_;  // the closing quote
      return token;
    }
    while (pos_ < text_.size() && !is_space(text_[pos_])) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      token.push_back(text_[pos_++]);
    }
    return token;
  }

  // A macro definition runs from the line after `macdef NAME` to the first empty line.
  void skip_macro_body() {
    skip_line();
    while (pos_ < text_.size()) {
      const std::size_t end = text_.find('\n', pos_);
      const std::string_view line = text_.substr(pos_, end == std::string_view::npos ? end : end - pos_);
      pos_ = end == std::string_view::npos ? text_.size() : end + 1;
      if (line.empty() || line == "\r") return;
    }
  }

 private:
  void skip_line() {
    const std::size_t end = text_.find('\n', pos_);
    pos_ = end == std::string_view::npos ? text_.size() : end + 1;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The terminal state to restore if a signal arrives while echo is off. The signals are
// those of `ferryd passwd`'s prompt: whatever ends the program gives the terminal back.
constexpr int restoring_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
int g_tty_fd = -1;
struct termios g_saved_termios;
struct sigaction g_saved_actions[std::size(restoring_signals)];

void restore_signal_actions() {
  for (std::size_t i = 0; i < std::size(restoring_signals); ++i) {
    ::sigaction(restoring_signals[i], &g_saved_actions[i], nullptr);
  }
}

extern "C" void restore_tty_and_reraise(int signo) {
  if (g_tty_fd >= 0) {
    ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved_termios);
    [[maybe_unused]] auto ignored = ::write(g_tty_fd, "\n", 1);
  }
  restore_signal_actions();
  ::raise(signo);
}

}  // namespace

std::vector<NetrcEntry> parse_netrc(std::string_view text) {
  std::vector<NetrcEntry> entries;
  NetrcTokenizer tokens(text);
  NetrcEntry* current = nullptr;
  while (auto token = tokens.next()) {
    if (*token == "machine") {
      entries.push_back(NetrcEntry{tokens.next().value_or(""), false, std::nullopt, std::nullopt});
      current = &entries.back();
    } else if (*token == "default") {
      entries.push_back(NetrcEntry{"", true, std::nullopt, std::nullopt});
      current = &entries.back();
    } else if (*token == "login") {
      auto value = tokens.next();
      if (current && value) current->login = std::move(*value);
    } else if (*token == "password" || *token == "passwd") {
      auto value = tokens.next();
      if (current && value) current->password = std::move(*value);
    } else if (*token == "account") {
      tokens.next();
    } else if (*token == "macdef") {
      tokens.next();
      tokens.skip_macro_body();
      current = nullptr;  // a macro ends the entry it appeared in, as in ftp(1)
    }
  }
  return entries;
}

const NetrcEntry* find_netrc_entry(const std::vector<NetrcEntry>& entries, std::string_view host,
                                   std::string_view user) {
  const auto fits = [&](const NetrcEntry& entry) { return user.empty() || !entry.login || *entry.login == user; };
  for (const NetrcEntry& entry : entries) {
    if (!entry.is_default && iequals(entry.machine, host) && fits(entry)) return &entry;
  }
  for (const NetrcEntry& entry : entries) {
    if (entry.is_default && fits(entry)) return &entry;
  }
  return nullptr;
}

CredentialSources CredentialSources::from_environment() {
  CredentialSources sources;
  if (const char* password = std::getenv("FERRY_PASSWORD"); password && *password) {
    sources.env_password = password;
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    sources.netrc_text = read_file(std::string(home) + "/.netrc");
  }
  sources.prompt = prompt_password_on_tty;
  return sources;
}

Credentials resolve_credentials(const FtpUrl& url, const CredentialSources& sources) {
  const std::vector<NetrcEntry> netrc =
      sources.netrc_text ? parse_netrc(*sources.netrc_text) : std::vector<NetrcEntry>{};
  const NetrcEntry* entry = find_netrc_entry(netrc, url.host, url.user);

  Credentials credentials;
  credentials.user = url.user;
  if (credentials.user.empty()) {
    if (!entry || !entry->login || entry->login->empty()) {
      throw CredentialError("no user: write it into the URL (ftp://USER@" + url.authority() +
                            "/...) or add a ~/.netrc entry with a login");
    }
    credentials.user = *entry->login;
  }

  if (url.password) {
    credentials.password = *url.password;
  } else if (sources.env_password) {
    credentials.password = *sources.env_password;
  } else if (entry && entry->password) {
    credentials.password = *entry->password;
  } else {
    std::optional<std::string> typed;
    if (sources.prompt) typed = sources.prompt("Password for " + credentials.user + "@" + url.host + ": ");
    if (!typed) throw CredentialError("no password: set FERRY_PASSWORD or add ~/.netrc entry");
    credentials.password = std::move(*typed);
  }
  return credentials;
}

std::optional<std::string> prompt_password_on_tty(const std::string& prompt) {
  const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct termios saved;
  if (::tcgetattr(fd, &saved) != 0) {
    ::close(fd);
    return std::nullopt;
  }

  g_tty_fd = fd;
  g_saved_termios = saved;
  struct sigaction restore {};
  restore.sa_handler = restore_tty_and_reraise;
  ::sigemptyset(&restore.sa_mask);
  for (std::size_t i = 0; i < std::size(restoring_signals); ++i) {
    ::sigaction(restoring_signals[i], &restore, &g_saved_actions[i]);
  }

  struct termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  quiet.c_lflag |= ECHONL;  // the user still sees the Enter, so the next output starts a line
  ::tcsetattr(fd, TCSAFLUSH, &quiet);
  [[maybe_unused]] auto written = ::write(fd, prompt.data(), prompt.size());

  std::string line;
  bool complete = false;
  char c;
  for (;;) {
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (c == '\n') {
      complete = true;
      break;
    }
    if (c != '\r') line.push_back(c);
  }

  ::tcsetattr(fd, TCSAFLUSH, &saved);
  restore_signal_actions();
  g_tty_fd = -1;
  ::close(fd);
  // End of input (Ctrl-D) at an empty prompt means "no answer", not an empty password.
  if (!complete && line.empty()) return std::nullopt;
  return line;
}

}  // namespace ferry::client
