// Landlock through its raw system calls (no library): a ruleset of the paths and TCP ports
// ferryd may use once started, and its enforcement. Up to ABI 7 a thread can confine only
// itself (threads it starts afterwards inherit the confinement): ferryd confines its main
// thread before it starts any other.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/unique_fd.hpp"

namespace ferry::landlock {

// LANDLOCK_ACCESS_FS_* of <linux/landlock.h>; Debian 12's header (Linux 6.1) stops at ABI 2.
inline constexpr std::uint64_t fs_execute = 1ULL << 0;
inline constexpr std::uint64_t fs_write_file = 1ULL << 1;
inline constexpr std::uint64_t fs_read_file = 1ULL << 2;
inline constexpr std::uint64_t fs_read_dir = 1ULL << 3;
inline constexpr std::uint64_t fs_remove_dir = 1ULL << 4;
inline constexpr std::uint64_t fs_remove_file = 1ULL << 5;
inline constexpr std::uint64_t fs_make_char = 1ULL << 6;
inline constexpr std::uint64_t fs_make_dir = 1ULL << 7;
inline constexpr std::uint64_t fs_make_reg = 1ULL << 8;
inline constexpr std::uint64_t fs_make_sock = 1ULL << 9;
inline constexpr std::uint64_t fs_make_fifo = 1ULL << 10;
inline constexpr std::uint64_t fs_make_block = 1ULL << 11;
inline constexpr std::uint64_t fs_make_sym = 1ULL << 12;
inline constexpr std::uint64_t fs_refer = 1ULL << 13;      // ABI 2
inline constexpr std::uint64_t fs_truncate = 1ULL << 14;   // ABI 3
inline constexpr std::uint64_t fs_ioctl_dev = 1ULL << 15;  // ABI 5
// The rights a rule on a file (not a directory) may carry.
inline constexpr std::uint64_t fs_file_rights = fs_execute | fs_write_file | fs_read_file | fs_truncate | fs_ioctl_dev;

// The Landlock ABI of the running kernel; 0 when it has none (or it is disabled at boot).
int abi_version();

struct PathRule {
  std::string path;  // an existing file or directory
  std::uint64_t access = 0;
};

struct Rules {
  std::vector<PathRule> paths;
  std::vector<std::uint16_t> bind_ports;  // TCP ports bind(2) may take (0: an ephemeral port)
  std::uint16_t connect_from = 0;         // connect(2) only to TCP ports >= this (0: to none)
};

class Ruleset {
 public:
  // What `abi` can enforce of `rules`; every access it knows that no rule grants is denied.
  // Returns "" or what failed.
  std::string make(int abi, const Rules& rules);
  // Confines the calling thread for good (no_new_privs first, as Landlock requires).
  std::string restrict_calling_thread() const;

  int abi() const noexcept { return abi_; }
  bool handles_network() const noexcept { return handled_net_ != 0; }
  bool scoped() const noexcept { return scoped_ != 0; }
  std::size_t rule_count() const noexcept { return rule_count_; }

 private:
  UniqueFd fd_;
  int abi_ = 0;
  std::uint64_t handled_fs_ = 0;
  std::uint64_t handled_net_ = 0;
  std::uint64_t scoped_ = 0;
  std::size_t rule_count_ = 0;
};

}  // namespace ferry::landlock
