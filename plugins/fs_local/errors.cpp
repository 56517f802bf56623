// fs_local: errno values as Status (see errors.hpp).
#include "errors.hpp"

#include <cerrno>
#include <cstring>
#include <string>

namespace fs_local {

using ferry::Error;
using ferry::Status;

Status status_from_errno(int e) {
  switch (e) {
    case ENOENT: return Status::not_found;
    case EACCES:
    case EPERM:
    case EXDEV:
    case ELOOP:
    case EROFS: return Status::permission_denied;
    case EEXIST: return Status::already_exists;
    case ENOTDIR: return Status::not_a_directory;
    case EISDIR: return Status::is_a_directory;
    case ENOTEMPTY: return Status::not_empty;
    case ENAMETOOLONG:
    case EINVAL: return Status::bad_name;
    case ENOSPC: return Status::no_space;
    case EDQUOT:
    case EFBIG: return Status::quota_exceeded;
    case EOPNOTSUPP:
    case ENXIO: return Status::not_supported;
    default: return Status::io_error;
  }
}

Error errno_error(int e, std::string_view what, std::string_view path) {
  std::string message(what);
  if (!path.empty()) message += std::string(" ") + std::string(path);
  if (e == EXDEV) {
    message += ": outside the user's root";
  } else {
    message += std::string(": ") + std::strerror(e);
  }
  return Error{status_from_errno(e), std::move(message)};
}

Error out_of_memory() { return Error{Status::io_error, "fs_local: out of memory"}; }

bool is_storage_errno(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG; }

}  // namespace fs_local
