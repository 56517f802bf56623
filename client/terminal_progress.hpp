// The progress line `ferry get` draws on stderr: bytes, percent and rate, redrawn in place,
// and only when stderr is a terminal (scripts and logs get no carriage-return noise).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace ferry::client {

class TerminalProgress {
 public:
  TerminalProgress();
  ~TerminalProgress() { clear(); }
  TerminalProgress(const TerminalProgress&) = delete;
  TerminalProgress& operator=(const TerminalProgress&) = delete;

  bool enabled() const { return enabled_; }
  // Text drawn before the numbers, e.g. "[3/12] " for a mirror's file count.
  void set_label(std::string label) { label_ = std::move(label); }
  // The file's bytes so far and its size (0: unknown). Redraws at most ten times a second.
  void update(std::uint64_t done, std::uint64_t total);
  // Erases the line, so that the summary or an error starts on a clean line.
  void clear();

 private:
  void draw(std::uint64_t done, std::uint64_t total);

  std::string label_;
  bool enabled_ = false;
  bool drawn_ = false;
  bool started_ = false;
  std::uint64_t start_bytes_ = 0;  // a resumed download's rate counts only the new bytes
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

// "1.5 MiB", "312 B": binary units, as ls -lh and curl print them.
std::string format_bytes(std::uint64_t bytes);

}  // namespace ferry::client
