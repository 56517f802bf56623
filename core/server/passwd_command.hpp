// `ferryd passwd USERS_FILE USER`: adds or replaces a user with a fresh yescrypt hash.
#pragma once

#include <string>
#include <vector>

namespace ferry {

// `args` are the words after "passwd". The password comes from stdin when it is not a
// terminal (one line), else it is prompted for twice without echo. Returns the exit
// code: 0 done, 2 usage error, 1 any other failure (message on stderr).
int run_passwd_command(const std::vector<std::string>& args);

}  // namespace ferry
