// `ferryd passwd USERS_FILE USER`: reads a new password (stdin, or twice from the terminal
// with echo off), hashes it with yescrypt and writes it into the users file atomically.
#include "server/passwd_command.hpp"

#include <fcntl.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "passwd/password_hash.hpp"
#include "passwd/users_file.hpp"

namespace ferry {
namespace {

// Longer lines are refused rather than silently truncated.
constexpr std::size_t max_password_length = 1024;

// Wipes a password when it goes out of scope.
struct Secret {
  std::string text;
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() { explicit_bzero(text.data(), text.size()); }
};

// Reads one line (without "\n" or "\r\n") from fd. nullopt on EOF before any byte, on a
// read error, or when the line is longer than max_password_length.
std::optional<std::string> read_line(int fd, bool& too_long) {
  std::string line;
  too_long = false;
  bool got_any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(fd, &c, 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      explicit_bzero(line.data(), line.size());
      return std::nullopt;
    }
    if (n == 0) break;
    got_any = true;
    if (c == '\n') break;
    if (line.size() >= max_password_length) too_long = true;
    if (!too_long) line += c;
  }
  if (!got_any) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (too_long) {
    explicit_bzero(line.data(), line.size());
    return std::nullopt;
  }
  return line;
}

// The terminal's settings while echo is off, so a signal handler can put them back.
int g_tty_fd = -1;
struct termios g_saved_termios {};
volatile sig_atomic_t g_echo_off = 0;

extern "C" void restore_tty_and_reraise(int sig) {
  if (g_echo_off) {
    ::tcsetattr(g_tty_fd, TCSAFLUSH, &g_saved_termios);
    [[maybe_unused]] const ssize_t n = ::write(g_tty_fd, "\n", 1);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Turns terminal echo off for its lifetime, also when the user presses Ctrl-C.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd, &saved_) != 0) return;
    g_tty_fd = fd;
    g_saved_termios = saved_;
    struct sigaction action {};
    action.sa_handler = restore_tty_and_reraise;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < std::size(signals_); ++i) ::sigaction(signals_[i], &action, &old_actions_[i]);
    struct termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    quiet.c_lflag |= ECHONL;  // the Enter key still moves to the next line
    g_echo_off = 1;
    active_ = ::tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    if (!active_) restore_signals();
  }
  ~EchoOff() {
    if (!active_) return;
    ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    restore_signals();
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  void restore_signals() {
    g_echo_off = 0;
    for (std::size_t i = 0; i < std::size(signals_); ++i) ::sigaction(signals_[i], &old_actions_[i], nullptr);
  }

  static constexpr int signals_[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
  int fd_;
  struct termios saved_ {};
  struct sigaction old_actions_[std::size(signals_)] {};
  bool active_ = false;
};

bool write_text(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Prompts on the terminal and reads one line with echo off.
std::optional<std::string> prompt(int tty, std::string_view text, bool& too_long) {
  if (!write_text(tty, text)) return std::nullopt;
  EchoOff echo_off(tty);
  return read_line(tty, too_long);
}

// Reads the new password: a line from standard input when it is not a terminal, else twice
// from the terminal with echo off. False after saying why on stderr.
bool read_new_password(const std::string& user, Secret& password) {
  bool too_long = false;
  if (!::isatty(STDIN_FILENO)) {
    auto line = read_line(STDIN_FILENO, too_long);
    if (!line) {
      std::cerr << (too_long ? "ferryd passwd: password longer than " + std::to_string(max_password_length) +
                                   " bytes\n"
                             : std::string("ferryd passwd: no password on standard input\n"));
      return false;
    }
    password.text = std::move(*line);
  } else {
    const int tty = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (tty < 0) {
      std::cerr << "ferryd passwd: /dev/tty: " << std::strerror(errno) << "\n";
      return false;
    }
    Secret again;
    auto first = prompt(tty, "New password for " + user + ": ", too_long);
    if (first && first->empty()) {
      ::close(tty);
      std::cerr << "ferryd passwd: refusing an empty password\n";
      return false;
    }
    if (first) {
      password.text = std::move(*first);
      auto second = prompt(tty, "Retype new password: ", too_long);
      if (second) again.text = std::move(*second);
      if (!second) first.reset();
    }
    ::close(tty);
    if (!first) {
      std::cerr << (too_long ? "ferryd passwd: password too long\n" : "ferryd passwd: no password entered\n");
      return false;
    }
    if (password.text != again.text) {
      std::cerr << "ferryd passwd: the passwords do not match; nothing changed\n";
      return false;
    }
  }
  if (password.text.empty()) {
    std::cerr << "ferryd passwd: refusing an empty password\n";
    return false;
  }
  return true;
}

constexpr const char* usage = "usage: ferryd passwd USERS_FILE USER\n";

}  // namespace

int run_passwd_command(const std::vector<std::string>& args) {
  if (args.size() != 2) {
    std::cerr << usage;
    return 2;
  }
  const std::string& path = args[0];
  const std::string& user = args[1];
  if (path.empty()) {
    std::cerr << "ferryd passwd: empty USERS_FILE\n" << usage;
    return 2;
  }
  if (!passwd::valid_user_name(user)) {
    std::cerr << "ferryd passwd: invalid user name '" << user
              << "' (allowed: letters, digits, '.', '_', '-', '@')\n";
    return 2;
  }
  Secret password;
  if (!read_new_password(user, password)) return 1;
  const auto hash = passwd::hash_password(password.text);
  if (!hash) {
    std::cerr << "ferryd passwd: could not hash the password (libcrypt failed)\n";
    return 1;
  }
  const auto result = passwd::set_user(path, user, *hash);
  if (!result.ok()) {
    std::cerr << "ferryd passwd: " << result.error << "\n";
    return 1;
  }
  for (const std::string& note : result.notes) std::cerr << "ferryd passwd: note: " << note << "\n";
  std::cerr << "ferryd passwd: " << (result.replaced ? "updated" : "added") << " user '" << user << "' in " << path
            << "\n";
  // Other lines are kept as they were: say so if one of them still keeps ferryd from starting.
  if (const auto after = passwd::load_users_file(path); !after.file) {
    std::cerr << "ferryd passwd: warning: " << after.error << "\n";
  }
  return 0;
}

}  // namespace ferry
