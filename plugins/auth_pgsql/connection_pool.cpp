// The libpq connection pool (see connection_pool.hpp).
#include "connection_pool.hpp"

#include <libpq-fe.h>

namespace auth_pgsql {

void ConnectionCloser::operator()(PGconn* connection) const noexcept { PQfinish(connection); }

ConnectionPool::ConnectionPool(std::string conninfo, unsigned size, std::chrono::seconds wait)
    : conninfo_(std::move(conninfo)), size_(size == 0 ? 1 : size), wait_(wait) {}

ConnectionPool::~ConnectionPool() = default;

Connection ConnectionPool::acquire(std::string& error) {
  {
    std::unique_lock lock(mutex_);
    const bool available = returned_.wait_for(lock, wait_, [&] { return !idle_.empty() || open_ < size_; });
    if (!available) {
      error = "every database connection stayed busy";
      return nullptr;
    }
    if (!idle_.empty()) {
      Connection connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
    ++open_;  // a new one, made outside the lock
  }
  Connection connection(PQconnectdb(conninfo_.c_str()));
  if (connection && PQstatus(connection.get()) == CONNECTION_OK) return connection;
  error = connection ? PQerrorMessage(connection.get()) : "out of memory";
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
  {
    std::lock_guard lock(mutex_);
    --open_;
  }
  returned_.notify_one();
  return nullptr;
}

void ConnectionPool::release(Connection connection) {
  {
    std::lock_guard lock(mutex_);
    if (connection && PQstatus(connection.get()) == CONNECTION_OK && PQtransactionStatus(connection.get()) == PQTRANS_IDLE) {
      idle_.push_back(std::move(connection));
    } else {
      --open_;
    }
  }
  returned_.notify_one();
}

}  // namespace auth_pgsql
