// printable(): text from the server made safe to write to a terminal. File names and reply
// texts are the server's words; written raw, an escape sequence in them could rewrite what
// the user sees (ESC[2K, a bare CR) or set the window title (ESC]0;...BEL).
#pragma once

#include <string>
#include <string_view>

namespace ferry::client {

// Escapes every control character as \xNN (tab as \t): bytes below 0x20 and 0x7f, C1
// controls (U+0080-U+009F, which some terminals obey as ESC [ and friends) and each byte
// that is not part of valid UTF-8 (a lone 0x9b is CSI on an 8-bit terminal). Valid UTF-8
// text, accents and all, passes unchanged. Pure; for what is printed only, never for names
// used to open or create files.
std::string printable(std::string_view text);

}  // namespace ferry::client
