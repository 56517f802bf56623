// `ferryd who | kick SESSION | ban ADDRESS [SECONDS] | unban ADDRESS | reload`: the console's
// levers from a terminal (as pure-ftpwho and ftpdctl), through the admin API of the ferryd
// that --config names.
#pragma once

#include <string>
#include <vector>

namespace ferry {

// True for "who", "kick", "ban", "unban" and "reload".
bool is_admin_command(const std::string& word);
// `args` are the words after the command's name. Returns the exit code: 0 done, 2 usage or
// configuration error, 1 any other failure (message on stderr).
int run_admin_command(const std::string& command, const std::vector<std::string>& args);

}  // namespace ferry
