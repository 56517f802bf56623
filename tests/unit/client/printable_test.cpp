// printable: what the CLI writes to the terminal from a server's names and replies.
#include "printable.hpp"

#include <catch2/catch.hpp>
#include <string>

using ferry::client::printable;

TEST_CASE("plain text and UTF-8 pass unchanged", "[client][printable]") {
  CHECK(printable("") == "");
  CHECK(printable("226 Transfer complete.") == "226 Transfer complete.");
  CHECK(printable("r\xC3\xA9sum\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\x81 \xE6\x97\xA5\xE6\x9C\xAC") ==
        "r\xC3\xA9sum\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\x81 \xE6\x97\xA5\xE6\x9C\xAC");
  CHECK(printable("back\\slash") == "back\\slash");
}

TEST_CASE("escape sequences that rewrite the screen or the window title are escaped", "[client][printable]") {
  CHECK(printable("wipe\x1b[2K\rline") == "wipe\\x1b[2K\\x0dline");
  CHECK(printable("\x1b]0;TITLE\x07") == "\\x1b]0;TITLE\\x07");
  CHECK(printable("550 \x1b[31mgone") == "550 \\x1b[31mgone");
}

TEST_CASE("every byte below 0x20 and DEL are escaped as \\xNN, tab as \\t", "[client][printable]") {
  CHECK(printable(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(printable("\n\x01\x1f\x7f") == "\\x0a\\x01\\x1f\\x7f");
  CHECK(printable("a\tb") == "a\\tb");
  CHECK(printable(" ~") == " ~");
}

TEST_CASE("C1 controls are escaped, in UTF-8 and as lone bytes", "[client][printable]") {
  CHECK(printable("\xC2\x9B" "31m") == "\\xc2\\x9b31m");  // U+009B, CSI
  CHECK(printable("\xC2\x80") == "\\xc2\\x80");
  CHECK(printable("\xC2\xA0") == "\xC2\xA0");  // U+00A0, the first code point after C1
  CHECK(printable("\x9B" "2J") == "\\x9b2J");
}

TEST_CASE("bytes that are not valid UTF-8 are escaped one by one", "[client][printable]") {
  CHECK(printable("caf\xE9") == "caf\\xe9");                         // Latin-1
  CHECK(printable("\xC3") == "\\xc3");                               // truncated
  CHECK(printable("\xE2\x82") == "\\xe2\\x82");                      // truncated in the middle
  CHECK(printable("\xC0\xAF") == "\\xc0\\xaf");                      // overlong '/'
  CHECK(printable("\xED\xA0\x80") == "\\xed\\xa0\\x80");             // a surrogate
  CHECK(printable("\xF4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");    // beyond U+10FFFF
  CHECK(printable("\xE2\x1b[2K") == "\\xe2\\x1b[2K");                // a lead byte does not swallow ESC
}
