// The client-side contracts of core/ftp: ReplyParser, PASV/EPSV reply parsing, and the
// MLSD / LIST line parsers, as ferry_client_lib relies on them.
#include <catch2/catch.hpp>

#include "ftp/address.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"

using namespace ferry::ftp;

namespace {

// Feeds lines until a reply completes; fails the test on a parse error.
Reply parse_all(std::initializer_list<std::string_view> lines) {
  ReplyParser parser;
  std::size_t fed = 0;
  for (std::string_view line : lines) {
    auto step = parser.feed(line);
    ++fed;
    REQUIRE_FALSE(step.error);
    if (step.reply) {
      REQUIRE(fed == lines.size());  // complete exactly at the last line
      return *step.reply;
    }
  }
  FAIL("reply never completed");
  return {};
}

std::string trimmed(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  return std::string(text);
}

}  // namespace

// ---------------------------------------------------------------------------------------
// ReplyParser

TEST_CASE("ReplyParser: a single-line reply completes at once", "[ftp][reply]") {
  const Reply reply = parse_all({"220 ferry ready\r\n"});
  CHECK(reply.code == 220);
  REQUIRE(reply.lines.size() == 1);
  CHECK(reply.lines[0] == "ferry ready");
  CHECK(reply.text() == "ferry ready");
  CHECK(reply.positive_completion());
}

TEST_CASE("ReplyParser: CR LF is optional and a bare code is a reply", "[ftp][reply]") {
  CHECK(parse_all({"331 Password required"}).code == 331);
  const Reply bare = parse_all({"200"});
  CHECK(bare.code == 200);
  CHECK(bare.text().empty());
}

TEST_CASE("ReplyParser: reply classes", "[ftp][reply]") {
  CHECK(parse_all({"150 Opening"}).positive_preliminary());
  CHECK(parse_all({"350 Restarting"}).positive_intermediate());
  const Reply refused = parse_all({"550 No such file"});
  CHECK_FALSE(refused.positive_completion());
  CHECK_FALSE(refused.positive_preliminary());
}

TEST_CASE("ReplyParser: a multi-line reply ends at the line with the same code and a space", "[ftp][reply]") {
  const Reply reply =
      parse_all({"211-Extensions supported:\r\n", " MLST type*;size*;modify*;\r\n", " SIZE\r\n", "211 End\r\n"});
  CHECK(reply.code == 211);
  REQUIRE(reply.lines.size() == 4);
  CHECK(reply.lines[0] == "Extensions supported:");
  CHECK(trimmed(reply.lines[1]) == "MLST type*;size*;modify*;");
  CHECK(trimmed(reply.lines[2]) == "SIZE");
  CHECK(reply.lines[3] == "End");
}

TEST_CASE("ReplyParser: inner lines that start with digits do not end a multi-line reply", "[ftp][reply]") {
  // RFC 959 section 4.2's own example, plus the same code followed by '-' and another code.
  const Reply reply = parse_all({"123-First line", "Second line", "  234 A line beginning with numbers",
                                 "234 another code at the start", "123-same code with a hyphen", "123 The last line"});
  CHECK(reply.code == 123);
  REQUIRE(reply.lines.size() == 6);
  CHECK(reply.lines[0] == "First line");
  CHECK(reply.lines[1] == "Second line");
  CHECK(trimmed(reply.lines[2]) == "234 A line beginning with numbers");
  CHECK(reply.lines[5] == "The last line");
}

TEST_CASE("ReplyParser: parses consecutive replies with one parser", "[ftp][reply]") {
  ReplyParser parser;
  auto first = parser.feed("230-Welcome");
  CHECK_FALSE(first.reply);
  auto second = parser.feed("230 Logged in");
  REQUIRE(second.reply);
  CHECK(second.reply->lines.size() == 2);
  auto third = parser.feed("200 OK");
  REQUIRE(third.reply);
  CHECK(third.reply->code == 200);
  CHECK(third.reply->lines.size() == 1);
}

TEST_CASE("ReplyParser: malformed lines outside a multi-line reply are errors", "[ftp][reply]") {
  for (std::string_view line : {"", "hello", "22 short", "2x0 letters", "2200 four digits", "220x ready"}) {
    ReplyParser parser;
    INFO("line: '" << line << "'");
    const auto step = parser.feed(line);
    CHECK(step.error);
    CHECK_FALSE(step.reply);
  }
}

TEST_CASE("ReplyParser: format_reply's multi-line output parses back to the same text", "[ftp][reply]") {
  const std::string wire = format_reply(214, "The following commands are recognized:\n226 looks like a code\nEnd");
  ReplyParser parser;
  std::optional<Reply> reply;
  std::size_t start = 0;
  while (start < wire.size()) {
    const std::size_t end = wire.find("\r\n", start);
    REQUIRE(end != std::string::npos);
    auto step = parser.feed(std::string_view(wire).substr(start, end - start));
    REQUIRE_FALSE(step.error);
    start = end + 2;
    if (step.reply) reply = step.reply;
  }
  REQUIRE(reply);
  CHECK(start == wire.size());
  CHECK(reply->code == 214);
  CHECK(reply->text() == "The following commands are recognized:\n226 looks like a code\nEnd");
}

// ---------------------------------------------------------------------------------------
// PASV / EPSV replies

TEST_CASE("parse_pasv_reply: the address and port of a 227 text", "[ftp][address]") {
  const auto hp = parse_pasv_reply("Entering Passive Mode (127,0,0,1,195,80).");
  REQUIRE(hp);
  CHECK(hp->host == "127.0.0.1");
  CHECK(hp->port == 195 * 256 + 80);
}

TEST_CASE("parse_pasv_reply: the numbers may appear anywhere, without parentheses", "[ftp][address]") {
  const auto hp = parse_pasv_reply("Entering Passive Mode 10,1,2,3,4,1");
  REQUIRE(hp);
  CHECK(hp->host == "10.1.2.3");
  CHECK(hp->port == 1025);
  CHECK(format_pasv("192.168.1.2", 50000).find("192,168,1,2,195,80") != std::string::npos);
  const auto round_trip = parse_pasv_reply(format_pasv("192.168.1.2", 50000));
  REQUIRE(round_trip);
  CHECK(round_trip->host == "192.168.1.2");
  CHECK(round_trip->port == 50000);
}

TEST_CASE("parse_pasv_reply: refuses out-of-range or missing numbers", "[ftp][address]") {
  CHECK_FALSE(parse_pasv_reply("Entering Passive Mode (256,0,0,1,4,1)"));
  CHECK_FALSE(parse_pasv_reply("Entering Passive Mode (127,0,0,1,4,256)"));
  CHECK_FALSE(parse_pasv_reply("Entering Passive Mode (127,0,0,1,4)"));
  CHECK_FALSE(parse_pasv_reply("Entering Passive Mode"));
  CHECK_FALSE(parse_pasv_reply(""));
}

TEST_CASE("parse_epsv_reply: the port of a 229 text", "[ftp][address]") {
  CHECK(parse_epsv_reply("Entering Extended Passive Mode (|||50001|)") == 50001);
  CHECK(parse_epsv_reply(format_epsv(6446)) == 6446);
  // RFC 2428 lets the server choose another delimiter character.
  CHECK(parse_epsv_reply("Entering Extended Passive Mode (!!!2121!)") == 2121);
}

TEST_CASE("parse_epsv_reply: refuses malformed texts", "[ftp][address]") {
  CHECK_FALSE(parse_epsv_reply("Entering Extended Passive Mode"));
  CHECK_FALSE(parse_epsv_reply("Entering Extended Passive Mode (|||abc|)"));
  CHECK_FALSE(parse_epsv_reply("Entering Extended Passive Mode (|||70000|)"));
  CHECK_FALSE(parse_epsv_reply("Entering Extended Passive Mode (|||0|)"));
  CHECK_FALSE(parse_epsv_reply("Entering Extended Passive Mode (|||)"));
}

// ---------------------------------------------------------------------------------------
// MLSD / LIST lines

TEST_CASE("parse_mlsx_line: facts and name of a file", "[ftp][listing]") {
  const auto info = parse_mlsx_line("type=file;size=1234;modify=20261125101100;perm=r; ferry.png");
  REQUIRE(info);
  CHECK(info->name == "ferry.png");
  CHECK(info->type == ferry::FileType::file);
  CHECK(info->size == 1234);
  CHECK(info->mtime == parse_timeval("20261125101100").value());
}

TEST_CASE("parse_mlsx_line: directories, case-insensitive facts, names with spaces", "[ftp][listing]") {
  const auto dir = parse_mlsx_line("type=dir;modify=20200101000000; pub");
  REQUIRE(dir);
  CHECK(dir->type == ferry::FileType::directory);
  CHECK(dir->name == "pub");
  CHECK(dir->mtime == 1577836800);

  const auto spaced = parse_mlsx_line("Type=File;Size=5; my  file.txt");
  REQUIRE(spaced);
  CHECK(spaced->type == ferry::FileType::file);
  CHECK(spaced->size == 5);
  CHECK(spaced->name == "my  file.txt");
}

TEST_CASE("parse_mlsx_line: a line without the facts/name separator is refused", "[ftp][listing]") {
  CHECK_FALSE(parse_mlsx_line(""));
  CHECK_FALSE(parse_mlsx_line("type=file;size=1;"));
}

TEST_CASE("parse_mlsx_line: the unique fact identifies a directory", "[ftp][listing]") {
  CHECK(parse_mlsx_line("type=dir;unique=1a2b; d")->unique_id == 0x1a2b);
  // Another server's opaque form (ProFTPD) still gives one stable, non-zero identity.
  const auto other = parse_mlsx_line("type=dir;unique=803U2A0003; d");
  REQUIRE(other);
  CHECK(other->unique_id != 0);
  CHECK(other->unique_id == parse_mlsx_line("Type=dir;UNIQUE=803U2A0003; e")->unique_id);
  CHECK(other->unique_id != parse_mlsx_line("type=dir;unique=803U2A0004; d")->unique_id);
  CHECK(parse_mlsx_line("type=dir; d")->unique_id == 0);
}

TEST_CASE("parse_mlsx_line: round trip of append_mlsx_line", "[ftp][listing]") {
  ferry::FileInfo original;
  original.name = "report 2024.pdf";
  original.type = ferry::FileType::file;
  original.size = 987654321;
  original.mtime = 1700000000;
  original.unique_id = 0xfeedbeef12345678;
  std::string line;
  append_mlsx_line(line, original);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  const auto parsed = parse_mlsx_line(line);
  REQUIRE(parsed);
  CHECK(parsed->name == original.name);
  CHECK(parsed->type == original.type);
  CHECK(parsed->size == original.size);
  CHECK(parsed->mtime == original.mtime);
  CHECK(parsed->unique_id == original.unique_id);
}

TEST_CASE("parse_list_line: a file in ls -l format", "[ftp][listing]") {
  const auto info = parse_list_line("-rw-r--r-- 1 ferry ferry 1234 Jan  1  2020 ferry.png");
  REQUIRE(info);
  CHECK(info->name == "ferry.png");
  CHECK(info->type == ferry::FileType::file);
  CHECK(info->size == 1234);
  CHECK(info->mode == 0644);
  CHECK(info->mtime == 1577836800);  // listings are in UTC
}

TEST_CASE("parse_list_line: directories, symlinks and names with spaces", "[ftp][listing]") {
  const auto dir = parse_list_line("drwxr-xr-x 2 ferry ferry 4096 Mar 14  2021 pub");
  REQUIRE(dir);
  CHECK(dir->type == ferry::FileType::directory);
  CHECK(dir->mode == 0755);
  CHECK(dir->name == "pub");

  const auto link = parse_list_line("lrwxrwxrwx 1 ferry ferry 7 Mar 14  2021 latest -> v1.2.3");
  REQUIRE(link);
  CHECK(link->type == ferry::FileType::symlink);

  const auto spaced = parse_list_line("-rw-r--r-- 1 ferry ferry 5 Mar 14  2021 my  file.txt");
  REQUIRE(spaced);
  CHECK(spaced->name == "my  file.txt");
}

TEST_CASE("parse_list_line: the 'total' header and junk are refused", "[ftp][listing]") {
  CHECK_FALSE(parse_list_line("total 12"));
  CHECK_FALSE(parse_list_line(""));
  CHECK_FALSE(parse_list_line("this is not a listing line"));
}

TEST_CASE("parse_list_line: a symlink line without a name is refused", "[ftp][listing]") {
  // Found by fuzz_reply: the name was "" once " -> target" was cut off.
  CHECK_FALSE(parse_list_line("lrwxrwxrwx 1 ferry ferry 7 Mar  1 00:00  -> target"));
  const auto link = parse_list_line("lrwxrwxrwx 1 ferry ferry 7 Mar  1 00:00 a -> target");
  REQUIRE(link);
  CHECK(link->name == "a");
}

TEST_CASE("parse_list_line: a year that is not four digits is refused", "[ftp][listing]") {
  // Found by fuzz_reply: "year - 1900" overflowed int (undefined behaviour) on a hostile server's line.
  CHECK_FALSE(parse_list_line("-rw-r--r-- 1 ferry ferry 5 Nov 25 -2147483648 name"));
  CHECK_FALSE(parse_list_line("-rw-r--r-- 1 ferry ferry 5 Nov 25 2147483647 name"));
  CHECK_FALSE(parse_list_line("-rw-r--r-- 1 ferry ferry 5 Nov 25 -1 name"));
  const auto old = parse_list_line("-rw-r--r-- 1 ferry ferry 5 Jan  1  1970 name");
  REQUIRE(old);
  CHECK(old->mtime == 0);
}

TEST_CASE("parse_list_line: round trip of append_list_line, recent and old files", "[ftp][listing]") {
  const std::time_t now = 1700000000;
  for (std::int64_t mtime : {std::int64_t{1700000000 - 3600}, std::int64_t{1500000000}}) {
    ferry::FileInfo original;
    original.name = "ferry.png";
    original.size = 42;
    original.mtime = mtime;
    original.mode = 0640;
    std::string line;
    append_list_line(line, original, now);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    INFO(line);
    const auto parsed = parse_list_line(line);
    REQUIRE(parsed);
    CHECK(parsed->name == original.name);
    CHECK(parsed->size == original.size);
    CHECK(parsed->mode == original.mode);
  }
}

TEST_CASE("parse_timeval: with and without fraction, and refusals", "[ftp][listing]") {
  CHECK(parse_timeval("19700101000000") == 0);
  CHECK(parse_timeval("20200101000000.123") == 1577836800);
  CHECK(format_timeval(1577836800) == "20200101000000");
  CHECK_FALSE(parse_timeval("2020010100000"));
  CHECK_FALSE(parse_timeval("2020x101000000"));
}
