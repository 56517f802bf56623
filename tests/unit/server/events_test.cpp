// Events as data: the words each sink makes of an event (the log's lines are a contract:
// operators' scripts read them), and the bus handing every event to every sink.
#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "server/events/event_bus.hpp"
#include "server/events/log_sink.hpp"
#include "server/events/transfer_log_sink.hpp"
#include "server/transfer_log.hpp"

using namespace ferry;

namespace {

std::string json_members(const Event& event) {
  std::string out;
  for (const LogField& field : log_fields(event)) {
    out += std::string(field.key) + "=" + (field.number ? field.value : "'" + field.value + "'") + ";";
  }
  return out;
}

struct Recorder final : EventSink {
  std::vector<EventKind> seen;
  void consume(const Event& event) noexcept override { seen.push_back(event.kind); }
};

}  // namespace

TEST_CASE("a transfer event reads as the log line it always was", "[events]") {
  Event ok{.kind = EventKind::transfer, .peer = "127.0.0.1", .user = "alice", .path = "/ferry.png", .verb = "RETR",
           .bytes = 17799, .ms = 3};
  CHECK(describe(ok) == "transfer ok: RETR /ferry.png user alice 17799 bytes in 3 ms");
  CHECK(json_members(ok) == "result='ok';verb='RETR';path='/ferry.png';user='alice';bytes=17799;ms=3;");
  CHECK(event_name(ok.kind) == "transfer");

  Event failed = ok;
  failed.ok = false;
  failed.verb = "STOR";
  failed.reason = "aborted by the client";
  CHECK(describe(failed) == "transfer failed: STOR /ferry.png user alice after 17799 bytes, 3 ms: aborted by the client");
  CHECK(json_members(failed) ==
        "result='failed';verb='STOR';path='/ferry.png';user='alice';bytes=17799;ms=3;reason='aborted by the client';");
}

TEST_CASE("every refusal is a 'refused' event that says which", "[events]") {
  Event bounce{.kind = EventKind::refused_bounce, .peer = "127.0.0.1", .target = "10.0.0.9", .port = 25};
  CHECK(describe(bounce) == "refused active data connection to 10.0.0.9:25 (control connection is from 127.0.0.1)");
  CHECK(json_members(bounce) == "peer='127.0.0.1';target='10.0.0.9';port=25;reason='FTP bounce';");
  Event intruder{.kind = EventKind::refused_intruder, .peer = "127.0.0.1", .target = "127.0.0.2"};
  CHECK(describe(intruder) == "refused data connection from 127.0.0.2 (control connection is from 127.0.0.1)");
  Event owner{.kind = EventKind::refused_tls_owner, .peer = "127.0.0.1", .user = "alice"};
  CHECK(describe(owner) == "refused a TLS data connection that resumed a session not of user alice from 127.0.0.1");
  for (EventKind kind : {bounce.kind, intruder.kind, owner.kind, EventKind::refused_banned, EventKind::refused_file,
                         EventKind::refused_connection, EventKind::refused_implicit_tls,
                         EventKind::refused_tls_not_resumed}) {
    CHECK(event_name(kind) == "refused");
  }
}

TEST_CASE("logins, bans and timeouts read as before", "[events]") {
  CHECK(describe({.kind = EventKind::login, .peer = "::1", .user = "bob"}) == "login ok: user bob from ::1");
  CHECK(describe({.kind = EventKind::login_refused, .peer = "::1", .user = "bob", .reason = "wrong password"}) ==
        "login refused: wrong password (from ::1)");
  Event ban{.kind = EventKind::ban, .peer = "127.0.0.1", .count = 5, .seconds = 600};
  CHECK(describe(ban) == "banned 127.0.0.1 for 600 s after 5 failed logins");
  CHECK(json_members(ban) == "peer='127.0.0.1';seconds=600;");
  CHECK(describe({.kind = EventKind::timeout, .ok = true}) == "idle timeout");
  CHECK(describe({.kind = EventKind::timeout, .ok = false}) == "login timeout");
  CHECK(describe({.kind = EventKind::renamed, .user = "bob", .path = "/a", .target = "/b"}) ==
        "renamed /a to /b (user bob)");
}

TEST_CASE("the bus hands each event to every sink, in order; the xferlog takes transfers only", "[events]") {
  char path[] = "/tmp/ferry-events-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  TransferLog xferlog;
  REQUIRE(xferlog.open(path).empty());
  EventBus bus;
  auto first = std::make_shared<Recorder>();
  auto second = std::make_shared<Recorder>();
  bus.subscribe(first);
  bus.subscribe(std::make_shared<TransferLogSink>(xferlog));
  bus.subscribe(second);

  bus.publish({.kind = EventKind::login, .user = "alice"});
  bus.publish({.kind = EventKind::transfer, .peer = "127.0.0.1", .user = "alice", .path = "/up.bin", .verb = "STOR",
               .bytes = 42, .elapsed = 0.5});
  bus.publish({.kind = EventKind::logout, .user = "alice"});

  CHECK(first->seen == std::vector{EventKind::login, EventKind::transfer, EventKind::logout});
  CHECK(second->seen == first->seen);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string lines = text.str();
  CHECK(std::count(lines.begin(), lines.end(), '\n') == 1);
  CHECK(lines.find(" 127.0.0.1 42 /up.bin b _ i r alice ftp 0 * c\n") != std::string::npos);
  ::unlink(path);
}
