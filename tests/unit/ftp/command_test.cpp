// The command parser: verbs, arguments, and every way a line can be refused.
#include <catch2/catch.hpp>

#include "ftp/command.hpp"

using ferry::ftp::parse_command;
using ferry::ftp::ParseError;

TEST_CASE("a verb is upper-cased and the argument kept as typed", "[ftp][parser]") {
  auto r = parse_command("retr My File.PNG\r\n");
  REQUIRE(r.ok());
  CHECK(r.command.verb == "RETR");
  CHECK(r.command.argument == "My File.PNG");
}

TEST_CASE("a bare verb has an empty argument, with or without CR LF", "[ftp][parser]") {
  for (const char* line : {"NOOP", "NOOP\r\n", "NOOP\n", "noop \r\n"}) {
    auto r = parse_command(line);
    REQUIRE(r.ok());
    CHECK(r.command.verb == "NOOP");
    CHECK(r.command.argument.empty());
  }
}

TEST_CASE("spaces inside the argument are preserved", "[ftp][parser]") {
  auto r = parse_command("CWD  two  spaces \r\n");
  REQUIRE(r.ok());
  CHECK(r.command.argument == " two  spaces ");
}

TEST_CASE("verbs with digits such as XSHA256 are accepted", "[ftp][parser]") {
  auto r = parse_command("xsha256 ferry.png");
  REQUIRE(r.ok());
  CHECK(r.command.verb == "XSHA256");
}

TEST_CASE("UTF-8 names pass through unchanged", "[ftp][parser]") {
  auto r = parse_command("RETR f\xc3\xa4hre.png\r\n");
  REQUIRE(r.ok());
  CHECK(r.command.argument == "f\xc3\xa4hre.png");
}

TEST_CASE("telnet IAC sequences before ABOR are dropped", "[ftp][parser]") {
  auto r = parse_command("\xff\xf4\xff\xf2" "ABOR\r\n");
  REQUIRE(r.ok());
  CHECK(r.command.verb == "ABOR");
  auto escaped = parse_command("STOR a\xff\xff" "b");
  REQUIRE(escaped.ok());
  CHECK(escaped.command.argument == "a\xff" "b");
}

TEST_CASE("refusals: empty lines, bad verbs, control characters", "[ftp][parser]") {
  CHECK(parse_command("\r\n").error == ParseError::empty);
  CHECK(parse_command("   ").error == ParseError::empty);
  CHECK(parse_command("RE-TR x").error == ParseError::bad_verb);
  CHECK(parse_command("ABCDEFGHIJKLMNOPQ").error == ParseError::bad_verb);
  CHECK(parse_command(std::string("RETR a\0b", 8)).error == ParseError::bad_characters);
  CHECK(parse_command("RETR a\tb").error == ParseError::bad_characters);
  CHECK(parse_command("RETR a\rb").error == ParseError::bad_characters);
  CHECK(parse_command("\x80\x81\x82").error == ParseError::bad_verb);
}

TEST_CASE("ABOR is found when the telnet DM byte went out of band", "[ftp][parser]") {
  // Python's ftplib and others send IAC IP, then IAC DM as urgent data, then "ABOR".
  auto r = parse_command("\xff\xf4\xff" "ABOR\r\n");
  REQUIRE(r.ok());
  CHECK(r.command.verb == "ABOR");
}
