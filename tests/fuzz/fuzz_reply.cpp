// Fuzzes what the client parses out of a server's bytes: the control connection's reply
// reader (ftp::ReplyParser, fed line by line as FtpClient::read_reply does), the fields it
// takes out of replies (FEAT, HASH / XSHA*, SIZE, MDTM, PASV, EPSV) and the MLSD / LIST
// listing lines of the data connection.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ftp/address.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "fuzz_check.hpp"
#include "reply_fields.hpp"

using namespace ferry;

namespace {

bool is_hex_lower(std::string_view text) {
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void check_timeval(std::string_view text) {
  const auto seconds = ftp::parse_timeval(text);
  if (!seconds) return;
  // Formatting and parsing again is the identity (within the years 0000-9999).
  const std::string formatted = ftp::format_timeval(*seconds);
  if (formatted.size() == 14) FUZZ_CHECK(ftp::parse_timeval(formatted) == seconds);
}

// The fields a client takes out of the text of one reply.
void check_fields(const ftp::Reply& reply) {
  const std::string text = reply.text();

  const client::Features features = client::parse_features(reply);
  for (const auto& [keyword, params] : features.entries) {
    FUZZ_CHECK(!keyword.empty() && features.has(keyword));
    for (char c : keyword) FUZZ_CHECK(!(c >= 'a' && c <= 'z') && c != ' ');
    FUZZ_CHECK(params.empty() || (params.front() != ' ' && params.back() != ' '));
  }

  if (const auto hash = client::parse_hash_reply(text)) {
    FUZZ_CHECK(!hash->algorithm.empty());
    FUZZ_CHECK(hash->hex.size() >= 32 && hash->hex.size() % 2 == 0 && is_hex_lower(hash->hex));
  }
  if (const auto hex = client::parse_xhash_reply(text)) {
    FUZZ_CHECK(hex->size() >= 32 && hex->size() % 2 == 0 && is_hex_lower(*hex));
  }
  if (const auto size = client::parse_size_reply(text)) {
    FUZZ_CHECK(client::parse_size_reply(std::to_string(*size)) == size);
  }
  check_timeval(text);

  if (const auto pasv = ftp::parse_pasv_reply(text)) {
    const auto formatted = ftp::parse_pasv_reply(ftp::format_pasv(pasv->host, pasv->port));
    FUZZ_CHECK(formatted && formatted->host == pasv->host && formatted->port == pasv->port);
  }
  if (const auto port = ftp::parse_epsv_reply(text)) {
    FUZZ_CHECK(*port != 0);
    FUZZ_CHECK(ftp::parse_epsv_reply(ftp::format_epsv(*port)) == port);
  }
}

void check_listing_line(std::string_view line) {
  if (const auto info = ftp::parse_mlsx_line(line)) {
    FUZZ_CHECK(!info->name.empty());
    // What the server would send for it parses back to the same entry.
    std::string out;
    ftp::append_mlsx_line(out, *info);
    const auto again = ftp::parse_mlsx_line(out);
    FUZZ_CHECK(again && again->name == info->name);
    FUZZ_CHECK((again->type == FileType::directory) == (info->type == FileType::directory));
    if (info->type != FileType::directory) FUZZ_CHECK(again->size == info->size);
    FUZZ_CHECK(again->readable == info->readable && again->writable == info->writable);
    if (ftp::format_timeval(info->mtime).size() == 14) FUZZ_CHECK(again->mtime == info->mtime);
  }
  if (const auto info = ftp::parse_list_line(line)) {
    FUZZ_CHECK(!info->name.empty() && info->mode <= 0777);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> lines;
  for (std::size_t start = 0; start <= input.size();) {
    std::size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    lines.push_back(input.substr(start, end - start));
    start = end + 1;
  }

  ftp::ReplyParser parser;
  for (std::string_view line : lines) {
    check_listing_line(line);
    const auto step = parser.feed(line);
    FUZZ_CHECK(!(step.error && step.reply));
    if (step.error) {
      parser = ftp::ReplyParser{};  // the client gives up on the connection
      continue;
    }
    if (!step.reply) continue;
    const ftp::Reply& reply = *step.reply;
    FUZZ_CHECK(reply.code >= 0 && reply.code <= 999 && !reply.lines.empty());
    for (const std::string& text : reply.lines) FUZZ_CHECK(text.find('\n') == std::string::npos);

    // The server's formatting of the same reply reads back as the same reply (a CR inside
    // a line is the one thing the formatter changes: it would end the line early).
    ftp::ReplyParser reader;
    std::optional<ftp::Reply> again;
    const std::string formatted = ftp::format_reply(reply.code, reply.text());
    for (std::size_t start = 0; start < formatted.size();) {
      const std::size_t end = formatted.find("\r\n", start);
      FUZZ_CHECK(end != std::string::npos && !again);
      const auto back = reader.feed(std::string_view(formatted).substr(start, end - start + 2));
      FUZZ_CHECK(!back.error);
      again = back.reply;
      start = end + 2;
    }
    FUZZ_CHECK(again && again->code == reply.code && again->lines.size() == reply.lines.size());
    for (std::size_t i = 0; i < reply.lines.size(); ++i) {
      std::string expected = reply.lines[i];
      for (char& c : expected) c = c == '\r' ? ' ' : c;
      FUZZ_CHECK(again->lines[i] == expected);
    }
    check_fields(reply);
  }
  return 0;
}
