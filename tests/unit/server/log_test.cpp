// The log's escaping (JSON lines, whatever bytes a file name holds) and the xferlog(5) line.
#include <catch2/catch.hpp>

#include "server/log.hpp"
#include "server/transfer_log.hpp"

using ferry::json_escape;

TEST_CASE("json_escape keeps UTF-8 and escapes the rest", "[log]") {
  CHECK(json_escape("plain /path.png") == "plain /path.png");
  CHECK(json_escape("a\"b\\c") == "a\\\"b\\\\c");
  CHECK(json_escape("line\r\nnext\tx") == "line\\r\\nnext\\tx");
  CHECK(json_escape(std::string_view("\x01\x1f\x7f", 3)) == "\\u0001\\u001f\\u007f");
  CHECK(json_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  // Latin-1 and broken sequences are not UTF-8: each bad byte becomes U+FFFD.
  CHECK(json_escape("caf\xe9") == "caf\\ufffd");
  CHECK(json_escape("\xc3") == "\\ufffd");
  CHECK(json_escape("\xc0\xaf") == "\\ufffd\\ufffd");          // overlong '/'
  CHECK(json_escape("\xed\xa0\x80") == "\\ufffd\\ufffd\\ufffd");  // a surrogate
  CHECK(json_escape("\xf4\x90\x80\x80") == "\\ufffd\\ufffd\\ufffd\\ufffd");  // past U+10FFFF
}

TEST_CASE("an xferlog line has the fourteen classic fields", "[log]") {
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  ferry::TransferLog::Record record;
  record.peer = "127.0.0.1";
  record.bytes = 17799;
  record.path = "/ferry.png";
  record.user = "alice";
  record.seconds = 0.02;
  CHECK(ferry::TransferLog::format(record, 1614834367) ==
        "Thu Mar  4 05:06:07 2021 1 127.0.0.1 17799 /ferry.png b _ o r alice ftp 0 * c");

  record.path = "/my file\n.txt";
  record.incoming = true;
  record.binary = false;
  record.complete = false;
  record.seconds = 2.6;
  CHECK(ferry::TransferLog::format(record, 1614834367) ==
        "Thu Mar  4 05:06:07 2021 3 127.0.0.1 17799 /my_file_.txt a _ i r alice ftp 0 * i");
}
