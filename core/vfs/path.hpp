// Virtual path normalisation: turns what a client typed into an absolute path that can
// never climb above "/". Pure string work; the file system is never consulted.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ferry::vfs {

// Resolves `argument` against `cwd` (itself normalised). Collapses "//", ".", "..",
// and trailing "/". ".." at the root stays at the root. Returns nullopt for a name that
// contains a NUL byte. The result starts with '/' and has no trailing '/' (except "/").
std::optional<std::string> normalize(std::string_view cwd, std::string_view argument);

// The last component of a normalised path ("" for "/").
std::string_view base_name(std::string_view normalized);
// The parent of a normalised path ("/" for "/" and for "/x").
std::string_view parent_path(std::string_view normalized);

}  // namespace ferry::vfs
