// The admin console's HTTP messages through Boost.Beast (see http_codec.hpp).
#include "server/admin/http_codec.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <sstream>

namespace ferry::admin {

namespace http = boost::beast::http;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

template <class Message>
void common_headers(Message& message, const HttpResponse& response) {
  message.set(http::field::server, "ferryd");
  message.set(http::field::cache_control, "no-store");
  message.set("X-Content-Type-Options", "nosniff");
  message.set("X-Frame-Options", "DENY");
  message.set("Referrer-Policy", "no-referrer");
  // Scripts and styles only from ferryd's own files: an injected tag runs nothing.
  message.set("Content-Security-Policy",
              "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
              "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  if (!response.content_type.empty()) message.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) message.insert(name, value);
}

}  // namespace

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return {};
}

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

struct HttpRequestReader::Impl {
  http::request_parser<http::string_body> parser;
};

HttpRequestReader::HttpRequestReader(std::size_t header_limit, std::size_t body_limit) : impl_(std::make_unique<Impl>()) {
  impl_->parser.header_limit(static_cast<std::uint32_t>(header_limit));
  impl_->parser.body_limit(body_limit);
  // Not eager until the header is in: a chunked body is refused before any of it is
  // parsed (see feed).
  impl_->parser.eager(false);
}

HttpRequestReader::~HttpRequestReader() = default;

void HttpRequestReader::fail(int status, std::string text) {
  state_ = State::bad;
  error_status_ = status;
  error_text_ = std::move(text);
}

std::size_t HttpRequestReader::feed(std::string_view bytes) {
  if (state_ != State::need_more) return 0;
  std::size_t used = 0;
  while (used < bytes.size() && !impl_->parser.is_done()) {
    boost::beast::error_code ec;
    const std::size_t n = impl_->parser.put(boost::asio::const_buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == http::error::need_more) break;
    if (ec == http::error::header_limit) {
      fail(431, "request header too large");
      return used;
    }
    if (ec == http::error::body_limit) {
      fail(413, "request body too large");
      return used;
    }
    if (ec) {
      fail(400, "malformed request: " + ec.message());
      return used;
    }
    if (impl_->parser.is_header_done() && !header_checked_) {
      header_checked_ = true;
      // Our bodies are small JSON with a Content-Length. Beast 1.74's chunk parser asserts
      // on some malformed final chunks (found by fuzz_http), so chunked bodies never reach it.
      if (impl_->parser.chunked()) {
        fail(411, "chunked request bodies are not accepted: send Content-Length");
        return used;
      }
      impl_->parser.eager(true);
    }
    if (n == 0) break;
  }
  if (impl_->parser.is_done()) state_ = State::done;
  return used;
}

void HttpRequestReader::end_of_input() {
  if (state_ != State::need_more) return;
  // Before the parser has taken a byte (an unfinished request line or header is not
  // taken), put_eof() may not be called (an assertion in Beast; found by fuzz_http).
  if (!impl_->parser.got_some()) {
    fail(400, "the request ended early");
    return;
  }
  boost::beast::error_code ec;
  impl_->parser.put_eof(ec);
  if (ec || !impl_->parser.is_done()) {
    fail(400, "the request ended early");
    return;
  }
  state_ = State::done;
}

HttpRequest HttpRequestReader::take() {
  auto message = impl_->parser.release();
  HttpRequest out;
  out.method = std::string(message.method_string());
  out.target = std::string(message.target());
  for (const auto& field : message) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(message.body());
  out.keep_alive = message.keep_alive();
  return out;
}

std::string serialize(const HttpResponse& response) {
  http::response<http::string_body> message{static_cast<http::status>(response.status), 11};
  common_headers(message, response);
  message.body() = response.body;
  message.keep_alive(response.keep_alive);
  message.prepare_payload();
  std::ostringstream out;
  out << message;
  return out.str();
}

std::string serialize_stream_head(const HttpResponse& response) {
  http::response_header<> head;
  head.version(11);
  head.result(static_cast<http::status>(response.status));
  common_headers(head, response);
  head.set(http::field::connection, "close");
  std::ostringstream out;
  out << head;
  return out.str();
}

std::string serialize_request(std::string_view method, std::string_view target, std::string_view host,
                              const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
  http::request<http::string_body> message;
  message.method_string(boost::beast::string_view(method.data(), method.size()));
  message.target(boost::beast::string_view(target.data(), target.size()));
  message.version(11);
  message.set(http::field::host, boost::beast::string_view(host.data(), host.size()));
  message.set(http::field::user_agent, "ferryd");
  message.set(http::field::connection, "close");
  for (const auto& [name, value] : headers) message.insert(name, value);
  message.body() = std::string(body);
  if (!body.empty() || method == "POST") message.prepare_payload();
  std::ostringstream out;
  out << message;
  return out.str();
}

std::optional<ParsedResponse> parse_response(std::string_view bytes, std::string& error) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    const std::size_t n = parser.put(boost::asio::const_buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec || n == 0) break;
  }
  if (!parser.is_done() && parser.got_some() && (!ec || ec == http::error::need_more)) parser.put_eof(ec);
  if (!parser.is_done()) {
    error = ec ? ec.message() : "the response ended early";
    return std::nullopt;
  }
  auto message = parser.release();
  ParsedResponse out;
  out.status = static_cast<int>(message.result_int());
  for (const auto& field : message) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(message.body());
  return out;
}

std::string_view reason_phrase(int status) {
  auto text = http::obsolete_reason(static_cast<http::status>(status));
  return {text.data(), text.size()};
}

}  // namespace ferry::admin
