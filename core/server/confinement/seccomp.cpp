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

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <thread>

#include "server/log.hpp"

namespace ferry::seccomp {

namespace {

// What ferryd and its plugins call once started, measured with strace over the whole test
// suite (README, "Confinement"). Grouped by who needs it.
const char* const allowed[] = {
    // files: plugins (fs_local: openat2 beneath the root, *at() calls on the parent, the
    // transfer log, reloads reading config, users file, certificate, plugins)
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2", "lseek",
    "open", "openat", "openat2", "close", "close_range", "fstat", "stat", "lstat", "newfstatat", "statx", "access",
    "faccessat", "faccessat2", "getdents64", "readlink", "readlinkat", "getcwd", "statfs", "fstatfs", "mkdir",
    "mkdirat", "unlink", "unlinkat", "rmdir", "rename", "renameat", "renameat2", "chmod", "fchmod", "fchmodat",
    "utimensat", "ftruncate", "fallocate", "fsync", "fdatasync", "flock", "fcntl", "dup", "dup2", "dup3", "umask",
    // zero-copy transfers: sendfile for downloads, splice through a pipe for uploads
    "sendfile", "splice", "pipe", "pipe2",
    // sockets: accept loops, passive listeners, active-mode connects
    "socket", "bind", "listen", "accept", "accept4", "connect", "getsockname", "getpeername", "setsockopt",
    "getsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "shutdown",
    // Asio's event loops, timers and wake-ups
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2", "timerfd_create",
    "timerfd_settime", "timerfd_gettime", "poll", "ppoll", "select", "pselect6",
    // threads, locks, time (the I/O threads poll with sched_yield)
    "futex", "sched_yield", "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
    "set_robust_list", "get_robust_list", "rseq", "sched_getaffinity", "madvise", "membarrier", "exit", "exit_group",
    "restart_syscall",
    // memory (malloc, thread stacks, dlopen of a reloaded plugin)
    "mmap", "munmap", "mprotect", "mremap", "brk",
    // identity and limits: glibc and the log ask, nothing sets
    "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getppid", "getgroups", "getrusage", "getrlimit",
    "uname", "sysinfo",
    // signals: SIGINT/SIGTERM/SIGHUP through Asio, abort() on a fatal error
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack", "tgkill", "tkill", "rt_sigtimedwait",
    // OpenSSL and the plugins' temporary names
    "getrandom",
};

// Refused without being logged: glibc tries clone3 first and falls back to clone when it is
// missing (ENOSYS), and clone's flags, unlike clone3's, can be checked (threads only).
constexpr int clone_thread_flags = CLONE_THREAD;

std::set<int>& logged() {
  static std::set<int> numbers;
  return numbers;
}

// Answers every call that the filter hands over: EPERM, then one log line per system call.
void supervise(int notify_fd) {
  seccomp_notif* request = nullptr;
  seccomp_notif_resp* response = nullptr;
  if (seccomp_notify_alloc(&request, &response) != 0) return;
  for (;;) {
    if (seccomp_notify_receive(notify_fd, request) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break;
    }
    response->id = request->id;
    response->val = 0;
    response->error = -EPERM;
    response->flags = 0;
    (void)seccomp_notify_respond(notify_fd, response);  // ENOENT: the caller went away
    const int number = request->data.nr;
    if (!logged().insert(number).second) continue;
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, number);
    log_warning("confinement: refused system call ", name ? name : "?", " (", number, ") of thread ", request->pid,
                ": not on ferryd's seccomp allow-list, it failed with EPERM (logged once per call)");
    std::free(name);
  }
  seccomp_notify_free(request, response);
  log_error("confinement: the seccomp supervisor stopped: refused calls are no longer logged");
}

struct FilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

std::string rule_error(const char* what, int rc) { return std::string("seccomp: ") + what + ": " + std::strerror(-rc); }

}  // namespace

std::string install(std::string& summary) {
  std::unique_ptr<void, FilterDeleter> filter(seccomp_init(SCMP_ACT_NOTIFY));
  if (!filter) return "seccomp: cannot create a filter";
  void* ctx = filter.get();
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  if (rc != 0) return rule_error("TSYNC", rc);
  rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
  if (rc != 0) return rule_error("no_new_privs", rc);
  std::size_t count = 0;
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
  // ioctl: non-blocking mode and readable bytes (Asio), is-a-terminal (the log), and the
  // supervisor's own two requests.
  for (unsigned long request : {static_cast<unsigned long>(FIONBIO), static_cast<unsigned long>(FIONREAD),
                                static_cast<unsigned long>(FIOCLEX), static_cast<unsigned long>(TCGETS),
                                static_cast<unsigned long>(SECCOMP_IOCTL_NOTIF_RECV),
                                static_cast<unsigned long>(SECCOMP_IOCTL_NOTIF_SEND),
                                static_cast<unsigned long>(SECCOMP_IOCTL_NOTIF_ID_VALID)}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, request));
    if (rc != 0) return rule_error("ioctl", rc);
  }
  // prctl: reading and naming only; nothing that would undo the confinement (dumpable).
  for (int option : {PR_GET_DUMPABLE, PR_SET_NAME, PR_GET_NAME}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ, static_cast<scmp_datum_t>(option)));
    if (rc != 0) return rule_error("prctl", rc);
  }
  // prlimit64: reading limits only (a NULL new limit).
  rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, SCMP_A2(SCMP_CMP_EQ, 0));
  if (rc != 0) return rule_error("prlimit64", rc);
#if defined(__SANITIZE_ADDRESS__)
  // ASan's leak check at exit stops the world: a tracer task (clone without CLONE_THREAD)
  // attaches to every thread with ptrace, after making the process dumpable again. Only in
  // sanitizer builds; a release ferryd can do none of it.
  for (const char* name : {"clone", "ptrace", "wait4", "waitid", "prctl", "kill", "sched_getaffinity",
                           "process_vm_readv"}) {
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, seccomp_syscall_resolve_name(name), 0);
    if (rc != 0 && rc != -EEXIST) return rule_error(name, rc);
  }
#endif
  rc = seccomp_load(ctx);
  if (rc != 0) return rule_error("load", rc);
  const int notify_fd = seccomp_notify_fd(ctx);
  if (notify_fd < 0) return "seccomp: the filter has no notification descriptor";
  std::thread(supervise, notify_fd).detach();
  summary = "seccomp allow-list of " + std::to_string(count + 4) + " system calls";
  return {};
}

}  // namespace ferry::seccomp
