// The session's control loop, line reader, watchdog and shared helpers (see session.hpp).
// The handlers themselves live in commands_*.cpp.
#include "server/session.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>

#include "ftp/command.hpp"
#include "ftp/reply.hpp"
#include "server/blocking.hpp"
#include "server/command_table.hpp"
#include "server/proxy_protocol.hpp"
#include "server/with_timeout.hpp"
#include "server/log.hpp"
#include "server/reply_map.hpp"
#include "vfs/path.hpp"

namespace ferry {

namespace {
using namespace asio::experimental::awaitable_operators;

// An IPv4-mapped IPv6 address as plain IPv4 (a dual-stack listener's peers).
asio::ip::address unmapped(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address;
}
}  // namespace

Session::Session(std::shared_ptr<ServerState> state, asio::ip::tcp::socket socket, std::uint64_t id, bool implicit_tls,
                 const ProxyOrigin* origin)
    : state_(std::move(state)),
      control_(std::move(socket)),
      watchdog_timer_(control_.get_executor()),
      id_(id),
      implicit_tls_(implicit_tls) {
  std::error_code ec;
  auto remote = control_.socket().remote_endpoint(ec);
  if (!ec) {
    peer_ = unmapped(remote.address());
    if (origin) {  // through a balancer: the header's client is the peer
      proxy_text_ = peer_.to_string();
      peer_ = unmapped(origin->client);
    }
    peer_text_ = peer_.to_string();
    status_.peer(peer_text_);
  }
  // Fixed for the connection's life: every PASV/EPSV/PORT needs it, one getsockname now.
  auto local = control_.socket().local_endpoint(ec);
  if (!ec) local_ = unmapped(local.address());
}

void Session::emit(Event event) const {
  event.session = id_;
  state_->runtime->events.publish(event);
}

Session::~Session() {
  if (tls_token_) state_->runtime->tls_owners.release(*tls_token_);
}

asio::awaitable<void> Session::run() {
  // The constructor found no peer: reset before it could be served. Nobody to answer,
  // nothing to count (it would all land on 0.0.0.0).
  if (peer_text_.empty()) co_return;
  auto admission = state_->limits.admit(peer_);
  if (admission != SessionLimits::Admission::admitted) {
    const char* reason = admission == SessionLimits::Admission::too_many_total ? "too many sessions"
                                                                               : "too many sessions from this address";
    emit({.kind = EventKind::refused_connection, .level = LogLevel::warning, .peer = peer_text_, .reason = reason});
    control_.socket().non_blocking(true);
    co_await reply(421, admission == SessionLimits::Admission::too_many_total
                            ? "Too many users, try again later."
                            : "Too many connections from your address.");
    close();
    co_return;
  }
  emit({.kind = EventKind::connected, .peer = peer_text_, .detail = proxy_text_});
  if (state_->bans.banned(peer_)) {
    control_.socket().non_blocking(true);
    co_await refuse_banned();
    state_->limits.release(peer_);
    co_return;
  }
  control_.configure();
  deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(state_->config.login_timeout);
  state_->sessions.add(id_, this, &status_, control_.get_executor());
  try {
    co_await (command_loop() || watchdog());
  } catch (const std::exception& e) {
    emit({.kind = EventKind::error, .level = LogLevel::error, .reason = e.what()});
  }
  close();
  state_->sessions.remove(id_);
  state_->limits.release(peer_);
  emit({.kind = EventKind::disconnected, .peer = peer_text_});
}

asio::awaitable<void> Session::refuse_banned() {
  emit({.kind = EventKind::refused_banned, .level = LogLevel::warning, .peer = peer_text_});
  co_await reply(421, "Too many failed logins from your address; try again later.");
  close();
}

void Session::request_shutdown() {
  shutting_down_ = true;
  if (transferring_ || closing_) return;  // the command loop ends it after the transfer
  // Best effort, without waiting: the control connection is idle, so this small write
  // goes straight into the socket buffer (a TLS one gets no goodbye).
  control_.write_now("421 Server shutting down, closing control connection.\r\n");
  close();
}

asio::awaitable<void> Session::command_loop() {
  // When the watchdog ends the session (timeout, shutdown), the command under way winds
  // down through its own paths (its transfer logged, its replies failing on the closed
  // socket) instead of an exception at its next co_await; every wait it meets is bounded.
  co_await asio::this_coro::throw_if_cancelled(false);
  try {
    if (implicit_tls_) {
      if (!co_await start_control_tls()) co_return;
      pbsz_ = true;
      prot_private_ = true;  // implicit FTPS protects data connections too
    }
    co_await reply(220, state_->config.banner);
    std::string line;
    bool first_line = true;
    while (!closing_) {
      auto status = co_await control_.read_line(line, ftp::max_command_line);
      if (status == ControlChannel::LineStatus::closed) break;
      if (std::exchange(first_line, false) && refuse_proxy_header(line)) break;
      touch();
      if (status == ControlChannel::LineStatus::too_long) {
        co_await reply(500, "Command line too long.");
        continue;
      }
      co_await dispatch(line);
      if (shutting_down_ && !closing_) {  // shutdown arrived during a transfer
        co_await reply(421, "Server shutting down, closing control connection.");
        close();
      }
    }
  } catch (const std::exception& e) {
    // Never let an exception escape: the watchdog branch would wait for its deadline.
    emit({.kind = EventKind::error, .level = LogLevel::error, .reason = e.what()});
  }
}

bool Session::refuse_proxy_header(const std::string& first_line) {
  // A PROXY header where none is expected (a direct connection, or a balancer not in
  // server.proxy_protocol_from): whoever sends it wants to pass for someone else.
  std::string start = first_line + control_.input().substr(0, 16);
  if (!proxy_protocol::looks_like_header(start)) return false;
  emit({.kind = EventKind::refused_proxy_header,
        .level = LogLevel::warning,
        .peer = peer_text_,
        .reason = proxy_text_.empty() ? "a PROXY header from an address not in server.proxy_protocol_from"
                                      : "a second PROXY header"});
  close();
  return true;
}

asio::awaitable<void> Session::watchdog() {
  while (!closing_) {
    watchdog_timer_.expires_at(deadline_);
    auto [ec] = co_await watchdog_timer_.async_wait(as_tuple_awaitable);
    if (ec == asio::error::operation_aborted) {
      if (std::exchange(rearm_watchdog_, false) && !closing_) continue;  // touch() moved the deadline earlier
      co_return;
    }
    if (std::chrono::steady_clock::now() < deadline_) continue;  // activity moved the deadline
    emit({.kind = EventKind::timeout, .peer = peer_text_, .ok = fs_.has_value()});
    co_await reply(421, fs_ ? "Timeout: closing control connection." : "Login timeout: closing control connection.");
    close();
    co_return;
  }
}

void Session::suspend_idle_timeout() noexcept {
  // The data connection has a timeout of its own; touch() starts the idle clock again.
  deadline_ = std::chrono::steady_clock::time_point::max();
}

void Session::touch() {
  // Before login the login deadline set at connect time (or by REIN) stays in force.
  if (fs_) set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(state_->config.idle_timeout));
}

void Session::set_deadline(std::chrono::steady_clock::time_point when) {
  deadline_ = when;
  // The watchdog sleeps until the old deadline; wake it if the new one comes sooner (an
  // idle timeout shorter than the login timeout, or REIN's login timeout).
  if (deadline_ < watchdog_timer_.expiry()) {
    rearm_watchdog_ = true;
    watchdog_timer_.cancel();
  }
}

asio::awaitable<void> Session::dispatch(std::string_view line) {
  ftp::ParseResult parsed = ftp::parse_command(line);
  // RNTO must come right after RNFR (RFC 959): any other line, even one refused below,
  // forgets the source.
  if (!parsed.ok() || parsed.command.verb != "RNTO" || line.size() > ftp::max_command_line) rename_from_.clear();
  if (line.size() > ftp::max_command_line) {
    co_await reply(500, "Command line too long.");
    co_return;
  }
  if (!parsed.ok()) {
    co_await reply(500, parsed.error == ftp::ParseError::empty ? "Empty command." : "Syntax error, command unrecognized.");
    co_return;
  }
  const ftp::Command& command = parsed.command;
  // The last transfer's listener serves only a PASV or EPSV that comes right after it.
  if (command.verb != "EPSV" && command.verb != "PASV") data_plan_.drop_kept();
  status_.command(command.verb);
  const CommandSpec* spec = find_command(command.verb);
  if (log_enabled(LogLevel::debug)) {
    // PASS's argument is a secret; so may be an unknown command's (ACCT, a client's own).
    const bool masked = (spec == nullptr || command.verb == "PASS") && !command.argument.empty();
    log_debug("session ", id_, ": <- ", command.verb, masked ? " ****" : " " + command.argument);
  }
  if (auto refusal = precheck(spec, fs_.has_value(), command.argument)) {
    co_await reply(refusal->code, refusal->text);
    co_return;
  }
  co_await run_handler(spec->id, command.argument);
  if (spec->uses_data) data_plan_.forget();  // used, or refused: either way not for the next one
}

asio::awaitable<void> Session::reply(int code, std::string_view text) {
  // One writer at a time: the only other one is the watchdog, about to close the session,
  // while a reply the client is not reading is still on its way. A second write would
  // interleave with it and reuse its buffer, so it is dropped.
  if (closing_ || replying_) co_return;
  replying_ = true;
  struct Done {
    bool& flag;
    ~Done() { flag = false; }
  } done{replying_};
  output_.clear();
  ftp::append_reply(output_, code, text);
  if (log_enabled(LogLevel::debug)) log_debug("session ", id_, ": -> ", output_.substr(0, output_.size() - 2));
  std::error_code ec = co_await control_.write(output_, std::chrono::seconds(state_->config.data_timeout));
  if (output_.capacity() > 1024) std::string().swap(output_);  // a big HELP/STAT reply: give it back
  if (ec) close();
}

void Session::close() {
  if (closing_) return;
  closing_ = true;
  control_.close();
  watchdog_timer_.cancel();
  data_plan_.forget();
  data_plan_.drop_kept();
  if (digest_stop_) digest_stop_->store(true, std::memory_order_relaxed);
}

std::optional<std::string> Session::resolve(std::string_view arg) const { return vfs::normalize(cwd_, arg); }

asio::awaitable<std::optional<std::string>> Session::resolve_or_refuse(std::string_view arg) {
  auto path = resolve(arg);
  if (!path) co_await reply(553, "File name not allowed.");
  co_return path;
}

asio::ip::address Session::local_address() const { return local_; }

asio::awaitable<std::optional<FileInfo>> Session::stat_plain_file(std::string_view arg) {
  auto path = co_await resolve_or_refuse(arg);
  if (!path) co_return std::nullopt;
  auto info = co_await stat(*path);
  if (!info) {
    co_await reply_error(info.error(), arg);
    co_return std::nullopt;
  }
  // A FIFO or a device too: RETR refuses them, so SIZE must not promise their 0 bytes.
  if (info->type == FileType::directory || info->type == FileType::other) {
    co_await reply(550, std::string(arg) + ": not a plain file.");
    co_return std::nullopt;
  }
  co_return info.value();
}

asio::awaitable<Result<FileInfo>> Session::stat(const std::string& path) {
  auto stat_job = [fs = *fs_, path] { return fs.stat(path); };
  co_return co_await run_blocking(state_->blocking, std::move(stat_job));
}

asio::awaitable<void> Session::reply_error(const Error& error, std::string_view path) {
  ReplyCode rc = reply_for(error.status);
  if (error.status != Status::not_found) {
    std::string user = fs_ ? fs_->user() : std::string("-");
    emit({.kind = EventKind::refused_file, .user = user, .path = std::string(path), .reason = error.message});
  }
  co_await reply(rc.code, std::string(path) + ": " + rc.text);
}

void Session::log_transfer(std::string_view verb, const std::string& path, std::uint64_t bytes,
                           std::chrono::steady_clock::time_point started, std::string_view failure) {
  auto elapsed = std::chrono::steady_clock::now() - started;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  emit({.kind = EventKind::transfer,
        .peer = peer_text_,
        .user = fs_->user(),
        .path = path,
        .verb = std::string(verb),
        .reason = std::string(failure),
        .bytes = bytes,
        .ms = static_cast<std::uint64_t>(ms),
        .elapsed = std::chrono::duration<double>(elapsed).count(),
        .ok = failure.empty(),
        .binary = binary_});
}

}  // namespace ferry
