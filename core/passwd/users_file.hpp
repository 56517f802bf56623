// The users file: one "name:hash" a line, '#' starts a comment, blank lines ignored. Two
// optional fields may follow: "name:hash:home" (the virtual directory a session starts in)
// and "name:hash:home:ro" (a read-only account; "rw" or nothing: writable).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::passwd {

struct UserEntry {
  std::string name;
  std::string hash;
  unsigned line = 0;
  std::string home = "/";  // the optional third field
  bool read_only = false;  // the optional fourth field is "ro"
};

struct UsersFile {
  std::vector<UserEntry> users;
  const UserEntry* find(std::string_view name) const;
};

struct UsersFileResult {
  std::optional<UsersFile> file;
  std::string error;  // "PATH:LINE: reason" when file is empty
};

// Parses the text of a users file. Rejects: a line without ':', an empty or invalid name
// (allowed: letters, digits, '.', '_', '-', '@'), a duplicate name, a hash of an unknown
// scheme (plain text included), a home that does not start with '/', a fourth field other
// than "ro" or "rw", and more fields — naming `source` and the line.
UsersFileResult parse_users(std::string_view text, std::string_view source);
UsersFileResult load_users_file(const std::string& path);

// True for a name that may appear in a users file.
bool valid_user_name(std::string_view name);

// What set_user did.
struct SetUserResult {
  std::string error;               // "" on success, else what went wrong (nothing was changed)
  std::vector<std::string> notes;  // worth telling the user, e.g. that the file's mode was narrowed
  bool replaced = false;           // the user had a line already (else it was added)
  bool ok() const { return error.empty(); }
};

// The mode a rewritten users file gets when the old one had `old_mode`: its permission
// bits, but never wider than 0640 (no group write, nothing for others, no exec/suid bits).
constexpr unsigned users_file_mode(unsigned old_mode) { return old_mode & 0640u; }

// Adds or replaces `user` with `hash` in the file at `path` (created when missing),
// keeping other lines and comments, and the user's optional fields (home, ro). Atomic: writes PATH.tmp.XXXXXX and renames it over
// PATH. When PATH is a symbolic link, PATH here is the file it points to (the link stays;
// a link to a missing file is refused). A new file gets mode 0600; an existing one keeps its mode (narrowed by
// users_file_mode, with a note) and, when running as root, its owner and group, so a
// server that reads it as another user still can. Concurrent writers take turns: an
// exclusive flock on PATH.lock (created 0600, kept) is held from the read to the rename,
// waiting at most 30 s for another writer. Blocks; safe to call from several processes.
SetUserResult set_user(const std::string& path, std::string_view user, std::string_view hash);

}  // namespace ferry::passwd
