// Virtual path normalisation (see path.hpp).
#include "vfs/path.hpp"

#include <vector>

namespace ferry::vfs {

std::optional<std::string> normalize(std::string_view cwd, std::string_view argument) {
  if (argument.find('\0') != std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> parts;
  auto push_components = [&parts](std::string_view path) {
    while (!path.empty()) {
      std::size_t slash = path.find('/');
      std::string_view part = path.substr(0, slash);
      path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
      if (part.empty() || part == ".") continue;
      if (part == "..") {
        if (!parts.empty()) parts.pop_back();  // ".." at the root stays at the root
        continue;
      }
      parts.push_back(part);
    }
  };
  if (argument.empty() || argument.front() != '/') push_components(cwd);
  push_components(argument);

  std::string out;
  for (std::string_view part : parts) {
    out.push_back('/');
    out.append(part);
  }
  if (out.empty()) out.push_back('/');
  return out;
}

std::string_view base_name(std::string_view normalized) {
  std::size_t slash = normalized.rfind('/');
  return slash == std::string_view::npos ? normalized : normalized.substr(slash + 1);
}

std::string_view parent_path(std::string_view normalized) {
  std::size_t slash = normalized.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return normalized.substr(0, slash);
}

}  // namespace ferry::vfs
