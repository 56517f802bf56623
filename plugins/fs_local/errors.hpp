// fs_local: errno values as the plugin API's Status, with messages that name the client's
// path (never a real path on disk).
#pragma once

#include <string_view>

#include "ferry/result.hpp"

namespace fs_local {

ferry::Status status_from_errno(int e);
// `path` is the provider-relative path the client asked for: never a real path on disk.
ferry::Error errno_error(int e, std::string_view what, std::string_view path);
ferry::Error out_of_memory();
// The errors that mean "the data does not fit": the upload's leftovers are removed.
bool is_storage_errno(int e);

}  // namespace fs_local
