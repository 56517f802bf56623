// Prometheus metrics from the event bus (see metrics.hpp).
#include "server/admin/metrics.hpp"

#include <cmath>
#include <charconv>

#include "ferry/plugin.hpp"

namespace ferry::admin {

namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// The shortest text that reads back as `value` (0.05, not 0.050000000000000003).
std::string number(double value) {
  if (std::isinf(value)) return "+Inf";
  char text[32];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  return ec == std::errc() ? std::string(text, end) : "NaN";
}

void head(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const char* name, const std::string& labels, double value) {
  out += name;
  if (!labels.empty()) out += "{" + labels + "}";
  out += ' ';
  out += number(value);
  out += '\n';
}

template <std::size_t N>
void histogram(std::string& out, const char* name, const std::string& labels, const Histogram<N>& h) {
  std::uint64_t cumulative = 0;
  const std::string prefix = labels.empty() ? "" : labels + ",";
  const std::string bucket = std::string(name) + "_bucket";
  for (std::size_t i = 0; i <= N; ++i) {
    cumulative += h.counts[i].load(relaxed);
    sample(out, bucket.c_str(), prefix + "le=\"" + (i < N ? number(h.bounds[i]) : "+Inf") + "\"",
           static_cast<double>(cumulative));
  }
  sample(out, (std::string(name) + "_sum").c_str(), labels, static_cast<double>(h.sum_micros.load(relaxed)) / 1e6);
  sample(out, (std::string(name) + "_count").c_str(), labels, static_cast<double>(cumulative));
}

}  // namespace

template <std::size_t N>
void Histogram<N>::observe(double value) noexcept {
  std::size_t i = 0;
  while (i < N && value > bounds[i]) ++i;
  counts[i].fetch_add(1, relaxed);
  sum_micros.fetch_add(static_cast<std::uint64_t>(std::llround(std::max(0.0, value) * 1e6)), relaxed);
}

void Metrics::consume(const Event& e) noexcept {
  switch (e.kind) {
    case EventKind::connected: connections_.fetch_add(1, relaxed); break;
    case EventKind::login:
      logins_ok_.fetch_add(1, relaxed);
      login_seconds_.observe(static_cast<double>(e.ms) / 1000);
      break;
    case EventKind::login_refused:
      logins_refused_.fetch_add(1, relaxed);
      login_seconds_.observe(static_cast<double>(e.ms) / 1000);
      break;
    case EventKind::login_failed: logins_failed_.fetch_add(1, relaxed); break;
    case EventKind::transfer: {
      const Direction d = e.verb == "RETR" ? download : upload;
      transfers_[d][e.ok ? 1 : 0].fetch_add(1, relaxed);
      bytes_[d].fetch_add(e.bytes, relaxed);
      transfer_seconds_[d].observe(e.elapsed);
      break;
    }
    case EventKind::refused_connection:
      refusals_[e.reason.find("address") != std::string::npos ? address_limit : session_limit].fetch_add(1, relaxed);
      break;
    case EventKind::refused_banned: refusals_[banned].fetch_add(1, relaxed); break;
    case EventKind::refused_implicit_tls: refusals_[implicit_tls].fetch_add(1, relaxed); break;
    case EventKind::refused_bounce: refusals_[bounce].fetch_add(1, relaxed); break;
    case EventKind::refused_intruder: refusals_[intruder].fetch_add(1, relaxed); break;
    case EventKind::refused_tls_owner: refusals_[tls_owner].fetch_add(1, relaxed); break;
    case EventKind::refused_tls_not_resumed: refusals_[tls_not_resumed].fetch_add(1, relaxed); break;
    case EventKind::refused_file: refusals_[file].fetch_add(1, relaxed); break;
    case EventKind::ban: bans_.fetch_add(1, relaxed); break;
    case EventKind::timeout: timeouts_.fetch_add(1, relaxed); break;
    case EventKind::tls_failed:
    case EventKind::tls_unavailable: tls_failures_.fetch_add(1, relaxed); break;
    default: break;
  }
}

std::string Metrics::render(const MetricsGauges& g) const {
  std::string out;
  out.reserve(8192);
  head(out, "ferry_build_info", "gauge", "ferryd's version and plugin API version.");
  sample(out, "ferry_build_info",
         std::string("version=\"") + FERRY_VERSION + "\",plugin_api=\"" + std::to_string(plugin_api_version) + "\"", 1);
  head(out, "ferry_start_time_seconds", "gauge", "When ferryd started, in seconds since the epoch.");
  sample(out, "ferry_start_time_seconds", "", g.start_time);
  head(out, "ferry_config_generation", "gauge", "The configuration generation in force (1 at start, +1 per reload).");
  sample(out, "ferry_config_generation", "", static_cast<double>(g.generation));
  head(out, "ferry_config_loaded_time_seconds", "gauge", "When the configuration in force was loaded.");
  sample(out, "ferry_config_loaded_time_seconds", "", g.last_reload_time);
  head(out, "ferry_sessions_active", "gauge", "Control connections open now.");
  sample(out, "ferry_sessions_active", "", static_cast<double>(g.sessions_active));
  head(out, "ferry_sessions_limit", "gauge", "server.max_sessions.");
  sample(out, "ferry_sessions_limit", "", static_cast<double>(g.sessions_limit));
  head(out, "ferry_connections_total", "counter", "Control connections accepted.");
  sample(out, "ferry_connections_total", "", static_cast<double>(connections_.load(relaxed)));
  head(out, "ferry_logins_total", "counter", "FTP logins by result (refused: wrong user or password; failed: the authenticator failed).");
  sample(out, "ferry_logins_total", "result=\"ok\"", static_cast<double>(logins_ok_.load(relaxed)));
  sample(out, "ferry_logins_total", "result=\"refused\"", static_cast<double>(logins_refused_.load(relaxed)));
  sample(out, "ferry_logins_total", "result=\"failed\"", static_cast<double>(logins_failed_.load(relaxed)));
  head(out, "ferry_login_duration_seconds", "histogram", "Time to judge a login (the password check), before any delay of a refusal.");
  histogram(out, "ferry_login_duration_seconds", "", login_seconds_);
  static const char* direction_names[] = {"download", "upload"};
  head(out, "ferry_transfers_total", "counter", "File transfers by direction and result.");
  for (int d = 0; d < directions; ++d) {
    for (int ok = 1; ok >= 0; --ok) {
      sample(out, "ferry_transfers_total",
             std::string("direction=\"") + direction_names[d] + "\",result=\"" + (ok ? "ok" : "failed") + "\"",
             static_cast<double>(transfers_[d][ok].load(relaxed)));
    }
  }
  head(out, "ferry_transfer_bytes_total", "counter", "Bytes of finished file transfers (failed ones too) by direction.");
  for (int d = 0; d < directions; ++d) {
    sample(out, "ferry_transfer_bytes_total", std::string("direction=\"") + direction_names[d] + "\"",
           static_cast<double>(bytes_[d].load(relaxed)));
  }
  head(out, "ferry_transfer_duration_seconds", "histogram", "Duration of file transfers by direction.");
  for (int d = 0; d < directions; ++d) {
    histogram(out, "ferry_transfer_duration_seconds", std::string("direction=\"") + direction_names[d] + "\"",
              transfer_seconds_[d]);
  }
  head(out, "ferry_bans_active", "gauge", "Addresses banned now.");
  sample(out, "ferry_bans_active", "", static_cast<double>(g.bans_active));
  head(out, "ferry_bans_total", "counter", "Bans started by failed logins.");
  sample(out, "ferry_bans_total", "", static_cast<double>(bans_.load(relaxed)));
  static const char* refusal_names[] = {"session_limit", "address_limit", "banned", "implicit_tls", "bounce",
                                        "intruder", "tls_owner", "tls_not_resumed", "file"};
  head(out, "ferry_refusals_total", "counter", "Refused connections and requests by reason.");
  for (int r = 0; r < refusals; ++r) {
    sample(out, "ferry_refusals_total", std::string("reason=\"") + refusal_names[r] + "\"",
           static_cast<double>(refusals_[r].load(relaxed)));
  }
  head(out, "ferry_timeouts_total", "counter", "Sessions closed by the login or idle timeout.");
  sample(out, "ferry_timeouts_total", "", static_cast<double>(timeouts_.load(relaxed)));
  head(out, "ferry_tls_failures_total", "counter", "TLS handshakes that failed.");
  sample(out, "ferry_tls_failures_total", "", static_cast<double>(tls_failures_.load(relaxed)));
  return out;
}

}  // namespace ferry::admin
