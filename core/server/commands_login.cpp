// Login handlers: USER, PASS, QUIT.
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>

#include "server/blocking.hpp"
#include "server/log.hpp"
#include "server/session.hpp"
#include "server/tls_context.hpp"
#include "vfs/path.hpp"
#include "vfs/virtual_fs.hpp"

namespace ferry {

namespace {
// A refused login is answered this long after its PASS arrived (per session: others are not
// held up). That slows password guessing without costing the server a thread, and hides how
// long the hash took: an unknown user, a cheap and a costly hash are refused alike.
constexpr auto failed_login_delay = std::chrono::milliseconds(1000);

// The directory a session starts in: the identity's home, normalised, when it is a
// directory this user can see; "/" otherwise (with a warning: the account is misconfigured).
std::string usable_home(const vfs::MountTable& mounts, const Identity& identity) {
  auto home = vfs::normalize("/", identity.home.empty() ? std::string_view("/") : std::string_view(identity.home));
  if (home && *home == "/") return *home;
  if (home) {
    auto info = vfs::VirtualFs(mounts, identity.name, *home, identity.read_only).stat(*home);
    if (info && info->type == FileType::directory) return *home;
  }
  log_warning("login: the home directory of ", identity.name, " is no directory here: starting in /");
  return "/";
}

// How long judging a login took (the metrics' login latency), before a refusal's delay:
// `answer_at` is failed_login_delay after its PASS arrived.
std::uint64_t judged_ms(std::chrono::steady_clock::time_point answer_at) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - (answer_at - failed_login_delay)).count());
}
}  // namespace

asio::awaitable<void> Session::cmd_user(std::string_view arg) {
  if (fs_) {
    co_await reply(530, "Can't change to another user.");
    co_return;
  }
  if (tls_required_for_login()) {
    co_await reply(530, "This server requires TLS: use AUTH TLS before logging in.");
    co_return;
  }
  pending_user_ = std::string(arg);
  co_await reply(331, "Please specify the password.");
}

asio::awaitable<void> Session::cmd_pass(std::string_view arg) {
  if (fs_) {
    co_await reply(230, "Already logged in.");
    co_return;
  }
  if (pending_user_.empty()) {
    co_await reply(503, "Login with USER first.");
    co_return;
  }
  std::string user = std::exchange(pending_user_, {});
  // A ban counts for the connections opened before it too: no more guesses are judged.
  if (state_->bans.banned(peer_)) {
    co_await refuse_banned();
    co_return;
  }
  const auto answer_refusal_at = std::chrono::steady_clock::now() + failed_login_delay;
  // A named closure, not a temporary inside the co_await expression: g++ 12 relocates such
  // temporaries bitwise, which corrupts captured std::strings.
  auto login_job = [state = state_, user, password = std::string(arg), peer = peer_text_]() mutable {
    auto r = state->authenticator->authenticate(LoginRequest{user, password, peer});
    std::fill(password.begin(), password.end(), '\0');  // do not leave it lying in the heap
    if (r) r->home = usable_home(state->mounts, *r);  // a provider call: here on the pool
    return r;
  };
  auto result = co_await run_blocking(state_->blocking, std::move(login_job));
  const std::uint64_t judged_in = judged_ms(answer_refusal_at);
  if (result) {
    co_await begin_logged_in(*result, judged_in);
  } else if (result.error().status != Status::permission_denied) {
    // The authenticator itself failed (its users file, a directory server...): not the
    // client's fault, so no failed login and no ban; the client may try again later.
    emit({.kind = EventKind::login_failed, .level = LogLevel::error, .peer = peer_text_, .user = user,
          .reason = result.error().message});
    co_await reply(421, "Login service unavailable, try again later.");
    close();
  } else {
    co_await refuse_login(user, result.error().message, answer_refusal_at);
  }
}

asio::awaitable<void> Session::begin_logged_in(const Identity& identity, std::uint64_t judged_in_ms) {
  fs_.emplace(state_->mounts, identity.name, identity.home, identity.read_only);
  upload_digest_.reset();  // another user's tree
  if (tls_token_) state_->runtime->tls_owners.set_user(*tls_token_, identity.name);
  if (control_.is_tls()) send_session_ticket(control_.tls_handle());  // owned now: see defer_session_tickets
  cwd_ = identity.home;
  status_.user(identity.name);
  status_.cwd(cwd_);
  touch();
  emit({.kind = EventKind::login, .peer = peer_text_, .user = identity.name, .ms = judged_in_ms});
  co_await reply(230, "Login successful.");
}

asio::awaitable<void> Session::refuse_login(const std::string& user, const std::string& reason,
                                            std::chrono::steady_clock::time_point answer_at) {
  ++failed_logins_;
  emit({.kind = EventKind::login_refused, .level = LogLevel::warning, .peer = peer_text_, .user = user,
        .reason = reason, .ms = judged_ms(answer_at)});
  if (state_->bans.record_failure(peer_)) {
    emit({.kind = EventKind::ban,
          .level = LogLevel::warning,
          .peer = peer_text_,
          .count = state_->config.ban_failures,
          .seconds = static_cast<std::uint32_t>(state_->config.ban_duration)});
  }
  // Every refusal takes as long, found or not: timing tells no names.
  asio::steady_timer pause(control_.get_executor(), answer_at);
  co_await pause.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  if (failed_logins_ >= state_->config.max_login_failures) {
    co_await reply(421, "Too many failed logins, closing control connection.");
    close();
    co_return;
  }
  co_await reply(530, "Login incorrect.");
}

asio::awaitable<void> Session::cmd_rein(std::string_view) {
  // Back to the state right after connecting (RFC 959): logged out, defaults restored.
  if (fs_) emit({.kind = EventKind::logout, .user = fs_->user()});
  fs_.reset();
  if (tls_token_) state_->runtime->tls_owners.set_user(*tls_token_, {});
  pending_user_.clear();
  rename_from_.clear();
  cwd_ = "/";
  status_.user({});
  status_.cwd(cwd_);
  binary_ = false;
  epsv_all_ = false;
  restart_offset_ = 0;
  hash_algorithm_ = digest::Algorithm::sha256;
  digest_uploads_ = false;
  upload_digest_.reset();
  mlst_facts_ = ftp::all_mlst_facts;
  data_plan_.forget();  // TLS stays: REIN does not undo AUTH
  set_deadline(std::chrono::steady_clock::now() + std::chrono::seconds(state_->config.login_timeout));
  co_await reply(220, state_->config.banner);
}

asio::awaitable<void> Session::cmd_quit(std::string_view) {
  co_await reply(221, "Goodbye.");
  close();
}

}  // namespace ferry
