// Fuzzes the virtual path normaliser (vfs::normalize, base_name, parent_path) and the
// client's ftp:// URL parser whose percent-decoded path ends up as such an argument.
// Input: "CWD\nARGUMENT" (without a newline, the whole input is the argument and the
// working directory is "/").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "url.hpp"
#include "vfs/path.hpp"

using namespace ferry;

namespace {

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// Absolute, no empty, "." or ".." component, no trailing '/' except for "/" itself.
void check_normal(std::string_view path) {
  FUZZ_CHECK(!path.empty() && path.front() == '/');
  FUZZ_CHECK(path.find('\0') == std::string_view::npos);
  if (path == "/") return;
  FUZZ_CHECK(path.back() != '/');
  std::string_view rest = path.substr(1);
  while (true) {
    const std::size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    FUZZ_CHECK(!part.empty() && part != "." && part != "..");
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
}

bool has_dotdot_component(std::string_view path) {
  while (true) {
    const std::size_t slash = path.find('/');
    if (path.substr(0, slash) == "..") return true;
    if (slash == std::string_view::npos) return false;
    path.remove_prefix(slash + 1);
  }
}

void check_path(std::string_view cwd_text, std::string_view argument) {
  const auto cwd_normal = vfs::normalize("/", cwd_text);
  const std::string cwd = cwd_normal ? *cwd_normal : "/";
  check_normal(cwd);

  const auto result = vfs::normalize(cwd, argument);
  FUZZ_CHECK(result.has_value() == (argument.find('\0') == std::string_view::npos));
  if (!result) return;
  const std::string& path = *result;
  check_normal(path);

  // Idempotent, and an absolute result does not depend on the working directory.
  FUZZ_CHECK(vfs::normalize("/", path) == path);
  FUZZ_CHECK(vfs::normalize(cwd, path) == path);
  FUZZ_CHECK(vfs::normalize(path, "") == path);
  FUZZ_CHECK(vfs::normalize(path, ".") == path);
  // A relative argument means the same as the working directory joined with it.
  const bool absolute = !argument.empty() && argument.front() == '/';
  FUZZ_CHECK(vfs::normalize("/", absolute ? std::string(argument) : cwd + "/" + std::string(argument)) == path);
  // Without "..", a relative argument never leaves the working directory.
  if (!absolute && !has_dotdot_component(argument) && cwd != "/") {
    FUZZ_CHECK(path == cwd || (path.size() > cwd.size() && path.compare(0, cwd.size(), cwd) == 0 &&
                               path[cwd.size()] == '/'));
  }

  // Parent and base name take the path apart again.
  const std::string_view base = vfs::base_name(path);
  const std::string_view parent = vfs::parent_path(path);
  check_normal(parent);
  FUZZ_CHECK(vfs::normalize(path, "..") == std::string(parent));
  if (path == "/") {
    FUZZ_CHECK(base.empty() && parent == "/");
  } else {
    FUZZ_CHECK(!base.empty() && base.find('/') == std::string_view::npos);
    FUZZ_CHECK((parent == "/" ? std::string("/") : std::string(parent) + "/") + std::string(base) == path);
  }
}

void check_url(std::string_view text) {
  try {
    const client::FtpUrl url = client::parse_url(text);
    FUZZ_CHECK(!url.host.empty() && url.port != 0);
    FUZZ_CHECK(!url.path.empty() && url.path.front() == '/');
    // Decoded parts never carry a control character into an FTP command.
    for (char c : url.path) FUZZ_CHECK(!is_control(c));
    for (char c : url.user) FUZZ_CHECK(!is_control(c));
    if (url.password) {
      for (char c : *url.password) FUZZ_CHECK(!is_control(c));
    }
    for (char c : url.host) FUZZ_CHECK(!is_control(c) && c != '/' && c != ' ');
    check_path("/", url.path);
  } catch (const client::UrlError&) {
  }

  // Percent-encoding every byte and decoding it gives the bytes back.
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string encoded;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    encoded += {'%', hex[u >> 4], hex[u & 15]};
  }
  FUZZ_CHECK(client::percent_decode(encoded) == text);
  try {
    FUZZ_CHECK(client::percent_decode(text).size() <= text.size());
  } catch (const client::UrlError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  if (newline == std::string_view::npos) {
    check_path("/", input);
  } else {
    check_path(input.substr(0, newline), input.substr(newline + 1));
  }
  check_url(input);
  return 0;
}
