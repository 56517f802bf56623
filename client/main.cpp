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
#include "mirror.hpp"
#include "printable.hpp"
#include "terminal_progress.hpp"
#include "upload.hpp"
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
    "  get URL [-o PATH] [-c]  download a file into the current directory (or PATH)\n"
    "  put FILE URL [-c]       upload FILE; a URL ending in / means that directory, under\n"
    "                          FILE's name; -c continues from the remote file's size\n"
    "  rm URL                  delete a remote file\n"
    "  mkdir URL               create a remote directory\n"
    "  rmdir URL               remove an empty remote directory\n"
    "  mv URL NEWPATH          rename or move a remote file or directory; NEWPATH is\n"
    "                          absolute or relative to the URL's directory (ending in /:\n"
    "                          into that directory, keeping the name)\n"
    "  mirror URL DIR [-j N]   make DIR a copy of the remote directory tree at URL\n"
    "  mirror -R DIR URL [-j N]\n"
    "                          make the remote tree at URL a copy of the local DIR\n"
    "\n"
    "Every transfer (get, put, mirror) is checked against the server's SHA-256 (HASH)\n"
    "when the server offers it. mirror copies only files that are missing, differ in size\n"
    "or are newer on the source side (-R compares times only when the server offers MFMT,\n"
    "else sizes), never deletes, skips symlinks, sets the copy's modification time, runs N\n"
    "transfers in parallel (-j, 1-16) and ends with a summary line.\n"
    "\n"
    "URL: ftp://[user@]host[:port]/path  (IPv6: ftp://[::1]:2121/). The password comes from\n"
    "FERRY_PASSWORD, else ~/.netrc, else a prompt on the terminal. A password inside the\n"
    "URL works but is discouraged: other users can see it in the process list.\n"
    "\n"
    "FTPS: --tls secures an ftp:// URL with AUTH TLS (explicit FTPS, RFC 4217) before the\n"
    "login; ftps://host[:port]/path is implicit FTPS (TLS from the first byte, port 990).\n"
    "Either way the data connections are encrypted too (PROT P) and resume the control\n"
    "connection's TLS session. The server's certificate must be valid for the host in the\n"
    "URL and signed by a CA from the system store or from --ca-file; --insecure (-k) skips\n"
    "that check (and says so on stderr).\n"
    "\n"
    "Exit codes:\n"
    "  0  success\n"
    "  1  any other failure (transfer, protocol, timeout, local file, a change the server\n"
    "     refused such as permission denied or directory not empty, any file of a mirror)\n"
    "  2  usage error (bad option or URL, no credentials)\n"
    "  3  connection refused or failed, including no answer or no greeting within\n"
    "     --timeout, and TLS: no FTPS on the server, a failed handshake,\n"
    "     a certificate that could not be verified\n"
    "  4  login refused\n"
    "  5  remote file or directory not found\n"
    "  6  verification failed: the file on the other side did not match the SHA-256\n"
    "     (get removes its partial file; put leaves the remote file in place)\n";

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

// Messages may quote the server's replies and names: printable() keeps their control
// characters from reaching the terminal.
void print_error(const std::string& message) { std::cerr << "ferry: " << printable(message) << '\n'; }

struct Job {
  std::string command;
  FtpUrl url;
  Credentials credentials;
  std::filesystem::path target;  // get
  std::filesystem::path local;   // put: the file; mirror: the directory
  std::string new_path;          // mv: the resolved destination
  bool new_path_absolute = false;  // mv: NEWPATH was a path from the server's root, not a URL
  bool resume = false;
  bool reverse = false;  // mirror -R
  unsigned jobs = 1;     // mirror -j
  bool verbose = false;
  unsigned timeout_seconds = 60;
  TlsOptions tls;
};

// `connection` > 0 tags the lines of a mirror's extra connections: "[2] > RETR ...".
TranscriptSink stderr_transcript(unsigned connection = 0) {
  return [connection](TranscriptKind kind, std::string_view line) {
    const char* prefix = kind == TranscriptKind::sent ? "> " : kind == TranscriptKind::received ? "< " : "* ";
    if (connection > 0) std::cerr << '[' << connection + 1 << "] ";
    std::cerr << prefix << printable(line) << '\n';
  };
}

// A remote directory path without trailing slashes ("/" stays "/").
std::string directory_path(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path;
}

std::string parent_of(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// mv's NEWPATH: an ftp:// URL on the same server, an absolute path, or a path relative to
// the directory of the source; ending in '/' means "into that directory, same name".
std::string resolve_new_path(const FtpUrl& source, const std::string& argument) {
  std::string path;
  if (argument.starts_with("ftp://") || argument.starts_with("ftps://")) {
    const FtpUrl other = parse_url(argument);
    if (other.host != source.host || other.port != source.port) {
      throw UrlError("mv cannot move between servers: " + mask_password(argument));
    }
    path = other.path;
  } else if (argument.starts_with("/")) {
    path = argument;
  } else {
    path = parent_of(directory_path(source.path));
    if (path.back() != '/') path += '/';
    path += argument;
  }
  if (!path.empty() && path.back() == '/') {
    const std::string from = directory_path(source.path);
    path += from.substr(from.rfind('/') + 1);
  }
  return path;
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
                local_time(entry.mtime).c_str(), printable(entry.name).c_str());
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

asio::awaitable<void> run_put(FtpClient& client, const Job& job, TerminalProgress& progress) {
  UploadRequest request;
  request.source = job.local;
  request.remote_path = job.url.path;
  request.resume = job.resume;
  request.progress = [&progress](std::uint64_t done, std::uint64_t total) { progress.update(done, total); };
  const UploadReceipt receipt = co_await upload_file(client, std::move(request));
  progress.clear();
  if (receipt.resumed_from > 0) {
    std::cerr << "ferry: resumed " << receipt.remote_path << " after " << receipt.resumed_from << " bytes\n";
  }
  std::cout << describe(receipt) << std::endl;
}

asio::awaitable<void> connect_and_login(FtpClient& client, const Job& job) {
  co_await client.connect(job.url.host, job.url.port);
  co_await client.login(job.credentials.user, job.credentials.password);
}

// Set by run_mirror when a file failed: the exit code, not an exception, reports it.
bool mirror_failed = false;

asio::awaitable<void> run_mirror_job(FtpClient& client, const Job& job, TerminalProgress& progress) {
  MirrorRequest request;
  request.direction = job.reverse ? MirrorDirection::upload : MirrorDirection::download;
  request.remote_root = directory_path(job.url.path);
  request.local_root = job.local;
  request.jobs = job.jobs;
  request.open_connection = [&job](FtpClient& other) { return connect_and_login(other, job); };
  request.configure = [&job](FtpClient& other, unsigned index) {
    if (job.verbose) other.set_transcript(stderr_transcript(index));
    other.set_timeout(std::chrono::seconds(job.timeout_seconds));
    other.set_tls(job.tls);
  };
  request.progress = [&progress](std::uint64_t done, std::uint64_t total, std::size_t files_done,
                                 std::size_t files_total) {
    std::string label = "[" + std::to_string(files_done) + "/" + std::to_string(files_total) + "] ";
    progress.set_label(std::move(label));
    progress.update(done, total);
  };
  request.note = [&progress](const std::string& line) {
    progress.clear();
    std::cerr << "ferry: mirror: " << printable(line) << '\n';
  };
  const MirrorSummary summary = co_await run_mirror(client, std::move(request));
  progress.clear();
  if (summary.verified < summary.transferred) {
    std::cerr << "ferry: mirror: " << summary.transferred - summary.verified << " of " << summary.transferred
              << " files not verified: the server does not offer HASH\n";
  }
  std::cout << describe(summary) << std::endl;
  mirror_failed = summary.failed > 0;
}

asio::awaitable<void> run_change(FtpClient& client, const Job& job) {
  std::string path = job.url.path;
  std::string done;
  if (job.command == "rm") {
    co_await client.remove(path);
    done = "removed " + path;
  } else if (job.command == "mkdir") {
    co_await client.make_directory(path);
    done = "created directory " + path;
  } else if (job.command == "rmdir") {
    co_await client.remove_directory(path);
    done = "removed directory " + path;
  } else {
    co_await client.rename(path, job.new_path);
    done = "renamed " + path + " to " + job.new_path;
  }
  std::cout << done << std::endl;
}

// The URL's paths are under the directory the login lands in (resolve_url_path). ferryd
// lands every user at "/"; a vsftpd without chroot in the user's home.
asio::awaitable<void> root_at_login_directory(FtpClient& client, Job& job) {
  const std::string home = (co_await client.working_directory()).value_or("/");
  job.url.path = resolve_url_path(home, job.url.path);
  if (!job.new_path.empty() && !job.new_path_absolute) job.new_path = resolve_url_path(home, job.new_path);
}

asio::awaitable<void> run_job(FtpClient& client, const Job& unrooted, TerminalProgress& progress) {
  co_await connect_and_login(client, unrooted);
  Job job = unrooted;
  co_await root_at_login_directory(client, job);
  if (job.command == "ls") {
    co_await run_ls(client, job);
  } else if (job.command == "get") {
    co_await run_get(client, job, progress);
  } else if (job.command == "put") {
    co_await run_put(client, job, progress);
  } else if (job.command == "mirror") {
    co_await run_mirror_job(client, job, progress);
  } else {
    co_await run_change(client, job);
  }
  co_await client.quit();
}

int execute(const Job& job) {
  asio::io_context io;
  FtpClient client(io.get_executor());
  if (job.verbose) client.set_transcript(stderr_transcript());
  client.set_timeout(std::chrono::seconds(job.timeout_seconds));
  client.set_tls(job.tls);
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
  if (status == exit_ok && mirror_failed) status = exit_failure;
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  cxxopts::Options options("ferry", "ferry: move files to and from an FTP server, verified.");
  options.positional_help("COMMAND ARGUMENTS... (see Commands below)");
  // clang-format off
  options.add_options()
      ("o,output", "get: save as PATH (a directory keeps the remote name)", cxxopts::value<std::string>(), "PATH")
      ("c,continue", "get: resume a partial download (PATH.part, or PATH itself); put: resume an upload from the remote file's size")
      ("R,reverse", "mirror: upload the local DIR to URL instead of downloading")
      ("j,jobs", "mirror: N transfers in parallel, 1-16", cxxopts::value<unsigned>()->default_value("1"), "N")
      ("v,verbose", "show the FTP conversation on stderr (passwords masked)")
      ("tls", "explicit FTPS: AUTH TLS before the login, encrypted data connections (ftps:// URLs are implicit FTPS)")
      ("ca-file", "FTPS: also trust the CA certificates (PEM) in PATH", cxxopts::value<std::string>(), "PATH")
      ("k,insecure", "FTPS: do not verify the server's certificate (encrypted, but not authenticated)")
      ("timeout", "give up when the server is silent for SECONDS", cxxopts::value<unsigned>()->default_value("60"), "SECONDS")
      ("version", "print the version and exit")
      ("h,help", "print this help and exit");
  options.add_options("positional")
      ("command", "ls, get, put, rm, mkdir, rmdir, mv or mirror", cxxopts::value<std::string>())
      ("arguments", "URLs and paths", cxxopts::value<std::vector<std::string>>());
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
    static const std::vector<std::string> commands = {"ls", "get", "put", "rm", "mkdir", "rmdir", "mv", "mirror"};
    if (std::find(commands.begin(), commands.end(), job.command) == commands.end()) {
      print_error("unknown command '" + job.command + "' (try ferry --help)");
      return exit_usage;
    }
    const std::size_t wanted = job.command == "put" || job.command == "mv" || job.command == "mirror" ? 2 : 1;
    if (arguments.size() != wanted) {
      const char* shape = job.command == "put"      ? "a FILE and a URL"
                          : job.command == "mv"     ? "a URL and a NEWPATH"
                          : job.command == "mirror" ? "a URL and a DIR (-R: a DIR and a URL)"
                                                    : "exactly one URL";
      print_error(job.command + " takes " + shape + " (try ferry --help)");
      return exit_usage;
    }
    if (result.count("output") && job.command != "get") {
      print_error("-o only applies to get");
      return exit_usage;
    }
    if (result.count("continue") && job.command != "get" && job.command != "put") {
      print_error("-c only applies to get and put");
      return exit_usage;
    }
    if ((result.count("reverse") || result.count("jobs")) && job.command != "mirror") {
      print_error("-R and -j only apply to mirror");
      return exit_usage;
    }
    if (result.count("output")) output = result["output"].as<std::string>();
    job.resume = result.count("continue") > 0;
    job.reverse = result.count("reverse") > 0;
    job.jobs = result["jobs"].as<unsigned>();
    if (job.jobs < 1 || job.jobs > 16) {
      print_error("-j takes 1 to 16 parallel transfers");
      return exit_usage;
    }
    job.verbose = result.count("verbose") > 0;
    job.timeout_seconds = result["timeout"].as<unsigned>();
    if (job.timeout_seconds == 0) {
      print_error("--timeout must be at least 1 second");
      return exit_usage;
    }
    const bool tls_flag = result.count("tls") > 0;
    const bool insecure = result.count("insecure") > 0;
    if (result.count("ca-file")) {
      job.tls.ca_file = result["ca-file"].as<std::string>();
      std::error_code ec;
      if (!std::filesystem::is_regular_file(job.tls.ca_file, ec)) {
        print_error("--ca-file " + job.tls.ca_file + ": no such file");
        return exit_usage;
      }
    }
    std::string url_text = arguments.front();
    if (job.command == "put" || (job.command == "mirror" && job.reverse)) {
      job.local = arguments.front();
      url_text = arguments.back();
    } else if (job.command == "mirror") {
      job.local = arguments.back();
    }
    job.url = parse_url(url_text);
    job.tls.mode = job.url.implicit_tls ? TlsMode::implicit_tls : tls_flag ? TlsMode::explicit_tls : TlsMode::none;
    if ((insecure || !job.tls.ca_file.empty()) && job.tls.mode == TlsMode::none) {
      print_error("--ca-file and --insecure only apply to FTPS (--tls or an ftps:// URL)");
      return exit_usage;
    }
    job.tls.verify = !insecure;
    if (job.command == "get") job.target = choose_target(job.url.path, output);
    if (job.command == "put") {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(job.local, ec)) {
        const bool exists = std::filesystem::symlink_status(job.local, ec).type() != std::filesystem::file_type::not_found;
        print_error(job.local.string() + (exists ? ": not a regular file" : ": no such file") +
                    " (put sends one regular file; mirror -R sends a tree)");
        return exit_failure;
      }
      job.url.path = choose_remote_target(job.url.path, job.local);
    }
    if (job.command == "mv") {
      job.new_path = resolve_new_path(job.url, arguments.back());
      job.new_path_absolute = arguments.back().starts_with("/");
    }
    if ((job.command == "rm" || job.command == "mkdir" || job.command == "rmdir" || job.command == "mv") &&
        directory_path(job.url.path) == "/") {
      print_error(job.command + " needs a path below / in the URL");
      return exit_usage;
    }
    if (job.command == "mkdir" || job.command == "rmdir" || job.command == "mv") {
      job.url.path = directory_path(job.url.path);
    }
    if (job.command == "mirror" && job.reverse) {
      std::error_code ec;
      if (!std::filesystem::is_directory(job.local, ec)) {
        print_error(job.local.string() + " is not a directory");
        return exit_failure;
      }
    }
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
  if (!job.tls.verify) {
    print_error("warning: --insecure: the server's certificate is not verified; anyone on the path could pose as it");
  }
  return execute(job);
}
