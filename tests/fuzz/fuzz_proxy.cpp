// Fuzzes the PROXY protocol parser (server/proxy_protocol.cpp), the first bytes ferryd
// reads from a balancer's connection. Invariants: a parsed header never claims more bytes
// than it was given nor more than the protocol allows, and feeding the bytes one by one
// (as a slow connection delivers them) reaches the same verdict as feeding them at once.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "server/proxy_protocol.hpp"

using namespace ferry::proxy_protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const ParseResult whole = parse(input);
  switch (whole.status) {
    case Status::parsed:
      FUZZ_CHECK(whole.header.length > 0 && whole.header.length <= input.size());
      FUZZ_CHECK(whole.header.length <= (whole.header.version == 1 ? max_v1_length : max_length));
      FUZZ_CHECK(whole.header.version == 1 || whole.header.version == 2);
      // The header alone parses to the same header: nothing after it was looked at.
      {
        const ParseResult alone = parse(input.substr(0, whole.header.length));
        FUZZ_CHECK(alone.status == Status::parsed && alone.header.length == whole.header.length);
        FUZZ_CHECK(alone.header.family == whole.header.family);
        if (whole.header.family != Family::unknown) {
          FUZZ_CHECK(!address_text(whole.header.family, whole.header.source).empty());
        }
      }
      break;
    case Status::need_more:
      FUZZ_CHECK(whole.more >= 1);
      FUZZ_CHECK(input.size() + whole.more <= max_length);
      break;
    case Status::malformed: FUZZ_CHECK(!whole.error.empty()); break;
  }
  // Every prefix of an input still being valid needs more; a verdict never flips back.
  bool decided = false;
  for (std::size_t n = 0; n <= input.size() && n <= max_length; ++n) {
    const ParseResult part = parse(input.substr(0, n));
    if (part.status == Status::need_more) {
      FUZZ_CHECK(!decided);
      continue;
    }
    if (!decided) {
      decided = true;
      FUZZ_CHECK(part.status == whole.status);
      if (part.status == Status::parsed) FUZZ_CHECK(part.header.length == whole.header.length);
    }
  }
  for (bool v1_too : {false, true}) {
    if (looks_like_header(input, v1_too)) FUZZ_CHECK(input.size() >= (v1_too ? 6u : 12u));
    // Undecided only while fewer bytes than a header's start have come.
    if (may_become_header(input, v1_too)) FUZZ_CHECK(!looks_like_header(input, v1_too) && input.size() < 12);
  }
  return 0;
}
