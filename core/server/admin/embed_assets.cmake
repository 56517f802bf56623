# Writes OUTPUT, a C++ file holding the console's web files (FILES, comma-separated, in DIR) as
# string literals, for console_assets.hpp. Run at build time (add_custom_command).
string(REPLACE "," ";" FILES "${FILES}")
set(entries "")
set(bodies "")
set(index 0)
foreach(name IN LISTS FILES)
  file(READ "${DIR}/${name}" content)
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  else()
    set(type "application/octet-stream")
  endif()
  string(APPEND bodies "const char body${index}[] = R\"ferry_asset(${content})ferry_asset\";\n")
  string(APPEND entries "    {\"/${name}\", \"${type}\", {body${index}, sizeof body${index} - 1}},\n")
  math(EXPR index "${index} + 1")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from core/server/admin/web/ by embed_assets.cmake: do not edit.
#include \"server/admin/console_assets.hpp\"

namespace ferry::admin {
namespace {
${bodies}
const ConsoleAsset assets[] = {
${entries}};
}  // namespace

const ConsoleAsset* find_console_asset(std::string_view path) {
  for (const ConsoleAsset& asset : assets) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

}  // namespace ferry::admin
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
