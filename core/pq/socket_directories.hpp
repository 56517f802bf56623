// The Unix socket directories a libpq connection string names ("host" entries that start
// with '/'): what a confined ferryd must be allowed to reach, for [cluster] and auth_pgsql.
#pragma once

#include <string>
#include <vector>

namespace ferry::pq {

std::vector<std::string> socket_directories(const std::string& conninfo);

}  // namespace ferry::pq
