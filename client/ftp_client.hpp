// FtpClient: one FTP control connection and the data connections it opens, as Asio C++20
// coroutines. It never prints: the CLI and the GUI see the command/reply transcript and
// transfer progress through callbacks, and every failure is a ClientError.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client_error.hpp"
#include "ferry/plugin.hpp"
#include "ftp/reply.hpp"
#include "reply_fields.hpp"

namespace ferry::client {

enum class TranscriptKind {
  sent,      // a command line as sent (PASS's argument replaced by ****)
  received,  // one reply line as received
  info,      // what the client did besides commands, e.g. "data connection to 127.0.0.1:50001"
};
using TranscriptSink = std::function<void(TranscriptKind kind, std::string_view line)>;
// Bytes of the file present so far (a resumed transfer starts at its offset) and the total
// (0 when unknown). Called on the client's executor after each chunk.
using ProgressSink = std::function<void(std::uint64_t done, std::uint64_t total)>;
// Receives the bytes of a download in order; may throw (a ClientError of kind `local`
// for a failed write), which aborts the transfer.
using DataSink = std::function<void(std::span<const std::byte> chunk)>;
// Supplies the bytes of an upload in order: fills the front of `buffer` and returns how many
// bytes it wrote there, 0 at the end. May throw (ClientError of kind `local` for a failed
// read), which aborts the transfer so that the server discards what it received.
using DataSource = std::function<std::size_t(std::span<std::byte> buffer)>;

// FTPS (RFC 4217). explicit_tls: AUTH TLS after the greeting; implicit_tls: TLS from the
// first byte (ftps://, port 990). Either way the client sends PBSZ 0 and PROT P after
// login, and every data connection does a TLS handshake after the 1xx reply, resuming the
// control connection's session (servers such as ferryd and vsftpd insist on it).
enum class TlsMode { none, explicit_tls, implicit_tls };
struct TlsOptions {
  TlsMode mode = TlsMode::none;
  // Verify the server's certificate chain (system CA store plus ca_file) and that it names
  // the host. false is --insecure.
  bool verify = true;
  std::string ca_file;  // PEM; "" for the system store only
};

// Threading: not thread-safe. Construct it with the executor it runs on and call every
// operation from coroutines on that executor, one at a time (FTP has one command in flight
// per control connection). cancel() is the exception: any thread may call it. The client
// must outlive the io_context's processing of cancel() and of any pending operation.
//
// Every operation is a coroutine taking its arguments by value (they outlive the caller's
// temporaries) and reports failure by throwing ClientError.
class FtpClient {
 public:
  explicit FtpClient(asio::any_io_executor executor);
  ~FtpClient();
  FtpClient(const FtpClient&) = delete;
  FtpClient& operator=(const FtpClient&) = delete;

  void set_transcript(TranscriptSink sink) { transcript_ = std::move(sink); }
  // How long the server may stay silent on either connection before the operation fails
  // with ErrorKind::timeout (default 60 s).
  void set_timeout(std::chrono::steady_clock::duration timeout) { timeout_ = timeout; }
  // Takes effect at the next connect(). A certificate that cannot be verified fails
  // connect() with ErrorKind::connect.
  void set_tls(TlsOptions options) { tls_options_ = std::move(options); }
  bool is_secure() const { return control_tls_ != nullptr; }

  // The local address the next connect() binds its control connection to (the port is
  // still chosen at connect, per destination: IP_BIND_ADDRESS_NO_PORT). A load generator
  // spreads its connections over several loopback addresses with it, past the ephemeral
  // port range of one. nullopt: the kernel's choice (the default).
  void set_source_address(std::optional<asio::ip::address> address) { source_address_ = address; }

  // Opens the control connection and reads the 220 greeting.
  asio::awaitable<void> connect(std::string host, std::uint16_t port);
  // USER, then PASS when asked. A 530 is ErrorKind::login ("login refused for user U (530 ...)").
  asio::awaitable<void> login(std::string user, std::string password);
  // FEAT, asked once per login and cached; empty when the server has no FEAT.
  asio::awaitable<Features> feat();
  // TYPE I: every transfer and SIZE after this counts bytes, not lines.
  asio::awaitable<void> type_binary();

  // The entries of a directory: MLSD when FEAT lists MLST, else LIST in Unix ls format.
  // "." and ".." are left out; lines that cannot be parsed are skipped.
  asio::awaitable<std::vector<FileInfo>> list(std::string path);
  // SIZE and MDTM (RFC 3659); nullopt when the server lacks the command. A 550 is
  // ErrorKind::not_found.
  asio::awaitable<std::optional<std::uint64_t>> size(std::string path);
  asio::awaitable<std::optional<std::int64_t>> mdtm(std::string path);
  // PWD: the working directory, nullopt when the server does not say (no 257 with a name).
  asio::awaitable<std::optional<std::string>> working_directory();
  // The server's digest of a whole file as lower-case hex: HASH after OPTS HASH when FEAT
  // lists HASH with that algorithm (and OPTS HASH accepts it), else the X-command (XSHA256
  // for "SHA-256", XSHA512, XSHA1, XMD5).
  // nullopt when the server offers neither, or answers HASH with 556 (not for this file).
  asio::awaitable<std::optional<std::string>> hash(std::string path, std::string algorithm = "SHA-256");
  // OPTS HASH ALGORITHM, when FEAT lists HASH with it and it is not selected yet: true when
  // HASH now answers with that algorithm. Sent before an upload that will be verified, it
  // tells ferryd to digest the bytes as they arrive (HASH then needs no second pass).
  asio::awaitable<bool> select_hash(std::string algorithm = "SHA-256");

  // RETR, starting at `offset` (REST) when it is not 0; the bytes go to `sink` and progress
  // is reported against `total` (0: unknown). Returns the bytes received. Complete only when
  // the data connection reached end-of-file and the server confirmed with 226/250.
  asio::awaitable<std::uint64_t> retrieve(std::string path, DataSink sink, std::uint64_t offset, std::uint64_t total,
                                          ProgressSink progress);

  // STOR: sends the bytes from `source` as the remote file `path`. With `offset` > 0 it
  // sends REST first, so the server keeps the first `offset` bytes of the existing file and
  // writes from there (resume); `source` must then start at that offset. Progress counts
  // offset + bytes sent against `total` (0: unknown). Returns the bytes sent. Complete only
  // when the server confirmed with 226/250. Until the source is exhausted the data
  // connection is set to be reset when closed (SO_LINGER 0): on a local failure, cancel(),
  // a timeout, or the process killed by a signal the server sees a reset, not an
  // end-of-file, so it does not take a truncated file for a complete one.
  asio::awaitable<std::uint64_t> store(std::string path, DataSource source, std::uint64_t offset, std::uint64_t total,
                                       ProgressSink progress);

  // DELE, MKD, RMD, RNFR+RNTO. A 550 saying the object does not exist is
  // ErrorKind::not_found; any other refusal (permission, exists, not empty, 553 bad name,
  // 452/552 no space) is ErrorKind::refused with the server's words.
  asio::awaitable<void> remove(std::string path);
  asio::awaitable<void> make_directory(std::string path);
  asio::awaitable<void> remove_directory(std::string path);
  asio::awaitable<void> rename(std::string from, std::string to);
  // MFMT (set the modification time, seconds since the epoch, UTC). Returns false, sending
  // nothing, when FEAT does not list MFMT (or the server says it is not implemented).
  asio::awaitable<bool> set_mtime(std::string path, std::int64_t mtime);

  // Sends any command line and returns the server's reply as it is (for a GUI's console).
  asio::awaitable<ftp::Reply> command(std::string line);

  // QUIT, then closes. Never throws: leaving is best effort, and waits at most 3 s for the
  // reply (less when the timeout is shorter).
  asio::awaitable<void> quit();

  // Closes both connections; the operation in progress fails with ErrorKind::cancelled.
  // Thread-safe: the close runs on the client's executor.
  void cancel();

  bool is_connected() const { return control_.is_open(); }
  const asio::any_io_executor& executor() const { return executor_; }

 private:
  asio::awaitable<void> send(std::string line);
  asio::awaitable<std::string> read_line();
  asio::awaitable<ftp::Reply> read_reply();
  // Opens the data connection for the next transfer command into data_ (owned by the
  // client, so that cancel() and the watchdog can close it): EPSV first, PASV after a
  // refusal.
  asio::awaitable<void> open_data();
  std::error_code bind_source(const asio::ip::tcp::resolver::results_type& endpoints, asio::ip::tcp::endpoint& target);
  asio::awaitable<void> connect_data(asio::ip::tcp::endpoint endpoint);
  // The transfer command on an open data connection: waits for 1xx, drains the data
  // connection into `sink`, then waits for the final 2xx (copied to `final_reply` if given).
  asio::awaitable<std::uint64_t> run_transfer(std::string command_line, std::string path, DataSink& sink,
                                              std::uint64_t offset, std::uint64_t total, ProgressSink& progress,
                                              ftp::Reply* final_reply = nullptr);

  // TLS on the control connection (after AUTH TLS, or at once for implicit FTPS) and on
  // the data connection (after the 1xx reply). The data handshake resumes the control
  // connection's latest session: with TLS 1.3 its ticket arrives after the handshake.
  asio::awaitable<void> start_control_tls();
  asio::awaitable<void> start_data_tls(const std::string& what);
  // start_data_tls for a transfer whose 1xx has arrived: on a failure it abandons the
  // transfer before rethrowing, so that the control connection stays in step.
  asio::awaitable<void> start_data_tls_or_abandon(const std::string& what);
  // After a positive preliminary reply, when the transfer cannot go on: resets the data
  // connection and reads the server's final reply (at most a few seconds), or closes the
  // control connection when it does not come. Never throws.
  asio::awaitable<void> abandon_transfer();
  // Sends `line` (or, when empty, only reads the reply owed) allowing at most a few seconds
  // for the answer: for leaving, where a silent server must not cost the whole timeout.
  // True when the reply came. Never throws.
  asio::awaitable<bool> brief_reply(std::string line);
  // Sends close_notify on a TLS data connection (the end of an upload).
  asio::awaitable<void> shutdown_data_tls();
  asio::awaitable<std::pair<std::error_code, std::size_t>> data_read_some(std::span<std::byte> buffer);
  asio::awaitable<std::pair<std::error_code, std::size_t>> data_write(std::span<const std::byte> buffer);
  ClientError tls_error(std::error_code ec, SSL* ssl, ErrorKind kind, const std::string& what) const;

  // The watchdog: armed around each socket operation, it closes the sockets when the
  // server stays silent for longer than timeout_.
  void arm();
  void disarm();
  void close_sockets();

  void note(TranscriptKind kind, std::string_view line) const;
  // A ClientError for a failed socket operation, naming cancellation or timeout first
  // because those close the socket and surface as an unrelated-looking error code.
  ClientError io_error(std::error_code ec, ErrorKind kind, const std::string& what) const;

  asio::any_io_executor executor_;
  asio::ip::tcp::resolver resolver_;
  asio::ip::tcp::socket control_;
  asio::ip::tcp::socket data_;
  std::string inbox_;  // control bytes received but not yet consumed as lines
  std::string peer_;   // "host:port" of the server, for messages
  std::optional<asio::ip::address> source_address_;  // set_source_address()
  std::string host_;   // as given to connect(): TLS checks the certificate against it

  using TlsStream = asio::ssl::stream<asio::ip::tcp::socket&>;
  TlsOptions tls_options_;
  std::shared_ptr<asio::ssl::context> tls_context_;  // shared by the process's clients (tls_context.hpp)
  std::unique_ptr<TlsStream> control_tls_;
  std::unique_ptr<TlsStream> data_tls_;
  bool protected_data_ = false;  // PROT P accepted: data connections need TLS

  asio::steady_timer watchdog_;
  std::chrono::steady_clock::duration timeout_ = std::chrono::seconds(60);
  std::uint64_t watch_generation_ = 0;
  bool timed_out_ = false;
  bool cancelled_ = false;

  std::optional<Features> features_;
  std::string hash_algorithm_;  // what OPTS HASH last selected
  bool epsv_refused_ = false;   // skip EPSV after the first refusal on this connection
  TranscriptSink transcript_;
};

}  // namespace ferry::client
