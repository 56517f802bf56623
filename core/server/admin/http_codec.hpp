// HTTP/1.1 messages for the admin console, parsed and written by Boost.Beast's parser and
// serializer over bytes the caller reads and writes itself (ferryd's sockets are
// standalone Asio; Beast's own streams are Boost.Asio's). No I/O here: fuzzable.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ferry::admin {

struct HttpRequest {
  std::string method;  // "GET", "POST", ... as sent
  std::string target;  // "/api/v1/sessions?x=1"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keep_alive = true;

  // The first header of that name (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
  std::string_view path() const;  // the target without its query
};

// One request from a connection's bytes, bounded: a header over `header_limit` bytes is
// refused with 431, a body over `body_limit` with 413, anything malformed with 400.
class HttpRequestReader {
 public:
  HttpRequestReader(std::size_t header_limit, std::size_t body_limit);
  ~HttpRequestReader();
  HttpRequestReader(const HttpRequestReader&) = delete;
  HttpRequestReader& operator=(const HttpRequestReader&) = delete;

  enum class State { need_more, done, bad };
  // Feeds what has arrived and is not used yet; returns how many bytes were used (the rest
  // must be fed again, with more after it). Call until done or bad.
  std::size_t feed(std::string_view bytes);
  // The peer closed its side.
  void end_of_input();
  State state() const noexcept { return state_; }
  int error_status() const noexcept { return error_status_; }  // when bad: 400, 413 or 431
  const std::string& error_text() const noexcept { return error_text_; }
  // When done: the request (once).
  HttpRequest take();

 private:
  void fail(int status, std::string text);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  State state_ = State::need_more;
  bool header_checked_ = false;  // the header's own checks (chunked) are done
  int error_status_ = 0;
  std::string error_text_;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the usual ones
  bool keep_alive = true;
};

// The response's bytes, with Content-Length and the headers every admin response carries
// (no caching, no sniffing, no framing, a strict Content-Security-Policy).
std::string serialize(const HttpResponse& response);
// The head of a response whose body follows for as long as the connection lasts (Server-
// Sent Events): no Content-Length, Connection: close.
std::string serialize_stream_head(const HttpResponse& response);

// For `ferryd who` and the other terminal commands: a request's bytes (Connection: close),
// and the response read from what arrived until the server closed.
std::string serialize_request(std::string_view method, std::string_view target, std::string_view host,
                              const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body);
struct ParsedResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};
// nullopt (with `error`) when the bytes are no whole HTTP response.
std::optional<ParsedResponse> parse_response(std::string_view bytes, std::string& error);

// "Not Found" for 404, and so on.
std::string_view reason_phrase(int status);

}  // namespace ferry::admin
