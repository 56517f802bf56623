// The console's JSON API (/api/v1/...), /metrics and the web page's files: one request in,
// one response out, on the admin thread. Who may ask: an operator logged in with a cookie
// (state-changing requests must also carry its CSRF token) or a bearer token.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "server/admin/http_codec.hpp"
#include "server/admin/operator_sessions.hpp"
#include "server/events/event.hpp"

namespace ferry {
class Server;
struct ServerRuntime;
class BanList;
}  // namespace ferry

namespace ferry::admin {

class Metrics;

// How long a console login lasts: idle, and at most.
inline constexpr std::chrono::seconds login_idle{30 * 60};
inline constexpr std::chrono::seconds login_lifetime{12 * 60 * 60};
// A refused operator login is answered this long after it arrived, as an FTP one.
inline constexpr std::chrono::milliseconds refused_login_delay{1000};
inline constexpr const char* cookie_name = "ferry_console";

class Api {
 public:
  Api(Server& server, std::shared_ptr<ServerRuntime> runtime, Metrics& metrics, BanList& bans, bool tls);

  struct Result {
    HttpResponse response;
    bool event_stream = false;  // GET /api/v1/events, allowed: the caller streams
  };
  asio::awaitable<Result> handle(const HttpRequest& request, const asio::ip::address& peer,
                                 std::chrono::steady_clock::time_point arrived);

  // The parts of the event stream (and of the GET answers).
  std::string status_json() const;
  std::string sessions_json() const;
  std::string bans_json() const;
  static std::string event_json(std::uint64_t seq, const Event& event);

 private:
  asio::awaitable<HttpResponse> login(const HttpRequest& request, const asio::ip::address& peer,
                                      std::chrono::steady_clock::time_point arrived);
  asio::awaitable<HttpResponse> reload(const std::string& operator_name);
  HttpResponse bans_post(const HttpRequest& request, const std::string& operator_name);

  // Who asks: their token (bearer or cookie) and its login, if any is in force.
  struct Caller {
    std::string token;
    bool by_cookie = false;
    const OperatorSessions::Login* login = nullptr;
  };
  Caller caller(const HttpRequest& request);
  HttpResponse metrics_response(const std::string& method, bool logged_in);
  HttpResponse operator_request(const HttpRequest& request, const Caller& who);
  HttpResponse session_action(std::string_view rest, const std::string& method, const std::string& operator_name);

  Server& server_;
  std::shared_ptr<ServerRuntime> runtime_;
  Metrics& metrics_;
  BanList& bans_;
  bool tls_;  // admin.tls (a restart changes it): the cookie is Secure
  OperatorSessions logins_{login_idle, login_lifetime, 256};
};

}  // namespace ferry::admin
