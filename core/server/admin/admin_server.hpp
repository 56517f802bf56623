// The admin listener ([admin] listen): the operator's web console, the JSON API and
// /metrics over HTTP/1.1 (HTTPS with admin.tls), served by coroutines on the server's
// main I/O thread beside the FTP sessions. Bounded: header and body sizes, connections,
// idle and request timeouts; a bad request gets a 4xx and its connection closes.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

namespace ferry {
class Server;
struct ServerRuntime;
struct Config;
}  // namespace ferry

namespace ferry::admin {

// Limits of the admin listener.
struct AdminLimits {
  std::size_t header_bytes = 8 * 1024;
  std::size_t body_bytes = 64 * 1024;
  unsigned connections = 64;    // at once, event streams included
  unsigned event_streams = 16;  // of those, /api/v1/events
  std::chrono::seconds request_timeout{10};  // from a request's first byte to its last
  std::chrono::seconds idle_timeout{60};     // between requests on a kept-alive connection
  std::chrono::seconds write_timeout{10};    // a client that reads nothing for this long is dropped
};

class AdminServer {
 public:
  // Subscribes the console's event sinks to runtime's bus: call before the server runs.
  AdminServer(Server& server, std::shared_ptr<ServerRuntime> runtime, const Config& config, AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds [admin] listen (before privileges are dropped) and logs "console on
  // http://HOST:PORT/" with the real port. Returns "" or an error.
  std::string bind();
  // Starts accepting once the server runs; closes everything when it shuts down.
  void start();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the coroutines, which may outlive this object
};

}  // namespace ferry::admin
