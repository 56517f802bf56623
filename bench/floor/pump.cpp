// ferry-pump: the ceiling of one loopback TCP stream on this machine (what iperf3 would
// say), for the upload scenario's floor. A sender thread on CPU 0 writes --bytes from a
// buffer, a receiver thread on CPU 1 reads and discards them; the result is one JSON line.
//
//   ferry-pump [--bytes N] [--chunk N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <vector>

namespace {

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace

int main(int argc, char** argv) {
  unsigned long long bytes = 4ULL << 30;
  std::size_t chunk = 256 * 1024;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view k = argv[i];
    if (k == "--bytes") bytes = std::strtoull(argv[i + 1], nullptr, 10);
    if (k == "--chunk") chunk = std::strtoull(argv[i + 1], nullptr, 10);
  }
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    std::perror("ferry-pump");
    return 1;
  }
  unsigned long long received = 0;
  std::thread receiver([&] {
    pin_to(1);
    int fd = ::accept(listener, nullptr, nullptr);
    std::vector<char> buffer(chunk);
    for (ssize_t n; (n = ::read(fd, buffer.data(), buffer.size())) > 0;) received += static_cast<unsigned long long>(n);
    ::close(fd);
  });
  pin_to(0);
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("ferry-pump: connect");
    return 1;
  }
  std::vector<char> buffer(chunk, 'x');
  auto t0 = std::chrono::steady_clock::now();
  for (unsigned long long left = bytes; left > 0;) {
    ssize_t n = ::write(fd, buffer.data(), left < chunk ? left : chunk);
    if (n <= 0) break;
    left -= static_cast<unsigned long long>(n);
  }
  ::close(fd);
  receiver.join();
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"bytes\":%llu,\"seconds\":%.6f,\"mib_per_s\":%.1f,\"mb_per_s\":%.1f}\n", received, s,
              static_cast<double>(received) / s / (1 << 20), static_cast<double>(received) / s / 1e6);
  return received == bytes ? 0 : 1;
}
