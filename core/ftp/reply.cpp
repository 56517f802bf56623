// FTP reply formatting and the client's incremental reply parser (see reply.hpp).
#include "ftp/reply.hpp"

#include <cctype>
#include <charconv>

namespace ferry::ftp {

namespace {

void append_code(std::string& out, int code) {
  char buf[4] = {static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10),
                 static_cast<char>('0' + code % 10), 0};
  out.append(buf, 3);
}

// Appends one line of text with any stray CR or LF replaced, so a file name can never
// inject a reply line.
void append_clean(std::string& out, std::string_view text) {
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
}

bool is_code(std::string_view line) {
  return line.size() >= 3 && std::isdigit(static_cast<unsigned char>(line[0])) &&
         std::isdigit(static_cast<unsigned char>(line[1])) && std::isdigit(static_cast<unsigned char>(line[2]));
}

int code_of(std::string_view line) {
  int code = 0;
  std::from_chars(line.data(), line.data() + 3, code);
  return code;
}

}  // namespace

void append_reply(std::string& out, int code, std::string_view text) {
  std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) {
    append_code(out, code);
    out.push_back(' ');
    append_clean(out, text);
    out.append("\r\n");
    return;
  }
  // Multi-line: "ccc-first", " inner"..., "ccc last".
  append_code(out, code);
  out.push_back('-');
  append_clean(out, text.substr(0, newline));
  out.append("\r\n");
  text.remove_prefix(newline + 1);
  while (true) {
    newline = text.find('\n');
    if (newline == std::string_view::npos) break;
    out.push_back(' ');
    append_clean(out, text.substr(0, newline));
    out.append("\r\n");
    text.remove_prefix(newline + 1);
  }
  append_code(out, code);
  out.push_back(' ');
  append_clean(out, text);
  out.append("\r\n");
}

std::string format_reply(int code, std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  append_reply(out, code, text);
  return out;
}

std::string Reply::text() const {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i) out.push_back('\n');
    out += lines[i];
  }
  return out;
}

ReplyParser::Step ReplyParser::feed(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  Step step;
  if (!in_multiline_) {
    if (!is_code(line) || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      step.error = true;
      return step;
    }
    pending_ = Reply{};
    pending_.code = code_of(line);
    pending_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    if (line.size() > 3 && line[3] == '-') {
      in_multiline_ = true;
      return step;
    }
    step.reply = std::move(pending_);
    return step;
  }
  // Inside a multi-line reply the closing line is "ccc " (or just "ccc") with the same code.
  if (is_code(line) && code_of(line) == pending_.code && (line.size() == 3 || line[3] == ' ')) {
    pending_.lines.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    in_multiline_ = false;
    step.reply = std::move(pending_);
    return step;
  }
  if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  pending_.lines.emplace_back(line);
  return step;
}

std::string quote_path(std::string_view path) {
  std::string out = "\"";
  for (char c : path) {
    if (c == '"') out.push_back('"');
    out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  }
  out.push_back('"');
  return out;
}

}  // namespace ferry::ftp
