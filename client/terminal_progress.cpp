// Drawing of the terminal progress line.
#include "terminal_progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace ferry::client {

std::string format_bytes(std::uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < std::size(units)) {
    value /= 1024.0;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  }
  return text;
}

TerminalProgress::TerminalProgress() : enabled_(::isatty(STDERR_FILENO) == 1) {}

void TerminalProgress::update(std::uint64_t done, std::uint64_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!started_) {
    started_ = true;
    start_ = now;
    start_bytes_ = done;
  }
  const bool finished = total != 0 && done >= total;
  if (!finished && drawn_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  draw(done, total);
}

void TerminalProgress::draw(std::uint64_t done, std::uint64_t total) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto rate = seconds > 0.05 ? static_cast<std::uint64_t>(static_cast<double>(done - start_bytes_) / seconds) : 0;
  // Built by appending: GCC 12's -Wrestrict misfires on `"literal" + std::string` (PR 105329).
  std::string line = "\r";
  line += label_;
  if (total != 0) {
    char percent[16];
    std::snprintf(percent, sizeof percent, "%3u%%  ", static_cast<unsigned>(done * 100 / total));
    line += percent;
  }
  line += format_bytes(done);
  if (total != 0) {
    line += " / ";
    line += format_bytes(total);
  }
  line += "  ";
  line += format_bytes(rate);
  line += "/s";
  line += "\x1b[K";  // erase what a longer previous line left behind
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void TerminalProgress::clear() {
  if (!drawn_) return;
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace ferry::client
