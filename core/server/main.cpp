// ferryd: the command line. Loads and validates the configuration and plugins, then serves.
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <asio/thread_pool.hpp>
#include <csignal>
#include <cxxopts.hpp>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "server/admin/admin_server.hpp"
#include "server/admin_command.hpp"
#include "server/config.hpp"
#include "server/confinement/confinement.hpp"
#include "server/log.hpp"
#include "server/passwd_command.hpp"
#include "server/generation.hpp"
#include "server/privileges.hpp"
#include "server/server.hpp"
#include "server/server_state.hpp"
#include "server/systemd_notify.hpp"

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

// Every session needs a descriptor, a transfer up to three more (data socket, passive
// listener, file): the usual soft limit of 1024 runs out before max_sessions = 1000. The
// soft limit goes up to the hard one; if even that is short, the log says so at start.
void raise_descriptor_limit(unsigned max_sessions) {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) (void)::getrlimit(RLIMIT_NOFILE, &limit);
  }
  const rlim_t wanted = static_cast<rlim_t>(max_sessions) * 4 + 64;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < wanted) {
    ferry::log_warning("the descriptor limit is ", limit.rlim_cur, ": server.max_sessions = ", max_sessions,
                       " may need up to ", wanted, " (raise it with ulimit -n or LimitNOFILE=)");
  }
}

// What the command line asks for, once parsed.
struct CommandLine {
  std::string config;
  std::vector<std::string> listen;  // --listen: replaces server.listen
  bool check = false;
};

// Returns the exit code when ferryd is done already (help, version, a usage error), or
// nothing to go on with `out` filled.
std::optional<int> parse_command_line(int argc, char** argv, CommandLine& out) {
  cxxopts::Options options("ferryd", "ferry FTP server");
  options.add_options()
      ("config", "configuration file", cxxopts::value<std::string>()->default_value(FERRY_DEFAULT_CONFIG))
      ("listen", "listen on HOST:PORT instead of server.listen (repeatable; port 0 picks a free port)",
       cxxopts::value<std::vector<std::string>>())
      ("log-level", "debug, info, warning or error", cxxopts::value<std::string>()->default_value("info"))
      ("check", "validate the configuration and plugins, then exit")
      ("version", "print the version and exit")
      ("h,help", "print this help");
  options.custom_help("[--config FILE] [--listen HOST:PORT]... [--log-level LEVEL] [--check] [--version]\n"
                      "       ferryd passwd USERS_FILE USER\n"
                      "       ferryd who | kick SESSION | ban ADDRESS [SECONDS] | unban ADDRESS | reload  [--config FILE]");
  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    std::cerr << "ferryd: " << e.what() << "\n" << options.help() << "\n";
    return exit_usage;
  }
  if (args.count("help")) {
    std::cout << options.help() << "\n";
    return 0;
  }
  if (args.count("version")) {
    std::cout << "ferryd " << FERRY_VERSION << " (plugin API " << ferry::plugin_api_version << ")\n";
    return 0;
  }
  if (!args.unmatched().empty()) {
    std::cerr << "ferryd: unexpected argument '" << args.unmatched().front() << "'\n";
    return exit_usage;
  }
  ferry::LogLevel level;
  if (!ferry::parse_log_level(args["log-level"].as<std::string>(), level)) {
    std::cerr << "ferryd: --log-level must be debug, info, warning or error\n";
    return exit_usage;
  }
  ferry::set_log_level(level);
  out.config = args["config"].as<std::string>();
  if (args.count("listen")) out.listen = args["listen"].as<std::vector<std::string>>();
  out.check = args.count("check") > 0;
  return std::nullopt;
}

// --listen replaces server.listen; each address must be valid and overlap no other listener.
std::string override_listen(ferry::Config& config, const std::vector<std::string>& texts) {
  if (texts.empty()) return {};
  config.listen.clear();
  for (const std::string& text : texts) {
    auto address = ferry::parse_listen_address(text);
    if (!address) return "--listen " + text + ": expected HOST:PORT, e.g. 127.0.0.1:2121 or [::1]:2121";
    std::vector<ferry::ListenAddress> taken = config.listen;
    if (config.tls) taken.insert(taken.end(), config.tls->implicit_listen.begin(), config.tls->implicit_listen.end());
    for (const ferry::ListenAddress& other : taken) {
      if (ferry::listen_conflict(*address, other)) {
        return "--listen " + text + " overlaps " + ferry::to_string(other) + ": only one of them can listen";
      }
    }
    config.listen.push_back(*address);
  }
  return {};
}

// The worker pools for blocking plugin calls and digests. Their threads start only once
// ferryd is confined, so that they inherit the confinement: until then nothing is posted
// to them. Stopped before the sessions are torn down, so that no queued work resumes one.
class WorkerPools {
 public:
  asio::thread_pool blocking{0};
  asio::thread_pool digests{0};

  void start(unsigned cores) {
    for (unsigned i = 0; i < std::max(2u, cores); ++i) threads_.emplace_back([this] { blocking.attach(); });
    for (unsigned i = 0; i < std::max(1u, cores / 2); ++i) threads_.emplace_back([this] { digests.attach(); });
  }
  void stop() {
    blocking.stop();
    digests.stop();
    for (std::thread& thread : threads_) thread.join();  // a running digest stops at its next chunk
    threads_.clear();
  }
  ~WorkerPools() { stop(); }

 private:
  std::vector<std::thread> threads_;
};

// Start-up's privileged part, in this order: bind every listener, drop root, then confine
// (last: binding, loading and root are done; the I/O threads start later and inherit it).
std::string bind_and_confine(ferry::Server& server, ferry::admin::AdminServer* admin, const ferry::Config& config,
                             const ferry::RunAs& run_as, const ferry::ServerState& state) {
  std::string error = server.bind(config.listen);
  if (error.empty() && config.tls) error = server.bind(config.tls->implicit_listen, true);
  if (error.empty() && admin) error = admin->bind();
  if (error.empty()) error = ferry::drop_privileges(run_as);
  if (!error.empty()) return error;
  if (config.confine) return ferry::Confinement::process().apply(state);
  ferry::log_warning("confinement off (server.confine = false): ferryd can reach every file, port and system call "
                     "its user can");
  return {};
}

int serve(int argc, char** argv) {
  CommandLine command_line;
  if (auto done = parse_command_line(argc, argv, command_line)) return *done;
  auto loaded = ferry::load_config(command_line.config);
  if (!loaded.config) {
    std::cerr << "ferryd: " << loaded.error << "\n";
    return exit_usage;
  }
  const ferry::Config file_config = *loaded.config;  // before --listen: what a reload compares with
  ferry::Config config = file_config;
  ferry::RunAs run_as;
  std::string error = override_listen(config, command_line.listen);
  if (error.empty()) {
    ferry::set_log_format(config.log.format);
    error = ferry::plan_privileges(config, run_as);
  }
  if (!error.empty()) {
    std::cerr << "ferryd: " << error << "\n";
    return exit_usage;
  }
  raise_descriptor_limit(config.max_sessions);
  WorkerPools pools;
  auto runtime = std::make_shared<ferry::ServerRuntime>(config, pools.blocking, pools.digests);
  // Opened before privileges are dropped: the log may live where only root writes. --check
  // only asks whether it could be.
  error = command_line.check ? ferry::TransferLog::check(config.log.xferlog)
                             : runtime->transfer_log.open(config.log.xferlog);
  if (!error.empty()) {
    std::cerr << "ferryd: " << config.log.xferlog_at << ": [log] xferlog: " << error << "\n";
    return exit_usage;
  }
  auto state = ferry::build_generation(config, runtime, error);
  if (!state) {
    std::cerr << "ferryd: " << error << "\n";
    return exit_usage;
  }
  if (command_line.check) {
    std::cout << "ferryd: " << config.file << ": configuration OK\n";
    return 0;
  }

  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  const unsigned workers = config.workers == 0 ? cores : config.workers;
  ferry::Server server(state, workers);
  // [admin]: the console, API and /metrics; its event sinks subscribe before anything is published.
  std::unique_ptr<ferry::admin::AdminServer> admin;
  if (config.admin.enabled()) admin = std::make_unique<ferry::admin::AdminServer>(server, runtime, config);
  if (error = bind_and_confine(server, admin.get(), config, run_as, *state); !error.empty()) {
    std::cerr << "ferryd: " << error << "\n";
    return exit_failure;
  }
  pools.start(cores);
  server.on_reload([previous = file_config](const ferry::ServerState& running, std::string& why) mutable {
    return ferry::reload_generation(running, previous, why);
  });
  if (admin) admin->start();
  ferry::log_info("ferryd ", FERRY_VERSION, " serving with ", workers, " I/O thread", workers == 1 ? "" : "s");
  ferry::tell_systemd("READY=1\nSTATUS=serving");  // bound, privileges dropped, signals handled
  const int code = server.run();
  pools.stop();  // before the server and its sessions are torn down
  return code;
}

// Signals that would kill the server for what is one session's error, to be had as errno:
// - SIGPIPE: sendfile() and splice() cannot take MSG_NOSIGNAL, so a download whose client
//   closed its data connection would end the whole server instead of failing with EPIPE
//   (426 for that transfer);
// - SIGXFSZ: a write past RLIMIT_FSIZE must fail with EFBIG (the upload answers 552).
void ignore_error_signals() {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGXFSZ, SIG_IGN);
}

// A SIGHUP (reload) that comes while ferryd is still starting must not end it: ignored until
// the server's own handler takes over.
void ignore_early_reload() { std::signal(SIGHUP, SIG_IGN); }

// Descriptors 0-2 must be open, on /dev/null if the parent closed them: else the first files
// and sockets ferryd opens would take those numbers, and the log (stderr) would be written
// into the transfer log, or after a reload into a client's control connection.
void open_standard_descriptors() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    const int opened = ::open("/dev/null", O_RDWR);  // the lowest free number: fd itself
    if (opened < 0) std::_Exit(exit_failure);
    if (opened != fd) ::close(opened);
  }
}

}  // namespace

int main(int argc, char** argv) {
  open_standard_descriptors();
  ignore_error_signals();
  ignore_early_reload();
  try {
    if (argc >= 2 && std::string_view(argv[1]) == "passwd") {
      return ferry::run_passwd_command(std::vector<std::string>(argv + 2, argv + argc));
    }
    if (argc >= 2 && ferry::is_admin_command(argv[1])) {
      return ferry::run_admin_command(argv[1], std::vector<std::string>(argv + 2, argv + argc));
    }
    return serve(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ferryd: " << e.what() << "\n";
    return exit_failure;
  }
}
