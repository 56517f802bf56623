// The server's log: one line per event on stderr, with a timestamp and a level.
// Lines are written whole under a lock (logging is never on a per-byte hot path).
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace ferry {

enum class LogLevel { debug, info, warning, error };

void set_log_level(LogLevel level);
bool log_enabled(LogLevel level);
// "debug", "info", "warning" (or "warn"), "error"; false for anything else.
bool parse_log_level(std::string_view text, LogLevel& level);
void write_log_line(LogLevel level, std::string_view message);

template <class... Parts>
void log(LogLevel level, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream line;
  (line << ... << parts);
  write_log_line(level, line.str());
}

template <class... Parts>
void log_info(const Parts&... parts) { log(LogLevel::info, parts...); }
template <class... Parts>
void log_warning(const Parts&... parts) { log(LogLevel::warning, parts...); }
template <class... Parts>
void log_error(const Parts&... parts) { log(LogLevel::error, parts...); }
template <class... Parts>
void log_debug(const Parts&... parts) { log(LogLevel::debug, parts...); }

}  // namespace ferry
