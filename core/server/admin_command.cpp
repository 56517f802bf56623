// The admin API from a terminal (see admin_command.hpp): finds the console in the
// configuration, logs in as an operator (or uses a bearer token), asks, prints.
#include "server/admin_command.hpp"

#include <termios.h>
#include <unistd.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "server/admin/http_codec.hpp"
#include "server/config.hpp"

namespace ferry {

namespace {

using json = nlohmann::json;
constexpr int exit_failure = 1;
constexpr int exit_usage = 2;

const char* usage =
    "usage: ferryd who    [--config FILE]                  list the sessions\n"
    "       ferryd kick   [--config FILE] SESSION          disconnect a session\n"
    "       ferryd ban    [--config FILE] ADDRESS [SECONDS] ban an address\n"
    "       ferryd unban  [--config FILE] ADDRESS          lift a ban\n"
    "       ferryd reload [--config FILE]                  reload the configuration\n"
    "The console's address comes from [admin] listen in the configuration, or from\n"
    "FERRY_CONSOLE=http://HOST:PORT. Credentials:\n"
    "FERRY_TOKEN (a bearer token), else FERRY_OPERATOR and FERRY_PASSWORD, else prompts.\n";

struct Console {
  std::string host;  // to connect to
  std::uint16_t port = 0;
  bool tls = false;
  std::string ca_file;  // the [tls] certificate, trusted for a self-signed console
};

class Client {
 public:
  explicit Client(Console console) : console_(std::move(console)) {}

  admin::ParsedResponse call(const std::string& method, const std::string& target, const std::string& body = {}) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token_.empty()) headers.emplace_back("Authorization", "Bearer " + token_);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    const std::string request = admin::serialize_request(method, target, console_.host, headers, body);
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    asio::ip::tcp::socket socket(io);
    asio::connect(socket, resolver.resolve(console_.host, std::to_string(console_.port)));
    std::string response;
    std::error_code ec;
    if (console_.tls) {
      asio::ssl::context context(asio::ssl::context::tls_client);
      context.set_default_verify_paths();
      if (!console_.ca_file.empty()) context.load_verify_file(console_.ca_file, ec);
      context.set_verify_mode(asio::ssl::verify_peer);
      asio::ssl::stream<asio::ip::tcp::socket&> tls(socket, context);
      tls.set_verify_callback(asio::ssl::host_name_verification(console_.host));
      SSL_set_tlsext_host_name(tls.native_handle(), console_.host.c_str());
      tls.handshake(asio::ssl::stream_base::client);
      asio::write(tls, asio::buffer(request));
      asio::read(tls, asio::dynamic_buffer(response), ec);
    } else {
      asio::write(socket, asio::buffer(request));
      asio::read(socket, asio::dynamic_buffer(response), ec);
    }
    std::string error;
    auto parsed = admin::parse_response(response, error);
    if (!parsed) throw std::runtime_error("the console's answer was not HTTP: " + error);
    return *parsed;
  }

  void use_token(std::string token) { token_ = std::move(token); }

 private:
  Console console_;
  std::string token_;
};

std::string prompt(const std::string& question, bool echo) {
  std::cerr << question << std::flush;
  termios saved{};
  const bool tty = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (tty && !echo) {
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty && !echo) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// Logs in unless FERRY_TOKEN gives a token. Returns "" or why not.
std::string log_in(Client& client) {
  if (const char* token = std::getenv("FERRY_TOKEN"); token && *token) {
    client.use_token(token);
    return {};
  }
  const char* name = std::getenv("FERRY_OPERATOR");
  std::string user = name && *name ? name : prompt("Operator: ", true);
  const char* pass = std::getenv("FERRY_PASSWORD");
  std::string password = pass ? pass : prompt("Password for " + user + ": ", false);
  auto r = client.call("POST", "/api/v1/login", json{{"user", user}, {"password", password}}.dump());
  std::fill(password.begin(), password.end(), '\0');
  if (r.status != 200) {
    auto body = json::parse(r.body, nullptr, false);
    return "login refused (HTTP " + std::to_string(r.status) + ")" +
           (body.is_object() && body.contains("error") ? ": " + body["error"].get<std::string>() : "");
  }
  client.use_token(json::parse(r.body).at("token").get<std::string>());
  return {};
}

std::string human_bytes(double n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (n >= 1024 && i < 4) {
    n /= 1024;
    ++i;
  }
  char text[32];
  std::snprintf(text, sizeof text, i == 0 ? "%.0f %s" : "%.1f %s", n, units[i]);
  return text;
}

// Control characters from clients' names are shown as \xNN: they must not drive the terminal.
std::string printable(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void print_sessions(const json& data) {
  std::printf("%-6s %-12s %-22s %-9s %-7s %-6s %s\n", "ID", "USER", "CLIENT", "SINCE", "IDLE", "CMD", "TRANSFER");
  for (const json& s : data["sessions"]) {
    std::string since = s["connected"].get<std::string>();
    since = since.size() >= 19 ? since.substr(11, 8) : since;
    std::string transfer = "-";
    if (!s["transfer"].is_null()) {
      const json& t = s["transfer"];
      transfer = std::string(t["direction"] == "upload" ? "UL " : "DL ") + printable(t["path"].get<std::string>()) + " " +
                 human_bytes(t["bytes"].get<double>());
      if (!t["size"].is_null() && t["size"].get<double>() > 0) {
        transfer += " of " + human_bytes(t["size"].get<double>()) + " (" +
                    std::to_string(static_cast<int>(100 * t["bytes"].get<double>() / t["size"].get<double>())) + "%)";
      }
      transfer += " " + human_bytes(t["rate"].get<double>()) + "/s";
    }
    std::string user = s["user"].get<std::string>();
    std::printf("%-6llu %-12s %-22s %-9s %-7s %-6s %s\n", static_cast<unsigned long long>(s["id"].get<std::uint64_t>()),
                user.empty() ? "-" : printable(user).c_str(), s["peer"].get<std::string>().c_str(), since.c_str(),
                (std::to_string(s["idle_ms"].get<std::int64_t>() / 1000) + "s").c_str(),
                printable(s["command"].get<std::string>()).c_str(), transfer.c_str());
  }
  std::printf("%llu session(s)\n", static_cast<unsigned long long>(data["total"].get<std::uint64_t>()));
}

std::optional<Console> find_console(const std::string& config_file, std::string& error) {
  // FERRY_CONSOLE=http://HOST:PORT (or https://) names the console outright, e.g. one
  // whose configuration says port 0.
  if (const char* url = std::getenv("FERRY_CONSOLE"); url && *url) {
    std::string text = url;
    Console console;
    console.tls = text.starts_with("https://");
    if (!console.tls && !text.starts_with("http://")) {
      error = "FERRY_CONSOLE must look like http://127.0.0.1:2180";
      return std::nullopt;
    }
    text = text.substr(console.tls ? 8 : 7);
    while (!text.empty() && text.back() == '/') text.pop_back();
    auto address = parse_listen_address(text);
    if (!address) {
      error = "FERRY_CONSOLE must look like http://127.0.0.1:2180";
      return std::nullopt;
    }
    console.host = address->host;
    console.port = address->port;
    if (auto loaded = load_config(config_file); loaded.config && loaded.config->tls) {
      console.ca_file = loaded.config->tls->certificate;
    }
    return console;
  }
  auto loaded = load_config(config_file);
  if (!loaded.config) {
    error = loaded.error;
    return std::nullopt;
  }
  const Config& c = *loaded.config;
  if (!c.admin.enabled()) {
    error = c.file + ": [admin] listen is empty: this ferryd has no console to ask";
    return std::nullopt;
  }
  Console console;
  console.host = c.admin.listen.front().host;
  if (console.host == "0.0.0.0") console.host = "127.0.0.1";
  if (console.host == "::") console.host = "::1";
  console.port = c.admin.listen.front().port;
  console.tls = c.admin.tls;
  if (c.tls) console.ca_file = c.tls->certificate;
  return console;
}

}  // namespace

bool is_admin_command(const std::string& word) {
  return word == "who" || word == "kick" || word == "ban" || word == "unban" || word == "reload";
}

namespace {

// Sends `command` (its `words` checked already) and prints what it did; the response.
// Throws when an answer is not the JSON it should be; a usage error has status 0.
admin::ParsedResponse send_command(Client& client, const std::string& command, const std::vector<std::string>& words) {
  admin::ParsedResponse r;
  if (command == "who") {
    r = client.call("GET", "/api/v1/sessions");
    if (r.status == 200) print_sessions(json::parse(r.body));
  } else if (command == "kick") {
    r = client.call("DELETE", "/api/v1/sessions/" + words[0]);
    if (r.status == 200) std::printf("session %s disconnected\n", words[0].c_str());
  } else if (command == "ban") {
    json body{{"address", words[0]}};
    if (words.size() == 2) {
      try {
        body["seconds"] = std::stoll(words[1]);
      } catch (const std::exception&) {
        std::cerr << "ferryd ban: SECONDS must be a number\n";
        return r;  // status 0: a usage error
      }
    }
    r = client.call("POST", "/api/v1/bans", body.dump());
    if (r.status == 201) {
      auto answer = json::parse(r.body);
      std::printf("banned %s for %lld s\n", answer["address"].get<std::string>().c_str(),
                  static_cast<long long>(answer["seconds"].get<std::int64_t>()));
    }
  } else if (command == "unban") {
    std::string target;
    for (char c : words[0]) target += c == '/' ? std::string("%2F") : std::string(1, c);
    r = client.call("DELETE", "/api/v1/bans/" + target);
    if (r.status == 200) std::printf("ban of %s lifted\n", words[0].c_str());
  } else {
    r = client.call("POST", "/api/v1/reload");
    if (r.status == 200) {
      auto answer = json::parse(r.body);
      std::printf("reloaded: configuration generation %llu\n",
                  static_cast<unsigned long long>(answer["generation"].get<std::uint64_t>()));
    }
  }
  return r;
}

}  // namespace

int run_admin_command(const std::string& command, const std::vector<std::string>& args) {
  std::string config_file = FERRY_DEFAULT_CONFIG;
  std::vector<std::string> words;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--config" && i + 1 < args.size()) {
      config_file = args[++i];
    } else if (args[i].starts_with("--config=")) {
      config_file = args[i].substr(9);
    } else if (args[i] == "-h" || args[i] == "--help") {
      std::cout << usage;
      return 0;
    } else if (args[i].starts_with("-")) {
      std::cerr << "ferryd " << command << ": unknown option " << args[i] << "\n" << usage;
      return exit_usage;
    } else {
      words.push_back(args[i]);
    }
  }
  const std::size_t min = command == "kick" || command == "ban" || command == "unban" ? 1 : 0;
  const std::size_t max = command == "ban" ? 2 : min;
  if (words.size() < min || words.size() > max) {
    std::cerr << usage;
    return exit_usage;
  }
  std::string error;
  auto console = find_console(config_file, error);
  if (!console) {
    std::cerr << "ferryd " << command << ": " << error << "\n";
    return exit_usage;
  }
  try {
    Client client(*console);
    if (error = log_in(client); !error.empty()) {
      std::cerr << "ferryd " << command << ": " << error << "\n";
      return exit_failure;
    }
    const admin::ParsedResponse r = send_command(client, command, words);
    if (r.status == 0) return exit_usage;
    if (r.status >= 300) {
      auto body = json::parse(r.body, nullptr, false);
      std::string why = body.is_object() && body.contains("error") ? body["error"].get<std::string>() : r.body;
      std::cerr << "ferryd " << command << ": " << why << " (HTTP " << r.status << ")\n";
      return exit_failure;
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "ferryd " << command << ": " << e.what() << "\n";
    return exit_failure;
  }
}

}  // namespace ferry
