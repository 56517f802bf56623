// fs_local: the FileProvider. Thread-safety: its settings come from the options
// (options.cpp) and never change after creation; the only mutable state is the jail's flag
// that switches to the walk when openat2 reports ENOSYS.
#pragma once

#include <sys/types.h>

#include <string>

#include "ferry/plugin.hpp"

namespace fs_local {

struct Settings {
  std::string root;  // absolute; may contain %u
  bool per_user = false;
  bool writable = true;
  bool create_root = true;
  mode_t file_mode = 0644;
  mode_t dir_mode = 0755;
  bool force_walk = false;
  bool local = true;  // on a local file system: opens and writes may run on the core's I/O thread
};

// The provider for `settings` (also a ferry::ProviderIoHints: fast opens on a local file
// system; and a ferry::ProviderStamps: content stamps, see stamps.hpp).
ferry::PluginObject* make_provider(Settings settings);

// mkdir -p; 0 or an errno.
int make_directories(const std::string& path, mode_t mode);

}  // namespace fs_local
