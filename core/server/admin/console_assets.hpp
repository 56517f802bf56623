// The web console's files (web/), compiled into ferryd: nothing to install, and nothing to
// read once ferryd is confined.
#pragma once

#include <string_view>

namespace ferry::admin {

struct ConsoleAsset {
  std::string_view path;  // "/index.html"
  std::string_view type;  // Content-Type
  std::string_view body;
};

// nullptr when there is no such file.
const ConsoleAsset* find_console_asset(std::string_view path);

}  // namespace ferry::admin
