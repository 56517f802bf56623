// Directory listing formats: LIST (ls -l style), MLSD/MLST facts (RFC 3659), and the
// client-side parsers for both.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/plugin.hpp"

namespace ferry::ftp {

// False for a name with CR or LF: on a data connection it would end its line and start a
// forged one, and no command could name it anyway (commands are single lines). Listings
// leave such entries out.
bool listable_name(std::string_view name);

// One "ls -l" line without CR LF: "-rw-r--r-- 1 ferry ferry 1234 Nov 25 10:11 name".
// Recent files (within six months of `now`) show the time, older ones the year.
void append_list_line(std::string& out, const FileInfo& info, std::time_t now);

// MLSx facts followed by a space and the name: "type=file;size=1234;modify=20261125101100;perm=r; name".
void append_mlsx_line(std::string& out, const FileInfo& info);

// "YYYYMMDDHHMMSS" in UTC (MDTM, MLSx modify fact).
std::string format_timeval(std::int64_t unix_seconds);
// The inverse; accepts an optional ".sss" fraction. nullopt on a malformed value.
std::optional<std::int64_t> parse_timeval(std::string_view text);

// Client side: one MLSD line, or one LIST line in the common Unix format. nullopt when
// the line cannot be understood (e.g. a "total 12" header).
std::optional<FileInfo> parse_mlsx_line(std::string_view line);
std::optional<FileInfo> parse_list_line(std::string_view line);

}  // namespace ferry::ftp
