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

}  // namespace

void set_log_level(LogLevel level) { current_level = level; }

bool log_enabled(LogLevel level) { return level >= current_level.load(std::memory_order_relaxed); }

bool parse_log_level(std::string_view text, LogLevel& level) {
  if (text == "debug") level = LogLevel::debug;
  else if (text == "info") level = LogLevel::info;
  else if (text == "warning" || text == "warn") level = LogLevel::warning;
  else if (text == "error") level = LogLevel::error;
  else return false;
  return true;
}

void write_log_line(LogLevel level, std::string_view message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  std::time_t t = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::lock_guard lock(write_mutex);
  std::fprintf(stderr, "%s %s %.*s\n", stamp, level_name(level), static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
}

}  // namespace ferry
