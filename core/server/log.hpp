// The server's log: one line per event on stderr, with a timestamp and a level, as text
// or as one JSON object a line ([log] format). Lines are written whole under a lock
// (logging is never on a per-byte hot path). Control characters in a message are escaped,
// so a client cannot forge log lines through a file or user name.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>

namespace ferry {

enum class LogLevel { debug, info, warning, error };
enum class LogFormat { text, json };

void set_log_level(LogLevel level);
void set_log_format(LogFormat format);
bool log_enabled(LogLevel level);
// "debug", "info", "warning" (or "warn"), "error"; false for anything else.
bool parse_log_level(std::string_view text, LogLevel& level);

// A named fact of an event. JSON lines carry it as a member (a number when built from an
// integer); text lines show only the message, which names the same facts in words.
struct LogField {
  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)), number(true) {}

  std::string_view key;
  std::string value;
  bool number = false;
};

// `event` names what happened ("login", "transfer", ...; "" for a plain message) and
// `session` which session it concerns (0: the server itself). Sessions' events come here
// through the event bus (events/log_sink.hpp); the server's own lines through log().
void write_log_event(LogLevel level, std::string_view event, std::uint64_t session,
                     std::span<const LogField> fields, std::string_view message);

template <class... Parts>
void log(LogLevel level, const Parts&... parts) {
  if (!log_enabled(level)) return;
  std::ostringstream line;
  (line << ... << parts);
  write_log_event(level, {}, 0, {}, line.str());
}

template <class... Parts>
void log_info(const Parts&... parts) { log(LogLevel::info, parts...); }
template <class... Parts>
void log_warning(const Parts&... parts) { log(LogLevel::warning, parts...); }
template <class... Parts>
void log_error(const Parts&... parts) { log(LogLevel::error, parts...); }
template <class... Parts>
void log_debug(const Parts&... parts) { log(LogLevel::debug, parts...); }

// JSON string contents for `text`: quotes, backslashes and control characters escaped,
// and bytes that are not UTF-8 replaced by U+FFFD (file names need not be UTF-8).
std::string json_escape(std::string_view text);

}  // namespace ferry
