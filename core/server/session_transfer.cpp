// The session's data connections and transfers: opening the connection the DataPlan
// describes (with its TLS handshake and whose-session check under PROT P), and running a
// transfer while the control connection is watched for ABOR and the operator's abort.
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/ssl/stream.hpp>

#include "ftp/command.hpp"
#include "server/session.hpp"
#include "server/with_timeout.hpp"

namespace ferry {

using namespace asio::experimental::awaitable_operators;

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
  bool proxied = false;
  UniqueFd accepted = co_await listener->accept(peer_, timeout, id_, state_->runtime->events,
                                                state_->config.proxy_protocol_from, proxied);
  if (!accepted) {
    co_await reply(425, "Can't open data connection.");
    co_return nullptr;
  }
  auto data = std::make_unique<DataConnection>(control_.get_executor(), listener->protocol(), std::move(accepted),
                                               timeout);
  if (listener->keep(state_->passive_ports)) data_plan_.keep_listener(std::move(listener));
  if (proxied) {
    data->proxy_header_taken();
  } else if (!state_->config.proxy_protocol_from.empty()) {
    data->refuse_v1_header_too();  // behind a balancer: a v1 header sent to the wrong place
  }
  co_return data;
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
  // The operator's abort cancels this timer; it lives in this frame, only while a transfer
  // runs (an idle session holds none).
  asio::steady_timer stop(control_.get_executor(), std::chrono::steady_clock::time_point::max());
  stop_transfer_ = &stop;
  transferring_ = true;
  auto result = co_await (std::move(transfer) || watch_for_abort() || watch_for_stop(stop));
  transferring_ = false;
  stop_transfer_ = nullptr;
  if (result.index() == 0) co_return std::pair{TransferEnd::done, std::get<0>(result)};
  if (result.index() == 2) co_return std::pair{TransferEnd::stopped, std::error_code{}};
  if (std::get<1>(result) == TransferEnd::aborted) control_.input().erase(abort_line_.first, abort_line_.second);  // answered
  co_return std::pair{std::get<1>(result), std::error_code{}};
}

// Ends when the operator stops the transfer (abort_transfer cancels the wait); when the
// transfer ends first, the operator cancels this wait instead, and its result is dropped.
asio::awaitable<void> Session::watch_for_stop(asio::steady_timer& stop) { co_await stop.async_wait(as_tuple_awaitable); }

void Session::abort_transfer() {
  if (stop_transfer_) stop_transfer_->cancel();
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

std::string Session::transfer_end_reason(TransferEnd end) {
  switch (end) {
    case TransferEnd::aborted: return "aborted by the client";
    case TransferEnd::stopped: return "aborted by the operator";
    case TransferEnd::control_lost: return "control connection lost";
    case TransferEnd::done: break;
  }
  return {};
}

}  // namespace ferry
