// How a plugin's Status becomes an FTP reply (RFC 959 codes).
#pragma once

#include <string>

#include "ferry/result.hpp"

namespace ferry {

struct ReplyCode {
  int code;
  const char* text;
};

// The reply for a failed file operation; `writing` picks 553 over 550 for name problems.
inline ReplyCode reply_for(Status status) {
  switch (status) {
    case Status::ok: return {200, "OK."};
    case Status::not_found: return {550, "No such file or directory."};
    case Status::permission_denied: return {550, "Permission denied."};
    case Status::already_exists: return {550, "File exists."};
    case Status::not_a_directory: return {550, "Not a directory."};
    case Status::is_a_directory: return {550, "Is a directory."};
    case Status::not_empty: return {550, "Directory not empty."};
    case Status::bad_name: return {553, "File name not allowed."};
    case Status::no_space: return {452, "Insufficient storage space."};
    case Status::quota_exceeded: return {552, "Exceeded storage allocation."};  // EDQUOT, EFBIG
    case Status::not_supported: return {550, "Not supported here."};
    case Status::io_error: return {451, "Local error in processing."};
  }
  return {451, "Local error in processing."};
}

}  // namespace ferry
