// FtpClient's coroutines: control-line I/O, login, passive data connections, transfers.
#include "ftp_client.hpp"

#include <algorithm>
#include <asio/buffer.hpp>
#include <asio/connect.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/post.hpp>
#include <asio/read_until.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/ssl/error.hpp>
#include <asio/write.hpp>
#include <cctype>
#include <exception>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ftp/address.hpp"
#include "ftp/listing.hpp"
#include "tls_context.hpp"

namespace ferry::client {

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// A reply line longer than this is not a reply; it also bounds memory against a hostile
// server that never sends a line end.
constexpr std::size_t max_reply_line = 16 * 1024;
constexpr std::size_t max_reply_bytes = 1024 * 1024;  // a whole multi-line reply
// MLSD/LIST output is held in memory to be parsed; a directory listing beyond this is
// refused rather than allowed to eat all memory.
constexpr std::size_t max_listing_bytes = 64 * 1024 * 1024;
constexpr std::size_t transfer_chunk = 64 * 1024;
constexpr auto quit_timeout = std::chrono::seconds(3);

std::string endpoint_text(const std::string& host, std::uint16_t port) {
  const bool ipv6 = host.find(':') != std::string::npos;
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string endpoint_text(const asio::ip::tcp::endpoint& endpoint) {
  return endpoint_text(endpoint.address().to_string(), endpoint.port());
}

std::string reply_summary(const ftp::Reply& reply) {
  std::string text = reply.text();
  std::replace(text.begin(), text.end(), '\n', ' ');
  return std::to_string(reply.code) + " " + text;
}

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

bool not_implemented(const ftp::Reply& reply) { return reply.code == 500 || reply.code == 502 || reply.code == 504; }

// 550 on a file command: the server's words go in parentheses because "no such file" is
// the common case but permission problems share the code.
ClientError not_found(const std::string& path, const ftp::Reply& reply) {
  return ClientError(ErrorKind::not_found, path + ": no such file (" + reply_summary(reply) + ")");
}

// A refused change (DELE, MKD, RMD, RNFR/RNTO, STOR). 550 covers both "no such file" and
// "permission denied", so the server's text decides between not_found and refused.
ClientError refusal(const std::string& what, const std::string& path, const ftp::Reply& reply) {
  const std::string text = upper(reply.text());
  const bool missing = reply.code == 550 && (text.find("NO SUCH") != std::string::npos ||
                                             text.find("NOT FOUND") != std::string::npos ||
                                             text.find("DOES NOT EXIST") != std::string::npos ||
                                             // pure-ftpd: "Sorry, but that file doesn't exist"
                                             text.find("DOESN'T EXIST") != std::string::npos);
  if (missing) return ClientError(ErrorKind::not_found, path + ": no such file or directory (" + reply_summary(reply) + ")");
  // 500 is "syntax error, command unrecognized": to a command the server knows, it is the
  // name (a character, a length) it refuses, not the operation.
  if (reply.code == 500) {
    return ClientError(ErrorKind::refused, what + " " + path + ": the server refused the command or the name (" +
                                               reply_summary(reply) + ")");
  }
  if (not_implemented(reply)) {
    return ClientError(ErrorKind::protocol, "the server does not support " + what + " (" + reply_summary(reply) + ")");
  }
  if (reply.code == 550 || reply.code == 553 || reply.code == 552 || reply.code == 452 || reply.code == 450 ||
      reply.code == 532) {
    return ClientError(ErrorKind::refused, what + " " + path + " refused by the server (" + reply_summary(reply) + ")");
  }
  return ClientError(ErrorKind::protocol, what + " " + path + ": the server replied " + reply_summary(reply));
}

ClientError unexpected(const std::string& what, const ftp::Reply& reply) {
  return ClientError(ErrorKind::protocol, what + ": the server replied " + reply_summary(reply));
}

// "." and ".." in an MLSD listing (type=cdir / type=pdir), which FileInfo cannot express.
bool is_directory_self_entry(std::string_view line) {
  const std::size_t space = line.find(' ');
  std::string facts = upper(std::string(line.substr(0, space)));
  return facts.find("TYPE=CDIR") != std::string::npos || facts.find("TYPE=PDIR") != std::string::npos;
}

// SNI (host names only) and the name the certificate must carry: a host name, or an IP
// address when the URL names one.
void set_expected_peer(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  std::error_code ec;
  (void)asio::ip::make_address(host, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
    return;
  }
  SSL_set_tlsext_host_name(ssl, host.c_str());
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
}

std::string tls_description(SSL* ssl) {
  return std::string(SSL_get_version(ssl)) + " " + SSL_get_cipher_name(ssl);
}

}  // namespace

FtpClient::FtpClient(asio::any_io_executor executor)
    : executor_(executor), resolver_(executor), control_(executor), data_(executor), watchdog_(executor) {}

FtpClient::~FtpClient() = default;

// ---------------------------------------------------------------------------------------
// Watchdog and cancellation.

void FtpClient::arm() {
  // Re-armed around every socket operation (each 64 KiB chunk of a transfer, too): a timer
  // operation is cheap next to the read it guards. The generation tells a stale expiry,
  // already queued when the guarded operation finished, from a real one.
  const std::uint64_t generation = ++watch_generation_;
  watchdog_.expires_after(timeout_);
  watchdog_.async_wait([this, generation](std::error_code ec) {
    // An error means the timer was cancelled or destroyed: `this` may be gone.
    if (ec || generation != watch_generation_) return;
    timed_out_ = true;
    close_sockets();
  });
}

void FtpClient::disarm() {
  // Cancelled, not left to expire: a pending wait would keep io_context::run() busy for
  // up to timeout_ after the last operation.
  ++watch_generation_;
  watchdog_.cancel();
}

void FtpClient::close_sockets() {
  std::error_code ignored;
  resolver_.cancel();
  // A reset, not a FIN: a transfer cut by cancel() or the watchdog did not end normally,
  // and an end-of-file would tell the server that an upload is complete (it would replace
  // the old remote file with the part sent so far).
  if (data_.is_open()) data_.set_option(asio::socket_base::linger(true, 0), ignored);
  data_.close(ignored);
  control_.close(ignored);
}

void FtpClient::cancel() {
  asio::post(executor_, [this] {
    cancelled_ = true;
    close_sockets();
  });
}

void FtpClient::note(TranscriptKind kind, std::string_view line) const {
  if (transcript_) transcript_(kind, line);
}

ClientError FtpClient::io_error(std::error_code ec, ErrorKind kind, const std::string& what) const {
  if (cancelled_) return ClientError(ErrorKind::cancelled, what + ": cancelled");
  if (timed_out_) {
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout_).count();
    return ClientError(ErrorKind::timeout,
                       what + ": no answer from " + peer_ + " for " + std::to_string(seconds) + " s");
  }
  if (ec == asio::error::eof) return ClientError(kind, what + ": the server closed the connection");
  return ClientError(kind, what + ": " + ec.message());
}

// ---------------------------------------------------------------------------------------
// Control connection.

asio::awaitable<void> FtpClient::send(std::string line) {
  // A line break inside an argument would end the command early and start another one.
  if (line.find_first_of("\r\n") != std::string::npos) {
    throw ClientError(ErrorKind::protocol, "refusing to send a command containing a line break");
  }
  note(TranscriptKind::sent, line.starts_with("PASS ") ? std::string_view("PASS ****") : std::string_view(line));
  line += "\r\n";
  std::error_code ec;
  arm();
  if (control_tls_) {
    auto [write_ec, n] = co_await asio::async_write(*control_tls_, asio::buffer(line), use_tuple);
    ec = write_ec;
  } else {
    auto [write_ec, n] = co_await asio::async_write(control_, asio::buffer(line), use_tuple);
    ec = write_ec;
  }
  disarm();
  if (ec) throw io_error(ec, ErrorKind::connect, "sending to " + peer_);
}

asio::awaitable<std::string> FtpClient::read_line() {
  std::error_code ec;
  std::size_t n = 0;
  arm();
  if (control_tls_) {
    auto [read_ec, read_n] =
        co_await asio::async_read_until(*control_tls_, asio::dynamic_buffer(inbox_, max_reply_line), '\n', use_tuple);
    ec = read_ec;
    n = read_n;
  } else {
    auto [read_ec, read_n] =
        co_await asio::async_read_until(control_, asio::dynamic_buffer(inbox_, max_reply_line), '\n', use_tuple);
    ec = read_ec;
    n = read_n;
  }
  disarm();
  if (ec == asio::error::not_found) {
    throw ClientError(ErrorKind::protocol,
                      "the server sent a reply line longer than " + std::to_string(max_reply_line) + " bytes");
  }
  if (ec) throw io_error(ec, ErrorKind::connect, "reading the reply from " + peer_);
  std::string line = inbox_.substr(0, n);
  inbox_.erase(0, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  co_return line;
}

asio::awaitable<ftp::Reply> FtpClient::read_reply() {
  ftp::ReplyParser parser;
  std::size_t total = 0;
  for (;;) {
    const std::string line = co_await read_line();
    // Each line is bounded, and so is their number: a server sending "211-" lines forever
    // would otherwise fill the client's memory.
    total += line.size() + 2;
    if (total > max_reply_bytes) {
      throw ClientError(ErrorKind::protocol,
                        "the server sent a reply longer than " + std::to_string(max_reply_bytes / 1024) + " KiB");
    }
    note(TranscriptKind::received, line);
    auto step = parser.feed(line);
    if (step.error) throw ClientError(ErrorKind::protocol, "malformed reply line from the server: " + line);
    if (step.reply) co_return std::move(*step.reply);
  }
}

asio::awaitable<ftp::Reply> FtpClient::command(std::string line) {
  co_await send(std::move(line));
  co_return co_await read_reply();
}

// The first of `endpoints` in the source address's family; the control socket opened and
// bound to the source address, its port left to connect().
std::error_code FtpClient::bind_source(const asio::ip::tcp::resolver::results_type& endpoints,
                                       asio::ip::tcp::endpoint& target) {
  for (const auto& entry : endpoints) {
    if (entry.endpoint().address().is_v4() != source_address_->is_v4()) continue;
    target = entry.endpoint();
    std::error_code ec;
    control_.open(target.protocol(), ec);
    if (ec) return ec;
#ifdef IP_BIND_ADDRESS_NO_PORT
    const int on = 1;
    (void)::setsockopt(control_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
#endif
    control_.bind(asio::ip::tcp::endpoint(*source_address_, 0), ec);
    return ec;
  }
  return std::make_error_code(std::errc::address_family_not_supported);
}

asio::awaitable<void> FtpClient::connect(std::string host, std::uint16_t port) {
  close_sockets();
  inbox_.clear();
  features_.reset();
  hash_algorithm_.clear();
  epsv_refused_ = false;
  timed_out_ = false;
  cancelled_ = false;
  peer_ = endpoint_text(host, port);
  host_ = host;
  data_tls_.reset();
  control_tls_.reset();
  protected_data_ = false;

  // No answer in time while connecting is a failed connection (exit 3), like a refusal.
  const auto connect_failure = [this](std::error_code ec, const std::string& what) {
    const ClientError error = io_error(ec, ErrorKind::connect, what);
    return error.kind() == ErrorKind::timeout ? ClientError(ErrorKind::connect, error.what()) : error;
  };
  arm();
  auto [resolve_ec, endpoints] = co_await resolver_.async_resolve(host, std::to_string(port), use_tuple);
  disarm();
  if (resolve_ec) throw connect_failure(resolve_ec, "cannot resolve " + host);

  std::error_code ec;
  asio::ip::tcp::endpoint endpoint;
  if (source_address_) {
    ec = bind_source(endpoints, endpoint);
    if (!ec) {
      arm();
      auto [connect_ec] = co_await control_.async_connect(endpoint, use_tuple);
      disarm();
      ec = connect_ec;
    }
  } else {
    arm();
    auto [connect_ec, connected] = co_await asio::async_connect(control_, endpoints, use_tuple);
    disarm();
    ec = connect_ec;
    endpoint = connected;
  }
  if (ec == asio::error::connection_refused && !cancelled_ && !timed_out_) {
    throw ClientError(ErrorKind::connect, "connection refused: is an FTP server running on " + peer_ + "?");
  }
  if (ec) throw connect_failure(ec, "cannot connect to " + peer_);
  note(TranscriptKind::info, "connected to " + endpoint_text(endpoint));
  if (tls_options_.mode == TlsMode::implicit_tls) co_await start_control_tls();

  ftp::Reply greeting;
  try {
    greeting = co_await read_reply();
    if (greeting.code == 120) greeting = co_await read_reply();  // "ready in nnn minutes"
  } catch (const ClientError& error) {
    if (error.kind() != ErrorKind::timeout) throw;
    throw ClientError(ErrorKind::connect, std::string("no greeting from the server: ") + error.what());
  }
  if (greeting.code == 421) {
    throw ClientError(ErrorKind::connect,
                      "the server at " + peer_ + " refused the session: " + reply_summary(greeting));
  }
  if (greeting.code != 220) throw unexpected("greeting from " + peer_, greeting);

  if (tls_options_.mode == TlsMode::explicit_tls) {
    const ftp::Reply reply = co_await command("AUTH TLS");
    if (reply.code != 234) {
      throw ClientError(ErrorKind::connect, "TLS: the server at " + peer_ + " does not offer FTPS (AUTH TLS: " +
                                                reply_summary(reply) + ")");
    }
    // Anything the server sent after 234 would be cleartext injected into the TLS session.
    inbox_.clear();
    co_await start_control_tls();
  }
}

// ---------------------------------------------------------------------------------------
// TLS.

ClientError FtpClient::tls_error(std::error_code ec, SSL* ssl, ErrorKind kind, const std::string& what) const {
  if (!cancelled_ && !timed_out_ && tls_options_.verify) {
    const long result = SSL_get_verify_result(ssl);
    if (result != X509_V_OK) {
      return ClientError(ErrorKind::connect, std::string("TLS: the server's certificate could not be verified (") +
                                                 X509_verify_cert_error_string(result) +
                                                 "); use --ca-file or --insecure");
    }
  }
  return io_error(ec, kind, what);
}

asio::awaitable<void> FtpClient::start_control_tls() {
  tls_context_ = client_tls_context(tls_options_);
  control_tls_ = std::make_unique<TlsStream>(control_, *tls_context_);
  SSL* ssl = control_tls_->native_handle();
  set_expected_peer(ssl, host_);

  arm();
  auto [ec] = co_await control_tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  disarm();
  if (ec) throw tls_error(ec, ssl, ErrorKind::connect, "TLS handshake with " + peer_);
  std::string established = "TLS established: " + tls_description(ssl) +
                            (tls_options_.verify ? ", certificate verified" : ", certificate NOT verified (insecure)");
  note(TranscriptKind::info, established);
}

asio::awaitable<void> FtpClient::start_data_tls(const std::string& what) {
  data_tls_ = std::make_unique<TlsStream>(data_, *tls_context_);
  SSL* ssl = data_tls_->native_handle();
  set_expected_peer(ssl, host_);
  // Taken now, not after the control handshake: a TLS 1.3 session ticket arrives later
  // (after the login, from ferryd). A copy: OpenSSL marks the session of a connection freed
  // without its close_notify as not resumable, and one abandoned transfer would otherwise
  // cost every later data connection its resumption (522 where the server requires it).
  if (SSL_SESSION* session = SSL_get1_session(control_tls_->native_handle())) {
    if (SSL_SESSION* copy = SSL_SESSION_dup(session)) {
      SSL_set_session(ssl, copy);
      SSL_SESSION_free(copy);
    }
    SSL_SESSION_free(session);
  }
  arm();
  auto [ec] = co_await data_tls_->async_handshake(asio::ssl::stream_base::client, use_tuple);
  disarm();
  if (ec) throw tls_error(ec, ssl, ErrorKind::transfer, "TLS handshake on the data connection for " + what);
  std::string established = "data connection TLS: " + tls_description(ssl) +
                            (SSL_session_reused(ssl) ? ", session resumed" : ", new session");
  note(TranscriptKind::info, established);
}

asio::awaitable<void> FtpClient::start_data_tls_or_abandon(const std::string& what) {
  std::optional<ClientError> failure;
  try {
    co_await start_data_tls(what);
  } catch (const ClientError& error) {
    failure = error;
  }
  if (!failure) co_return;
  co_await abandon_transfer();
  throw *failure;
}

asio::awaitable<void> FtpClient::abandon_transfer() {
  std::error_code ignored;
  data_.set_option(asio::socket_base::linger(true, 0), ignored);  // a reset: never a complete upload
  data_.close(ignored);
  data_tls_.reset();
  if (!control_.is_open()) co_return;
  // The server has answered 1xx and owes a final reply (426, 425...): read it, so that the
  // next command's reply is not taken for this one's. A server that does not send it in
  // time loses the control connection instead; the caller may connect again.
  if (!co_await brief_reply({})) control_.close(ignored);
}

asio::awaitable<bool> FtpClient::brief_reply(std::string line) {
  const auto timeout = std::exchange(timeout_, std::min<std::chrono::steady_clock::duration>(timeout_, quit_timeout));
  bool answered = false;
  try {
    if (line.empty()) {
      co_await read_reply();
    } else {
      co_await command(std::move(line));
    }
    answered = true;
  } catch (const ClientError&) {
  }
  timeout_ = timeout;
  co_return answered;
}

asio::awaitable<void> FtpClient::shutdown_data_tls() {
  if (!data_tls_) co_return;
  arm();
  auto [ec] = co_await data_tls_->async_shutdown(use_tuple);
  disarm();
  (void)ec;
  // The server may close without its own close_notify; the 226 decides.
}

asio::awaitable<std::pair<std::error_code, std::size_t>> FtpClient::data_read_some(std::span<std::byte> buffer) {
  std::pair<std::error_code, std::size_t> result;
  arm();
  if (data_tls_) {
    auto [ec, n] = co_await data_tls_->async_read_some(asio::buffer(buffer.data(), buffer.size()), use_tuple);
    result = {ec, n};
  } else {
    auto [ec, n] = co_await data_.async_read_some(asio::buffer(buffer.data(), buffer.size()), use_tuple);
    result = {ec, n};
  }
  disarm();
  // Without close_notify: the final 226 on the (protected) control connection still has
  // to confirm that the transfer is complete.
  if (result.first == asio::ssl::error::stream_truncated) result.first = asio::error::eof;
  co_return result;
}

asio::awaitable<std::pair<std::error_code, std::size_t>> FtpClient::data_write(std::span<const std::byte> buffer) {
  std::pair<std::error_code, std::size_t> result;
  arm();
  if (data_tls_) {
    auto [ec, n] = co_await asio::async_write(*data_tls_, asio::buffer(buffer.data(), buffer.size()), use_tuple);
    result = {ec, n};
  } else {
    auto [ec, n] = co_await asio::async_write(data_, asio::buffer(buffer.data(), buffer.size()), use_tuple);
    result = {ec, n};
  }
  disarm();
  co_return result;
}

asio::awaitable<void> FtpClient::login(std::string user, std::string password) {
  ftp::Reply reply = co_await command("USER " + user);
  if (reply.code == 331) reply = co_await command("PASS " + password);
  // The server's words say why: a wrong password, or vsftpd's "530 Non-anonymous sessions
  // must use encryption." (try --tls).
  if (reply.code == 530) {
    throw ClientError(ErrorKind::login, "login refused for user " + user + " (" + reply_summary(reply) + ")");
  }
  if (reply.code == 332) {
    throw ClientError(ErrorKind::login,
                      "the server wants an account (ACCT) for user " + user + ", which ferry does not support");
  }
  if (reply.code != 230 && reply.code != 202) throw unexpected("login as " + user, reply);
  // Servers may announce more features to a logged-in user.
  features_.reset();
  if (control_tls_) {
    const ftp::Reply pbsz = co_await command("PBSZ 0");
    if (pbsz.code != 200) throw unexpected("PBSZ 0", pbsz);
    const ftp::Reply prot = co_await command("PROT P");
    if (prot.code != 200) throw unexpected("PROT P (protected data connections)", prot);
    protected_data_ = true;
  }
}

asio::awaitable<Features> FtpClient::feat() {
  if (!features_) features_ = parse_features(co_await command("FEAT"));
  co_return *features_;
}

asio::awaitable<void> FtpClient::type_binary() {
  const ftp::Reply reply = co_await command("TYPE I");
  if (reply.code != 200) throw unexpected("TYPE I", reply);
}

asio::awaitable<std::optional<std::uint64_t>> FtpClient::size(std::string path) {
  const ftp::Reply reply = co_await command("SIZE " + path);
  if (reply.code == 213) {
    if (auto bytes = parse_size_reply(reply.text())) co_return *bytes;
    throw unexpected("SIZE " + path, reply);
  }
  if (reply.code == 550) throw not_found(path, reply);
  if (not_implemented(reply)) co_return std::nullopt;
  throw unexpected("SIZE " + path, reply);
}

asio::awaitable<std::optional<std::int64_t>> FtpClient::mdtm(std::string path) {
  const ftp::Reply reply = co_await command("MDTM " + path);
  if (reply.code == 213) {
    if (auto seconds = ftp::parse_timeval(reply.text())) co_return *seconds;
    throw unexpected("MDTM " + path, reply);
  }
  if (reply.code == 550) throw not_found(path, reply);
  if (not_implemented(reply)) co_return std::nullopt;
  throw unexpected("MDTM " + path, reply);
}

asio::awaitable<std::optional<std::string>> FtpClient::working_directory() {
  const ftp::Reply reply = co_await command("PWD");
  if (reply.code != 257) co_return std::nullopt;
  co_return parse_pwd_reply(reply.lines.front());
}

asio::awaitable<bool> FtpClient::select_hash(std::string algorithm) {
  algorithm = upper(std::move(algorithm));
  if (hash_algorithm_ == algorithm) co_return true;
  const Features features = co_await feat();
  // HASH only when FEAT lists the algorithm: a server may offer HASH with SHA-1 and MD5
  // alone, and then the X-command may still have it.
  if (!features.lists("HASH", algorithm)) co_return false;
  const ftp::Reply reply = co_await command("OPTS HASH " + algorithm);
  // 501/504: the algorithm is not offered after all (or OPTS HASH is unknown).
  if (reply.code == 501 || not_implemented(reply)) co_return false;
  if (reply.code != 200) throw unexpected("OPTS HASH " + algorithm, reply);
  hash_algorithm_ = algorithm;
  co_return true;
}

asio::awaitable<std::optional<std::string>> FtpClient::hash(std::string path, std::string algorithm) {
  algorithm = upper(std::move(algorithm));
  const bool use_hash = co_await select_hash(algorithm);
  if (use_hash) {
    const ftp::Reply reply = co_await command("HASH " + path);
    if (reply.code == 213) {
      // The fields are on the last line: ProFTPD's mod_digest sends "213-Computing SHA-256
      // digest" before it.
      auto parsed = parse_hash_reply(reply.lines.back());
      if (!parsed || upper(parsed->algorithm) != algorithm) throw unexpected("HASH " + path, reply);
      co_return std::move(parsed->hex);
    }
    if (reply.code == 550) throw not_found(path, reply);
    // 556: no digest of this file (ProFTPD's mod_digest past DigestMaxSize; its X-commands
    // refuse it too). The file is as unverifiable as on a server without HASH.
    if (reply.code == 556) co_return std::nullopt;
    if (!not_implemented(reply)) throw unexpected("HASH " + path, reply);
    // A FEAT that promises HASH and a HASH that is not implemented: try the X-command.
  }

  std::string verb = "X" + algorithm;  // "XSHA-256" -> "XSHA256"
  verb.erase(std::remove(verb.begin(), verb.end(), '-'), verb.end());
  const ftp::Reply reply = co_await command(verb + " " + path);
  if (reply.code == 213 || reply.code == 250) {
    if (auto hex = parse_xhash_reply(reply.lines.back())) co_return std::move(*hex);  // as for HASH
    throw unexpected(verb + " " + path, reply);
  }
  if (reply.code == 550) throw not_found(path, reply);
  if (not_implemented(reply)) co_return std::nullopt;
  throw unexpected(verb + " " + path, reply);
}

asio::awaitable<void> FtpClient::quit() {
  if (!control_.is_open()) co_return;
  // The job is done: a server that does not answer QUIT gets a few seconds, not the whole
  // timeout; it may also close first. Either way the session is over.
  (void)co_await brief_reply("QUIT");
  std::error_code ignored;
  data_.close(ignored);
  control_.close(ignored);
}

// ---------------------------------------------------------------------------------------
// Data connections and transfers.

asio::awaitable<void> FtpClient::connect_data(asio::ip::tcp::endpoint endpoint) {
  note(TranscriptKind::info, "data connection to " + endpoint_text(endpoint));
  std::error_code ignored;
  data_.close(ignored);
  data_tls_.reset();
  arm();
  auto [ec] = co_await data_.async_connect(endpoint, use_tuple);
  disarm();
  if (ec) throw io_error(ec, ErrorKind::transfer, "cannot open the data connection to " + endpoint_text(endpoint));
}

asio::awaitable<void> FtpClient::open_data() {
  std::error_code ec;
  const asio::ip::tcp::endpoint peer = control_.remote_endpoint(ec);
  if (ec) throw io_error(ec, ErrorKind::connect, "the control connection to " + peer_);

  if (!epsv_refused_) {
    const ftp::Reply reply = co_await command("EPSV");
    if (reply.code == 229) {
      const auto port = ftp::parse_epsv_reply(reply.text());
      if (!port) throw unexpected("EPSV", reply);
      // RFC 2428: the data connection goes to the address the control connection uses.
      co_await connect_data({peer.address(), *port});
      co_return;
    }
    // 500/502 (unknown), 501/522 (network protocol) and the like: PASV may still work.
    epsv_refused_ = true;
  }

  if (!peer.address().is_v4()) {
    throw ClientError(ErrorKind::transfer, "the server refused EPSV, and PASV cannot work over IPv6");
  }
  const ftp::Reply reply = co_await command("PASV");
  if (reply.code != 227) throw unexpected("PASV", reply);
  const auto announced = ftp::parse_pasv_reply(reply.text());
  if (!announced) throw unexpected("PASV", reply);
  // Only the port is taken from the 227; the data connection goes to the server we talk
  // to, as curl's does since 7.74 (CVE-2020-8284): a hostile server could otherwise send
  // the client to any host and port, e.g. to probe the network the client sits in.
  co_await connect_data({peer.address(), announced->port});
}

asio::awaitable<std::uint64_t> FtpClient::run_transfer(std::string command_line, std::string path, DataSink& sink,
                                                       std::uint64_t offset, std::uint64_t total,
                                                       ProgressSink& progress, ftp::Reply* final_out) {
  std::error_code ignored;
  const ftp::Reply opening = co_await command(std::move(command_line));
  if (!opening.positive_preliminary() && !opening.positive_completion()) {
    data_.close(ignored);
    if (opening.code == 550) throw not_found(path, opening);
    throw ClientError(ErrorKind::transfer, path + ": the server refused the transfer (" + reply_summary(opening) + ")");
  }
  if (protected_data_ && opening.positive_preliminary()) co_await start_data_tls_or_abandon(path);

  std::uint64_t received = 0;
  std::vector<std::byte> buffer(transfer_chunk);
  std::exception_ptr sink_failure;
  std::error_code data_ec;
  for (;;) {
    auto [ec, n] = co_await data_read_some(buffer);
    if (n > 0) {
      try {
        sink(std::span<const std::byte>(buffer.data(), n));
      } catch (...) {
        sink_failure = std::current_exception();
        break;
      }
      received += n;
      if (progress) progress(offset + received, total);
    }
    if (ec == asio::error::eof) break;
    if (ec) {
      data_ec = ec;
      break;
    }
  }
  if (!data_ec && !sink_failure) co_await shutdown_data_tls();  // our close_notify: a clean end
  data_.close(ignored);
  if (data_ec && (cancelled_ || timed_out_)) throw io_error(data_ec, ErrorKind::transfer, "receiving " + path);

  // Read the final reply even after a local failure, so the control connection stays in
  // step for the next command (closing the data connection early makes the server send
  // 426 at once).
  ftp::Reply final_reply = opening;
  if (opening.positive_preliminary()) {
    try {
      final_reply = co_await read_reply();
    } catch (const ClientError&) {
      if (!sink_failure && !data_ec) throw;
    }
  }
  if (sink_failure) std::rethrow_exception(sink_failure);
  if (data_ec) throw io_error(data_ec, ErrorKind::transfer, "receiving " + path);
  if (final_reply.code != 226 && final_reply.code != 250) {
    throw ClientError(ErrorKind::transfer, path + ": transfer failed (" + reply_summary(final_reply) + ")");
  }
  if (final_out) *final_out = std::move(final_reply);
  co_return received;
}

asio::awaitable<std::uint64_t> FtpClient::retrieve(std::string path, DataSink sink, std::uint64_t offset,
                                                   std::uint64_t total, ProgressSink progress) {
  co_await open_data();
  if (offset > 0) {
    const ftp::Reply reply = co_await command("REST " + std::to_string(offset));
    if (reply.code != 350) {
      std::error_code ignored;
      data_.close(ignored);
      throw ClientError(ErrorKind::transfer, "the server cannot resume " + path + " at byte " + std::to_string(offset) +
                                                 " (" + reply_summary(reply) + ")");
    }
  }
  co_return co_await run_transfer("RETR " + path, path, sink, offset, total, progress);
}

asio::awaitable<std::uint64_t> FtpClient::store(std::string path, DataSource source, std::uint64_t offset,
                                                std::uint64_t total, ProgressSink progress) {
  std::error_code ignored;
  co_await open_data();
  if (offset > 0) {
    const ftp::Reply reply = co_await command("REST " + std::to_string(offset));
    if (reply.code != 350) {
      data_.close(ignored);
      throw ClientError(ErrorKind::transfer, "the server cannot resume " + path + " at byte " + std::to_string(offset) +
                                                 " (" + reply_summary(reply) + ")");
    }
  }
  std::string line = "STOR " + path;
  const ftp::Reply opening = co_await command(std::move(line));
  if (!opening.positive_preliminary()) {
    data_.close(ignored);
    if (opening.positive_completion()) {
      throw ClientError(ErrorKind::protocol, "STOR " + path + ": the server completed before any data was sent (" +
                                                 reply_summary(opening) + ")");
    }
    throw refusal("upload", path, opening);
  }
  // Until the last byte is sent, closing the data connection (cancel(), the watchdog, the
  // process killed by a signal) resets it: the server discards the upload and keeps the
  // old file. Only the normal end below clears this and closes with a FIN.
  data_.set_option(asio::socket_base::linger(true, 0), ignored);
  if (protected_data_) co_await start_data_tls_or_abandon(path);

  std::uint64_t sent = 0;
  std::vector<std::byte> buffer(transfer_chunk);
  std::exception_ptr source_failure;
  std::error_code data_ec;
  for (;;) {
    std::size_t n = 0;
    try {
      n = source(std::span<std::byte>(buffer.data(), buffer.size()));
    } catch (...) {
      source_failure = std::current_exception();
      break;
    }
    if (n == 0) break;
    auto [ec, written] = co_await data_write(std::span<const std::byte>(buffer.data(), n));
    if (ec) {
      data_ec = ec;
      break;
    }
    sent += written;
    if (progress) progress(offset + sent, total);
  }
  // On a failure the linger(0) set above stays: a reset, not a FIN, because end-of-file
  // would tell the server the upload is complete.
  if (!source_failure && !data_ec) {
    data_.set_option(asio::socket_base::linger(false, 0), ignored);
    co_await shutdown_data_tls();  // close_notify: the upload ended here, not truncated
  }
  data_.close(ignored);
  if (data_ec && (cancelled_ || timed_out_)) throw io_error(data_ec, ErrorKind::transfer, "sending " + path);

  ftp::Reply final_reply;
  try {
    final_reply = co_await read_reply();
  } catch (const ClientError&) {
    if (!source_failure && !data_ec) throw;
  }
  if (source_failure) std::rethrow_exception(source_failure);
  // The server's reason (e.g. 452 disk full) explains a broken data connection best.
  if (final_reply.code >= 400) throw refusal("upload", path, final_reply);
  if (data_ec) throw io_error(data_ec, ErrorKind::transfer, "sending " + path);
  if (final_reply.code != 226 && final_reply.code != 250) {
    throw ClientError(ErrorKind::transfer, path + ": upload failed (" + reply_summary(final_reply) + ")");
  }
  co_return sent;
}

asio::awaitable<void> FtpClient::remove(std::string path) {
  std::string line = "DELE " + path;
  const ftp::Reply reply = co_await command(std::move(line));
  if (reply.code != 250 && reply.code != 200) throw refusal("delete", path, reply);
}

asio::awaitable<void> FtpClient::make_directory(std::string path) {
  std::string line = "MKD " + path;
  const ftp::Reply reply = co_await command(std::move(line));
  if (reply.code != 257 && reply.code != 250) throw refusal("mkdir", path, reply);
}

asio::awaitable<void> FtpClient::remove_directory(std::string path) {
  std::string line = "RMD " + path;
  const ftp::Reply reply = co_await command(std::move(line));
  if (reply.code != 250 && reply.code != 200) throw refusal("rmdir", path, reply);
}

asio::awaitable<void> FtpClient::rename(std::string from, std::string to) {
  std::string from_line = "RNFR " + from;
  const ftp::Reply first = co_await command(std::move(from_line));
  if (first.code != 350) throw refusal("rename", from, first);
  std::string to_line = "RNTO " + to;
  const ftp::Reply second = co_await command(std::move(to_line));
  if (second.code != 250 && second.code != 200) {
    // A 550 here is about the destination (its directory is missing, or it exists).
    const ClientError error = refusal("rename to", to, second);
    throw ClientError(error.kind(), "cannot rename " + from + " to " + to + " (" + reply_summary(second) + ")");
  }
}

asio::awaitable<bool> FtpClient::set_mtime(std::string path, std::int64_t mtime) {
  const Features features = co_await feat();
  if (!features.has("MFMT")) co_return false;
  std::string line = "MFMT " + ftp::format_timeval(mtime) + " " + path;
  const ftp::Reply reply = co_await command(std::move(line));
  if (reply.code == 213 || reply.code == 253) co_return true;
  if (not_implemented(reply)) co_return false;
  throw refusal("setting the time of", path, reply);
}

asio::awaitable<std::vector<FileInfo>> FtpClient::list(std::string path) {
  const Features features = co_await feat();
  const bool mlsd = features.has("MLST");
  std::string listing;
  DataSink collect = [&listing](std::span<const std::byte> chunk) {
    if (listing.size() + chunk.size() > max_listing_bytes) {
      throw ClientError(ErrorKind::transfer,
                        "directory listing larger than " + std::to_string(max_listing_bytes / (1024 * 1024)) + " MiB");
    }
    listing.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  };
  ProgressSink no_progress;
  co_await open_data();
  std::string line = mlsd ? "MLSD" : "LIST";
  if (!path.empty()) line += " " + path;
  // Kept out of the co_await expression: GCC 12 mishandles a conditional's temporary
  // there (it was destroyed twice: "free(): invalid pointer").
  std::string shown_path = path.empty() ? "." : path;
  ftp::Reply done;
  co_await run_transfer(std::move(line), shown_path, collect, 0, 0, no_progress, &done);
  // pure-ftpd stops a listing at 10000 entries and says so only in its 226 ("Output
  // truncated to 10000 matches"): a part must not pass for the whole directory (mirror
  // would miss, or upload again, what it cannot see).
  if (upper(done.text()).find("TRUNCATED") != std::string::npos) {
    throw ClientError(ErrorKind::transfer, shown_path + ": the server cut the listing short (" + reply_summary(done) + ")");
  }

  std::vector<FileInfo> entries;
  std::size_t start = 0;
  while (start < listing.size()) {
    std::size_t end = listing.find('\n', start);
    if (end == std::string::npos) end = listing.size();
    std::string_view entry_line(listing.data() + start, end - start);
    start = end + 1;
    if (!entry_line.empty() && entry_line.back() == '\r') entry_line.remove_suffix(1);
    if (entry_line.empty()) continue;
    if (mlsd && is_directory_self_entry(entry_line)) continue;
    auto info = mlsd ? ftp::parse_mlsx_line(entry_line) : ftp::parse_list_line(entry_line);
    if (!info || info->name == "." || info->name == "..") continue;
    entries.push_back(std::move(*info));
  }
  // vsftpd answers LIST of a missing directory with an empty listing, not 550: an empty
  // LIST is an empty directory only if CWD can enter it (every path ferry sends is
  // absolute, so the changed working directory matters to nothing).
  if (!mlsd && entries.empty() && !path.empty()) {
    const ftp::Reply reply = co_await command("CWD " + path);
    if (reply.code == 550) throw not_found(path, reply);
  }
  co_return entries;
}

}  // namespace ferry::client
