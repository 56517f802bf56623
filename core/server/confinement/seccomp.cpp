// The seccomp allow-list and its supervisor (see seccomp.hpp).
//
// Why user notification: SECCOMP_RET_ERRNO alone fails a call silently, and a plugin author
// would never learn why; SECCOMP_RET_TRAP delivers SIGSYS, which kills the process when the
// thread has it blocked (Asio's pool threads block every signal) or another handler is
// installed; SECCOMP_RET_LOG only writes to the kernel's audit log. So a call off the list
// is handed to a supervisor thread of ferryd (SECCOMP_RET_USER_NOTIF), which answers it with
// EPERM at once, and only then logs the call's name, once per system call. The calling
// thread waits for that answer (microseconds); the supervisor answers before it takes any
// lock, so a caller holding the log's or malloc's lock cannot deadlock it.
#include "server/confinement/seccomp.hpp"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <thread>

#include "server/log.hpp"

namespace ferry::seccomp {

namespace {

// What ferryd and its plugins call once started: measured with strace over the whole test
// suite (every system call after the filter's load, release build), plus the few that
// only an error or a rare path makes (marked "not measured"). Grouped by who needs it.
const char* const allowed[] = {
    // files: fs_local (openat2 beneath the root, *at() calls on the parent directory, uploads
    // through a temporary name, modes and times), send_png, the transfer log, and reloads
    // (config, users file, certificate, plugins: openat, mmap of a newly loaded plugin)
    "read", "write", "pread64", "pwrite64", "lseek", "openat", "openat2", "close", "newfstatat", "getdents64",
    "readlink", "readlinkat", "statfs", "mkdir", "mkdirat", "unlinkat", "renameat", "chmod", "fchmod", "fchmodat",
    "utimensat", "ftruncate", "fdatasync", "flock", "fcntl",
    "getcwd",  // not measured: std::filesystem::absolute() of a relative path on reload
    "access", "faccessat", "faccessat2",  // not measured: realpath() of a path with ".." on reload
    // zero-copy transfers: sendfile for downloads, splice through a pipe for uploads
    "sendfile", "splice", "pipe2",
    // sockets: accept loops, passive listeners, active-mode connects, TCP options. libpq
    // (auth_pgsql, [cluster]) needs socket, connect, poll (its waits), sendto/recvfrom,
    // getsockopt/setsockopt, getsockname/getpeername and fcntl: all here already (confined
    // nodes log in through PostgreSQL over its Unix socket in tests/e2e/test_scaleout.py,
    // which fails on any "refused system call" line)
    "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "setsockopt",
    "getsockopt", "sendto", "recvfrom", "shutdown", "poll",
    "sendmsg", "recvmsg",  // not measured: Asio's path for a sequence of several buffers
    // Asio's event loops, timers and wake-ups; the I/O threads' polling (sched_yield)
    "epoll_create1", "epoll_ctl", "epoll_wait", "eventfd2", "timerfd_create", "timerfd_settime", "futex",
    "sched_yield",
    // threads (clone is below), their exit, glibc's per-thread registrations
    "set_robust_list", "rseq", "exit", "exit_group",
    // memory: malloc, thread stacks, free memory given back when idle (madvise)
    "mmap", "munmap", "mprotect", "madvise", "brk",
    "mremap",  // not measured: realloc of a large block
    // identity, time and usage: the log, the I/O threads' poll window (getrusage), access checks
    "getpid", "geteuid", "getegid", "getgroups", "getrusage", "getrandom",
    "gettid", "clock_gettime", "gettimeofday", "time", "clock_nanosleep",  // not measured: the vDSO answers
    // signals: SIGINT/SIGTERM/SIGHUP through Asio's handlers
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
    "tgkill", "restart_syscall",  // not measured: abort() on a fatal error; a sleep resumed after SIGCONT
};

// Refused without being logged: glibc tries clone3 first and falls back to clone when it is
// missing (ENOSYS), and clone's flags, unlike clone3's, can be checked (threads only).
constexpr int clone_thread_flags = CLONE_THREAD;

std::set<int>& logged() {
  static std::set<int> numbers;
  return numbers;
}

// Answers every call that the filter hands over: EPERM, then one log line per system call.
// Its buffers are allocated before the filter is loaded: seccomp_notify_alloc asks the
// kernel their size with seccomp(2), which is not on the list.
void supervise(int notify_fd, seccomp_notif* request, seccomp_notif_resp* response) {
  for (;;) {
    std::memset(request, 0, sizeof *request);  // the kernel wants it zeroed
    if (::ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, request) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;  // ENOENT: the caller went away meanwhile
      break;
    }
    std::memset(response, 0, sizeof *response);
    response->id = request->id;
    response->error = -EPERM;
    (void)::ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, response);  // ENOENT: the caller went away
    const int number = request->data.nr;
    if (!logged().insert(number).second) continue;
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    log_warning("confinement: refused system call ", name ? name : "?", " (", number, ") of thread ", request->pid,
                ": not on ferryd's seccomp allow-list, it failed with EPERM (logged once per call)");
    std::free(name);
  }
  // Closing the listener makes every later call off the list fail with ENOSYS at once
  // instead of waiting for an answer that would never come.
  const int error = errno;
  ::close(notify_fd);
  seccomp_notify_free(request, response);
  log_error("confinement: the seccomp supervisor stopped (", std::strerror(error),
            "): calls off the allow-list now fail with ENOSYS, without a log line");
}

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

std::string rule_error(const char* what, int rc) { return std::string("seccomp: ") + what + ": " + std::strerror(-rc); }

// Every rule but the default action, which the caller chooses.
std::string add_rules(void* ctx, std::size_t& count) {
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc != 0) return rule_error("TSYNC", rc);
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
  if (rc != 0) return rule_error("no_new_privs", rc);
  // The kernel's own error when loading fails (EBUSY, EPERM...), not libseccomp's ECANCELED.
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1);
  if (rc != 0) return rule_error("raw errors", rc);
  count = 0;
  for (const char* name : allowed) {
    const int number = seccomp_syscall_resolve_name(name);
    if (number == __NR_SCMP_ERROR) continue;  // not a system call on this architecture
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, number, 0);
    if (rc != 0) return rule_error(name, rc);
    ++count;
  }
  // clone: threads only (CLONE_THREAD), never a new process.
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                        SCMP_A0(SCMP_CMP_MASKED_EQ, clone_thread_flags, clone_thread_flags));
  if (rc != 0) return rule_error("clone", rc);
  rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc != 0) return rule_error("clone3", rc);
  // socket: TCP over IPv4 and IPv6, and Unix sockets for a plugin's local database; no
  // netlink, packet or other families.
  for (int family : {AF_INET, AF_INET6, AF_UNIX}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1, SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(family)));
    if (rc != 0) return rule_error("socket", rc);
  }
  // ioctl: non-blocking mode and readable bytes (Asio), is-a-terminal (the log), and the
  // supervisor's own two requests.
  for (unsigned long request : {static_cast<unsigned long>(FIONBIO), static_cast<unsigned long>(FIONREAD),
                                static_cast<unsigned long>(TCGETS),
                                static_cast<unsigned long>(SECCOMP_IOCTL_NOTIF_RECV),
                                static_cast<unsigned long>(SECCOMP_IOCTL_NOTIF_SEND),
                                static_cast<unsigned long>(SECCOMP_IOCTL_NOTIF_ID_VALID)}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, request));
    if (rc != 0) return rule_error("ioctl", rc);
  }
#if defined(__SANITIZE_ADDRESS__)
  // ASan's leak check at exit stops the world: a tracer task (clone without CLONE_THREAD)
  // attaches to every thread with ptrace, after making the process dumpable again; each new
  // thread gets an alternate signal stack. Only in sanitizer builds; a release ferryd can do
  // none of it.
  for (const char* name : {"clone", "ptrace", "wait4", "waitid", "prctl", "kill", "sched_getaffinity",
                           "process_vm_readv", "sigaltstack", "getppid", "getrlimit", "prlimit64", "mincore",
                           "socket", "open", "stat", "lstat", "fstat", "getdents", "pipe", "dup2", "nanosleep",
                           "sched_yield"}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(name), 0);
    if (rc != 0 && rc != -EEXIST) return rule_error(name, rc);
  }
#endif
  return {};
}

std::string describe(std::size_t count) {
  return "seccomp allow-list of " + std::to_string(count + 3) + " system calls (socket: IPv4, IPv6, Unix; " +
         "clone: threads; ioctl: FIONBIO, FIONREAD, TCGETS)";
}

// The filter whose refusals a supervisor thread logs. Returns "" when loaded, or why not;
// `unavailable` tells a kernel or sandbox without user notification from a real error.
std::string install_supervised(std::string& summary, bool& unavailable) {
  unavailable = false;
  // User notification needs libseccomp's API level 5 (kernel 5.5, and seccomp(2) reachable:
  // a service manager's own filter may refuse it, then libseccomp reports a lower level).
  if (seccomp_api_get() < 5) {
    unavailable = true;
    return "no seccomp user notification here (libseccomp API level " + std::to_string(seccomp_api_get()) + ")";
  }
  std::unique_ptr<void, FilterDeleter> filter(seccomp_init(SCMP_ACT_NOTIFY));
  if (!filter) {
    unavailable = true;
    return "seccomp: cannot create a filter with user notification";
  }
  std::size_t count = 0;
  if (std::string error = add_rules(filter.get(), count); !error.empty()) return error;
  seccomp_notif* request = nullptr;
  seccomp_notif_resp* response = nullptr;
  int rc = seccomp_notify_alloc(&request, &response);
  if (rc != 0) return rule_error("notification buffers", rc);
  rc = seccomp_load(filter.get());
  if (rc != 0) {
    seccomp_notify_free(request, response);
    // Typically EBUSY: a filter above ferryd (a container's supervisor) holds the one
    // listener a process may have. libseccomp 2.5.4 may report another errno for it
    // (EFAULT, from a probe it made before), so any refusal here tries the plain filter.
    unavailable = true;
    return std::string("the kernel refused a supervised seccomp filter (") + std::strerror(-rc) +
           "; a container's supervisor may hold the one seccomp listener a process may have)";
  }
  const int notify_fd = seccomp_notify_fd(filter.get());
  if (notify_fd < 0) return "seccomp: the filter has no notification descriptor";
  std::thread(supervise, notify_fd, request, response).detach();
  summary = describe(count);
  return {};
}

// The same list where no supervisor can be had: calls off it fail with EPERM, unlogged.
std::string install_silent(std::string& summary) {
  std::unique_ptr<void, FilterDeleter> filter(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!filter) return "seccomp: cannot create a filter";
  std::size_t count = 0;
  if (std::string error = add_rules(filter.get(), count); !error.empty()) return error;
  if (int rc = seccomp_load(filter.get()); rc != 0) return rule_error("load", rc);
  summary = describe(count);
  return {};
}

}  // namespace

std::string install(std::string& summary) {
  bool unavailable = false;
  std::string error = install_supervised(summary, unavailable);
  if (error.empty() || !unavailable) return error;
  if (std::string fallback = install_silent(summary); !fallback.empty()) {
    return fallback + " (and " + error + "); a service manager's own filter may refuse seccomp(2): allow it " +
           "(systemd: SystemCallFilter=seccomp) or set server.confine = false";
  }
  log_warning("confinement: ", error, ": calls off ferryd's seccomp allow-list fail with EPERM without a log line");
  return {};
}

}  // namespace ferry::seccomp
