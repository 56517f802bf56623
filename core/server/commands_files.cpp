// Handlers that change the tree: STOR, APPE, STOU (uploads), DELE, MKD, RMD, RNFR, RNTO.
// Whether a change is allowed is the provider's decision; the core maps its refusal.
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <vector>

#include "ftp/reply.hpp"
#include "server/blocking.hpp"
#include "server/log.hpp"
#include "server/session.hpp"
#include "vfs/path.hpp"

namespace ferry {

namespace {

using namespace asio::experimental::awaitable_operators;
constexpr auto as_tuple_awaitable = asio::experimental::as_tuple(asio::use_awaitable);
constexpr std::size_t upload_buffer_size = 256 * 1024;

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

asio::awaitable<void> Session::cmd_stor(std::string_view arg) { co_await receive_file(arg, WriteMode::replace); }
asio::awaitable<void> Session::cmd_appe(std::string_view arg) { co_await receive_file(arg, WriteMode::append); }
asio::awaitable<void> Session::cmd_stou(std::string_view arg) { co_await receive_file(arg, WriteMode::unique); }

asio::awaitable<void> Session::receive_file(std::string_view arg, WriteMode mode) {
  std::uint64_t offset = take_restart_offset();
  if (mode == WriteMode::replace && offset > 0) mode = WriteMode::resume;
  // STOU without a name: the provider picks one in the current directory.
  std::string_view name = arg.empty() && mode == WriteMode::unique ? std::string_view("ferry.upload") : arg;
  auto path = resolve(name);
  if (!path || name.empty()) {
    passive_.reset();
    co_await reply(name.empty() ? 501 : 553, name.empty() ? "STOR needs a file name." : "File name not allowed.");
    co_return;
  }
  auto open_job = [fs = *fs_, p = *path, mode, offset] { return fs.open_write(p, mode, offset); };
  auto opened = co_await run_blocking(state_->blocking, std::move(open_job));
  if (!opened) {
    passive_.reset();
    co_await reply_error(opened.error(), arg, true);
    co_return;
  }
  std::shared_ptr<WriteHandle> file = std::move(opened.value());
  auto data = co_await open_data_connection();
  if (!data) co_return;
  std::string final_name = file->final_name();
  if (mode == WriteMode::unique) {
    co_await reply(150, "FILE: " + (final_name.empty() ? std::string(vfs::base_name(*path)) : final_name));
  } else {
    co_await reply(150, "Ok to send data.");
  }

  auto started = std::chrono::steady_clock::now();
  deadline_ = std::chrono::steady_clock::time_point::max();  // the data connection has its own timeout
  std::vector<std::byte> buffer(upload_buffer_size);
  std::vector<std::byte> converted;
  bool pending_cr = false;
  std::uint64_t received = 0;
  Error failure{Status::ok, {}};
  bool network_failed = false;
  asio::steady_timer timer(control_.get_executor());
  while (true) {
    timer.expires_after(std::chrono::seconds(state_->config.data_timeout));
    auto result = co_await (data->async_read_some(asio::buffer(buffer.data(), buffer.size()), as_tuple_awaitable) ||
                            timer.async_wait(as_tuple_awaitable));
    if (result.index() == 1) {
      network_failed = true;  // stalled
      break;
    }
    auto [ec, n] = std::get<0>(result);
    if (ec == asio::error::eof) break;
    if (ec) {
      network_failed = true;
      break;
    }
    received += n;
    std::span<const std::byte> chunk(buffer.data(), n);
    if (!binary_) {
      strip_crlf(buffer, n, pending_cr, converted);
      chunk = converted;
    }
    auto write_job = [file, chunk]() -> Result<void> {
      std::span<const std::byte> rest = chunk;
      while (!rest.empty()) {
        auto written = file->write(rest);
        if (!written) return written.error();
        rest = rest.subspan(written.value());
      }
      return {};
    };
    auto written = co_await run_blocking(state_->blocking, std::move(write_job));
    if (!written) {
      failure = written.error();
      break;
    }
  }
  if (pending_cr && failure.status == Status::ok && !network_failed) {
    auto cr_job = [file] {
      const std::byte cr{'\r'};
      return file->write(std::span<const std::byte>(&cr, 1));
    };
    auto written = co_await run_blocking(state_->blocking, std::move(cr_job));
    if (!written) failure = written.error();
  }
  std::error_code ignored;
  data->close(ignored);
  touch();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (network_failed || failure.status != Status::ok) {
    // Dropping the handle without commit(): the provider keeps an old file intact.
    auto discard_job = [file = std::move(file)]() mutable {
      file.reset();
      return 0;
    };
    co_await run_blocking(state_->blocking, std::move(discard_job));
    log_info("session ", id_, ": transfer failed: STOR ", *path, " user ", fs_->user(), " after ", received,
             " bytes, ", ms, " ms: ", network_failed ? "data connection lost or stalled" : failure.message);
    if (network_failed) {
      co_await reply(426, "Connection closed; transfer aborted.");
    } else {
      co_await reply_error(failure, arg, true);
    }
    co_return;
  }
  auto commit_job = [file = std::move(file)]() mutable {
    auto r = file->commit();
    file.reset();  // close now, on this thread
    return r;
  };
  auto committed = co_await run_blocking(state_->blocking, std::move(commit_job));
  if (!committed) {
    log_info("session ", id_, ": transfer failed: STOR ", *path, ": ", committed.error().message);
    co_await reply_error(committed.error(), arg, true);
    co_return;
  }
  log_info("session ", id_, ": transfer ok: STOR ", *path, " user ", fs_->user(), " ", received, " bytes in ", ms,
           " ms");
  co_await reply(226, mode == WriteMode::unique && !final_name.empty() ? "Transfer complete: " + final_name
                                                                        : std::string("Transfer complete."));
}

asio::awaitable<void> Session::cmd_dele(std::string_view arg) {
  auto path = resolve(arg);
  if (!path) {
    co_await reply(553, "File name not allowed.");
    co_return;
  }
  auto job = [fs = *fs_, p = *path] { return fs.remove_file(p); };
  auto done = co_await run_blocking(state_->blocking, std::move(job));
  if (!done) {
    co_await reply_error(done.error(), arg, true);
    co_return;
  }
  log_info("session ", id_, ": deleted ", *path, " (user ", fs_->user(), ")");
  co_await reply(250, "Delete operation successful.");
}

asio::awaitable<void> Session::cmd_mkd(std::string_view arg) {
  auto path = resolve(arg);
  if (!path) {
    co_await reply(553, "File name not allowed.");
    co_return;
  }
  auto job = [fs = *fs_, p = *path] { return fs.make_directory(p); };
  auto done = co_await run_blocking(state_->blocking, std::move(job));
  if (!done) {
    co_await reply_error(done.error(), arg, true);
    co_return;
  }
  co_await reply(257, ftp::quote_path(*path) + " created.");
}

asio::awaitable<void> Session::cmd_rmd(std::string_view arg) {
  auto path = resolve(arg);
  if (!path) {
    co_await reply(553, "File name not allowed.");
    co_return;
  }
  auto job = [fs = *fs_, p = *path] { return fs.remove_directory(p); };
  auto done = co_await run_blocking(state_->blocking, std::move(job));
  if (!done) {
    co_await reply_error(done.error(), arg, true);
    co_return;
  }
  co_await reply(250, "Remove directory operation successful.");
}

asio::awaitable<void> Session::cmd_rnfr(std::string_view arg) {
  auto path = resolve(arg);
  if (!path) {
    co_await reply(553, "File name not allowed.");
    co_return;
  }
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
  auto path = resolve(arg);
  if (!path) {
    co_await reply(553, "File name not allowed.");
    co_return;
  }
  auto job = [fs = *fs_, from, to = *path] { return fs.rename(from, to); };
  auto done = co_await run_blocking(state_->blocking, std::move(job));
  if (!done) {
    co_await reply_error(done.error(), arg, true);
    co_return;
  }
  log_info("session ", id_, ": renamed ", from, " to ", *path, " (user ", fs_->user(), ")");
  co_await reply(250, "Rename successful.");
}

asio::awaitable<void> Session::cmd_allo(std::string_view) { co_await reply(202, "No storage allocation necessary."); }

}  // namespace ferry
