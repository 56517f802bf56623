// The live view of the server: every session alive right now, what each is doing, and the
// operator's levers on them (close one, abort its transfer, end them all at shutdown).
//
// Each session keeps a SessionStatus that it alone writes, on its own thread, at command
// and transfer boundaries (an uncontended lock of its own; the transfer's byte count is
// an atomic the transfer loop adds to). snapshot() reads them from any thread.
#pragma once

#include <asio/any_io_executor.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "server/byte_counter.hpp"

namespace ferry {

class Session;


struct TransferView {
  std::string verb;  // RETR, STOR, APPE, STOU, LIST, NLST, MLSD
  std::string path;
  bool incoming = false;                // an upload
  std::uint64_t bytes = 0;              // so far
  std::optional<std::uint64_t> size;    // the whole, when known (a download)
  std::chrono::milliseconds elapsed{0};
  double rate = 0;                      // bytes per second since it began
};

struct SessionView {
  std::uint64_t id = 0;
  std::string peer;
  std::string user;     // "" before login
  std::string command;  // the verb of the command under way, or of the last one
  std::string cwd;
  bool tls = false;     // the control connection is protected
  std::chrono::system_clock::time_point since;  // connected at
  std::chrono::milliseconds idle{0};            // since the last command
  std::optional<TransferView> transfer;         // the transfer under way
};

// One session's shared state (see above).
class SessionStatus {
 public:
  SessionStatus();

  void peer(std::string_view address);
  void command(std::string_view verb);  // a command begins: it is not idle
  void user(std::string_view name);
  void cwd(std::string_view path);
  void tls(bool on);
  // `bytes` must outlive end_transfer().
  void begin_transfer(std::string_view verb, std::string_view path, bool incoming, std::optional<std::uint64_t> size,
                      const ByteCounter& bytes);
  void end_transfer();

  SessionView view(std::uint64_t id) const;

 private:
  mutable std::mutex mutex_;
  std::string peer_;
  std::string user_;
  std::string command_;
  std::string cwd_ = "/";
  bool tls_ = false;
  std::chrono::system_clock::time_point since_;
  std::chrono::steady_clock::time_point last_command_;
  struct Transfer {
    std::string verb;
    std::string path;
    bool incoming;
    std::optional<std::uint64_t> size;
    const ByteCounter* bytes;
    std::chrono::steady_clock::time_point started;
  };
  std::unique_ptr<Transfer> transfer_;  // while one runs: an idle session holds none
};

// Shows a transfer in its session's live view for as long as it exists.
class LiveTransfer {
 public:
  LiveTransfer(SessionStatus& status, std::string_view verb, std::string_view path, bool incoming,
               std::optional<std::uint64_t> size, const ByteCounter& bytes)
      : status_(status) {
    status_.begin_transfer(verb, path, incoming, size, bytes);
  }
  ~LiveTransfer() { status_.end_transfer(); }
  LiveTransfer(const LiveTransfer&) = delete;
  LiveTransfer& operator=(const LiveTransfer&) = delete;

 private:
  SessionStatus& status_;
};

class SessionRegistry {
 public:
  void add(std::uint64_t id, Session* session, const SessionStatus* status, asio::any_io_executor executor);
  void remove(std::uint64_t id);
  std::size_t size();

  // Every session as it is now, by id.
  std::vector<SessionView> snapshot();
  // Asks session `id` to close at once (false: no such session).
  bool close(std::uint64_t id);
  // Asks session `id` to abort its transfer: the client gets 426 (false: no such session).
  bool abort_transfer(std::uint64_t id);
  // Runs (session->*action)() on each session's thread, if the session still exists then.
  void post_to_all(void (Session::*action)());
  // Calls `then` once (on the thread of the last remove()) when no session is left, at
  // once if none is; replaces an earlier wish.
  void when_empty(std::function<void()> then);

 private:
  struct Entry {
    Session* session;
    const SessionStatus* status;
    asio::any_io_executor executor;
  };
  bool post_to(std::uint64_t id, void (Session::*action)());

  std::mutex mutex_;
  std::unordered_map<std::uint64_t, Entry> sessions_;
  std::function<void()> when_empty_;
};

}  // namespace ferry
