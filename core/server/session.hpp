// One control connection: reads commands, runs their handlers, keeps the session's state
// (login, current directory, transfer parameters). One coroutine per session; nothing
// large lives here while the session is idle (transfer buffers belong to the transfer).
#pragma once

#include <array>
#include <atomic>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "digest/digest.hpp"
#include "ferry/io_hints.hpp"
#include "ftp/listing.hpp"
#include "server/control_channel.hpp"
#include "server/data_channel.hpp"
#include "server/data_plan.hpp"
#include "server/proxy_header_reader.hpp"
#include "server/server_state.hpp"
#include "server/session_registry.hpp"
#include "vfs/virtual_fs.hpp"

namespace ferry {

enum class CommandId : std::uint8_t;

class SplicePipe;   // commands_files.cpp
struct UploadNames;  // commands_files.cpp

class Session {
 public:
  // `implicit_tls`: the connection speaks TLS from its first byte (implicit FTPS).
  // `origin`: what the PROXY header of a balancer's connection said (read at the edge);
  // its client is then this session's peer for everything (bans, limits, logs, PORT).
  Session(std::shared_ptr<ServerState> state, asio::ip::tcp::socket socket, std::uint64_t id, bool implicit_tls = false,
          const ProxyOrigin* origin = nullptr);
  ~Session();

  // Runs the session until QUIT, disconnect, timeout or error. Never throws.
  asio::awaitable<void> run();

  // Server shutdown (on the session's thread): an idle session gets 421 and is closed at
  // once; a transfer in progress may finish first, then the same happens.
  void request_shutdown();
  // Shutdown's time is up: close the connection now, whatever is in progress.
  void force_close() { close(); }
  // The operator's abort: the transfer under way ends with 426 (nothing when there is none).
  void abort_transfer();

 private:
  // ---- command handlers (one per verb; families in commands_*.cpp), private: only
  // run_handler() calls them, after the command table's pre-checks ----
  // login
  asio::awaitable<void> cmd_user(std::string_view arg);
  asio::awaitable<void> cmd_pass(std::string_view arg);
  asio::awaitable<void> cmd_quit(std::string_view arg);
  // information
  asio::awaitable<void> cmd_noop(std::string_view arg);
  asio::awaitable<void> cmd_syst(std::string_view arg);
  asio::awaitable<void> cmd_feat(std::string_view arg);
  asio::awaitable<void> cmd_opts(std::string_view arg);
  asio::awaitable<void> cmd_help(std::string_view arg);
  asio::awaitable<void> cmd_stat(std::string_view arg);
  // directories and file facts
  asio::awaitable<void> cmd_pwd(std::string_view arg);
  asio::awaitable<void> cmd_cwd(std::string_view arg);
  asio::awaitable<void> cmd_cdup(std::string_view arg);
  asio::awaitable<void> cmd_size(std::string_view arg);
  asio::awaitable<void> cmd_mdtm(std::string_view arg);
  asio::awaitable<void> cmd_mlst(std::string_view arg);
  // transfer parameters and transfers
  asio::awaitable<void> cmd_type(std::string_view arg);
  asio::awaitable<void> cmd_mode(std::string_view arg);
  asio::awaitable<void> cmd_stru(std::string_view arg);
  asio::awaitable<void> cmd_pasv(std::string_view arg);
  asio::awaitable<void> cmd_epsv(std::string_view arg);
  asio::awaitable<void> cmd_rest(std::string_view arg);
  asio::awaitable<void> cmd_abor(std::string_view arg);
  asio::awaitable<void> cmd_list(std::string_view arg);
  asio::awaitable<void> cmd_nlst(std::string_view arg);
  asio::awaitable<void> cmd_mlsd(std::string_view arg);
  asio::awaitable<void> cmd_retr(std::string_view arg);
  asio::awaitable<void> cmd_hash(std::string_view arg);
  asio::awaitable<void> cmd_xsha256(std::string_view arg);
  asio::awaitable<void> cmd_xsha512(std::string_view arg);
  asio::awaitable<void> cmd_xsha1(std::string_view arg);
  asio::awaitable<void> cmd_xmd5(std::string_view arg);
  // changes to the tree
  asio::awaitable<void> cmd_stor(std::string_view arg);
  asio::awaitable<void> cmd_appe(std::string_view arg);
  asio::awaitable<void> cmd_stou(std::string_view arg);
  asio::awaitable<void> cmd_dele(std::string_view arg);
  asio::awaitable<void> cmd_mkd(std::string_view arg);
  asio::awaitable<void> cmd_rmd(std::string_view arg);
  asio::awaitable<void> cmd_rnfr(std::string_view arg);
  asio::awaitable<void> cmd_rnto(std::string_view arg);
  asio::awaitable<void> cmd_allo(std::string_view arg);
  asio::awaitable<void> cmd_mfmt(std::string_view arg);
  asio::awaitable<void> cmd_site(std::string_view arg);
  // active mode and session reset
  asio::awaitable<void> cmd_port(std::string_view arg);
  asio::awaitable<void> cmd_eprt(std::string_view arg);
  asio::awaitable<void> cmd_rein(std::string_view arg);
  // FTPS (RFC 4217)
  asio::awaitable<void> cmd_auth(std::string_view arg);
  asio::awaitable<void> cmd_pbsz(std::string_view arg);
  asio::awaitable<void> cmd_prot(std::string_view arg);
  asio::awaitable<void> cmd_ccc(std::string_view arg);

  enum class ListingFormat { list, nlst, mlsd };
  // aborted: by the client's ABOR; stopped: by the operator (SessionRegistry::abort_transfer).
  enum class TransferEnd { done, aborted, stopped, control_lost };

  asio::awaitable<void> command_loop();
  asio::awaitable<void> watchdog();
  // The first line starts like a PROXY header that nobody may send here: logs, closes.
  bool refuse_proxy_header(const std::string& first_line);
  // PORT/EPRT: checks the target (no FTP bounce) and remembers it.
  asio::awaitable<void> set_active_target(const asio::ip::address& address, std::uint16_t port);
  // PASV and EPSV: the listener kept from the last transfer when it fits, else a new one.
  std::unique_ptr<PassiveListener> passive_listener(const asio::ip::address& local);
  // Server-side TLS handshake on the control connection (AUTH TLS, implicit FTPS).
  asio::awaitable<bool> start_control_tls();
  bool tls_required_for_login() const noexcept;
  asio::awaitable<void> dispatch(std::string_view line);
  // The handler of `id` (session_handlers.cpp), once the table's prechecks passed.
  asio::awaitable<void> run_handler(CommandId id, std::string_view argument);

  // Publishes what happened in this session to the server's event sinks.
  void emit(Event event) const;
  // Sends a reply. A failed write closes the session.
  asio::awaitable<void> reply(int code, std::string_view text);
  void close();
  // A banned address, at connect or at PASS on a connection opened before the ban: logs,
  // answers 421 and closes.
  asio::awaitable<void> refuse_banned();
  // PASS's two outcomes: the session starts as `identity`, or a refusal (counted toward a
  // ban, answered no sooner than `answer_at`, 421 after too many).
  asio::awaitable<void> begin_logged_in(const Identity& identity, std::uint64_t judged_in_ms);  // ms: judging the login took
  asio::awaitable<void> refuse_login(const std::string& user, const std::string& reason,
                                     std::chrono::steady_clock::time_point answer_at);
  void touch();  // pushes the idle deadline forward
  void set_deadline(std::chrono::steady_clock::time_point when);  // the watchdog's, earlier or later
  // While data flows or a digest is computed, the control connection is legitimately quiet.
  void suspend_idle_timeout() noexcept;

  // The control connection's local address (an IPv4-mapped one as plain IPv4).
  asio::ip::address local_address() const;
  // A plain file's facts for SIZE/MDTM: replies the refusal itself (553, 550) and
  // returns nullopt when there is none.
  asio::awaitable<std::optional<FileInfo>> stat_plain_file(std::string_view arg);

  // Resolves a client path argument against the current directory (nullopt: 553/501).
  std::optional<std::string> resolve(std::string_view arg) const;
  // The same, replying 553 itself when the name is refused.
  asio::awaitable<std::optional<std::string>> resolve_or_refuse(std::string_view arg);
  asio::awaitable<Result<FileInfo>> stat(const std::string& path);
  // The reply for a provider's refusal (550, 553 for a bad name, 452/552 for space).
  asio::awaitable<void> reply_error(const Error& error, std::string_view path);
  // DELE, MKD, RMD, RNTO: resolve, change on the pool, answer a refusal (commands_files.cpp).
  template <typename Change>
  asio::awaitable<std::optional<std::string>> change_tree(std::string_view arg, Change change);

  // A transfer's end, ok (`failure` empty) or not: one log event, and one line in the
  // transfer log when there is one. `verb` is RETR, STOR, APPE or STOU.
  void log_transfer(std::string_view verb, const std::string& path, std::uint64_t bytes,
                    std::chrono::steady_clock::time_point started, std::string_view failure);

  // Data connection: waits for the client on the pending passive listener, or connects
  // to the PORT/EPRT address. Replies 425 itself when that fails.
  asio::awaitable<std::unique_ptr<DataConnection>> open_data_connection();
  // The refusals known before any connection is tried (521 PROT P required, 425 no PORT or
  // PASV); false after replying one. Uploads ask first, so a refused one touches no file.
  asio::awaitable<bool> data_connection_possible();
  // Sends the 150 reply, then (PROT P) the TLS handshake; false after replying the failure.
  asio::awaitable<bool> begin_transfer(DataConnection& data, std::string_view preliminary);
  asio::awaitable<bool> resumed_session_is_ours(DataConnection& data);
  // LIST/NLST/MLSD over the data connection, or (STAT path) over the control connection.
  asio::awaitable<void> send_listing(std::string_view arg, ListingFormat format, bool over_control = false);
  std::string format_listing(const std::vector<FileInfo>& entries, ListingFormat format) const;
  // A listing's bytes over the data connection: 150, the bytes, 226 (or 426).
  asio::awaitable<void> send_over_data(const std::string& text);
  asio::awaitable<void> send_digest(std::string_view path_arg, digest::Algorithm algorithm, bool hash_style);
  asio::awaitable<void> receive_file(std::string_view arg, WriteMode mode);
  // Opens the upload's file on the pool; replies the refusal itself (nullptr then).
  asio::awaitable<std::shared_ptr<WriteHandle>> open_upload(const std::string& path, std::string_view name,
                                                            WriteMode mode, std::uint64_t offset);
  std::uint64_t take_restart_offset() noexcept;

  // Runs a transfer while reading the control connection: ABOR cancels the transfer, a
  // lost control connection too; any other command waits until the transfer is over.
  asio::awaitable<std::pair<TransferEnd, std::error_code>> watch_transfer(asio::awaitable<std::error_code> transfer);
  asio::awaitable<TransferEnd> watch_for_abort();
  asio::awaitable<void> watch_for_stop(asio::steady_timer& stop);
  asio::awaitable<void> reply_transfer_failed(TransferEnd end);
  // Why a transfer that did not end `done` ended, as the log says it.
  static std::string transfer_end_reason(TransferEnd end);
  asio::awaitable<std::error_code> send_data(ReadHandle& file, DataConnection& data, std::uint64_t offset,
                                             std::uint64_t size, ByteCounter& sent);
  struct Received {
    ByteCounter bytes{0};
    Error failure{Status::ok, {}};  // set when the provider refused a write
    std::unique_ptr<digest::Hasher> digest;  // set: digest the bytes written as they go
    digest::Algorithm algorithm = digest::Algorithm::sha256;  // the digest's
    std::uint64_t written = 0;               // bytes handed to the file (TYPE A: after conversion)
  };
  // A failed upload: dropped without commit (an old file stays), logged, answered.
  asio::awaitable<void> abandon_upload(std::shared_ptr<WriteHandle> file, const UploadNames& names,
                                       const Received& received, TransferEnd end, std::error_code ec,
                                       std::chrono::steady_clock::time_point started, std::string_view arg);
  // The digest of this session's last upload, computed while its bytes arrived, and the
  // provider's stamp of the file it made: HASH answers from it while the stamp is the same.
  struct UploadDigest {
    std::string path;
    digest::Algorithm algorithm;
    std::string hex;
    std::uint64_t size = 0;
    ContentStamp stamp;
  };
  // The upload's digest, once committed, when the provider vouches for the file's stamp.
  void remember_upload_digest(const std::string& path, Received& received, const std::optional<ContentStamp>& stamp);
  asio::awaitable<std::error_code> receive_data(WriteHandle& file, DataConnection& data, Received& received);
  asio::awaitable<std::error_code> splice_data(WriteIoHints& file, DataConnection& data, SplicePipe& pipe,
                                               Received& received);

  std::shared_ptr<ServerState> state_;
  SessionStatus status_;  // what the live view shows (SessionRegistry)
  ControlChannel control_;
  asio::steady_timer watchdog_timer_;
  std::chrono::steady_clock::time_point deadline_;
  std::uint64_t id_;
  asio::ip::address peer_;
  asio::ip::address local_;  // the control connection's local address (IPv4-mapped as IPv4)
  std::string peer_text_;
  std::string proxy_text_;  // the balancer this connection came through ("" = direct)

  std::string output_;  // reply bytes being sent

  std::string pending_user_;
  std::string rename_from_;  // set by RNFR, consumed by the RNTO right after it
  std::optional<vfs::VirtualFs> fs_;  // set once logged in
  std::string cwd_ = "/";
  bool binary_ = false;
  bool epsv_all_ = false;
  bool closing_ = false;
  bool transferring_ = false;
  std::pair<std::size_t, std::size_t> abort_line_{};  // where watch_for_abort() found ABOR in input_
  asio::steady_timer* stop_transfer_ = nullptr;  // the running transfer's; abort_transfer() cancels it
  bool rearm_watchdog_ = false;  // the watchdog's wait was cancelled to move its deadline
  bool replying_ = false;        // reply() is writing output_
  std::shared_ptr<std::atomic<bool>> digest_stop_;  // set by close(): a running digest stops
  bool shutting_down_ = false;
  unsigned failed_logins_ = 0;
  std::uint64_t restart_offset_ = 0;
  digest::Algorithm hash_algorithm_ = digest::Algorithm::sha256;
  bool digest_uploads_ = false;  // OPTS HASH seen: the client will ask, so uploads are digested as they arrive
  std::shared_ptr<const UploadDigest> upload_digest_;  // the last upload's (remember_upload_digest)
  unsigned mlst_facts_ = ftp::all_mlst_facts;  // what MLST and MLSD show; OPTS MLST selects
  DataPlan data_plan_;  // PASV/EPSV or PORT/EPRT, for the next transfer command

  // FTPS: the control connection's TLS layer and its read buffer exist only after AUTH TLS.
  bool implicit_tls_ = false;
  std::optional<TlsSessionToken> tls_token_;  // carried by this connection's TLS sessions (TlsSessionOwners)
  bool pbsz_ = false;          // PBSZ 0 seen (required before PROT)
  bool prot_private_ = false;  // PROT P: data connections use TLS
};

}  // namespace ferry
