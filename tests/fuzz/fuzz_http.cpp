// libFuzzer target: the admin console's HTTP request reader (Boost.Beast's parser behind
// server/admin/http_codec.hpp), fed the input in pieces as a network delivers it.
// Invariants: it never uses more than it was given, it ends in exactly one of done or bad,
// a refusal is 400, 413 or 431, and a request it accepts stays within the limits.
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "server/admin/http_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the piece size: 1 byte at a time up to the whole input at once.
  const std::size_t piece = 1 + data[0] % 64;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr std::size_t header_limit = 1024, body_limit = 512;
  ferry::admin::HttpRequestReader reader(header_limit, body_limit);
  std::string pending;
  std::size_t offset = 0;
  using State = ferry::admin::HttpRequestReader::State;
  while (reader.state() == State::need_more && offset < input.size()) {
    const std::size_t n = std::min(piece, input.size() - offset);
    pending.append(input, offset, n);
    offset += n;
    const std::size_t used = reader.feed(pending);
    FUZZ_CHECK(used <= pending.size());
    pending.erase(0, used);
    FUZZ_CHECK(pending.size() <= header_limit + body_limit + 64 || reader.state() != State::need_more);
  }
  if (reader.state() == State::need_more) reader.end_of_input();
  FUZZ_CHECK(reader.state() != State::need_more);
  if (reader.state() == State::bad) {
    const int status = reader.error_status();
    FUZZ_CHECK(status == 400 || status == 411 || status == 413 || status == 431);
    return 0;
  }
  const ferry::admin::HttpRequest request = reader.take();
  FUZZ_CHECK(request.body.size() <= body_limit);
  FUZZ_CHECK(!request.method.empty());
  (void)request.path();
  return 0;
}
