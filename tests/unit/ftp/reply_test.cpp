// Reply formatting: single- and multi-line replies as RFC 959 4.2 writes them.
#include <catch2/catch.hpp>

#include "ftp/address.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"

using namespace ferry::ftp;

TEST_CASE("a single-line reply is code, space, text, CR LF", "[ftp][reply]") {
  CHECK(format_reply(200, "OK.") == "200 OK.\r\n");
}

TEST_CASE("a multi-line reply indents inner lines and closes with the code", "[ftp][reply]") {
  CHECK(format_reply(211, "Features:\nEPSV\n211 looks like an end\nEnd") ==
        "211-Features:\r\n EPSV\r\n 211 looks like an end\r\n211 End\r\n");
}

TEST_CASE("CR and LF cannot be smuggled into a reply line", "[ftp][reply]") {
  CHECK(format_reply(550, "a\rb: No such file.") == "550 a b: No such file.\r\n");
  CHECK(quote_path("/we\"ird\r") == "\"/we\"\"ird \"");
}

TEST_CASE("the client parser reads back what the server formats", "[ftp][reply]") {
  ReplyParser parser;
  std::string wire = format_reply(214, "Commands:\nABOR CWD\n214 inner\nHelp OK.");
  std::optional<Reply> reply;
  std::size_t start = 0;
  while (start < wire.size()) {
    std::size_t end = wire.find("\r\n", start);
    auto step = parser.feed(std::string_view(wire).substr(start, end - start));
    REQUIRE_FALSE(step.error);
    if (step.reply) reply = step.reply;
    start = end + 2;
  }
  REQUIRE(reply);
  CHECK(reply->code == 214);
  CHECK(reply->lines.size() == 4);
  CHECK(reply->lines.back() == "Help OK.");
}

TEST_CASE("PASV, EPSV, PORT and EPRT encodings", "[ftp][address]") {
  CHECK(format_pasv("127.0.0.1", 50000) == "Entering Passive Mode (127,0,0,1,195,80).");
  CHECK(format_epsv(50000) == "Entering Extended Passive Mode (|||50000|)");
  auto hp = parse_pasv_reply(format_pasv("10.1.2.3", 2121));
  REQUIRE(hp);
  CHECK(hp->host == "10.1.2.3");
  CHECK(hp->port == 2121);
  CHECK(parse_epsv_reply(format_epsv(65535)) == std::optional<std::uint16_t>(65535));
  CHECK_FALSE(parse_port_argument("127,0,0,1,300,1"));
  CHECK_FALSE(parse_port_argument("127,0,0,1,1"));
  auto eprt = parse_eprt_argument("|2|::1|6275|");
  REQUIRE(eprt);
  CHECK(eprt->host == "::1");
  CHECK_FALSE(parse_eprt_argument("|1|::1|6275|"));
  CHECK_FALSE(parse_eprt_argument("|1|127.0.0.1|0|"));
  CHECK(eprt_network_protocol("|3|x|1|") == 3u);
  CHECK(eprt_network_protocol("!2!::1!6275!") == 2u);
  CHECK_FALSE(eprt_network_protocol("|x|1.2.3.4|5|"));
  CHECK_FALSE(eprt_network_protocol("3|1.2.3.4|5|"));
  CHECK_FALSE(eprt_network_protocol("|"));
}

TEST_CASE("LIST lines use the ls -l layout clients parse", "[ftp][listing]") {
  ferry::FileInfo info;
  info.name = "ferry.png";
  info.size = 17799;
  info.mode = 0444;
  info.mtime = 1795599600;  // 2026-11-25 09:40 UTC
  std::string line;
  append_list_line(line, info, 1795599600 + 3600);
  CHECK(line == "-r--r--r--   1 ferry    ferry           17799 Nov 25 09:40 ferry.png\r\n");
  line.clear();
  append_list_line(line, info, 1795599600 + 400LL * 86400);
  CHECK(line.find("Nov 25  2026 ferry.png") != std::string::npos);
  auto parsed = parse_list_line(line);
  REQUIRE(parsed);
  CHECK(parsed->size == 17799);
  CHECK(parsed->name == "ferry.png");
  line.clear();
  append_list_line(line, info, 1795599600 - 90LL * 86400);  // 90 days in the future: the year, as ls shows it
  CHECK(line.find("Nov 25  2026 ferry.png") != std::string::npos);
}

TEST_CASE("MLSx facts and timevals", "[ftp][listing]") {
  ferry::FileInfo info;
  info.name = "a b.txt";
  info.size = 5;
  info.mtime = 0;
  std::string line;
  append_mlsx_line(line, info);
  CHECK(line == "type=file;size=5;modify=19700101000000;perm=r; a b.txt");
  CHECK(parse_timeval("20261125101100") == std::optional<std::int64_t>(1795601460));
  CHECK(parse_timeval("20261125101100.123") == std::optional<std::int64_t>(1795601460));
  CHECK_FALSE(parse_timeval("2026112510110"));
  CHECK_FALSE(parse_timeval("20261325101100"));
}

TEST_CASE("MLSx fact selection (OPTS MLST)", "[ftp][listing]") {
  CHECK(parse_mlst_facts("Type;SIZE;bogus;") == (fact_type | fact_size));
  CHECK(parse_mlst_facts("") == 0u);
  CHECK(format_mlst_facts(fact_type | fact_modify, false) == "type;modify;");
  CHECK(format_mlst_facts(fact_size, true) == "type;size*;modify;perm;unique;");
  ferry::FileInfo info;
  info.name = "f";
  info.size = 5;
  info.unique_id = 0x1f;
  std::string line;
  append_mlsx_line(line, info, fact_size | fact_unique);
  CHECK(line == "size=5;unique=1f; f");
  line.clear();
  append_mlsx_line(line, info, 0);
  CHECK(line == " f");
}
