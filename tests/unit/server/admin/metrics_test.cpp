// /metrics from events: counters by outcome, histograms, no user names.
#include <catch2/catch.hpp>

#include "server/admin/metrics.hpp"

using ferry::Event;
using ferry::EventKind;

TEST_CASE("events become counters and histograms", "[admin][metrics]") {
  ferry::admin::Metrics metrics;
  metrics.consume(Event{.kind = EventKind::login, .user = "secret-user", .ms = 30});
  metrics.consume(Event{.kind = EventKind::login_refused, .user = "secret-user", .ms = 2000});
  metrics.consume(Event{.kind = EventKind::transfer, .user = "secret-user", .verb = "RETR", .bytes = 1000, .elapsed = 0.2});
  metrics.consume(Event{.kind = EventKind::transfer, .verb = "STOR", .bytes = 10, .elapsed = 0.01, .ok = false});
  metrics.consume(Event{.kind = EventKind::refused_connection, .reason = "too many sessions from this address"});
  metrics.consume(Event{.kind = EventKind::refused_banned});
  std::string text = metrics.render(ferry::admin::MetricsGauges{.sessions_active = 2, .sessions_limit = 10});
  CHECK(text.find("secret-user") == std::string::npos);
  CHECK(text.find("ferry_logins_total{result=\"ok\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_logins_total{result=\"refused\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_login_duration_seconds_bucket{le=\"0.05\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_login_duration_seconds_bucket{le=\"+Inf\"} 2\n") != std::string::npos);
  CHECK(text.find("ferry_login_duration_seconds_sum 2.03\n") != std::string::npos);
  CHECK(text.find("ferry_transfers_total{direction=\"download\",result=\"ok\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_transfers_total{direction=\"upload\",result=\"failed\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_transfer_bytes_total{direction=\"download\"} 1000\n") != std::string::npos);
  CHECK(text.find("ferry_transfer_duration_seconds_bucket{direction=\"download\",le=\"0.25\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_refusals_total{reason=\"address_limit\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_refusals_total{reason=\"banned\"} 1\n") != std::string::npos);
  CHECK(text.find("ferry_sessions_active 2\n") != std::string::npos);
  CHECK(metrics.bytes(ferry::admin::Metrics::upload) == 10);
}
