// The console's JSON API, /metrics and the page's files (see api.hpp).
#include "server/admin/api.hpp"

#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <algorithm>
#include <charconv>
#include <memory>
#include <optional>

#include "passwd/password_hash.hpp"
#include "server/admin/console_assets.hpp"
#include "server/admin/metrics.hpp"
#include "server/ban_list.hpp"
#include "server/blocking.hpp"
#include "server/events/log_sink.hpp"
#include "server/log.hpp"
#include "server/plugin_host.hpp"
#include "server/plugin_kinds.hpp"
#include "server/server.hpp"
#include "server/server_state.hpp"

namespace ferry::admin {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Names from clients need not be UTF-8: invalid bytes become U+FFFD instead of an exception.
std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body) + "\n";
  return r;
}

HttpResponse error_response(int status, std::string_view message) {
  return json_response(status, json{{"error", message}});
}

double epoch_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string iso_time(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t end = header.find(';');
    std::string_view part = header.substr(0, end);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=') {
      return part.substr(name.size() + 1);
    }
    if (end == std::string_view::npos) break;
    header.remove_prefix(end + 1);
  }
  return {};
}

std::optional<std::uint64_t> parse_id(std::string_view text) {
  std::uint64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return id;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int value = 0;
      auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
      if (ec == std::errc() && end == text.data() + i + 3) {
        out += static_cast<char>(value);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

HttpResponse method_not_allowed(std::string_view allow) {
  HttpResponse r = error_response(405, "method not allowed");
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

bool is_json(const HttpRequest& request) {
  std::string_view type = request.header("Content-Type");
  return type.substr(0, type.find(';')) == "application/json";
}

}  // namespace

Api::Api(Server& server, std::shared_ptr<ServerRuntime> runtime, Metrics& metrics, BanList& bans, bool tls)
    : server_(server), runtime_(std::move(runtime)), metrics_(metrics), bans_(bans), tls_(tls) {}

std::string Api::status_json() const {
  auto state = server_.current();
  const Config& c = state->config;
  json listen = json::array();
  for (const Server::Bound& b : server_.bound()) listen.push_back({{"address", b.address}, {"implicit_tls", b.implicit_tls}});
  json plugins = json::array();
  for (const auto& p : state->plugins->loaded()) {
    plugins.push_back({{"name", p.name}, {"version", p.version}, {"kind", std::string(plugin_kind_name(p.kind))}});
  }
  const auto now = std::chrono::system_clock::now();
  return dump(json{
      {"version", FERRY_VERSION},
      {"started", iso_time(runtime_->started)},
      {"uptime_seconds", std::chrono::duration_cast<std::chrono::seconds>(now - runtime_->started).count()},
      {"listen", listen},
      {"plugins", plugins},
      {"config", {{"file", c.file}, {"generation", state->number}, {"loaded", iso_time(state->loaded_at)}}},
      {"sessions", {{"active", runtime_->sessions.size()}, {"limit", c.max_sessions}}},
      {"bytes", {{"in", metrics_.bytes(Metrics::upload)}, {"out", metrics_.bytes(Metrics::download)}}},
      {"tls", c.tls.has_value()},
  });
}

std::string Api::sessions_json() const {
  auto views = runtime_->sessions.snapshot();
  std::sort(views.begin(), views.end(), [](const SessionView& a, const SessionView& b) { return a.id < b.id; });
  constexpr std::size_t shown = 1000;  // a page, not a dump of 10,000 idle sessions
  json list = json::array();
  for (std::size_t i = 0; i < views.size() && i < shown; ++i) {
    const SessionView& v = views[i];
    json s{{"id", v.id},           {"user", v.user},   {"peer", v.peer}, {"connected", iso_time(v.since)},
           {"idle_ms", v.idle.count()}, {"command", v.command}, {"cwd", v.cwd}, {"tls", v.tls},
           {"transfer", nullptr}};
    if (v.transfer) {
      const TransferView& t = *v.transfer;
      json tr{{"verb", t.verb},   {"path", t.path}, {"direction", t.incoming ? "upload" : "download"},
              {"bytes", t.bytes}, {"size", nullptr}, {"elapsed_ms", t.elapsed.count()}, {"rate", t.rate},
              {"eta_seconds", nullptr}};
      if (t.size) {
        tr["size"] = *t.size;
        if (t.rate > 0 && *t.size >= t.bytes) tr["eta_seconds"] = static_cast<double>(*t.size - t.bytes) / t.rate;
      }
      s["transfer"] = tr;
    }
    list.push_back(std::move(s));
  }
  return dump(json{{"sessions", list}, {"total", views.size()}});
}

std::string Api::bans_json() const {
  json list = json::array();
  const auto now = std::chrono::system_clock::now();
  for (const BanEntry& b : bans_.bans()) {
    list.push_back({{"address", b.address},
                    {"until", iso_time(b.until)},
                    {"seconds_left", std::chrono::duration_cast<std::chrono::seconds>(b.until - now).count()},
                    {"reason", b.reason}});
    if (!b.node.empty()) list.back()["node"] = b.node;  // [cluster]: which node made it
  }
  return dump(json{{"bans", list}});
}

std::string Api::event_json(std::uint64_t seq, const Event& e) {
  json out{{"seq", seq},
           {"time", iso_time(e.time)},
           {"event", std::string(event_name(e.kind))},
           {"level", e.level == LogLevel::error     ? "error"
                     : e.level == LogLevel::warning ? "warning"
                     : e.level == LogLevel::debug   ? "debug"
                                                    : "info"},
           {"session", e.session},
           {"message", describe(e)}};
  for (const LogField& field : log_fields(e)) {
    if (field.number) {
      out[std::string(field.key)] = std::stoull(field.value);
    } else {
      out[std::string(field.key)] = field.value;
    }
  }
  return dump(out);
}

namespace {

bool is_console_asset(std::string_view path) {
  return path == "/" || path == "/index.html" || path == "/console.js" || path == "/console.css" ||
         path == "/favicon.svg";
}

// The page and its files: no login needed (the page asks for one).
HttpResponse asset_response(std::string_view path, const std::string& method) {
  if (method != "GET") return method_not_allowed("GET");
  const ConsoleAsset* asset = find_console_asset(path == "/" ? "/index.html" : path);
  if (!asset) return error_response(404, "not found");
  HttpResponse r;
  r.content_type = std::string(asset->type);
  r.body = std::string(asset->body);
  return r;
}

HttpResponse body_response(std::string body, std::string content_type = {}) {
  HttpResponse r;
  if (!content_type.empty()) r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

}  // namespace

Api::Caller Api::caller(const HttpRequest& request) {
  // A bearer token, or the cookie (which needs the CSRF token to change anything).
  Caller who;
  if (std::string_view auth = request.header("Authorization"); auth.substr(0, 7) == "Bearer ") {
    who.token = std::string(auth.substr(7));
  } else if (std::string_view cookie = cookie_value(request.header("Cookie"), cookie_name); !cookie.empty()) {
    who.token = std::string(cookie);
    who.by_cookie = true;
  }
  if (!who.token.empty()) who.login = logins_.find(who.token, Clock::now());
  return who;
}

asio::awaitable<Api::Result> Api::handle(const HttpRequest& request, const asio::ip::address& peer,
                                         Clock::time_point arrived) {
  const std::string_view path = request.path();
  const std::string& method = request.method;
  if (is_console_asset(path)) co_return Result{asset_response(path, method)};
  if (path == "/api/v1/login") {
    if (method != "POST") co_return Result{method_not_allowed("POST")};
    // Awaited into a named value, not inside a temporary's initialiser (g++ 12 mis-moves those).
    HttpResponse response = co_await login(request, peer, arrived);
    co_return Result{std::move(response)};
  }
  const Caller who = caller(request);
  if (path == "/metrics") co_return Result{metrics_response(method, who.login != nullptr)};
  if (!path.starts_with("/api/v1/")) co_return Result{error_response(404, "not found")};
  if (!who.login) {
    HttpResponse r = error_response(401, who.token.empty() ? "log in first" : "the login has expired: log in again");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ferryd\"");
    co_return Result{std::move(r)};
  }
  const std::string operator_name = who.login->user;
  const bool changes = method != "GET" && method != "HEAD";
  if (changes && who.by_cookie && !same_secret(request.header("X-CSRF-Token"), who.login->csrf)) {
    co_return Result{error_response(403, "missing or wrong X-CSRF-Token")};
  }
  if (path == "/api/v1/reload") {
    if (method != "POST") co_return Result{method_not_allowed("POST")};
    HttpResponse response = co_await reload(operator_name);
    co_return Result{std::move(response)};
  }
  if (path == "/api/v1/events") {
    if (method != "GET") co_return Result{method_not_allowed("GET")};
    co_return Result{body_response({}, "text/event-stream"), true};
  }
  co_return Result{operator_request(request, who)};
}

HttpResponse Api::metrics_response(const std::string& method, bool logged_in) {
  if (method != "GET") return method_not_allowed("GET");
  auto state = server_.current();  // metrics_public as the configuration in force says
  if (!state->config.admin.metrics_public && !logged_in) {
    return error_response(401, "log in first (or set [admin] metrics_public)");
  }
  MetricsGauges g;
  g.sessions_active = runtime_->sessions.size();
  g.sessions_limit = state->config.max_sessions;
  g.bans_active = bans_.bans().size();
  g.generation = state->number;
  g.start_time = epoch_seconds(runtime_->started);
  g.last_reload_time = epoch_seconds(state->loaded_at);
  return body_response(metrics_.render(g), "text/plain; version=0.0.4; charset=utf-8");
}

// The API's requests that answer at once, by a logged-in operator (CSRF checked).
HttpResponse Api::operator_request(const HttpRequest& request, const Caller& who) {
  const std::string_view path = request.path();
  const std::string& method = request.method;
  if (path == "/api/v1/me") {
    if (method != "GET") return method_not_allowed("GET");
    return json_response(200, json{{"user", who.login->user}, {"csrf", who.login->csrf}});
  }
  if (path == "/api/v1/logout") {
    if (method != "POST") return method_not_allowed("POST");
    logins_.remove(who.token);
    HttpResponse r = json_response(200, json{{"ok", true}});
    r.headers.emplace_back("Set-Cookie", std::string(cookie_name) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
                                             (tls_ ? "; Secure" : ""));
    return r;
  }
  if (path == "/api/v1/status") return method != "GET" ? method_not_allowed("GET") : body_response(status_json() + "\n");
  if (path == "/api/v1/sessions") {
    return method != "GET" ? method_not_allowed("GET") : body_response(sessions_json() + "\n");
  }
  if (path.starts_with("/api/v1/sessions/")) return session_action(path.substr(17), method, who.login->user);
  if (path == "/api/v1/bans") {
    if (method == "GET") return body_response(bans_json() + "\n");
    if (method == "POST") return bans_post(request, who.login->user);
    return method_not_allowed("GET, POST");
  }
  if (path.starts_with("/api/v1/bans/")) {
    if (method != "DELETE") return method_not_allowed("DELETE");
    const std::string address = percent_decode(path.substr(13));
    if (!ban_key(address)) return error_response(400, "not an IP address");
    if (!bans_.unban(address)) return error_response(404, "that address is not banned");
    log_info("admin: operator ", who.login->user, " lifted the ban of ", address);
    return json_response(200, json{{"ok", true}, {"address", *ban_key(address)}});
  }
  return error_response(404, "not found");
}

// DELETE /api/v1/sessions/ID (disconnect) and /api/v1/sessions/ID/transfer (abort).
HttpResponse Api::session_action(std::string_view rest, const std::string& method, const std::string& operator_name) {
  const bool transfer = rest.ends_with("/transfer");
  if (transfer) rest.remove_suffix(9);
  auto id = parse_id(rest);
  if (!id) return error_response(404, "no such session");
  if (method != "DELETE") return method_not_allowed("DELETE");
  if (transfer) {
    auto views = runtime_->sessions.snapshot();
    auto it = std::find_if(views.begin(), views.end(), [&](const SessionView& v) { return v.id == *id; });
    if (it == views.end()) return error_response(404, "no such session");
    if (!it->transfer) return error_response(409, "that session has no transfer in progress");
    if (!runtime_->sessions.abort_transfer(*id)) return error_response(404, "no such session");
    log_info("admin: operator ", operator_name, " aborted the transfer of session ", *id);
  } else {
    if (!runtime_->sessions.close(*id)) return error_response(404, "no such session");
    log_info("admin: operator ", operator_name, " disconnected session ", *id);
  }
  return json_response(200, json{{"ok", true}, {"session", *id}});
}

HttpResponse Api::bans_post(const HttpRequest& request, const std::string& operator_name) {
  if (!is_json(request)) return error_response(415, "send JSON (Content-Type: application/json)");
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error_response(400, "the body is not a JSON object");
  if (!body.contains("address") || !body["address"].is_string()) return error_response(400, "'address' must be a string");
  std::int64_t seconds = server_.current()->config.ban_duration;
  if (body.contains("seconds")) {
    if (!body["seconds"].is_number_integer()) return error_response(400, "'seconds' must be an integer");
    seconds = body["seconds"].get<std::int64_t>();
  }
  if (seconds < 1 || seconds > 86400 * 365) return error_response(400, "'seconds' must be between 1 and 31536000");
  std::string why = "by operator " + operator_name;
  if (body.contains("reason")) {
    if (!body["reason"].is_string()) return error_response(400, "'reason' must be a string");
    std::string reason = body["reason"].get<std::string>().substr(0, 200);
    if (!reason.empty()) why += ": " + reason;
  }
  const std::string address = body["address"].get<std::string>();
  auto key = bans_.ban(address, std::chrono::seconds(seconds), why);
  if (!key) return error_response(400, "not an IP address");
  log_info("admin: operator ", operator_name, " banned ", *key, " for ", seconds, " s");
  runtime_->events.publish(Event{.kind = EventKind::ban,
                                 .level = LogLevel::warning,
                                 .peer = *key,
                                 .reason = why,
                                 .seconds = static_cast<std::uint32_t>(seconds)});
  return json_response(201, json{{"address", *key}, {"seconds", seconds}, {"reason", why}});
}

asio::awaitable<HttpResponse> Api::login(const HttpRequest& request, const asio::ip::address& peer,
                                         Clock::time_point arrived) {
  if (runtime_->bans.banned(peer)) {
    HttpResponse r = error_response(429, "this address is banned after repeated failed logins");
    r.headers.emplace_back("Retry-After", std::to_string(server_.current()->config.ban_duration));
    co_return r;
  }
  if (!is_json(request)) co_return error_response(415, "send JSON (Content-Type: application/json)");
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("user") || !body["user"].is_string() ||
      !body.contains("password") || !body["password"].is_string()) {
    co_return error_response(400, "send {\"user\": NAME, \"password\": PASSWORD}");
  }
  std::string user = body["user"].get<std::string>();
  std::string password = body["password"].get<std::string>();
  auto operators = server_.current()->operators;
  std::string hash;
  if (operators) {
    if (const passwd::UserEntry* entry = operators->find(user)) hash = entry->hash;
  }
  // An unknown name costs the same time as a wrong password.
  auto check = [hash, password]() mutable {
    static const std::string decoy = passwd::hash_password(random_token(16)).value_or("");
    const bool ok = passwd::verify_password(password, hash.empty() ? decoy : hash) && !hash.empty();
    std::fill(password.begin(), password.end(), '\0');
    return ok;
  };
  std::fill(password.begin(), password.end(), '\0');
  const bool ok = co_await run_blocking(runtime_->blocking, std::move(check));
  const std::string peer_text = peer.to_string();
  if (!ok) {
    log_warning("admin: console login refused for ", user, " from ", peer_text);
    if (runtime_->bans.record_failure(peer)) {
      auto state = server_.current();
      runtime_->events.publish(Event{.kind = EventKind::ban,
                                     .level = LogLevel::warning,
                                     .peer = peer_text,
                                     .count = state->config.ban_failures,
                                     .seconds = static_cast<std::uint32_t>(state->config.ban_duration)});
    }
    auto executor = co_await asio::this_coro::executor;
    asio::steady_timer pause(executor, arrived + refused_login_delay);
    co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    co_return error_response(401, "wrong operator name or password");
  }
  const std::string token = logins_.create(user, Clock::now());
  const OperatorSessions::Login* login = logins_.find(token, Clock::now());
  log_info("admin: operator ", user, " logged in to the console from ", peer_text);
  HttpResponse r = json_response(200, json{{"user", user},
                                           {"csrf", login->csrf},
                                           {"token", token},
                                           {"expires_in", logins_.idle().count()}});
  r.headers.emplace_back("Set-Cookie", std::string(cookie_name) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" +
                                           (tls_ ? "; Secure" : ""));
  co_return r;
}

asio::awaitable<HttpResponse> Api::reload(const std::string& operator_name) {
  log_info("admin: operator ", operator_name, " asked for a reload");
  // The reload's result comes back on the admin thread (the server's main I/O thread):
  // the timer is the signal.
  auto executor = co_await asio::this_coro::executor;
  auto waiter = std::make_shared<asio::steady_timer>(executor, Clock::time_point::max());
  auto result = std::make_shared<std::optional<std::string>>();
  server_.reload([waiter, result](const std::string& error) {
    *result = error;
    waiter->cancel();
  });
  while (!*result) {
    auto [ec] = co_await waiter->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    if (ec && !*result) co_return error_response(503, "the reload did not finish");
  }
  if (!(*result)->empty()) {
    co_return json_response(422, json{{"ok", false}, {"error", **result}});
  }
  auto state = server_.current();
  co_return json_response(200, json{{"ok", true}, {"generation", state->number}, {"loaded", iso_time(state->loaded_at)}});
}

}  // namespace ferry::admin
