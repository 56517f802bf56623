// The pure FTP command parser (see command.hpp).
#include "ftp/command.hpp"

#include <cctype>

namespace ferry::ftp {

namespace {

constexpr unsigned char telnet_iac = 255;
// Telnet commands that take an option byte (WILL, WONT, DO, DONT).
bool takes_option(unsigned char c) { return c >= 251 && c <= 254; }

// Longest verb we accept: XSHA256/XSHA512 are 7; leave room for vendor commands.
constexpr std::size_t max_verb_length = 16;

}  // namespace

ParseResult parse_command(std::string_view line) {
  ParseResult result;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);

  // Drop telnet IAC sequences (curl and others send IAC IP IAC DM before ABOR).
  std::string clean;
  clean.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    auto c = static_cast<unsigned char>(line[i]);
    if (c == telnet_iac && i + 1 < line.size()) {
      auto next = static_cast<unsigned char>(line[i + 1]);
      if (next == telnet_iac) {  // escaped 0xFF data byte
        clean.push_back(static_cast<char>(telnet_iac));
        ++i;
      } else if (next >= 240) {  // a telnet command (IP, DM, ...), with its option byte if any
        i += takes_option(next) ? 2 : 1;
      }
      // Otherwise a stray IAC (its DM may have travelled as TCP urgent data): drop the IAC only.
      continue;
    }
    if (c < 0x20 || c == 0x7f) {
      result.error = ParseError::bad_characters;
      return result;
    }
    clean.push_back(static_cast<char>(c));
  }

  std::string_view rest(clean);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // tolerate leading blanks
  if (rest.empty()) {
    result.error = ParseError::empty;
    return result;
  }
  std::size_t space = rest.find(' ');
  std::string_view verb = rest.substr(0, space);
  if (verb.size() > max_verb_length) {
    result.error = ParseError::bad_verb;
    return result;
  }
  for (char c : verb) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      result.error = ParseError::bad_verb;
      return result;
    }
    result.command.verb.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (space != std::string_view::npos) result.command.argument.assign(rest.substr(space + 1));
  return result;
}

std::string to_upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace ferry::ftp
