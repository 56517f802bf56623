// The FTP command parser: one control-connection line in, a verb and argument out.
// Pure (no I/O, no allocation beyond the result), so it is unit-tested and fuzzed directly.
#pragma once

#include <string>
#include <string_view>

namespace ferry::ftp {

// Longest control line the server reads (RFC 959 sets no limit; paths are at most
// PATH_MAX, and 4 KiB is what vsftpd and pure-ftpd allow as well).
inline constexpr std::size_t max_command_line = 4096;

struct Command {
  std::string verb;      // upper-case, e.g. "RETR"
  std::string argument;  // everything after the first space, unchanged ("" when none)
};

enum class ParseError {
  none,
  empty,           // blank line
  bad_verb,        // verb with characters other than letters/digits, or too long
  bad_characters,  // NUL or another control character in the line
};

struct ParseResult {
  Command command;
  ParseError error = ParseError::none;
  bool ok() const noexcept { return error == ParseError::none; }
};

// Parses one line (with or without its trailing CR LF). Telnet IAC sequences that some
// clients send before ABOR are dropped. A bare verb with a trailing space has argument "".
ParseResult parse_command(std::string_view line);

// ASCII upper case, for verbs and keyword arguments ("type a" -> "TYPE A").
std::string to_upper(std::string_view text);

}  // namespace ferry::ftp
