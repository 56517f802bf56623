// fs_local: provider-relative paths and the names the provider reserves for itself.
//
// Temporary files. A ".<name>.ferry-XXXXXX" is never listed, and no command can read, write,
// delete or rename a path naming one (not found / name not allowed): it is the provider's.
// The writer holds an flock(2) on it; a server killed mid-upload (SIGKILL, power loss)
// leaves it unlocked. Listing a directory of a writable mount removes such stale temporary
// files once they are older than stale_temp_age seconds (the age only covers the moment
// between creating the file and locking it), if they are the server's own (its uid, 0600).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ferry/result.hpp"

namespace fs_local {

// "/a/b/" -> "a/b"; "/" -> "".
std::string_view relative_of(std::string_view path);

struct Split {
  std::string parent;  // relative, "" for the root
  std::string base;
};

// Splits off the last component; refuses the root itself and "." / "..".
ferry::Result<Split> split_last(std::string_view rel, std::string_view display);
std::vector<std::string> components_of(std::string_view path);

// ".<name>.ferry-XXXXXX", shortening <name> so that the whole stays within NAME_MAX.
std::string temp_name_for(const std::string& base);
// True for a name temp_name_for() makes: "." + something + ".ferry-" + 6 letters or digits.
bool is_temp_name(std::string_view name);
// True when any component of `path` is such a name.
bool names_a_temp_file(std::string_view path);

// A user name that can stand for one directory (%u in the root).
bool safe_user_component(std::string_view user);
std::string replace_all(std::string text, std::string_view from, std::string_view to);

}  // namespace fs_local
