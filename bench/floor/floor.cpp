// ferry-floor: the floor this machine allows for an FTP client's command sequence.
//
// A minimal FTP responder for bench/run's "floor" column: one thread, blocking sockets,
// one control connection at a time. It answers what curl and bench/loadgen send (USER,
// PASS, TYPE, EPSV/PASV, PWD, CWD, SIZE, RETR, STOR, QUIT...) with nothing else to do:
// no authentication, no path checks, no logging, no limits. RETR is open + sendfile,
// STOR is splice through a pipe into the file. One data listener serves every transfer
// (no socket, bind, listen per EPSV). It sleeps in recv() while it waits: a floor for a
// client that sleeps too; ferryd's busy polling (server.busy_poll_us) can beat it against
// a client that polls. What ferryd spends above this floor is
// what its features and its architecture cost; what a peer spends above it, likewise.
//
// NOT A SERVER: it serves any path under --root to anyone who connects. Loopback only.
//
//   ferry-floor --port P --root DIR
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

constexpr int splice_pipe_size = 1024 * 1024;  // the default pipe-max-size
constexpr int notsent_lowat = 32 * 1024;

int listen_on(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, 64) != 0) {
    std::perror("ferry-floor: bind/listen");
    std::exit(1);
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

bool send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// One control connection: its socket, its line buffer, its current directory.
class Session {
 public:
  Session(int control, int data_listener, std::string root)
      : control_(control), data_listener_(data_listener), root_(std::move(root)) {}

  void run() {
    if (!send_all(control_, "220 floor\r\n")) return;
    std::string line;
    while (next_line(line)) {
      if (!answer(line)) return;
    }
  }

 private:
  bool next_line(std::string& line) {
    for (;;) {
      std::size_t end = buffer_.find("\r\n");
      if (end != std::string::npos) {
        line = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        return true;
      }
      char chunk[4096];
      ssize_t n = ::recv(control_, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  std::string path_of(std::string_view arg) const {
    if (!arg.empty() && arg.front() == '/') return root_ + std::string(arg);
    return root_ + cwd_ + std::string(arg);
  }

  // false: the session is over.
  bool answer(const std::string& line) {
    std::string verb = line.substr(0, line.find(' '));
    for (char& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string_view arg = line.size() > verb.size() ? std::string_view(line).substr(verb.size() + 1) : "";
    if (verb == "USER") return send_all(control_, "331 any password\r\n");
    if (verb == "PASS") return send_all(control_, "230 in\r\n");
    if (verb == "QUIT") return send_all(control_, "221 bye\r\n") && false;
    if (verb == "EPSV") return send_all(control_, "229 (|||" + std::to_string(local_port(data_listener_)) + "|)\r\n");
    if (verb == "PASV") {
      std::uint16_t p = local_port(data_listener_);
      return send_all(control_, "227 (127,0,0,1," + std::to_string(p >> 8) + "," + std::to_string(p & 255) + ")\r\n");
    }
    if (verb == "PWD") return send_all(control_, "257 \"" + cwd_ + "\"\r\n");
    if (verb == "CWD") {
      cwd_ = arg.starts_with("/") ? std::string(arg) : cwd_ + std::string(arg);
      if (cwd_.back() != '/') cwd_ += '/';
      return send_all(control_, "250 ok\r\n");
    }
    if (verb == "SIZE") {
      struct stat st {};
      if (::stat(path_of(arg).c_str(), &st) != 0) return send_all(control_, "550 no\r\n");
      return send_all(control_, "213 " + std::to_string(st.st_size) + "\r\n");
    }
    if (verb == "RETR") return retrieve(path_of(arg));
    if (verb == "STOR") return store(path_of(arg));
    if (verb == "FEAT") return send_all(control_, "211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n211 End\r\n");
    return send_all(control_, "200 ok\r\n");  // TYPE, MODE, NOOP, OPTS...: nothing to do
  }

  int accept_data() {
    int fd = ::accept4(data_listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) std::perror("ferry-floor: accept");
    return fd;
  }

  bool retrieve(const std::string& path) {
    int file = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (file < 0 || ::fstat(file, &st) != 0) {
      if (file >= 0) ::close(file);
      return send_all(control_, "550 no\r\n");
    }
    int data = accept_data();
    if (data >= 0 && st.st_size > notsent_lowat) {
      // As ferryd does (data_channel.cpp): sendfile sends from this thread instead of
      // leaving megabytes for the kernel to push out in the client's context.
      ::setsockopt(data, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &notsent_lowat, sizeof notsent_lowat);
    }
    bool ok = data >= 0 && send_all(control_, "150 here\r\n");
    off_t offset = 0;
    while (ok && offset < st.st_size) {
      ssize_t n = ::sendfile(data, file, &offset, static_cast<std::size_t>(st.st_size - offset));
      if (n <= 0) ok = false;
    }
    ::close(file);
    if (data >= 0) ::close(data);
    return send_all(control_, ok ? "226 done\r\n" : "426 failed\r\n");
  }

  bool store(const std::string& path) {
    int file = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (file < 0) return send_all(control_, "553 no\r\n");
    int data = accept_data();
    bool ok = data >= 0 && send_all(control_, "150 go\r\n") && splice_to(data, file);
    if (data >= 0) ::close(data);
    ::close(file);
    return send_all(control_, ok ? "226 stored\r\n" : "426 failed\r\n");
  }

  // socket -> pipe -> file until the client's FIN. Non-blocking splice, poll() only when
  // the socket is empty: a blocking splice would wait to fill the whole pipe first.
  static bool splice_to(int data, int file) {
    int pipe[2];
    if (::pipe2(pipe, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    ::fcntl(pipe[1], F_SETPIPE_SZ, splice_pipe_size);
    bool ok = true;
    for (;;) {
      ssize_t n = ::splice(data, nullptr, pipe[1], nullptr, splice_pipe_size, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0 && errno == EAGAIN) {
        pollfd p{data, POLLIN, 0};
        ::poll(&p, 1, -1);
        continue;
      }
      if (n <= 0) {
        ok = n == 0;
        break;
      }
      while (ok && n > 0) {
        ssize_t m = ::splice(pipe[0], nullptr, file, nullptr, static_cast<std::size_t>(n), SPLICE_F_MOVE);
        ok = m > 0;
        n -= m;
      }
      if (!ok) break;
    }
    ::close(pipe[0]);
    ::close(pipe[1]);
    return ok;
  }

  int control_;
  int data_listener_;
  std::string root_;
  std::string cwd_ = "/";
  std::string buffer_;
};

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t port = 0;
  std::string root;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    if (k == "--port") port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
    if (k == "--root") root = argv[i + 1];
  }
  if (port == 0 || root.empty()) {
    std::fprintf(stderr, "usage: ferry-floor --port P --root DIR\n");
    return 2;
  }
  if (root.back() == '/') root.pop_back();
  std::signal(SIGPIPE, SIG_IGN);
  int control_listener = listen_on(port);
  // One data listener for the process's life, on an ephemeral port (below bench/run's
  // passive range): each transfer accepts the connection the client opened after EPSV.
  int data_listener = listen_on(0);
  for (;;) {
    int control = ::accept4(control_listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (control < 0) continue;
    int one = 1;
    ::setsockopt(control, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Session(control, data_listener, root).run();
    ::close(control);
  }
}
