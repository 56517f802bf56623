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
// Recent files (the six months up to `now`) show the time; older ones, and any from the
// future, the year.
void append_list_line(std::string& out, const FileInfo& info, std::time_t now);

// The MLSx facts the server offers, as bits; OPTS MLST selects a subset (RFC 3659 7.9).
enum MlstFact : unsigned {
  fact_type = 1u << 0,
  fact_size = 1u << 1,
  fact_modify = 1u << 2,
  fact_perm = 1u << 3,
  fact_unique = 1u << 4,
};
inline constexpr unsigned all_mlst_facts = fact_type | fact_size | fact_modify | fact_perm | fact_unique;

// The facts named in an OPTS MLST list ("type;size;"), any case; unknown names are ignored.
unsigned parse_mlst_facts(std::string_view list);
// "type;size;" for the facts in `selected`; with `all` every offered fact, the selected
// ones starred, as FEAT shows them ("type*;size;...").
std::string format_mlst_facts(unsigned selected, bool all);

// MLSx facts followed by a space and the name: "type=file;size=1234;modify=20261125101100;perm=r; name".
// Only the facts in `facts` are written (with none, the line is " name").
void append_mlsx_line(std::string& out, const FileInfo& info, unsigned facts = all_mlst_facts);

// "YYYYMMDDHHMMSS" in UTC (MDTM, MLSx modify fact).
std::string format_timeval(std::int64_t unix_seconds);
// The inverse; accepts an optional ".sss" fraction. nullopt on a malformed value.
std::optional<std::int64_t> parse_timeval(std::string_view text);

// Client side: one MLSD line, or one LIST line in the common Unix format. nullopt when
// the line cannot be understood (e.g. a "total 12" header).
std::optional<FileInfo> parse_mlsx_line(std::string_view line);
std::optional<FileInfo> parse_list_line(std::string_view line);

}  // namespace ferry::ftp
