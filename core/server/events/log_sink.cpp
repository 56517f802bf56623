// The server log's words for each event (see log_sink.hpp). The sentences and the JSON
// members are those ferryd has always written: operators' scripts and tests read them.
#include "server/events/log_sink.hpp"

#include <string>

namespace ferry {

namespace {

std::string text(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view part : parts) out += part;
  return out;
}

std::string number(std::uint64_t value) { return std::to_string(value); }

}  // namespace

std::string_view event_name(EventKind kind) noexcept {
  switch (kind) {
    case EventKind::connected: return "connect";
    case EventKind::disconnected: return "disconnect";
    case EventKind::refused_connection:
    case EventKind::refused_banned:
    case EventKind::refused_implicit_tls:
    case EventKind::refused_bounce:
    case EventKind::refused_intruder:
    case EventKind::refused_tls_owner:
    case EventKind::refused_tls_not_resumed:
    case EventKind::refused_proxy_header:
    case EventKind::refused_file: return "refused";
    case EventKind::tls_established: return "tls";
    case EventKind::tls_failed:
    case EventKind::tls_unavailable: return "tls_failed";
    case EventKind::login: return "login";
    case EventKind::login_refused: return "login_refused";
    case EventKind::login_failed: return "login_failed";
    case EventKind::logout: return "logout";
    case EventKind::ban: return "ban";
    case EventKind::timeout: return "timeout";
    case EventKind::transfer: return "transfer";
    case EventKind::deleted: return "delete";
    case EventKind::renamed: return "rename";
    case EventKind::data_failed: return "data_failed";
    case EventKind::error: return "error";
  }
  return "event";
}

std::string describe(const Event& e) {
  switch (e.kind) {
    case EventKind::connected:
      return e.detail.empty() ? "connected from " + e.peer : text({"connected from ", e.peer, " via proxy ", e.detail});
    case EventKind::disconnected: return "closed";
    case EventKind::refused_connection: return text({"refused connection from ", e.peer, ": ", e.reason});
    case EventKind::refused_banned: return text({"refused ", e.peer, ": banned after repeated failed logins"});
    case EventKind::refused_implicit_tls:
      return text({"refused implicit FTPS from ", e.peer, ": [tls] is no longer configured"});
    case EventKind::refused_bounce:
      return text({"refused active data connection to ", e.target, ":", number(e.port), " (control connection is from ",
                   e.peer, ")"});
    case EventKind::refused_intruder:
      return text({"refused data connection from ", e.target, " (control connection is from ", e.peer, ")"});
    case EventKind::refused_tls_owner:
      return text({"refused a TLS data connection that resumed a session not of user ", e.user, " from ", e.peer});
    case EventKind::refused_tls_not_resumed: return "refused a TLS data connection that did not resume the control session";
    case EventKind::refused_proxy_header: return text({"refused connection from ", e.peer, ": ", e.reason});
    case EventKind::refused_file: return text({e.user, ": ", e.path, ": ", e.reason});
    case EventKind::tls_established: return text({"TLS ", e.verb, " ", e.detail});
    case EventKind::tls_failed: return "TLS handshake failed: " + e.reason;
    case EventKind::tls_unavailable: return "TLS refused: " + e.detail;
    case EventKind::login: return text({"login ok: user ", e.user, " from ", e.peer});
    case EventKind::login_refused: return text({"login refused: ", e.reason, " (from ", e.peer, ")"});
    case EventKind::login_failed: return "login impossible: the authenticator failed: " + e.reason;
    case EventKind::logout: return "logout (REIN): user " + e.user;
    case EventKind::ban:
      if (!e.reason.empty()) return text({"banned ", e.peer, " for ", number(e.seconds), " s ", e.reason});  // an operator's
      return text({"banned ", e.peer, " for ", number(e.seconds), " s after ", number(e.count), " failed logins"});
    case EventKind::timeout: return e.ok ? "idle timeout" : "login timeout";
    case EventKind::transfer:
      if (e.ok) {
        return text({"transfer ok: ", e.verb, " ", e.path, " user ", e.user, " ", number(e.bytes), " bytes in ",
                     number(e.ms), " ms"});
      }
      return text({"transfer failed: ", e.verb, " ", e.path, " user ", e.user, " after ", number(e.bytes), " bytes, ",
                   number(e.ms), " ms: ", e.reason});
    case EventKind::deleted: return text({"deleted ", e.path, " (user ", e.user, ")"});
    case EventKind::renamed: return text({"renamed ", e.path, " to ", e.target, " (user ", e.user, ")"});
    case EventKind::data_failed:
      return text({"active data connection to ", e.target, ":", number(e.port), " failed: ", e.reason});
    case EventKind::error: return e.reason;
  }
  return {};
}

std::vector<LogField> log_fields(const Event& e) {
  switch (e.kind) {
    case EventKind::connected:
      if (!e.detail.empty()) return {{"peer", e.peer}, {"proxy", e.detail}};
      return {{"peer", e.peer}};
    case EventKind::disconnected:
    case EventKind::timeout: return {{"peer", e.peer}};
    case EventKind::refused_connection: return {{"peer", e.peer}, {"reason", e.reason}};
    case EventKind::refused_banned: return {{"peer", e.peer}, {"reason", "banned"}};
    case EventKind::refused_implicit_tls: return {{"peer", e.peer}, {"reason", "FTPS is not configured"}};
    case EventKind::refused_bounce:
      return {{"peer", e.peer}, {"target", e.target}, {"port", e.port}, {"reason", "FTP bounce"}};
    case EventKind::refused_intruder:
      return {{"peer", e.peer}, {"intruder", e.target}, {"reason", "data connection from another address"}};
    case EventKind::refused_tls_owner:
      return {{"peer", e.peer}, {"user", e.user}, {"reason", "TLS session of another login"}};
    case EventKind::refused_tls_not_resumed: return {{"peer", e.peer}, {"reason", "TLS session not resumed"}};
    case EventKind::refused_proxy_header: return {{"peer", e.peer}, {"reason", e.reason}};
    case EventKind::refused_file: return {{"user", e.user}, {"path", e.path}, {"reason", e.reason}};
    case EventKind::tls_established: return {{"version", e.verb}};
    case EventKind::tls_failed:
    case EventKind::tls_unavailable: return {{"peer", e.peer}, {"reason", e.reason}};
    case EventKind::login: return {{"user", e.user}, {"peer", e.peer}};
    case EventKind::login_refused:
    case EventKind::login_failed: return {{"user", e.user}, {"peer", e.peer}, {"reason", e.reason}};
    case EventKind::logout: return {{"user", e.user}};
    case EventKind::ban: return {{"peer", e.peer}, {"seconds", e.seconds}};
    case EventKind::transfer: {
      std::vector<LogField> fields{{"result", e.ok ? "ok" : "failed"}, {"verb", e.verb}, {"path", e.path},
                                   {"user", e.user},  {"bytes", e.bytes},                {"ms", e.ms}};
      if (!e.ok) fields.emplace_back("reason", e.reason);
      return fields;
    }
    case EventKind::deleted: return {{"user", e.user}, {"path", e.path}};
    case EventKind::renamed: return {{"user", e.user}, {"from", e.path}, {"to", e.target}};
    case EventKind::data_failed: return {{"target", e.target}, {"port", e.port}};
    case EventKind::error: return {};
  }
  return {};
}

void LogSink::consume(const Event& event) noexcept {
  if (!log_enabled(event.level)) return;
  try {
    std::string message = describe(event);
    if (event.session != 0) message = "session " + std::to_string(event.session) + ": " + message;
    const std::vector<LogField> fields = log_fields(event);
    write_log_event(event.level, event_name(event.kind), event.session, fields, message);
  } catch (...) {
    // Out of memory while logging: the event is lost, the session goes on.
  }
}

}  // namespace ferry
