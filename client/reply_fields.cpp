// Parsers for the fields of FEAT, HASH, XSHA*, and SIZE replies.
#include "reply_fields.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ferry::client {

namespace {

std::string_view trim(std::string_view text) {
  const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!text.empty() && space(text.front())) text.remove_prefix(1);
  while (!text.empty() && space(text.back())) text.remove_suffix(1);
  return text;
}

// Splits off the first space-separated word of `text`.
std::string_view next_word(std::string_view& text) {
  text = trim(text);
  const std::size_t space = text.find(' ');
  const std::string_view word = text.substr(0, space);
  text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
  return word;
}

std::optional<std::uint64_t> to_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> to_hex_digest(std::string_view word) {
  // 32 hex digits is MD5, the shortest digest we ask for.
  if (word.size() < 32 || word.size() % 2 != 0) return std::nullopt;
  std::string hex;
  hex.reserve(word.size());
  for (char c : word) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return hex;
}

}  // namespace

bool Features::has(std::string_view keyword) const { return entries.find(keyword) != entries.end(); }

std::string_view Features::params(std::string_view keyword) const {
  const auto it = entries.find(keyword);
  return it == entries.end() ? std::string_view{} : std::string_view(it->second);
}

bool Features::lists(std::string_view keyword, std::string_view item) const {
  std::string_view rest = params(keyword);
  const auto same = [](char a, char b) {
    return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
  };
  while (!rest.empty()) {
    const std::size_t semicolon = rest.find(';');
    std::string_view entry = trim(rest.substr(0, semicolon));
    rest = semicolon == std::string_view::npos ? std::string_view{} : rest.substr(semicolon + 1);
    if (!entry.empty() && entry.back() == '*') entry.remove_suffix(1);
    if (std::equal(entry.begin(), entry.end(), item.begin(), item.end(), same)) return true;
  }
  return false;
}

Features parse_features(const ftp::Reply& reply) {
  Features features;
  if (reply.code != 211 || reply.lines.size() < 2) return features;
  // The first line ("Extensions supported:") and the last ("End") carry no feature.
  for (std::size_t i = 1; i + 1 < reply.lines.size(); ++i) {
    std::string_view line = trim(reply.lines[i]);
    if (line.empty()) continue;
    std::string keyword(next_word(line));
    std::transform(keyword.begin(), keyword.end(), keyword.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    features.entries.insert_or_assign(std::move(keyword), std::string(trim(line)));
  }
  return features;
}

std::optional<HashReply> parse_hash_reply(std::string_view text) {
  HashReply reply;
  reply.algorithm = std::string(next_word(text));
  const std::string_view range = next_word(text);
  const std::size_t dash = range.find('-');
  if (reply.algorithm.empty() || dash == std::string_view::npos) return std::nullopt;
  const auto start = to_number(range.substr(0, dash));
  const auto end = to_number(range.substr(dash + 1));
  auto hex = to_hex_digest(next_word(text));
  if (!start || !end || !hex) return std::nullopt;
  reply.range_start = *start;
  reply.range_end = *end;
  reply.hex = std::move(*hex);
  return reply;
}

std::optional<std::string> parse_xhash_reply(std::string_view text) { return to_hex_digest(next_word(text)); }

std::optional<std::uint64_t> parse_size_reply(std::string_view text) { return to_number(trim(text)); }

std::optional<std::string> parse_pwd_reply(std::string_view text) {
  const std::size_t open = text.find('"');
  if (open == std::string_view::npos) return std::nullopt;
  std::string name;
  for (std::size_t i = open + 1; i < text.size(); ++i) {
    if (text[i] != '"') {
      name += text[i];
    } else if (i + 1 < text.size() && text[i + 1] == '"') {
      name += '"';
      ++i;
    } else {
      return name;
    }
  }
  return std::nullopt;  // no closing quote
}

}  // namespace ferry::client
