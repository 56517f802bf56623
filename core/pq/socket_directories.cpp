#include "pq/socket_directories.hpp"

#include <libpq-fe.h>

#include <string_view>

namespace ferry::pq {

std::vector<std::string> socket_directories(const std::string& conninfo) {
  std::vector<std::string> out;
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (error) PQfreemem(error);
  if (!options) return out;
  for (PQconninfoOption* o = options; o->keyword; ++o) {
    if (std::string_view(o->keyword) != "host" || !o->val) continue;
    std::string_view hosts = o->val;  // "host" may list several, comma-separated
    while (!hosts.empty()) {
      const std::size_t comma = hosts.find(',');
      std::string_view host = hosts.substr(0, comma);
      if (!host.empty() && host.front() == '/') out.emplace_back(host);
      hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
    }
  }
  PQconninfoFree(options);
  return out;
}

}  // namespace ferry::pq
