// Which SQL finds a user: built from a table and its columns (identifiers checked and
// quoted), or the operator's own query. Pure: no database here.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace auth_pgsql {

struct UserColumns {
  std::string table = "ferry_users";  // may be schema-qualified: "ftp.users"
  std::string name = "name";
  std::string hash = "hash";
  std::string home = "home";          // "" = every user starts in "/"
  std::string read_only = "read_only";  // "" = nobody is read-only
};

// A plain SQL identifier (letters, digits, _; not starting with a digit; at most 63 bytes).
bool valid_identifier(std::string_view name);

// SELECT hash, home, read_only FROM table WHERE name = $1; nullopt (with `error`) when a
// name is not a plain identifier.
std::optional<std::string> query_for(const UserColumns& columns, std::string& error);

}  // namespace auth_pgsql
