// Fuzzes the server's control-line parser (ftp::parse_command) and the PORT / EPRT argument
// parsers: everything a client can put on the control connection before any handler runs.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ftp/address.hpp"
#include "ftp/command.hpp"
#include "fuzz_check.hpp"

using namespace ferry::ftp;

namespace {

bool is_control(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

// A command as a client would send it, with a 0xFF data byte doubled (telnet IAC escape).
std::string serialize(const Command& command) {
  std::string line = command.verb;
  if (!command.argument.empty()) {
    line.push_back(' ');
    for (char c : command.argument) {
      if (static_cast<unsigned char>(c) == 0xff) line.push_back(c);
      line.push_back(c);
    }
  }
  return line;
}

void check_port(std::string_view argument) {
  const auto hp = parse_port_argument(argument);
  if (!hp) return;
  // The host is a dotted quad; encoding it again gives the same host and port.
  std::string again;
  for (char c : hp->host) {
    FUZZ_CHECK((c >= '0' && c <= '9') || c == '.');
    again.push_back(c == '.' ? ',' : c);
  }
  again += "," + std::to_string(hp->port / 256) + "," + std::to_string(hp->port % 256);
  const auto reparsed = parse_port_argument(again);
  FUZZ_CHECK(reparsed && reparsed->host == hp->host && reparsed->port == hp->port);
}

void check_eprt(std::string_view argument) {
  const auto hp = parse_eprt_argument(argument);
  if (!hp) return;
  FUZZ_CHECK(hp->port != 0);
  const bool v6 = hp->host.find(':') != std::string::npos;
  const std::string again = std::string(v6 ? "|2|" : "|1|") + hp->host + "|" + std::to_string(hp->port) + "|";
  const auto reparsed = parse_eprt_argument(again);
  FUZZ_CHECK(reparsed && reparsed->host == hp->host && reparsed->port == hp->port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const ParseResult result = parse_command(line);

  // Adding the line terminator changes nothing: the reader may or may not strip it.
  const ParseResult terminated = parse_command(std::string(line) + "\r\n");
  FUZZ_CHECK(terminated.error == result.error);
  FUZZ_CHECK(terminated.command.verb == result.command.verb);
  FUZZ_CHECK(terminated.command.argument == result.command.argument);

  // to_upper is idempotent and keeps the length.
  const std::string upper = to_upper(line);
  FUZZ_CHECK(upper.size() == line.size() && to_upper(upper) == upper);

  if (!result.ok()) {
    FUZZ_CHECK(result.command.argument.empty());
    return 0;
  }
  const Command& command = result.command;
  // The verb: 1 to 16 upper-case ASCII letters or digits.
  FUZZ_CHECK(!command.verb.empty() && command.verb.size() <= 16);
  for (char c : command.verb) FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  // The argument can never carry a control character (no CR LF injection, no NUL).
  for (char c : command.argument) FUZZ_CHECK(!is_control(c));
  FUZZ_CHECK(command.argument.size() <= line.size());

  // Sending the parsed command again gives the same command.
  const ParseResult again = parse_command(serialize(command));
  FUZZ_CHECK(again.ok() && again.command.verb == command.verb && again.command.argument == command.argument);

  check_port(command.argument);
  check_eprt(command.argument);
  return 0;
}
