// The server's log (see log.hpp).
#include "server/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ferry {

namespace {

std::atomic<LogLevel> current_level{LogLevel::info};
std::atomic<LogFormat> current_format{LogFormat::text};
std::mutex write_mutex;

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warning: return "warning";
    case LogLevel::error: return "error";
  }
  return "info";
}

// Length of the UTF-8 sequence starting at text[i], or 0 when it is not valid UTF-8.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char c = byte(i);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xc0) != 0x80) return 0;
  }
  if (n == 2 && c < 0xc2) return 0;                          // overlong
  if (n == 3 && c == 0xe0 && byte(i + 1) < 0xa0) return 0;   // overlong
  if (n == 3 && c == 0xed && byte(i + 1) >= 0xa0) return 0;  // surrogates
  if (n == 4 && c == 0xf0 && byte(i + 1) < 0x90) return 0;   // overlong
  if (n == 4 && (c > 0xf4 || (c == 0xf4 && byte(i + 1) >= 0x90))) return 0;  // past U+10FFFF
  return n;
}

// Text lines: control characters (a CR or LF in a file name above all) as \xNN, and a
// backslash as \\, so that a name spelling "\x0a" cannot pass for an escaped LF.
void append_text_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += ch;
    }
  }
}

std::string timestamp() {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return stamp;
}

}  // namespace

void set_log_level(LogLevel level) { current_level = level; }

void set_log_format(LogFormat format) { current_format = format; }

bool log_enabled(LogLevel level) { return level >= current_level.load(std::memory_order_relaxed); }

bool parse_log_level(std::string_view text, LogLevel& level) {
  if (text == "debug") level = LogLevel::debug;
  else if (text == "info") level = LogLevel::info;
  else if (text == "warning" || text == "warn") level = LogLevel::warning;
  else if (text == "error") level = LogLevel::error;
  else return false;
  return true;
}

std::string json_escape(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else if (c >= 0x80) {
      std::size_t n = utf8_sequence(text, i);
      if (n == 0) {
        out += "\\ufffd";
        ++i;
        continue;
      }
      out.append(text.substr(i, n));
      i += n;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  return out;
}

void write_log_event(LogLevel level, std::string_view event, std::uint64_t session,
                     std::span<const LogField> fields, std::string_view message) {
  std::string line = timestamp();
  if (current_format.load(std::memory_order_relaxed) == LogFormat::json) {
    line = "{\"time\":\"" + line + "\",\"level\":\"" + level_name(level) + "\"";
    if (!event.empty()) line += ",\"event\":\"" + json_escape(event) + "\"";
    if (session != 0) line += ",\"session\":" + std::to_string(session);
    for (const LogField& field : fields) {
      line += ",\"" + json_escape(field.key) + "\":";
      line += field.number ? field.value : "\"" + json_escape(field.value) + "\"";
    }
    line += ",\"msg\":\"" + json_escape(message) + "\"}\n";
  } else {
    line += ' ';
    line += level_name(level);
    line += ' ';
    append_text_escaped(line, message);
    line += '\n';
  }
  std::lock_guard lock(write_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace ferry
