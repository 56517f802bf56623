// The user lookup's SQL (see user_query.hpp).
#include "user_query.hpp"

namespace auth_pgsql {

bool valid_identifier(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

namespace {

std::string quoted(std::string_view identifier) { return "\"" + std::string(identifier) + "\""; }

}  // namespace

std::optional<std::string> query_for(const UserColumns& columns, std::string& error) {
  std::string table;
  std::string_view rest = columns.table;
  // "schema.table" or "table"
  const std::size_t dot = rest.find('.');
  if (dot != std::string_view::npos) {
    if (!valid_identifier(rest.substr(0, dot)) || !valid_identifier(rest.substr(dot + 1))) {
      error = "table: '" + columns.table + "' is not a plain table name (letters, digits, _; schema.table)";
      return std::nullopt;
    }
    table = quoted(rest.substr(0, dot)) + "." + quoted(rest.substr(dot + 1));
  } else {
    if (!valid_identifier(rest)) {
      error = "table: '" + columns.table + "' is not a plain table name (letters, digits, _; schema.table)";
      return std::nullopt;
    }
    table = quoted(rest);
  }
  for (auto [key, value] : {std::pair{"name_column", &columns.name}, std::pair{"hash_column", &columns.hash}}) {
    if (!valid_identifier(*value)) {
      error = std::string(key) + ": '" + *value + "' is not a plain column name (letters, digits, _)";
      return std::nullopt;
    }
  }
  for (auto [key, value] : {std::pair{"home_column", &columns.home}, std::pair{"read_only_column", &columns.read_only}}) {
    if (!value->empty() && !valid_identifier(*value)) {
      error = std::string(key) + ": '" + *value + "' is not a plain column name (letters, digits, _; \"\" = none)";
      return std::nullopt;
    }
  }
  const std::string home = columns.home.empty() ? "NULL" : quoted(columns.home);
  const std::string read_only = columns.read_only.empty() ? "false" : quoted(columns.read_only);
  return "SELECT " + quoted(columns.hash) + ", " + home + ", " + read_only + " FROM " + table + " WHERE " +
         quoted(columns.name) + " = $1";
}

}  // namespace auth_pgsql
