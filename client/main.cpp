// ferry: the command-line client. Parses the command line, resolves credentials, runs one
// job on a FtpClient, and turns the outcome into one line of output and an exit code.
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_awaitable.hpp>
#include <cstdio>
#include <ctime>
#include <cxxopts.hpp>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "credentials.hpp"
#include "download.hpp"
#include "ftp_client.hpp"
#include "terminal_progress.hpp"
#include "url.hpp"

namespace {

using namespace ferry::client;

// Documented in --help; scripts rely on them.
enum ExitCode : int {
  exit_ok = 0,
  exit_failure = 1,
  exit_usage = 2,
  exit_connect = 3,
  exit_login = 4,
  exit_not_found = 5,
  exit_verify = 6,
};

constexpr const char* exit_code_help =
    "Commands:\n"
    "  ls URL                  list a remote directory\n"
    "  get URL [-o PATH] [-c]  download a file into the current directory (or PATH), check\n"
    "                          it against the server's SHA-256 (HASH) when offered\n"
    "\n"
    "URL: ftp://[user@]host[:port]/path  (IPv6: ftp://[::1]:2121/). The password comes from\n"
    "FERRY_PASSWORD, else ~/.netrc, else a prompt on the terminal. A password inside the\n"
    "URL works but is discouraged: other users can see it in the process list.\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  any other failure (transfer, protocol, timeout, local file)\n"
    "  2  usage error (bad option or URL, no credentials)\n"
    "  3  connection refused or failed\n"
    "  4  login refused\n"
    "  5  remote file not found\n"
    "  6  verification failed: the received file did not match the server's SHA-256\n";

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::connect:
      return exit_connect;
    case ErrorKind::login:
      return exit_login;
    case ErrorKind::not_found:
      return exit_not_found;
    case ErrorKind::verify:
      return exit_verify;
    default:
      return exit_failure;
  }
}

void print_error(const std::string& message) { std::cerr << "ferry: " << message << '\n'; }

struct Job {
  std::string command;
  FtpUrl url;
  Credentials credentials;
  std::filesystem::path target;  // get only
  bool resume = false;
  bool verbose = false;
  unsigned timeout_seconds = 60;
};

TranscriptSink stderr_transcript() {
  return [](TranscriptKind kind, std::string_view line) {
    const char* prefix = kind == TranscriptKind::sent ? "> " : kind == TranscriptKind::received ? "< " : "* ";
    std::cerr << prefix << line << '\n';
  };
}

// One letter, as the first column of ls -l. Permission bits are left out: MLSD carries
// none unless the server adds UNIX.mode, and made-up bits would mislead.
char type_letter(ferry::FileType type) {
  switch (type) {
    case ferry::FileType::directory:
      return 'd';
    case ferry::FileType::symlink:
      return 'l';
    case ferry::FileType::other:
      return '?';
    case ferry::FileType::file:
      break;
  }
  return '-';
}

std::string local_time(std::int64_t seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M", &tm);
  return text;
}

asio::awaitable<void> run_ls(FtpClient& client, const Job& job) {
  std::vector<ferry::FileInfo> entries = co_await client.list(job.url.path);
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const auto& entry : entries) {
    std::printf("%c %12llu  %s  %s\n", type_letter(entry.type), static_cast<unsigned long long>(entry.size),
                local_time(entry.mtime).c_str(), entry.name.c_str());
  }
}

asio::awaitable<void> run_get(FtpClient& client, const Job& job, TerminalProgress& progress) {
  DownloadRequest request;
  request.remote_path = job.url.path;
  request.target = job.target;
  request.resume = job.resume;
  request.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  const DownloadReceipt receipt = co_await download_file(client, std::move(request));
  progress.clear();
  if (receipt.resumed_from > 0) {
    std::cerr << "ferry: resumed " << receipt.file.string() << " after " << receipt.resumed_from << " bytes\n";
  }
  std::cout << describe(receipt) << std::endl;
}

asio::awaitable<void> run_job(FtpClient& client, const Job& job, TerminalProgress& progress) {
  co_await client.connect(job.url.host, job.url.port);
  co_await client.login(job.credentials.user, job.credentials.password);
  if (job.command == "ls") {
    co_await run_ls(client, job);
  } else {
    co_await run_get(client, job, progress);
  }
  co_await client.quit();
}

int execute(const Job& job) {
  asio::io_context io;
  FtpClient client(io.get_executor());
  if (job.verbose) client.set_transcript(stderr_transcript());
  client.set_timeout(std::chrono::seconds(job.timeout_seconds));
  TerminalProgress progress;
  int status = exit_ok;
  asio::co_spawn(io, run_job(client, job, progress), [&](std::exception_ptr failure) {
    if (!failure) return;
    progress.clear();
    try {
      std::rethrow_exception(failure);
    } catch (const ClientError& error) {
      print_error(error.what());
      status = exit_code_for(error.kind());
    } catch (const std::exception& error) {
      print_error(error.what());
      status = exit_failure;
    }
  });
  io.run();
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("ferry", "ferry: fetch files from an FTP server, verified.");
  options.positional_help("ls URL | get URL [-o PATH] [-c]");
  // clang-format off
  options.add_options()
      ("o,output", "get: save as PATH (a directory keeps the remote name)", cxxopts::value<std::string>(), "PATH")
      ("c,continue", "get: resume a partial download (PATH.part, or PATH itself)")
      ("v,verbose", "show the FTP conversation on stderr (passwords masked)")
      ("timeout", "give up when the server is silent for SECONDS", cxxopts::value<unsigned>()->default_value("60"), "SECONDS")
      ("version", "print the version and exit")
      ("h,help", "print this help and exit");
  options.add_options("positional")
      ("command", "ls or get", cxxopts::value<std::string>())
      ("arguments", "the URL", cxxopts::value<std::vector<std::string>>());
  // clang-format on
  options.parse_positional({"command", "arguments"});

  Job job;
  std::string output;
  try {
    const auto result = options.parse(argc, argv);
    if (result.count("help")) {
      std::cout << options.help({""}) << '\n' << exit_code_help;
      return exit_ok;
    }
    if (result.count("version")) {
      std::cout << "ferry " << FERRY_VERSION << '\n';
      return exit_ok;
    }
    if (!result.count("command")) {
      print_error("no command given (try ferry --help)");
      return exit_usage;
    }
    job.command = result["command"].as<std::string>();
    const auto arguments =
        result.count("arguments") ? result["arguments"].as<std::vector<std::string>>() : std::vector<std::string>{};
    if (job.command != "ls" && job.command != "get") {
      print_error("unknown command '" + job.command + "' (try ferry --help)");
      return exit_usage;
    }
    if (arguments.size() != 1) {
      print_error(job.command + " takes exactly one URL (try ferry --help)");
      return exit_usage;
    }
    if (job.command == "ls" && (result.count("output") || result.count("continue"))) {
      print_error("-o and -c only apply to get");
      return exit_usage;
    }
    if (result.count("output")) output = result["output"].as<std::string>();
    job.resume = result.count("continue") > 0;
    job.verbose = result.count("verbose") > 0;
    job.timeout_seconds = result["timeout"].as<unsigned>();
    if (job.timeout_seconds == 0) {
      print_error("--timeout must be at least 1 second");
      return exit_usage;
    }
    job.url = parse_url(arguments.front());
    if (job.command == "get") job.target = choose_target(job.url.path, output);
    job.credentials = resolve_credentials(job.url, CredentialSources::from_environment());
  } catch (const cxxopts::exceptions::exception& error) {
    print_error(std::string(error.what()) + " (try ferry --help)");
    return exit_usage;
  } catch (const UrlError& error) {
    print_error(error.what());
    return exit_usage;
  } catch (const CredentialError& error) {
    print_error(error.what());
    return exit_usage;
  } catch (const ClientError& error) {
    print_error(error.what());
    return exit_usage;
  }
  return execute(job);
}
