// A small pool of libpq connections shared by the logins running on ferryd's blocking
// pool (never an I/O thread). A connection is made when first needed, handed to one login
// at a time, and dropped when the database broke it; the next login reconnects, so a
// database restart costs the logins made while it was down (421), nothing more.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

typedef struct pg_conn PGconn;

namespace auth_pgsql {

struct ConnectionCloser {
  void operator()(PGconn* connection) const noexcept;
};
using Connection = std::unique_ptr<PGconn, ConnectionCloser>;

class ConnectionPool {
 public:
  // `conninfo`: libpq's connection string or URI; at most `size` connections at once.
  ConnectionPool(std::string conninfo, unsigned size, std::chrono::seconds wait);
  ~ConnectionPool();

  // A connected connection, or nullptr with `error` set (the database is unreachable, or
  // every connection stayed busy for `wait`). Blocking; thread-safe.
  Connection acquire(std::string& error);
  // Back to the pool; a connection the database broke is dropped instead.
  void release(Connection connection);

 private:
  std::string conninfo_;
  unsigned size_;
  std::chrono::seconds wait_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Connection> idle_;
  unsigned open_ = 0;  // idle and lent out
};

}  // namespace auth_pgsql
