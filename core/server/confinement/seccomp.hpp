// seccomp: the system calls ferryd may make once started (an allow-list, libseccomp). A
// call off the list fails with EPERM instead of killing the process, and a supervisor
// thread logs its name the first time (seccomp user notification, see seccomp.cpp).
#pragma once

#include <string>

namespace ferry::seccomp {

// Installs the filter on every thread of the process (TSYNC); no_new_privs is set first.
// Returns "" or what failed. `summary` tells the start-up log what was installed.
std::string install(std::string& summary);

}  // namespace ferry::seccomp
