// The sd_notify(3) datagram, without libsystemd (see systemd_notify.hpp).
#include "server/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "server/log.hpp"

namespace ferry {

std::string systemd_notify(std::string_view state) {
  const char* name = std::getenv("NOTIFY_SOCKET");
  if (!name || !*name) return {};
  std::string_view path(name);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  // A path, or an abstract socket name written with '@' for its leading NUL byte.
  if ((path.front() != '/' && path.front() != '@') || path.size() >= sizeof address.sun_path) {
    return "NOTIFY_SOCKET is not a unix socket path: " + std::string(path);
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  if (path.front() == '@') address.sun_path[0] = '\0';
  // Abstract names are not NUL-terminated: the length says where they end.
  auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path.front() == '/' ? 1 : 0));

  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("NOTIFY_SOCKET: socket: ") + std::strerror(errno);
  ssize_t sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&address),
                          length);
  int error = errno;
  ::close(fd);
  if (sent < 0) return "NOTIFY_SOCKET " + std::string(path) + ": " + std::strerror(error);
  return {};
}

void tell_systemd(std::string_view state) {
  if (std::string error = systemd_notify(state); !error.empty()) log_warning("cannot notify systemd: ", error);
}

std::string systemd_reloading_state() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  auto usec = static_cast<unsigned long long>(now.tv_sec) * 1'000'000ULL +
              static_cast<unsigned long long>(now.tv_nsec) / 1000ULL;
  return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
}

}  // namespace ferry
