// FtpClient against a scripted in-process server on 127.0.0.1:0: login and the masked
// transcript, the EPSV->PASV fallback with 150/data/226, and that cancel() and the timeout
// end a stalled transfer with the right error kind.
#include "ftp_client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <catch2/catch.hpp>
#include <atomic>
#include <filesystem>
#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "upload.hpp"

using namespace ferry::client;
using asio::ip::tcp;

namespace {

// One control connection, served on its own thread with blocking sockets. The script gets
// each command line and may reply() any number of times (none: a stalled server).
class ScriptedServer {
 public:
  using Script = std::function<void(const std::string& line, ScriptedServer& server)>;

  explicit ScriptedServer(Script script)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), script_(std::move(script)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    std::error_code ignored;
    // shutdown() wakes the blocked accept/read on the server thread; close() alone may not.
    acceptor_.close(ignored);
    if (control_) control_->shutdown(tcp::socket::shutdown_both, ignored);
    thread_.join();
  }

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  void reply(const std::string& text) { try_reply(text); }
  // false once the client has gone.
  bool try_reply(const std::string& text) {
    std::error_code ec;
    asio::write(*control_, asio::buffer(text + "\r\n"), ec);
    return !ec;
  }
  // A passive listener; returns the 227 text naming it.
  // Listens on 127.0.0.1; the 227 names `announced` (another loopback address: nothing
  // listens there).
  std::string open_passive(const std::string& announced = "127,0,0,1") {
    passive_.emplace(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    const std::uint16_t p = passive_->local_endpoint().port();
    return "227 Entering Passive Mode (" + announced + "," + std::to_string(p / 256) + "," + std::to_string(p % 256) +
           ").";
  }
  void send_data(const std::string& bytes) {
    tcp::socket data = passive_->accept();
    asio::write(data, asio::buffer(bytes));
  }
  // Accepts the data connection and reads it to the end (an upload).
  std::string receive_data() {
    tcp::socket data = passive_->accept();
    std::string bytes;
    std::error_code ec;
    asio::read(data, asio::dynamic_buffer(bytes), ec);
    return bytes;
  }
  // Accepts the data connection, reads nothing for `pause` (the client's buffers fill up),
  // then reads to the end and returns how it ended: eof for a complete upload, a reset for
  // one the client abandoned.
  std::error_code receive_data_after(std::chrono::milliseconds pause) {
    tcp::socket data = passive_->accept();
    std::this_thread::sleep_for(pause);
    std::error_code ec;
    std::vector<char> buffer(1 << 16);
    while (!ec) data.read_some(asio::buffer(buffer), ec);
    return ec;
  }

 private:
  void serve() {
    std::error_code ec;
    tcp::socket socket = acceptor_.accept(ec);
    if (ec) return;
    control_.emplace(std::move(socket));
    reply("220 scripted");
    std::string inbox;
    for (;;) {
      const std::size_t n = asio::read_until(*control_, asio::dynamic_buffer(inbox), "\r\n", ec);
      if (ec) break;
      const std::string line = inbox.substr(0, n - 2);
      inbox.erase(0, n);
      script_(line, *this);
    }
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::optional<tcp::socket> control_;
  std::optional<tcp::acceptor> passive_;
  Script script_;
  std::thread thread_;
};

const std::string payload(200000, 'x');

void standard_script(const std::string& line, ScriptedServer& server) {
  if (line.starts_with("USER")) return server.reply("331 password please");
  if (line == "PASS right") return server.reply("230 ok");
  if (line.starts_with("PASS")) return server.reply("530 Login incorrect.");
  if (line == "EPSV") return server.reply("502 no EPSV here");
  if (line == "PASV") return server.reply(server.open_passive());
  if (line == "RETR /file") {
    server.reply("150 here it comes");
    server.send_data(payload);
    return server.reply("226 done");
  }
  if (line == "RETR /stall") return server.reply("150 here it (never) comes");
  if (line == "QUIT") return server.reply("221 bye");
  server.reply("502 not here");
}

using Body = std::function<asio::awaitable<void>(FtpClient&)>;

// The ClientError that `operation` ends with, nullopt when it succeeds.
template <typename T>
asio::awaitable<std::optional<ClientError>> refusal_of(asio::awaitable<T> operation) {
  try {
    co_await std::move(operation);
  } catch (const ClientError& error) {
    co_return error;
  }
  co_return std::nullopt;
}

// Runs `body` on an io_context on its own thread (as the GUI will), calls `meanwhile` from
// this thread, and returns the ClientError the body ended with, if any.
std::optional<ClientError> run_client(const Body& body, const std::function<void(FtpClient&)>& meanwhile = {}) {
  asio::io_context io;
  FtpClient client(io.get_executor());
  std::optional<ClientError> failure;
  bool finished = false;
  asio::co_spawn(io, body(client), [&](std::exception_ptr error) {
    finished = true;
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const ClientError& e) {
      failure = e;
    }
  });
  std::thread runner([&io] { io.run(); });
  if (meanwhile) meanwhile(client);
  runner.join();
  REQUIRE(finished);
  return failure;
}

}  // namespace

TEST_CASE("FtpClient: login masks the password in the transcript", "[client][ftp_client]") {
  ScriptedServer server(standard_script);
  std::vector<std::string> sent;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    client.set_transcript([&](TranscriptKind kind, std::string_view line) {
      if (kind == TranscriptKind::sent) sent.emplace_back(line);
    });
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    co_await client.quit();
  });
  CHECK_FALSE(failure);
  CHECK(sent == std::vector<std::string>{"USER demo", "PASS ****", "QUIT"});
}

TEST_CASE("FtpClient: a 530 is a login error naming the user", "[client][ftp_client]") {
  ScriptedServer server(standard_script);
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "wrong");
  });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::login);
  CHECK(std::string(failure->what()) == "login refused for user demo (530 Login incorrect.)");
}

TEST_CASE("FtpClient: vsftpd's 530 to USER without TLS says why the login was refused", "[client][ftp_client]") {
  ScriptedServer server([](const std::string& line, ScriptedServer& srv) {
    // vsftpd 3.0.3 with force_local_logins_ssl=YES, before AUTH TLS.
    if (line.starts_with("USER")) return srv.reply("530 Non-anonymous sessions must use encryption.");
    standard_script(line, srv);
  });
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
  });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::login);
  CHECK_THAT(failure->what(), Catch::Matchers::Contains("530 Non-anonymous sessions must use encryption."));
}

TEST_CASE("FtpClient: a closed port is a connect error that says so", "[client][ftp_client]") {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor probe(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = probe.local_endpoint().port();
  }
  const auto failure =
      run_client([&](FtpClient& client) -> asio::awaitable<void> { co_await client.connect("127.0.0.1", port); });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::connect);
  CHECK(std::string(failure->what()) ==
        "connection refused: is an FTP server running on 127.0.0.1:" + std::to_string(port) + "?");
}

TEST_CASE("FtpClient: falls back to PASV and retrieves the whole file", "[client][ftp_client]") {
  ScriptedServer server(standard_script);
  std::vector<std::string> sent;
  std::string body;
  std::uint64_t received = 0;
  std::uint64_t last_done = 0;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    client.set_transcript([&](TranscriptKind kind, std::string_view line) {
      if (kind == TranscriptKind::sent) sent.emplace_back(line);
    });
    DataSink sink = [&](std::span<const std::byte> chunk) {
      body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    };
    ProgressSink progress = [&](std::uint64_t done, std::uint64_t) { last_done = done; };
    received = co_await client.retrieve("/file", sink, 0, payload.size(), progress);
  });
  CHECK_FALSE(failure);
  CHECK(sent == std::vector<std::string>{"EPSV", "PASV", "RETR /file"});
  CHECK(received == payload.size());
  CHECK(last_done == payload.size());
  CHECK(body == payload);
}

TEST_CASE("FtpClient: PASV's address is ignored and its port used", "[client][ftp_client]") {
  // A server that names another host in its 227 (here 127.0.0.2, where nothing listens)
  // must not send the client there (CVE-2020-8284): the data goes to the server's address.
  ScriptedServer server([](const std::string& line, ScriptedServer& s) {
    if (line == "PASV") return s.reply(s.open_passive("127,0,0,2"));
    standard_script(line, s);
  });
  std::string body;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    DataSink sink = [&](std::span<const std::byte> chunk) {
      body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
    };
    ProgressSink progress = [](std::uint64_t, std::uint64_t) {};
    co_await client.retrieve("/file", sink, 0, payload.size(), progress);
  });
  CHECK_FALSE(failure);
  CHECK(body == payload);
}

TEST_CASE("FtpClient: cancel() from another thread ends a stalled transfer", "[client][ftp_client]") {
  ScriptedServer server(standard_script);
  std::promise<void> stalled;
  const auto failure = run_client(
      [&](FtpClient& client) -> asio::awaitable<void> {
        co_await client.connect("127.0.0.1", server.port());
        co_await client.login("demo", "right");
        client.set_transcript([&](TranscriptKind kind, std::string_view line) {
          if (kind == TranscriptKind::received && line.starts_with("150")) stalled.set_value();
        });
        co_await client.retrieve("/stall", [](std::span<const std::byte>) {}, 0, 0, {});
      },
      [&](FtpClient& client) {
        REQUIRE(stalled.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        client.cancel();
      });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::cancelled);
}

TEST_CASE("FtpClient: a reply that never ends is refused, not held in memory", "[client][ftp_client]") {
  std::size_t lines_sent = 0;
  ScriptedServer server([&](const std::string& line, ScriptedServer& s) {
    if (!line.starts_with("USER")) return standard_script(line, s);
    // At most ~20 MiB, stopping when the client hangs up.
    while (lines_sent < 200000 && s.try_reply("331-" + std::string(100, 'x'))) ++lines_sent;
  });
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
  });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::protocol);
  CHECK_THAT(failure->what(), Catch::Matchers::Contains("longer than 1024 KiB"));
}

TEST_CASE("FtpClient: a silent server times out", "[client][ftp_client]") {
  ScriptedServer server(standard_script);
  const auto started = std::chrono::steady_clock::now();
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    client.set_timeout(std::chrono::milliseconds(300));
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    co_await client.retrieve("/stall", [](std::span<const std::byte>) {}, 0, 0, {});
  });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::timeout);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("FtpClient: HASH is used only with SHA-256 in FEAT; a 501 to OPTS HASH means not offered",
          "[client][ftp_client]") {
  const std::string digest(64, 'a');
  auto serve = [&](const std::string& hash_feature, const std::string& opts_reply, std::vector<std::string>& seen) {
    return [&seen, hash_feature, opts_reply, digest](const std::string& line, ScriptedServer& s) {
      seen.push_back(line);
      if (line == "FEAT") return s.reply("211-Features:\r\n " + hash_feature + "\r\n SIZE\r\n211 End");
      if (line.starts_with("OPTS HASH")) return s.reply(opts_reply);
      if (line == "HASH /f") return s.reply("213 SHA-256 0-9 " + digest + " /f");
      if (line == "XSHA256 /f") return s.reply("213 " + digest);
      standard_script(line, s);
    };
  };
  struct Case {
    std::string feature, opts_reply;
    std::vector<std::string> commands;  // after the login
  };
  const std::vector<Case> cases = {
      {"HASH SHA-1*;MD5", "501 not offered", {"FEAT", "XSHA256 /f"}},
      {"HASH SHA-1*;SHA-256;MD5", "501 Unknown algorithm", {"FEAT", "OPTS HASH SHA-256", "XSHA256 /f"}},
      {"HASH SHA-1*;SHA-256", "504 not implemented", {"FEAT", "OPTS HASH SHA-256", "XSHA256 /f"}},
      {"HASH SHA-256*", "200 SHA-256", {"FEAT", "OPTS HASH SHA-256", "HASH /f"}},
  };
  for (const Case& c : cases) {
    INFO(c.feature << " / " << c.opts_reply);
    std::vector<std::string> seen;
    ScriptedServer server(serve(c.feature, c.opts_reply, seen));
    std::optional<std::string> got;
    const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
      co_await client.connect("127.0.0.1", server.port());
      co_await client.login("demo", "right");
      got = co_await client.hash("/f");
      co_await client.quit();
    });
    CHECK_FALSE(failure);
    CHECK(got == digest);
    REQUIRE(seen.size() >= 3);
    CHECK(std::vector<std::string>(seen.begin() + 2, seen.end() - 1) == c.commands);
  }
}

TEST_CASE("FtpClient: an empty LIST of a directory CWD cannot enter (vsftpd's missing directory) is not found",
          "[client][ftp_client]") {
  // vsftpd 3.0.3 lists a missing path as an empty directory (150, no data, 226).
  ScriptedServer server([](const std::string& line, ScriptedServer& srv) {
    if (line == "FEAT") return srv.reply("211-Features:\r\n EPSV\r\n PASV\r\n SIZE\r\n211 End");
    if (line.starts_with("LIST ")) {
      srv.reply("150 Here comes the directory listing.");
      srv.send_data(line == "LIST /full" ? "-rw-r--r--    1 1000     1000            5 Mar 04  2021 f\r\n" : "");
      return srv.reply("226 Directory send OK.");
    }
    if (line == "CWD /empty") return srv.reply("250 Directory successfully changed.");
    if (line.starts_with("CWD ")) return srv.reply("550 Failed to change directory.");
    standard_script(line, srv);
  });
  std::size_t full = 0, empty = 99;
  std::optional<ClientError> missing;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    full = (co_await client.list("/full")).size();
    empty = (co_await client.list("/empty")).size();
    missing = co_await refusal_of(client.list("/missing"));
  });
  CHECK_FALSE(failure);
  CHECK(full == 1);
  CHECK(empty == 0);
  REQUIRE(missing);
  CHECK(missing->kind() == ErrorKind::not_found);
}

TEST_CASE("FtpClient: a listing the server says it truncated (pure-ftpd's 10000 entries) is an error",
          "[client][ftp_client]") {
  ScriptedServer server([](const std::string& line, ScriptedServer& srv) {
    if (line == "FEAT") return srv.reply("211-Features:\r\n MLST type*;size*;modify*;\r\n211 End");
    if (line.starts_with("MLSD ")) {
      srv.reply("150 Accepted data connection");
      srv.send_data("type=file;size=0;modify=20210304050607; f1\r\n");
      // pure-ftpd 1.0.50's exact reply past its LimitRecursion file count.
      return srv.reply(line == "MLSD /many" ? "226 Output truncated to 10000 matches" : "226 1 matches total");
    }
    standard_script(line, srv);
  });
  std::size_t whole = 0;
  std::optional<ClientError> truncated;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    whole = (co_await client.list("/few")).size();
    truncated = co_await refusal_of(client.list("/many"));
  });
  CHECK_FALSE(failure);
  CHECK(whole == 1);
  REQUIRE(truncated);
  CHECK(truncated->kind() == ErrorKind::transfer);
  CHECK_THAT(truncated->what(), Catch::Matchers::Contains("Output truncated to 10000 matches"));
}

TEST_CASE("FtpClient: a multi-line 213 to HASH (ProFTPD mod_digest) is read from its last line",
          "[client][ftp_client]") {
  const std::string digest(64, 'b');
  ScriptedServer server([&](const std::string& line, ScriptedServer& s) {
    if (line == "FEAT") return s.reply("211-Features:\r\n HASH CRC32;MD5;SHA-1*;SHA-256;SHA-512;\r\n211 End");
    if (line == "OPTS HASH SHA-256") return s.reply("200 SHA-256");
    // ProFTPD 1.3.8 mod_digest's exact reply.
    if (line == "HASH /f") return s.reply("213-Computing SHA-256 digest\r\n213 SHA-256 0-9 " + digest + " /f");
    standard_script(line, s);
  });
  std::optional<std::string> got;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    got = co_await client.hash("/f");
    co_await client.quit();
  });
  CHECK_FALSE(failure);
  CHECK(got == digest);
}

TEST_CASE("FtpClient: a server that never answers QUIT costs 3 s, not the timeout", "[client][ftp_client]") {
  ScriptedServer server([](const std::string& line, ScriptedServer& s) {
    if (line != "QUIT") standard_script(line, s);
  });
  std::chrono::steady_clock::duration quit_took{};
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    client.set_timeout(std::chrono::seconds(30));
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    const auto started = std::chrono::steady_clock::now();
    co_await client.quit();
    quit_took = std::chrono::steady_clock::now() - started;
  });
  CHECK_FALSE(failure);
  CHECK(quit_took >= std::chrono::milliseconds(2500));
  CHECK(quit_took < std::chrono::seconds(6));
}

TEST_CASE("FtpClient: store sends REST and STOR and the bytes from the source", "[client][ftp_client]") {
  std::string uploaded;
  std::vector<std::string> seen;
  ScriptedServer server([&](const std::string& line, ScriptedServer& srv) {
    seen.push_back(line);
    if (line == "REST 1000") return srv.reply("350 Restarting at 1000.");
    if (line == "STOR /up.bin") {
      srv.reply("150 Ok to send data.");
      uploaded = srv.receive_data();
      return srv.reply("226 Transfer complete.");
    }
    if (line == "STOR /denied") return srv.reply("550 /denied: Permission denied.");
    if (line == "STOR /bad\x7fname") return srv.reply("500 Syntax error in file name.");
    standard_script(line, srv);
  });
  std::uint64_t sent = 0;
  std::uint64_t last_done = 0;
  std::optional<ClientError> refused;
  std::optional<ClientError> bad_name;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    std::size_t position = 0;
    DataSource source = [&position](std::span<std::byte> buffer) {
      const std::size_t n = std::min(buffer.size(), payload.size() - position);
      std::memcpy(buffer.data(), payload.data() + position, n);
      position += n;
      return n;
    };
    ProgressSink progress = [&](std::uint64_t done, std::uint64_t) { last_done = done; };
    sent = co_await client.store("/up.bin", std::move(source), 1000, 1000 + payload.size(), progress);
    DataSource nothing = [](std::span<std::byte>) { return std::size_t{0}; };
    refused = co_await refusal_of(client.store("/denied", std::move(nothing), 0, 0, {}));
    DataSource nothing_either = [](std::span<std::byte>) { return std::size_t{0}; };
    bad_name = co_await refusal_of(client.store("/bad\x7fname", std::move(nothing_either), 0, 0, {}));
  });
  // A 500 to STOR is about the name, not a server without uploads.
  REQUIRE(bad_name);
  CHECK(bad_name->kind() == ErrorKind::refused);
  CHECK_THAT(bad_name->what(), Catch::Matchers::Contains("refused the command or the name (500 Syntax error"));
  CHECK_THAT(bad_name->what(), !Catch::Matchers::Contains("does not support"));
  CHECK_FALSE(failure);
  CHECK(sent == payload.size());
  CHECK(last_done == 1000 + payload.size());
  CHECK(uploaded == payload);
  CHECK(std::find(seen.begin(), seen.end(), "REST 1000") != seen.end());
  REQUIRE(refused);
  CHECK(refused->kind() == ErrorKind::refused);
  CHECK(std::string(refused->what()).find("Permission denied") != std::string::npos);
}

// An endless upload source: the transfer only ends when the client gives up.
DataSource endless_source() {
  return [](std::span<std::byte> buffer) {
    std::memset(buffer.data(), 'u', buffer.size());
    return buffer.size();
  };
}

TEST_CASE("FtpClient: an upload cut by the timeout resets the data connection", "[client][ftp_client]") {
  // A FIN would tell the server that the upload is complete: it would replace the old file
  // with the part it received.
  std::promise<std::error_code> ended;
  ScriptedServer server([&](const std::string& line, ScriptedServer& srv) {
    if (line == "STOR /big") {
      srv.reply("150 Ok to send data.");
      return ended.set_value(srv.receive_data_after(std::chrono::milliseconds(1500)));
    }
    standard_script(line, srv);
  });
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    client.set_timeout(std::chrono::milliseconds(300));
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    co_await client.store("/big", endless_source(), 0, 0, {});
  });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::timeout);
  auto result = ended.get_future();
  REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(result.get() == asio::error::connection_reset);
}

TEST_CASE("FtpClient: an upload cut by cancel() resets the data connection", "[client][ftp_client]") {
  std::promise<std::error_code> ended;
  std::promise<void> sending;
  ScriptedServer server([&](const std::string& line, ScriptedServer& srv) {
    if (line == "STOR /big") {
      srv.reply("150 Ok to send data.");
      return ended.set_value(srv.receive_data_after(std::chrono::milliseconds(1500)));
    }
    standard_script(line, srv);
  });
  bool told = false;
  const auto failure = run_client(
      [&](FtpClient& client) -> asio::awaitable<void> {
        co_await client.connect("127.0.0.1", server.port());
        co_await client.login("demo", "right");
        ProgressSink progress = [&](std::uint64_t, std::uint64_t) {
          if (!std::exchange(told, true)) sending.set_value();
        };
        co_await client.store("/big", endless_source(), 0, 0, progress);
      },
      [&](FtpClient& client) {
        REQUIRE(sending.get_future().wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        client.cancel();
      });
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::cancelled);
  auto result = ended.get_future();
  REQUIRE(result.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(result.get() == asio::error::connection_reset);
}

TEST_CASE("upload_file refuses a FIFO at once instead of waiting for a writer", "[client][upload]") {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ferry-fifo-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path fifo = dir / "pipe";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  ScriptedServer server(standard_script);
  std::promise<void> done;
  bool had_to_unblock = false;
  const auto failure = run_client(
      [&](FtpClient& client) -> asio::awaitable<void> {
        struct Signal {
          std::promise<void>& done;
          ~Signal() { done.set_value(); }
        } signal{done};
        co_await client.connect("127.0.0.1", server.port());
        co_await client.login("demo", "right");
        UploadRequest request;
        request.source = fifo;
        request.remote_path = "/pipe";
        co_await upload_file(client, std::move(request));
      },
      [&](FtpClient&) {
        if (done.get_future().wait_for(std::chrono::seconds(3)) == std::future_status::ready) return;
        // Stuck in open(): a writer lets it go on, so that the test ends either way.
        had_to_unblock = true;
        const int writer = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
        if (writer >= 0) ::close(writer);
      });
  std::filesystem::remove_all(dir);
  CHECK_FALSE(had_to_unblock);
  REQUIRE(failure);
  CHECK(failure->kind() == ErrorKind::local);
  CHECK_THAT(failure->what(), Catch::Matchers::Contains("pipe: not a regular file"));
}

TEST_CASE("FtpClient: pure-ftpd's 550 to RNFR of a missing file means not found", "[client][ftp_client]") {
  ScriptedServer server([](const std::string& line, ScriptedServer& srv) {
    // pure-ftpd 1.0.50's exact reply.
    if (line == "RNFR /missing") return srv.reply("550 Sorry, but that file doesn't exist");
    standard_script(line, srv);
  });
  std::optional<ClientError> missing;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    missing = co_await refusal_of(client.rename("/missing", "/b"));
  });
  CHECK_FALSE(failure);
  REQUIRE(missing);
  CHECK(missing->kind() == ErrorKind::not_found);
}

TEST_CASE("FtpClient: rename, remove and directories map replies to error kinds", "[client][ftp_client]") {
  std::vector<std::string> seen;
  ScriptedServer server([&](const std::string& line, ScriptedServer& srv) {
    seen.push_back(line);
    if (line == "RNFR /a") return srv.reply("350 Ready for RNTO.");
    if (line == "RNTO /b") return srv.reply("250 Rename successful.");
    if (line == "RNFR /missing") return srv.reply("550 /missing: No such file or directory.");
    if (line == "DELE /a") return srv.reply("250 Delete operation successful.");
    if (line == "MKD /d") return srv.reply("257 \"/d\" created.");
    if (line == "RMD /d") return srv.reply("550 /d: Directory not empty.");
    standard_script(line, srv);
  });
  std::optional<ClientError> missing;
  std::optional<ClientError> not_empty;
  bool mtime_set = true;
  const auto failure = run_client([&](FtpClient& client) -> asio::awaitable<void> {
    co_await client.connect("127.0.0.1", server.port());
    co_await client.login("demo", "right");
    co_await client.rename("/a", "/b");
    co_await client.remove("/a");
    co_await client.make_directory("/d");
    missing = co_await refusal_of(client.rename("/missing", "/b"));
    not_empty = co_await refusal_of(client.remove_directory("/d"));
    // FEAT answers 502 here: no MFMT, so nothing is sent.
    mtime_set = co_await client.set_mtime("/b", 1614834367);
  });
  CHECK_FALSE(failure);
  REQUIRE(missing);
  CHECK(missing->kind() == ErrorKind::not_found);
  REQUIRE(not_empty);
  CHECK(not_empty->kind() == ErrorKind::refused);
  CHECK_FALSE(mtime_set);
  CHECK(std::find(seen.begin(), seen.end(), "RNTO /b") != seen.end());
  CHECK(std::none_of(seen.begin(), seen.end(), [](const std::string& l) { return l.starts_with("MFMT"); }));
}
