// The session's control loop, line reader, watchdog and shared helpers (see session.hpp).
// The handlers themselves live in commands_*.cpp.
#include "server/session.hpp"

#include <array>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/post.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "ftp/command.hpp"
#include "ftp/reply.hpp"
#include "server/blocking.hpp"
#include "server/command_table.hpp"
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

Session::Session(std::shared_ptr<ServerState> state, asio::ip::tcp::socket socket, std::uint64_t id, bool implicit_tls)
    : state_(std::move(state)),
      control_(std::move(socket)),
      watchdog_timer_(control_.get_executor()),
      id_(id),
      stop_transfer_(control_.get_executor()),
      implicit_tls_(implicit_tls) {
  std::error_code ec;
  auto remote = control_.socket().remote_endpoint(ec);
  if (!ec) {
    peer_ = unmapped(remote.address());
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
  emit({.kind = EventKind::connected, .peer = peer_text_});
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
    while (!closing_) {
      auto status = co_await control_.read_line(line, ftp::max_command_line);
      if (status == ControlChannel::LineStatus::closed) break;
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

asio::awaitable<bool> Session::data_connection_possible() {
  if (state_->config.tls && state_->config.tls->require && !prot_private_) {
    co_await reply(521, "Data connections must be protected: use PBSZ 0 and PROT P.");
    co_return false;
  }
  if (data_plan_.empty()) {
    co_await reply(425, "Use PORT, EPRT, PASV or EPSV first.");
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::unique_ptr<DataConnection>> Session::open_data_connection() {
  auto timeout = std::chrono::seconds(state_->config.data_timeout);
  if (!co_await data_connection_possible()) co_return nullptr;
  if (auto active = data_plan_.take_active()) {
    const asio::ip::tcp::endpoint target = *active;
    asio::ip::tcp::socket socket(control_.get_executor());
    std::error_code ec;
    asio::ip::address local = local_address();
    socket.open(target.protocol(), ec);
    // From the control connection's address, so the client sees the server it expects.
    if (!ec) socket.bind(asio::ip::tcp::endpoint(local, 0), ec);
    if (!ec) {
      auto [connect_ec] = co_await with_timeout(socket.async_connect(target, as_tuple_awaitable),
                                                std::chrono::seconds(state_->config.data_timeout));
      ec = connect_ec;
    }
    if (ec) {
      emit({.kind = EventKind::data_failed, .target = target.address().to_string(), .reason = ec.message(),
            .port = target.port()});
      co_await reply(425, "Can't open data connection.");
      co_return nullptr;
    }
    co_return std::make_unique<DataConnection>(std::move(socket), timeout);
  }
  std::unique_ptr<PassiveListener> listener = data_plan_.take_passive();
  UniqueFd accepted = co_await listener->accept(peer_, timeout, id_, state_->runtime->events);
  if (!accepted) {
    co_await reply(425, "Can't open data connection.");
    co_return nullptr;
  }
  co_return std::make_unique<DataConnection>(control_.get_executor(), listener->protocol(), std::move(accepted),
                                            timeout);
}

asio::awaitable<bool> Session::begin_transfer(DataConnection& data, std::string_view preliminary) {
  co_await reply(150, preliminary);
  if (!prot_private_) co_return true;
  const bool require_reuse = state_->config.tls->require_session_reuse;
  auto result = co_await data.start_tls(*state_->tls, require_reuse);
  if (result == DataConnection::TlsResult::ok && require_reuse) {
    if (!co_await resumed_session_is_ours(data)) {
      co_await data.close();
      emit({.kind = EventKind::refused_tls_owner, .level = LogLevel::warning, .peer = peer_text_, .user = fs_->user()});
      co_await reply(522, "TLS data connection refused: it must resume a TLS session of this login.");
      co_return false;
    }
  }
  if (result == DataConnection::TlsResult::ok) co_return true;
  co_await data.close();
  if (result == DataConnection::TlsResult::not_resumed) {
    emit({.kind = EventKind::refused_tls_not_resumed, .level = LogLevel::warning, .peer = peer_text_});
    co_await reply(522, "TLS data connection refused: it must resume a TLS session of this login.");
  } else {
    co_await reply(425, "TLS handshake on the data connection failed.");
  }
  co_return false;
}

// The data connection resumed a TLS session: is it one of this login's (TlsSessionOwners)?
// A session of a connection still logging in (TLS 1.2) is judged once that login ends,
// waiting at most a few seconds.
asio::awaitable<bool> Session::resumed_session_is_ours(DataConnection& data) {
  auto token = data.resumed_session_token();
  if (!token) co_return false;
  constexpr auto poll = std::chrono::milliseconds(20);
  constexpr int max_polls = 250;  // 5 s
  for (int polls = 0;; ++polls) {
    switch (state_->runtime->tls_owners.owner_of(*token, peer_, fs_->user())) {
      case TlsSessionOwners::Ownership::owned: co_return true;
      case TlsSessionOwners::Ownership::not_owned: co_return false;
      case TlsSessionOwners::Ownership::pending: break;
    }
    if (polls == max_polls) co_return false;
    asio::steady_timer timer(control_.get_executor(), poll);
    co_await timer.async_wait(as_tuple_awaitable);
  }
}

std::uint64_t Session::take_restart_offset() noexcept { return std::exchange(restart_offset_, 0); }

asio::awaitable<std::pair<Session::TransferEnd, std::error_code>> Session::watch_transfer(
    asio::awaitable<std::error_code> transfer) {
  transferring_ = true;
  stop_transfer_.expires_at(std::chrono::steady_clock::time_point::max());
  auto result = co_await (std::move(transfer) || watch_for_abort() || watch_for_stop());
  transferring_ = false;
  if (result.index() == 0) co_return std::pair{TransferEnd::done, std::get<0>(result)};
  if (result.index() == 2) co_return std::pair{TransferEnd::stopped, std::error_code{}};
  if (std::get<1>(result) == TransferEnd::aborted) control_.input().erase(abort_line_.first, abort_line_.second);  // answered
  co_return std::pair{std::get<1>(result), std::error_code{}};
}

// Ends when the operator stops the transfer (abort_transfer cancels the wait); when the
// transfer ends first, the operator cancels this wait instead, and its result is dropped.
asio::awaitable<void> Session::watch_for_stop() { co_await stop_transfer_.async_wait(as_tuple_awaitable); }

void Session::abort_transfer() {
  if (transferring_) stop_transfer_.cancel();
}

// Other commands stay queued until the transfer is over (RFC 959 allows either), but an
// ABOR behind them still stops it. The ABOR line is left in the input (its place in
// abort_line_): when the transfer ends in the same turn (the client closed the data
// connection and sent ABOR together), the transfer wins the race and the command loop must
// still answer the ABOR; watch_transfer() drops the line only when the abort won.
asio::awaitable<Session::TransferEnd> Session::watch_for_abort() {
  // Enough queued commands to answer after the transfer; past this, reading waits for it.
  constexpr std::size_t max_queued = 4 * ftp::max_command_line;
  std::string& input = control_.input();
  std::size_t scanned = 0;  // input_ before this holds whole lines, none of them ABOR
  while (true) {
    for (std::size_t newline; (newline = input.find('\n', scanned)) != std::string::npos; scanned = newline + 1) {
      ftp::ParseResult parsed = ftp::parse_command(std::string_view(input).substr(scanned, newline + 1 - scanned));
      if (parsed.ok() && parsed.command.verb == "ABOR") {
        abort_line_ = {scanned, newline + 1 - scanned};
        co_return TransferEnd::aborted;
      }
    }
    if (input.size() - scanned > ftp::max_command_line) input.erase(scanned);  // junk: drop it
    std::error_code ec;
    if (scanned <= max_queued) {
      ec = co_await control_.read_more();
      // Cancelled because the transfer won; or our own close() (idle timeout, shutdown).
      if (ec == asio::error::operation_aborted && !closing_) co_return TransferEnd::done;
      // A client that sent its last commands (say, QUIT) and half-closed still gets the
      // transfer and their replies; only a control connection lost with nothing said ends it.
      if (ec && !(ec == asio::error::eof && scanned > 0)) co_return TransferEnd::control_lost;
    }
    if (ec || scanned > max_queued) {  // wait here until the transfer finishes and cancels us
      asio::steady_timer never(control_.get_executor(), std::chrono::steady_clock::time_point::max());
      co_await never.async_wait(as_tuple_awaitable);
      co_return TransferEnd::done;
    }
  }
}

asio::awaitable<void> Session::reply_transfer_failed(TransferEnd end) {
  if (end == TransferEnd::control_lost) {
    close();
    co_return;
  }
  co_await reply(426, end == TransferEnd::stopped ? "Transfer aborted by the server's operator."
                                                  : "Connection closed; transfer aborted.");
  if (end == TransferEnd::aborted) co_await reply(226, "ABOR successful.");
}

}  // namespace ferry
