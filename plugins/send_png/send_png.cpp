// send_png: a read-only FileProvider whose whole tree is one PNG image in a root directory.
// The image is checked at start-up; every call stats or opens it afresh, so an image
// replaced on disk is served with its new size and time.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ferry/export.hpp"
#include "ferry/plugin.hpp"

namespace {

using ferry::Error;
using ferry::FileInfo;
using ferry::FileType;
using ferry::Result;
using ferry::Status;

constexpr std::array<unsigned char, 8> png_signature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

// The first 33 bytes of a PNG: signature, then the IHDR chunk (length 13, type, data, CRC).
constexpr std::size_t png_head_size = 8 + 4 + 4 + 13 + 4;

std::uint32_t read_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
}

// True when `head` starts like a PNG image: the signature, then an IHDR chunk of the right
// length with a non-zero width and height.
bool looks_like_png(std::span<const unsigned char> head) {
  if (head.size() < png_head_size) return false;
  if (!std::equal(png_signature.begin(), png_signature.end(), head.begin())) return false;
  const unsigned char* chunk = head.data() + 8;
  if (read_be32(chunk) != 13 || std::memcmp(chunk + 4, "IHDR", 4) != 0) return false;
  return read_be32(chunk + 8) != 0 && read_be32(chunk + 12) != 0;
}

Status status_from_errno(int e) {
  switch (e) {
    case ENOENT:
    case ENOTDIR: return Status::not_found;
    case EACCES:
    case EPERM: return Status::permission_denied;
    default: return Status::io_error;
  }
}

Error errno_error(int e, std::string_view what) {
  return Error{status_from_errno(e), std::string(what) + ": " + std::strerror(e)};
}

std::int64_t seconds(const struct timespec& ts) { return static_cast<std::int64_t>(ts.tv_sec); }

class PngReadHandle final : public ferry::ReadHandle {
 public:
  PngReadHandle(int fd, std::uint64_t size) : fd_(fd), size_(size) {}
  ~PngReadHandle() override { ::close(fd_); }
  PngReadHandle(const PngReadHandle&) = delete;
  PngReadHandle& operator=(const PngReadHandle&) = delete;

  int native_fd() const noexcept override { return fd_; }
  std::uint64_t size() const noexcept override { return size_; }

  Result<std::size_t> read_at(std::uint64_t offset, std::span<std::byte> buffer) noexcept override {
    for (;;) {
      const ssize_t n = ::pread(fd_, buffer.data(), buffer.size(), static_cast<off_t>(offset));
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) return errno_error(errno, "read");
    }
  }

 private:
  int fd_;
  std::uint64_t size_;
};

class PngProvider final : public ferry::FileProvider {
 public:
  PngProvider(std::string image_path, std::string name) : image_path_(std::move(image_path)), name_(std::move(name)) {}

  // Every method below is thread-safe: the provider's own state never changes.
  Result<FileInfo> stat(const ferry::UserContext&, std::string_view path) noexcept override {
    try {
      if (path == "/") return root_info();
      if (is_image_path(path)) return image_info();
      return Error{Status::not_found, "no such file"};
    } catch (...) {
      return Error{Status::io_error, "send_png: out of memory"};
    }
  }

  Result<std::vector<FileInfo>> list(const ferry::UserContext&, std::string_view path) noexcept override {
    try {
      if (is_image_path(path)) return Error{Status::not_a_directory, "not a directory"};
      if (path != "/") return Error{Status::not_found, "no such directory"};
      std::vector<FileInfo> entries;
      Result<FileInfo> image = image_info();
      if (image) {
        entries.push_back(std::move(image.value()));
      } else if (image.error().status != Status::not_found) {
        return image.error();  // a vanished image just makes an empty directory
      }
      return entries;
    } catch (...) {
      return Error{Status::io_error, "send_png: out of memory"};
    }
  }

  Result<std::unique_ptr<ferry::ReadHandle>> open_read(const ferry::UserContext&,
                                                       std::string_view path) noexcept override {
    try {
      if (path == "/") return Error{Status::is_a_directory, "is a directory"};
      if (!is_image_path(path)) return Error{Status::not_found, "no such file"};
      const int fd = ::open(image_path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return errno_error(errno, name_);
      struct stat st {};
      if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        return errno_error(e, name_);
      }
      if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return Error{Status::io_error, name_ + ": the image is no longer a regular file"};
      }
      try {
        return std::unique_ptr<ferry::ReadHandle>(
            std::make_unique<PngReadHandle>(fd, static_cast<std::uint64_t>(st.st_size)));
      } catch (...) {
        ::close(fd);
        throw;
      }
    } catch (...) {
      return Error{Status::io_error, "send_png: out of memory"};
    }
  }

 private:
  bool is_image_path(std::string_view path) const {
    return path.size() == name_.size() + 1 && path.front() == '/' && path.substr(1) == name_;
  }

  // The root directory takes the image's time (a directory with one file changes with it).
  Result<FileInfo> root_info() const {
    FileInfo info;
    info.name = "";
    info.type = FileType::directory;
    info.mode = 0555;
    info.readable = true;
    info.writable = false;
    struct stat st {};
    if (::stat(image_path_.c_str(), &st) == 0) info.mtime = seconds(st.st_mtim);
    return info;
  }

  Result<FileInfo> image_info() const {
    struct stat st {};
    if (::stat(image_path_.c_str(), &st) != 0) return errno_error(errno, name_);
    if (!S_ISREG(st.st_mode)) return Error{Status::io_error, name_ + ": the image is no longer a regular file"};
    FileInfo info;
    info.name = name_;
    info.type = FileType::file;
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.mtime = seconds(st.st_mtim);
    info.mode = 0444;
    info.readable = true;
    info.writable = false;
    return info;
  }

  std::string image_path_;
  std::string name_;
};

std::string basename_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

bool valid_file_name(std::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  }
  return true;
}

// Checks the image at start-up; "" when it is a usable PNG, else the reason (it follows
// "key 'image' " in the message).
std::string check_image(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    const int e = errno;
    if (e == ENOENT) return "names no such file: " + path;
    return "names a file that cannot be read: " + path + ": " + std::strerror(e);
  }
  if (!S_ISREG(st.st_mode)) return "is not a regular file: " + path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "names a file that cannot be read: " + path + ": " + std::strerror(errno);
  std::array<unsigned char, png_head_size> head{};
  std::size_t got = 0;
  while (got < head.size()) {
    const ssize_t n = ::pread(fd, head.data() + got, head.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (!looks_like_png(std::span<const unsigned char>(head.data(), got))) return "is not a PNG image: " + path;
  return {};
}

ferry::PluginObject* create(const ferry::PluginOptions& options, std::string* error) noexcept {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  try {
    ferry::OptionReader reader(options);
    const std::string configured = reader.required_string("image");
    const std::string image = reader.resolve(configured);
    const std::string name = reader.optional_string("name", basename_of(configured));
    if (!reader.finish()) {
      *error = reader.error();
      return nullptr;
    }
    if (const std::string reason = check_image(image); !reason.empty()) {
      reader.fail_key("image", reason);
      *error = reader.error();
      return nullptr;
    }
    // Checked after the image: a regular file's own basename is always a usable default.
    if (!valid_file_name(name)) {
      reader.fail_key("name", "must be a plain file name (not empty, '.' or '..', no '/' or control characters)");
      *error = reader.error();
      return nullptr;
    }
    return new PngProvider(image, name);
  } catch (const std::exception& e) {
    *error = std::string("send_png: ") + e.what();
  } catch (...) {
    *error = "send_png: unexpected failure";
  }
  return nullptr;
}

// Once ferryd is confined: the image, opened for every download.
std::vector<ferry::PathNeed> confinement_paths(const ferry::PluginOptions& options) noexcept {
  try {
    ferry::OptionReader reader(options);
    const std::string image = reader.optional_string("image", "");
    if (image.empty()) return {};
    return {ferry::PathNeed{reader.resolve(image), ferry::path_read, "image"}};
  } catch (...) {
    return {};
  }
}

const ferry::PluginDescriptor descriptor{ferry::plugin_api_version, ferry::PluginKind::file_provider, "send_png",
                                         "0.1.0", &create, &confinement_paths};

const ferry::PluginDescriptor* entry() { return &descriptor; }

}  // namespace

FERRY_PLUGIN(entry)
