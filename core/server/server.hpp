// The server: binds the listen addresses, runs one accept loop coroutine per address and
// one session coroutine per connection on `workers` I/O threads, until SIGINT/SIGTERM.
// SIGHUP builds a new generation (see server_state.hpp) for the sessions that start next.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace asio {
class io_context;
}

#include "server/config.hpp"
#include "server/server_state.hpp"

namespace ferry {

class Server {
 public:
  Server(std::shared_ptr<ServerState> state, unsigned workers);
  // Makes the next generation from the files on disk, on the blocking pool; nullptr with
  // `error` set keeps the running one in force.
  using Reloader = std::function<std::shared_ptr<ServerState>(const ServerState& running, std::string& error)>;
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every address and logs "listening on HOST:PORT" with the real port.
  // Returns "" or an error message.
  // `implicit_tls`: these addresses speak TLS from the first byte (implicit FTPS).
  std::string bind(const std::vector<ListenAddress>& addresses, bool implicit_tls = false);
  // What SIGHUP runs; without one, SIGHUP is logged and ignored.
  void on_reload(Reloader reloader);
  // Serves until SIGINT or SIGTERM; returns the process exit code.
  int run();

  // For what serves beside the FTP sessions (the admin console), from any thread:
  // The generation new sessions start with.
  std::shared_ptr<ServerState> current();
  // Reloads as SIGHUP does; `done(error)` runs on an I/O thread when this reload (or one
  // already running, then the next) has finished: error "" when the new generation is in
  // force, else why it was refused (FILE:LINE:COLUMN: ...).
  void reload(std::function<void(const std::string& error)> done);
  // The addresses bound so far, with their real ports ("127.0.0.1:2121"), implicit FTPS
  // ones marked.
  struct Bound {
    std::string address;
    bool implicit_tls;
  };
  std::vector<Bound> bound() const;
  // The I/O thread that runs the accept loops, signals and reloads.
  asio::io_context& main_context();
  // Runs on that thread when shutdown begins (SIGINT/SIGTERM), before sessions are asked
  // to end. Before run() only.
  void on_shutdown(std::function<void()> hook);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ferry
