// auth_pgsql: an Authenticator whose users live in a PostgreSQL table (or whatever the
// operator's query returns): a crypt(3) hash as auth_file takes them, a home directory and
// a read-only flag per user. Shared by every ferryd node of a scale-out behind a balancer.
// Runs on ferryd's blocking pool (authenticate() blocks on the network by contract); while
// the database is unreachable it fails as "unavailable", which the core answers with 421
// and no ban, and the next login reconnects.
#include <libpq-fe.h>

#include "pq/socket_directories.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connection_pool.hpp"
#include "ferry/export.hpp"
#include "ferry/plugin.hpp"
#include "passwd/password_hash.hpp"
#include "passwd/users_file.hpp"
#include "user_query.hpp"

namespace {

// A yescrypt hash of a random password nobody knows: an unknown user costs the same time
// as a known one (as in auth_file).
constexpr const char* dummy_hash = "$y$j9T$nX6MSWQXAITd.DuOrok3f1$38kQMlpdgA8CzzHGD87q/xqIL1xvVP.MyDLuSE9fBY/";

struct ResultCloser {
  void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using QueryResult = std::unique_ptr<PGresult, ResultCloser>;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

bool truthy(std::string_view value) {
  return value == "t" || value == "true" || value == "1" || value == "yes" || value == "on" || value == "y";
}

// What one row said about a user.
struct Row {
  std::string hash;
  std::string home = "/";
  bool read_only = false;
};

class PgsqlAuthenticator final : public ferry::Authenticator {
 public:
  PgsqlAuthenticator(std::unique_ptr<auth_pgsql::ConnectionPool> pool, std::string query)
      : pool_(std::move(pool)), query_(std::move(query)) {}

  // Thread-safe: each call borrows its own connection from the pool.
  ferry::Result<ferry::Identity> authenticate(const ferry::LoginRequest& request) noexcept override {
    try {
      if (!ferry::passwd::valid_user_name(request.user)) {
        (void)ferry::passwd::verify_password(request.password, dummy_hash);
        return ferry::Error{ferry::Status::permission_denied, "unknown user (invalid user name)"};
      }
      const std::string user(request.user);
      std::optional<Row> row;
      std::string failure;
      if (!lookup(user, row, failure)) return ferry::Error{ferry::Status::io_error, "auth_pgsql: " + failure};
      if (!row) {
        (void)ferry::passwd::verify_password(request.password, dummy_hash);
        return ferry::Error{ferry::Status::permission_denied, "unknown user " + user};
      }
      if (!ferry::passwd::verify_password(request.password, row->hash)) {
        return ferry::Error{ferry::Status::permission_denied, "wrong password for " + user};
      }
      ferry::Identity identity;
      identity.name = user;
      identity.home = row->home.empty() ? "/" : row->home;
      identity.read_only = row->read_only;
      return identity;
    } catch (const std::exception& e) {
      return ferry::Error{ferry::Status::io_error, std::string("auth_pgsql: ") + e.what()};
    } catch (...) {
      return ferry::Error{ferry::Status::io_error, "auth_pgsql: unexpected failure"};
    }
  }

 private:
  // False (with `failure`) when the database could not answer; else `row` is the user's
  // row, or empty when there is none. A pooled connection the database dropped (it was
  // restarted) is found broken by its first query: one retry on a fresh one.
  bool lookup(const std::string& user, std::optional<Row>& row, std::string& failure) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      auth_pgsql::Connection connection = pool_->acquire(failure);
      if (!connection) {
        failure = "database unreachable: " + failure;
        return false;
      }
      const char* values[1] = {user.c_str()};
      QueryResult result(PQexecParams(connection.get(), query_.c_str(), 1, nullptr, values, nullptr, nullptr, 0));
      if (PQresultStatus(result.get()) != PGRES_TUPLES_OK) {
        failure = trimmed(PQerrorMessage(connection.get()));
        const bool broken = PQstatus(connection.get()) != CONNECTION_OK;
        pool_->release(std::move(connection));  // dropped when broken
        if (broken && attempt == 0) continue;
        failure = (broken ? "database connection lost: " : "query failed: ") + failure;
        return false;
      }
      const int rows = PQntuples(result.get());
      const int columns = PQnfields(result.get());
      if (rows > 1 || columns < 1) {
        pool_->release(std::move(connection));
        failure = rows > 1 ? "the query returned " + std::to_string(rows) + " rows for user " + user
                           : std::string("the query returned no column (it must return the hash first)");
        return false;
      }
      if (rows == 1 && !PQgetisnull(result.get(), 0, 0)) {
        Row found;
        found.hash = PQgetvalue(result.get(), 0, 0);
        if (columns > 1 && !PQgetisnull(result.get(), 0, 1)) found.home = PQgetvalue(result.get(), 0, 1);
        if (columns > 2 && !PQgetisnull(result.get(), 0, 2)) found.read_only = truthy(PQgetvalue(result.get(), 0, 2));
        row = std::move(found);
      }
      pool_->release(std::move(connection));
      return true;
    }
    return false;
  }

  std::unique_ptr<auth_pgsql::ConnectionPool> pool_;
  std::string query_;
};

struct OptionsParsed {
  std::string conninfo;
  std::string query;
  unsigned pool_size = 4;
  unsigned connect_timeout = 3;
};

bool parse_options(const ferry::PluginOptions& options, OptionsParsed& out, std::string& error) {
  ferry::OptionReader reader(options);
  out.conninfo = reader.required_string("database");
  const std::string query = reader.optional_string("query", "");
  auth_pgsql::UserColumns columns;
  columns.table = reader.optional_string("table", columns.table);
  columns.name = reader.optional_string("name_column", columns.name);
  columns.hash = reader.optional_string("hash_column", columns.hash);
  columns.home = reader.optional_string("home_column", columns.home);
  columns.read_only = reader.optional_string("read_only_column", columns.read_only);
  const std::int64_t pool_size = reader.optional_int("pool_size", 4);
  const std::int64_t timeout = reader.optional_int("connect_timeout", 3);
  if (!reader.finish()) {
    error = reader.error();
    return false;
  }
  if (pool_size < 1 || pool_size > 64) reader.fail_key("pool_size", "must be between 1 and 64");
  if (timeout < 1 || timeout > 60) reader.fail_key("connect_timeout", "must be between 1 and 60 (seconds)");
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(out.conninfo.c_str(), &parse_error);
  if (!parsed) {
    reader.fail_key("database", "is not a valid libpq connection string or URI: " +
                                    trimmed(parse_error ? parse_error : "out of memory"));
  }
  if (parse_error) PQfreemem(parse_error);
  if (parsed) PQconninfoFree(parsed);
  if (!query.empty()) {
    for (const ferry::OptionValue& v : options.values) {
      if (v.key == "table" || v.key.ends_with("_column")) {
        reader.fail_key(v.key, "cannot be used with 'query' (the query names its own table and columns)");
      }
    }
    if (query.find("$1") == std::string::npos) reader.fail_key("query", "must use $1 for the user name");
    out.query = query;
  } else {
    std::string why;
    auto built = auth_pgsql::query_for(columns, why);
    if (!built) {
      const std::string key = why.substr(0, why.find(':'));
      reader.fail_key(key, why.substr(why.find(':') + 2));
    } else {
      out.query = *built;
    }
  }
  if (!reader.error().empty()) {
    error = reader.error();
    return false;
  }
  out.pool_size = static_cast<unsigned>(pool_size);
  out.connect_timeout = static_cast<unsigned>(timeout);
  return true;
}

// libpq's connection string with ferryd's defaults in front (the operator's own values win).
std::string with_defaults(const OptionsParsed& parsed) {
  return "connect_timeout=" + std::to_string(parsed.connect_timeout) + " application_name=ferryd";
}

ferry::PluginObject* create(const ferry::PluginOptions& options, std::string* error) noexcept {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  try {
    OptionsParsed parsed;
    if (!parse_options(options, parsed, *error)) return nullptr;
    // Defaults first, then the operator's string: libpq lets a later keyword win, and a URI
    // cannot be appended to, so the operator's text goes in as an expanded dbname.
    std::string conninfo = parsed.conninfo;
    const bool uri = conninfo.starts_with("postgresql://") || conninfo.starts_with("postgres://");
    if (!uri) conninfo = with_defaults(parsed) + " " + conninfo;
    else conninfo += (conninfo.find('?') == std::string::npos ? "?" : "&") +
                     std::string("connect_timeout=") + std::to_string(parsed.connect_timeout);
    auto pool = std::make_unique<auth_pgsql::ConnectionPool>(conninfo, parsed.pool_size, std::chrono::seconds(10));
    // No connection yet: ferryd starts while the database is down, and answers 421 until it is up.
    return new PgsqlAuthenticator(std::move(pool), parsed.query);
  } catch (const std::exception& e) {
    *error = std::string("auth_pgsql: ") + e.what();
  } catch (...) {
    *error = "auth_pgsql: unexpected failure";
  }
  return nullptr;
}

// Once ferryd is confined: the Unix socket directory of a local database (a TCP database
// needs only a connect to its port, which confinement allows for ports >= 1024).
std::vector<ferry::PathNeed> confinement_paths(const ferry::PluginOptions& options) noexcept {
  try {
    ferry::OptionReader reader(options);
    const std::string conninfo = reader.optional_string("database", "");
    std::vector<ferry::PathNeed> out;
    for (std::string& dir : ferry::pq::socket_directories(conninfo)) {
      out.push_back(ferry::PathNeed{std::move(dir), ferry::path_read, "database"});
    }
    return out;
  } catch (...) {
    return {};
  }
}

const ferry::PluginDescriptor descriptor{ferry::plugin_api_version, ferry::PluginKind::authenticator, "auth_pgsql",
                                         "0.1.0", &create, &confinement_paths};

const ferry::PluginDescriptor* entry() { return &descriptor; }

}  // namespace

FERRY_PLUGIN(entry)
