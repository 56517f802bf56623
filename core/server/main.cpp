// ferryd: the command line. Loads and validates the configuration and plugins, then serves.
#include <unistd.h>

#include <csignal>

#include <cxxopts.hpp>
#include <filesystem>
#include <iostream>
#include <thread>

#include "server/config.hpp"
#include "server/log.hpp"
#include "server/passwd_command.hpp"
#include "server/plugin_host.hpp"
#include "server/server.hpp"
#include "server/server_state.hpp"
#include "server/tls_context.hpp"

namespace {

constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

const char* kind_name(ferry::PluginKind kind) {
  return kind == ferry::PluginKind::authenticator ? "authenticator" : "file provider";
}

int serve(int argc, char** argv) {
  cxxopts::Options options("ferryd", "ferry FTP server");
  options.add_options()
      ("config", "configuration file", cxxopts::value<std::string>()->default_value("config.toml"))
      ("listen", "listen on HOST:PORT instead of server.listen (repeatable; port 0 picks a free port)",
       cxxopts::value<std::vector<std::string>>())
      ("log-level", "debug, info, warning or error", cxxopts::value<std::string>()->default_value("info"))
      ("check", "validate the configuration and plugins, then exit")
      ("version", "print the version and exit")
      ("h,help", "print this help");
  options.custom_help("[--config FILE] [--listen HOST:PORT]... [--log-level LEVEL] [--check] [--version]\n"
                      "       ferryd passwd USERS_FILE USER");
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

  auto loaded = ferry::load_config(args["config"].as<std::string>());
  if (!loaded.config) {
    std::cerr << "ferryd: " << loaded.error << "\n";
    return exit_usage;
  }
  ferry::Config config = std::move(*loaded.config);
  if (args.count("listen")) {
    config.listen.clear();
    for (const std::string& text : args["listen"].as<std::vector<std::string>>()) {
      auto address = ferry::parse_listen_address(text);
      if (!address) {
        std::cerr << "ferryd: --listen " << text << ": expected HOST:PORT, e.g. 127.0.0.1:2121 or [::1]:2121\n";
        return exit_usage;
      }
      config.listen.push_back(*address);
    }
  }

  std::string plugin_dir = config.plugin_dir.empty() ? std::string(FERRY_DEFAULT_PLUGIN_DIR)
                           : std::filesystem::path(config.plugin_dir).is_absolute()
                               ? config.plugin_dir
                               : config.dir + "/" + config.plugin_dir;
  ferry::PluginHost plugins(plugin_dir);
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  asio::thread_pool blocking(std::max(2u, cores));
  auto state = std::make_shared<ferry::ServerState>(config, blocking);

  auto auth = plugins.create_authenticator(config.auth);
  if (!auth) {
    std::cerr << "ferryd: " << auth.error().message << "\n";
    return exit_usage;
  }
  state->authenticator = auth.value();
  if (config.tls) {
    std::string error;
    state->tls = ferry::make_tls_context(*config.tls, error);
    if (!state->tls) {
      std::cerr << "ferryd: " << config.file << ": " << error << "\n";
      return exit_usage;
    }
    ferry::log_info("FTPS enabled", config.tls->require ? " and required" : "", " (certificate ", config.tls->certificate,
                    ")");
  }
  for (const ferry::MountConfig& mount : config.mounts) {
    auto provider = plugins.create_file_provider(mount.plugin);
    if (!provider) {
      std::cerr << "ferryd: " << provider.error().message << "\n";
      return exit_usage;
    }
    state->mounts.add(ferry::vfs::Mount{mount.path, provider.value(), mount.plugin.plugin});
  }
  for (const auto& plugin : plugins.loaded()) {
    ferry::log_info("loaded plugin ", plugin.name, " ", plugin.version, " (", kind_name(plugin.kind), ") from ",
                    plugin.path);
  }
  for (const ferry::MountConfig& mount : config.mounts) {
    ferry::log_info("mounted ", mount.plugin.plugin, " at ", mount.path);
  }
  if (args.count("check")) {
    std::cout << "ferryd: " << config.file << ": configuration OK\n";
    return 0;
  }

  unsigned workers = config.workers == 0 ? cores : config.workers;
  int code = exit_failure;
  {
    ferry::Server server(state, workers);
    std::string error = server.bind(config.listen);
    if (error.empty() && config.tls) error = server.bind(config.tls->implicit_listen, true);
    if (!error.empty()) {
      std::cerr << "ferryd: " << error << "\n";
      return exit_failure;
    }
    ferry::log_info("ferryd ", FERRY_VERSION, " serving with ", workers, " I/O thread", workers == 1 ? "" : "s");
    code = server.run();
    // Blocking work still queued must not resume sessions while they are torn down.
    blocking.stop();
    blocking.join();
  }
  return code;
}

// A write past RLIMIT_FSIZE must fail with EFBIG (the upload answers 552), not kill the
// server with SIGXFSZ.
void ignore_file_size_signal() { std::signal(SIGXFSZ, SIG_IGN); }

}  // namespace

int main(int argc, char** argv) {
  ignore_file_size_signal();
  try {
    if (argc >= 2 && std::string_view(argv[1]) == "passwd") {
      return ferry::run_passwd_command(std::vector<std::string>(argv + 2, argv + argc));
    }
    return serve(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "ferryd: " << e.what() << "\n";
    return exit_failure;
  }
}
