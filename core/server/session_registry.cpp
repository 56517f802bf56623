// The live view of the server (see session_registry.hpp).
#include "server/session_registry.hpp"

#include <algorithm>
#include <utility>
#include <asio/post.hpp>

#include "server/session.hpp"

namespace ferry {

SessionStatus::SessionStatus()
    : since_(std::chrono::system_clock::now()), last_command_(std::chrono::steady_clock::now()) {}

void SessionStatus::peer(std::string_view address) {
  std::lock_guard lock(mutex_);
  peer_.assign(address);
}

void SessionStatus::command(std::string_view verb) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  command_.assign(verb);
  last_command_ = now;
}

void SessionStatus::user(std::string_view name) {
  std::lock_guard lock(mutex_);
  user_.assign(name);
}

void SessionStatus::cwd(std::string_view path) {
  std::lock_guard lock(mutex_);
  cwd_.assign(path);
}

void SessionStatus::tls(bool on) {
  std::lock_guard lock(mutex_);
  tls_ = on;
}

void SessionStatus::begin_transfer(std::string_view verb, std::string_view path, bool incoming,
                                   std::optional<std::uint64_t> size, const ByteCounter& bytes) {
  auto transfer = std::make_unique<Transfer>(
      Transfer{std::string(verb), std::string(path), incoming, size, &bytes, std::chrono::steady_clock::now()});
  std::lock_guard lock(mutex_);
  transfer_ = std::move(transfer);
}

void SessionStatus::end_transfer() {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  transfer_.reset();
  last_command_ = now;  // idle from the transfer's end, not from the command that began it
}

SessionView SessionStatus::view(std::uint64_t id) const {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  SessionView view{id, peer_, user_, command_, cwd_, tls_, since_, {}, {}};
  if (transfer_) {
    TransferView& t = view.transfer.emplace();
    t.verb = transfer_->verb;
    t.path = transfer_->path;
    t.incoming = transfer_->incoming;
    t.size = transfer_->size;
    t.bytes = transfer_->bytes->load(std::memory_order_relaxed);
    t.elapsed = duration_cast<milliseconds>(now - transfer_->started);
    const double seconds = std::chrono::duration<double>(now - transfer_->started).count();
    t.rate = seconds > 0 ? static_cast<double>(t.bytes) / seconds : 0;
  } else {
    view.idle = duration_cast<milliseconds>(now - last_command_);
  }
  return view;
}

void SessionRegistry::add(std::uint64_t id, Session* session, const SessionStatus* status,
                          asio::any_io_executor executor) {
  std::lock_guard lock(mutex_);
  sessions_.emplace(id, Entry{session, status, std::move(executor)});
}

void SessionRegistry::remove(std::uint64_t id) {
  std::function<void()> then;
  {
    std::lock_guard lock(mutex_);
    sessions_.erase(id);
    if (sessions_.empty()) then = std::exchange(when_empty_, nullptr);
  }
  if (then) then();
}

std::size_t SessionRegistry::size() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::vector<SessionView> SessionRegistry::snapshot() {
  std::vector<SessionView> views;
  {
    // A session leaves the registry before it is destroyed, and only under this lock:
    // every status read here is alive.
    std::lock_guard lock(mutex_);
    views.reserve(sessions_.size());
    for (const auto& [id, entry] : sessions_) views.push_back(entry.status->view(id));
  }
  std::sort(views.begin(), views.end(), [](const SessionView& a, const SessionView& b) { return a.id < b.id; });
  return views;
}

bool SessionRegistry::post_to(std::uint64_t id, void (Session::*action)()) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  // Runs on the session's thread, where it is also destroyed: if it is still registered
  // when this runs, it is still alive.
  asio::post(it->second.executor, [this, id, action] {
    Session* session = nullptr;
    {
      std::lock_guard inner(mutex_);
      auto found = sessions_.find(id);
      if (found == sessions_.end()) return;
      session = found->second.session;
    }
    (session->*action)();
  });
  return true;
}

bool SessionRegistry::close(std::uint64_t id) { return post_to(id, &Session::force_close); }

bool SessionRegistry::abort_transfer(std::uint64_t id) { return post_to(id, &Session::abort_transfer); }

void SessionRegistry::post_to_all(void (Session::*action)()) {
  std::vector<std::uint64_t> ids;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : sessions_) ids.push_back(id);
  }
  for (std::uint64_t id : ids) post_to(id, action);
}

void SessionRegistry::when_empty(std::function<void()> then) {
  {
    std::lock_guard lock(mutex_);
    if (!sessions_.empty()) {
      when_empty_ = std::move(then);
      return;
    }
  }
  then();
}

}  // namespace ferry
