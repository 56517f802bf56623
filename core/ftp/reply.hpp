// FTP replies: formatting (server side) and incremental parsing (client side).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::ftp {

// Formats a reply. A text with '\n' becomes a multi-line reply (RFC 959 4.2):
// "211-first\r\n second\r\n211 last\r\n". Inner lines are indented by one space so that
// none can be mistaken for the closing line. CR and LF never appear inside a line.
std::string format_reply(int code, std::string_view text);

// Appends the same to `out` without a temporary (hot path).
void append_reply(std::string& out, int code, std::string_view text);

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // text of each line without the code prefix or CR LF
  // The text of all lines joined with '\n'.
  std::string text() const;
  bool positive_preliminary() const noexcept { return code >= 100 && code < 200; }
  bool positive_completion() const noexcept { return code >= 200 && code < 300; }
  bool positive_intermediate() const noexcept { return code >= 300 && code < 400; }
};

// Incremental reply parser for clients: feed it lines as they arrive (CR LF stripped or
// not); it returns a Reply once the last line of a (possibly multi-line) reply is in.
// A line that is not a valid reply line outside a multi-line reply is an error.
class ReplyParser {
 public:
  struct Step {
    std::optional<Reply> reply;  // set when complete
    bool error = false;          // set on a malformed line
  };
  Step feed(std::string_view line);

 private:
  Reply pending_;
  bool in_multiline_ = false;
};

// Quotes a path for a 257 reply: embedded '"' doubled (RFC 959 appendix II).
std::string quote_path(std::string_view path);

}  // namespace ferry::ftp
