// Handlers that change the tree: STOR, APPE, STOU (uploads), DELE, MKD, RMD, RNFR, RNTO.
// Whether a change is allowed is the provider's decision; the core maps its refusal.
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <optional>
#include <utility>
#include <vector>

#include "ferry/io_hints.hpp"
#include "ftp/command.hpp"
#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "server/blocking.hpp"
#include "server/log.hpp"
#include "server/session.hpp"
#include "server/unique_fd.hpp"
#include "vfs/path.hpp"

namespace ferry {

namespace {

// Each chunk is copied twice (socket -> buffer -> page cache): a buffer that stays in the
// CPU's cache between the two copies made uploads faster here than a 256 KiB one.
constexpr std::size_t upload_buffer_size = 64 * 1024;
// The pipe of a spliced upload: 1 MiB (the default pipe-max-size) took 24% more MiB/s and
// 16% less server CPU per GiB than 256 KiB in an A/B of 6 pairs (bench/results/notes.md,
// 2026-12-07): fewer splice calls and wake-ups per upload. Past the user's pipe quota
// (pipe-user-pages-soft, 64 MiB: 64 uploads at once) the kernel refuses it, and the
// default size does.
constexpr std::size_t splice_pipe_size = 1024 * 1024;

// TYPE A uploads: CR LF on the wire becomes LF on disk. A CR at the end of one chunk is
// held back in `pending_cr` until the next chunk shows whether an LF follows.
void strip_crlf(std::vector<std::byte>& data, std::size_t n, bool& pending_cr, std::vector<std::byte>& out) {
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    std::byte b = data[i];
    if (pending_cr) {
      pending_cr = false;
      if (b != std::byte{'\n'}) out.push_back(std::byte{'\r'});
    }
    if (b == std::byte{'\r'}) {
      pending_cr = true;
      continue;
    }
    out.push_back(b);
  }
}

}  // namespace

// The pipe a binary upload is spliced through (see Session::splice_data).
class SplicePipe {
 public:
  static std::optional<SplicePipe> open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;  // out of descriptors: copy instead
    SplicePipe pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
    // Larger than the default 64 KiB: fewer calls per upload. Refused past the user's pipe
    // quota (many uploads at once): then the default does.
    int size = ::fcntl(fds[1], F_SETPIPE_SZ, static_cast<int>(splice_pipe_size));
    if (size < 0) size = ::fcntl(fds[1], F_GETPIPE_SZ);
    pipe.capacity_ = size > 0 ? static_cast<std::size_t>(size) : 4096;
    return pipe;
  }
  int read_end() const noexcept { return read_.get(); }
  int write_end() const noexcept { return write_.get(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  SplicePipe(UniqueFd r, UniqueFd w) : read_(std::move(r)), write_(std::move(w)) {}
  UniqueFd read_;
  UniqueFd write_;
  std::size_t capacity_ = 0;
};

asio::awaitable<void> Session::cmd_stor(std::string_view arg) { co_await receive_file(arg, WriteMode::replace); }
asio::awaitable<void> Session::cmd_appe(std::string_view arg) { co_await receive_file(arg, WriteMode::append); }
asio::awaitable<void> Session::cmd_stou(std::string_view arg) { co_await receive_file(arg, WriteMode::unique); }

// What an upload is called: in the log, and in STOU's replies.
struct UploadNames {
  const char* verb;         // STOR, APPE or STOU
  std::string written;      // the file's path as written (STOU may have picked another name)
  std::string unique_path;  // STOU's reply: the bare name in the current directory, else the path
};

namespace {

UploadNames upload_names(WriteMode mode, const std::string& path, const std::string& final_name,
                         const std::string& cwd) {
  UploadNames names;
  names.verb = mode == WriteMode::append ? "APPE" : mode == WriteMode::unique ? "STOU" : "STOR";
  const std::string_view parent = vfs::parent_path(path);
  names.written = final_name.empty() ? path : std::string(parent) + (parent == "/" ? "" : "/") + final_name;
  // RFC 1123 4.1.2.9: STOU's reply names the file's path: its bare name in the current
  // directory, the whole path elsewhere ("STOU sub/x" may write /sub/x.1, not x.1).
  names.unique_path =
      vfs::parent_path(names.written) == cwd ? std::string(vfs::base_name(names.written)) : names.written;
  return names;
}

}  // namespace

asio::awaitable<void> Session::receive_file(std::string_view arg, WriteMode mode) {
  std::uint64_t offset = take_restart_offset();
  if (mode == WriteMode::replace && offset > 0) mode = WriteMode::resume;
  // STOU without a name: the provider picks one in the current directory.
  std::string_view name = arg.empty() && mode == WriteMode::unique ? std::string_view("ferry.upload") : arg;
  auto path = resolve(name);
  if (!path || name.empty()) {
    co_await reply(name.empty() ? 501 : 553, name.empty() ? "STOR needs a file name." : "File name not allowed.");
    co_return;
  }
  if (!co_await data_connection_possible()) co_return;
  std::shared_ptr<WriteHandle> file = co_await open_upload(*path, name, mode, offset);
  if (!file) co_return;
  auto data = co_await open_data_connection();
  if (!data) co_return;
  const std::string final_name = file->final_name();
  const UploadNames names = upload_names(mode, *path, final_name, cwd_);
  // Reply texts are built outside co_await: g++ 12 mishandles a ?: temporary inside one.
  std::string opening = mode != WriteMode::unique ? std::string("Ok to send data.") : "FILE: " + names.unique_path;
  if (!co_await begin_transfer(*data, opening)) co_return;

  auto started = std::chrono::steady_clock::now();
  suspend_idle_timeout();
  Received received;
  upload_digest_.reset();  // the next HASH is for this upload, or reads the file
  if (digest_uploads_) {
    received.algorithm = hash_algorithm_;
    received.digest = std::make_unique<digest::Hasher>(received.algorithm);
  }
  LiveTransfer live(status_, names.verb, names.written, true, std::nullopt, received.bytes);
  auto [end, ec] = co_await watch_transfer(receive_data(*file, *data, received));
  co_await data->close();
  touch();
  if (end != TransferEnd::done || ec || received.failure.status != Status::ok) {
    co_await abandon_upload(std::move(file), names, received, end, ec, started, arg);
    co_return;
  }
  // The stamp is asked for only when there is a digest to go with it.
  auto commit_job = [file = std::move(file), want_stamp = received.digest != nullptr]() mutable
      -> Result<std::optional<ContentStamp>> {
    auto r = file->commit();
    if (!r) return r.error();
    auto* stamps = want_stamp ? dynamic_cast<WriteStamps*>(file.get()) : nullptr;
    std::optional<ContentStamp> stamp = stamps ? stamps->committed_stamp() : std::nullopt;
    file.reset();  // close now, on this thread
    return stamp;
  };
  auto committed = co_await run_blocking(state_->blocking, std::move(commit_job));
  if (!committed) {
    log_transfer(names.verb, names.written, received.bytes, started, committed.error().message);
    co_await reply_error(committed.error(), arg);
    co_return;
  }
  remember_upload_digest(names.written, received, committed.value());
  log_transfer(names.verb, names.written, received.bytes, started, {});
  std::string done = mode == WriteMode::unique && !final_name.empty() ? "Transfer complete: " + names.unique_path
                                                                     : std::string("Transfer complete.");
  co_await reply(226, done);
}

// A failed upload: the handle dropped without commit() (the provider keeps an old file
// intact), the transfer logged, the failure answered.
asio::awaitable<void> Session::abandon_upload(std::shared_ptr<WriteHandle> file, const UploadNames& names,
                                              const Received& received, TransferEnd end, std::error_code ec,
                                              std::chrono::steady_clock::time_point started, std::string_view arg) {
  // Dropping the handle without commit(): the provider keeps an old file intact.
  auto discard_job = [file = std::move(file)]() mutable {
    file.reset();
    return 0;
  };
  co_await run_blocking(state_->blocking, std::move(discard_job));
  std::string why = end != TransferEnd::done ? transfer_end_reason(end)
                    : ec                     ? "data connection: " + ec.message()
                                             : received.failure.message;
  log_transfer(names.verb, names.written, received.bytes, started, why);
  if (end != TransferEnd::done) {
    co_await reply_transfer_failed(end);
  } else if (ec) {
    co_await reply(426, "Connection closed; transfer aborted.");
  } else {
    co_await reply_error(received.failure, arg);
  }
}

void Session::remember_upload_digest(const std::string& path, Received& received,
                                     const std::optional<ContentStamp>& stamp) {
  if (!received.digest || !stamp) return;
  upload_digest_ = std::make_shared<const UploadDigest>(
      UploadDigest{path, received.algorithm, received.digest->hex(), received.written, *stamp});
}

asio::awaitable<std::shared_ptr<WriteHandle>> Session::open_upload(const std::string& path, std::string_view name,
                                                                   WriteMode mode, std::uint64_t offset) {
  auto open_job = [fs = *fs_, p = path, mode, offset] { return fs.open_write(p, mode, offset); };
  auto opened = co_await run_blocking(state_->blocking, std::move(open_job));
  if (opened) co_return std::shared_ptr<WriteHandle>(std::move(opened.value()));
  if (mode == WriteMode::resume && opened.error().status == Status::not_supported) {
    // RFC 3659 5.4: a restart marker the server cannot honour is 554.
    std::string text = "Restart offset " + std::to_string(offset) + " refused: " + opened.error().message + ".";
    co_await reply(554, text);
  } else {
    co_await reply_error(opened.error(), name);  // STOU without a name: the one tried
  }
  co_return nullptr;
}

asio::awaitable<std::error_code> Session::receive_data(WriteHandle& file, DataConnection& data,
                                                       Received& received) {
  // A local file's handle says so (WriteIoHints): then a plain binary upload is spliced,
  // and any other is written on this thread.
  WriteIoHints* hints = dynamic_cast<WriteIoHints*>(&file);
  // A digest needs the bytes in user space: then they are read, digested and written.
  if (binary_ && !data.is_tls() && hints && hints->accepts_splice() && !received.digest) {
    if (auto pipe = SplicePipe::open()) co_return co_await splice_data(*hints, data, *pipe, received);
  }
  const bool fast_write = hints && hints->fast_write();
  std::vector<std::byte> buffer(upload_buffer_size);
  std::vector<std::byte> converted;
  bool pending_cr = false;
  auto write_all = [this, &file, &received, fast_write](std::span<const std::byte> chunk) -> asio::awaitable<bool> {
    auto write_job = [&file, chunk]() -> Result<void> {
      std::span<const std::byte> rest = chunk;
      while (!rest.empty()) {
        auto written = file.write(rest);
        if (!written) return written.error();
        rest = rest.subspan(written.value());
      }
      return {};
    };
    // Digested as written: the digest is of the file's bytes (TYPE A: after the conversion).
    if (received.digest) received.digest->update(chunk);
    received.written += chunk.size();
    // A local file takes the bytes at page-cache speed: no pool round trip per chunk.
    Result<void> written;
    if (fast_write) {
      written = write_job();
    } else {
      written = co_await run_blocking(state_->blocking, std::move(write_job));
    }
    if (!written) received.failure = written.error();
    co_return written.ok();
  };
  while (true) {
    auto [ec, n] = co_await data.read_some({reinterpret_cast<char*>(buffer.data()), buffer.size()});
    if (ec == asio::error::eof) break;
    if (ec) co_return ec;
    received.bytes += n;
    std::span<const std::byte> chunk(buffer.data(), n);
    if (!binary_) {
      strip_crlf(buffer, n, pending_cr, converted);
      chunk = converted;
    }
    if (!co_await write_all(chunk)) co_return std::error_code{};
  }
  if (pending_cr) {
    const std::byte cr{'\r'};
    co_await write_all(std::span<const std::byte>(&cr, 1));
  }
  co_return std::error_code{};
}

// socket -> pipe -> file: the kernel moves the received pages into the pipe and copies
// them once, into the page cache; read() + write() would copy each byte twice.
asio::awaitable<std::error_code> Session::splice_data(WriteIoHints& file, DataConnection& data, SplicePipe& pipe,
                                                      Received& received) {
  while (true) {
    auto [ec, n] = co_await data.splice_some(pipe.write_end(), pipe.capacity());
    if (ec == asio::error::eof) co_return std::error_code{};
    if (ec) co_return ec;
    received.bytes += n;
    for (std::size_t left = n; left > 0;) {
      auto moved = file.splice_from(pipe.read_end(), left);
      if (!moved) {
        received.failure = moved.error();
        co_return std::error_code{};
      }
      left -= moved.value();
    }
  }
}

// A change to the tree at `arg`: the path resolved (553 when refused), the change run on
// the blocking pool, a provider's refusal answered (550, 553, 552...). The path changed,
// or nullopt once the refusal is answered.
template <typename Change>
asio::awaitable<std::optional<std::string>> Session::change_tree(std::string_view arg, Change change) {
  auto path = co_await resolve_or_refuse(arg);
  if (!path) co_return std::nullopt;
  auto job = [fs = *fs_, p = *path, change] { return change(fs, p); };
  auto done = co_await run_blocking(state_->blocking, std::move(job));
  if (!done) {
    co_await reply_error(done.error(), arg);
    co_return std::nullopt;
  }
  co_return path;
}

asio::awaitable<void> Session::cmd_dele(std::string_view arg) {
  auto path = co_await change_tree(arg, [](const vfs::VirtualFs& fs, const std::string& p) { return fs.remove_file(p); });
  if (!path) co_return;
  emit({.kind = EventKind::deleted, .user = fs_->user(), .path = *path});
  co_await reply(250, "Delete operation successful.");
}

asio::awaitable<void> Session::cmd_mkd(std::string_view arg) {
  auto path =
      co_await change_tree(arg, [](const vfs::VirtualFs& fs, const std::string& p) { return fs.make_directory(p); });
  if (path) co_await reply(257, ftp::quote_path(*path) + " created.");
}

asio::awaitable<void> Session::cmd_rmd(std::string_view arg) {
  auto path =
      co_await change_tree(arg, [](const vfs::VirtualFs& fs, const std::string& p) { return fs.remove_directory(p); });
  if (path) co_await reply(250, "Remove directory operation successful.");
}

asio::awaitable<void> Session::cmd_rnfr(std::string_view arg) {
  auto path = co_await resolve_or_refuse(arg);
  if (!path) co_return;
  auto info = co_await stat(*path);
  if (!info) {
    co_await reply_error(info.error(), arg);
    co_return;
  }
  rename_from_ = *path;
  co_await reply(350, "Ready for RNTO.");
}

asio::awaitable<void> Session::cmd_rnto(std::string_view arg) {
  std::string from = std::exchange(rename_from_, {});
  if (from.empty()) {
    co_await reply(503, "RNFR required first.");
    co_return;
  }
  // By reference: g++ 12 relocates a co_await expression's temporaries bitwise, which
  // corrupts a std::string captured by value (`from` outlives the call).
  auto path = co_await change_tree(
      arg, [&from](const vfs::VirtualFs& fs, const std::string& to) { return fs.rename(from, to); });
  if (!path) co_return;
  emit({.kind = EventKind::renamed, .user = fs_->user(), .path = from, .target = *path});
  co_await reply(250, "Rename successful.");
}

asio::awaitable<void> Session::cmd_mfmt(std::string_view arg) {
  // "MFMT YYYYMMDDHHMMSS path" (draft-somers-ftp-mfxx): set the modification time.
  std::size_t space = arg.find(' ');
  auto mtime = ftp::parse_timeval(arg.substr(0, space));
  if (space == std::string_view::npos || !mtime || space + 1 >= arg.size()) {
    co_await reply(501, "Syntax: MFMT YYYYMMDDHHMMSS path");
    co_return;
  }
  std::string_view name = arg.substr(space + 1);
  auto path = co_await resolve_or_refuse(name);
  if (!path) co_return;
  // The reply gives the time the file now has: a file system may clamp what it cannot
  // store (ext4's small inodes stop at 1901 and 2038), and MDTM will say that one.
  auto job = [fs = *fs_, p = *path, t = *mtime]() -> Result<std::int64_t> {
    auto done = fs.set_mtime(p, t);
    if (!done) return done.error();
    auto info = fs.stat(p);
    return info ? info->mtime : t;
  };
  auto set = co_await run_blocking(state_->blocking, std::move(job));
  if (!set) {
    co_await reply_error(set.error(), name);
    co_return;
  }
  std::string text = "Modify=" + ftp::format_timeval(*set) + "; " + std::string(name);
  co_await reply(213, text);
}

asio::awaitable<void> Session::cmd_site(std::string_view arg) {
  std::string_view sub = arg.substr(0, arg.find(' '));
  std::string verb = ftp::to_upper(sub);
  if (verb == "HELP") {
    co_await reply(214, "SITE commands: CHMOD HELP");
    co_return;
  }
  if (verb != "CHMOD") {
    co_await reply(504, "Unknown SITE command; try SITE HELP.");
    co_return;
  }
  // "SITE CHMOD 644 path"
  std::string_view rest = sub.size() < arg.size() ? arg.substr(sub.size() + 1) : std::string_view();
  std::size_t space = rest.find(' ');
  std::string_view mode_text = rest.substr(0, space);
  std::uint32_t mode = 0;
  auto [end, ec] = std::from_chars(mode_text.data(), mode_text.data() + mode_text.size(), mode, 8);
  if (space == std::string_view::npos || ec != std::errc() || end != mode_text.data() + mode_text.size() ||
      mode > 07777 || space + 1 >= rest.size()) {
    co_await reply(501, "Syntax: SITE CHMOD <octal mode> path");
    co_return;
  }
  std::string_view name = rest.substr(space + 1);
  auto path = co_await resolve_or_refuse(name);
  if (!path) co_return;
  auto job = [fs = *fs_, p = *path, mode] { return fs.set_mode(p, mode); };
  auto done = co_await run_blocking(state_->blocking, std::move(job));
  if (!done) {
    if (done.error().status == Status::not_supported) {
      co_await reply(504, "SITE CHMOD is not supported here.");
    } else {
      co_await reply_error(done.error(), name);
    }
    co_return;
  }
  co_await reply(200, "SITE CHMOD command ok.");
}

asio::awaitable<void> Session::cmd_allo(std::string_view) { co_await reply(202, "No storage allocation necessary."); }

}  // namespace ferry
