// Directory and file-fact handlers: PWD, CWD, CDUP, SIZE, MDTM, MLST, and the listings
// (LIST, NLST, MLSD, and STAT with a path).
#include <fnmatch.h>

#include <chrono>
#include <ctime>

#include "ftp/listing.hpp"
#include "ftp/reply.hpp"
#include "server/blocking.hpp"
#include "server/log.hpp"
#include "server/session.hpp"
#include "vfs/path.hpp"

namespace ferry {

asio::awaitable<void> Session::cmd_pwd(std::string_view) {
  co_await reply(257, ftp::quote_path(cwd_) + " is the current directory.");
}

asio::awaitable<void> Session::cmd_cwd(std::string_view arg) {
  auto path = co_await resolve_or_refuse(arg);
  if (!path) co_return;
  auto info = co_await stat(*path);
  if (!info) {
    co_await reply_error(info.error(), arg);
  } else if (info->type != FileType::directory) {
    co_await reply(550, std::string(arg) + ": Not a directory.");
  } else {
    cwd_ = *path;
    status_.cwd(cwd_);
    co_await reply(250, "Directory changed to " + ftp::quote_path(cwd_) + ".");
  }
}

asio::awaitable<void> Session::cmd_cdup(std::string_view) { co_await cmd_cwd(".."); }

asio::awaitable<void> Session::cmd_size(std::string_view arg) {
  if (auto info = co_await stat_plain_file(arg)) co_await reply(213, std::to_string(info->size));
}

asio::awaitable<void> Session::cmd_mdtm(std::string_view arg) {
  if (auto info = co_await stat_plain_file(arg)) co_await reply(213, ftp::format_timeval(info->mtime));
}

asio::awaitable<void> Session::cmd_mlst(std::string_view arg) {
  auto path = co_await resolve_or_refuse(arg);
  if (!path) co_return;
  auto info = co_await stat(*path);
  if (!info) {
    co_await reply_error(info.error(), arg.empty() ? cwd_ : arg);
    co_return;
  }
  // RFC 3659 7.2: the entry line starts with a space and carries the full path.
  FileInfo entry = info.value();
  entry.name = *path;
  std::string text = "Listing " + *path + "\n";
  ftp::append_mlsx_line(text, entry, mlst_facts_);
  text += "\nEnd.";
  co_await reply(250, text);
}

asio::awaitable<void> Session::cmd_list(std::string_view arg) { co_await send_listing(arg, ListingFormat::list); }
asio::awaitable<void> Session::cmd_nlst(std::string_view arg) { co_await send_listing(arg, ListingFormat::nlst); }
asio::awaitable<void> Session::cmd_mlsd(std::string_view arg) { co_await send_listing(arg, ListingFormat::mlsd); }

namespace {

// A listing, built before the data connection is touched, so errors get a clean 550.
struct Listing {
  bool directory = true;
  std::vector<FileInfo> entries;
  bool matched = false;  // the entries a pattern matched
};

// "NLST *.txt", as ftp(1)'s mget and mdelete send it: a pattern in the last component
// lists the entries of its directory that match (a name that exists as written is not a
// pattern). Blocking: runs on the pool.
Result<Listing> build_listing(const vfs::VirtualFs& fs, const std::string& path, bool pattern) {
  auto info = fs.stat(path);
  if (!info && pattern && info.error().status == Status::not_found) {
    auto entries = fs.list(vfs::parent_path(path));
    if (!entries) return entries.error();
    std::string glob(vfs::base_name(path));
    std::erase_if(entries.value(), [&glob](const FileInfo& e) {
      return ::fnmatch(glob.c_str(), e.name.c_str(), FNM_PERIOD) != 0;  // "*" skips dot files, as in a shell
    });
    if (entries->empty()) return info.error();
    return Listing{false, std::move(entries.value()), true};
  }
  if (!info) return info.error();
  if (info->type != FileType::directory) return Listing{false, {info.value()}};
  auto entries = fs.list(path);
  if (!entries) return entries.error();
  return Listing{true, std::move(entries.value())};
}

// As ls does, NLST names a file as the client wrote it: ftp(1)'s "mget sub/a.txt" sends
// NLST sub/a.txt and then RETRs each name it gets back, so a bare "a.txt" is not found.
void name_as_written(Listing& listing, std::string_view written) {
  while (written.size() > 1 && written.ends_with('/')) written.remove_suffix(1);
  if (listing.matched) {  // "sub/*.txt": each match with the directory part as written
    std::string_view dir = written.substr(0, written.rfind('/') + 1);
    for (FileInfo& entry : listing.entries) entry.name.insert(0, dir);
  } else {
    listing.entries.front().name = written;
  }
}

// "LIST -la dir": ls-style options are accepted and ignored (the format is fixed).
std::string_view without_ls_options(std::string_view arg) {
  while (arg.starts_with('-')) {
    std::size_t space = arg.find(' ');
    arg = space == std::string_view::npos ? std::string_view() : arg.substr(space + 1);
  }
  return arg;
}

// STAT path: the listing over the control connection, in a 213 reply's lines.
std::string status_reply(const std::string& path, std::string_view listing) {
  while (!listing.empty() && (listing.back() == '\n' || listing.back() == '\r')) listing.remove_suffix(1);
  std::string body = "Status of " + path + ":\n";
  for (char c : listing) {
    if (c != '\r') body.push_back(c);
  }
  return body + "\nEnd of status.";
}

}  // namespace

asio::awaitable<void> Session::send_listing(std::string_view arg, ListingFormat format, bool over_control) {
  restart_offset_ = 0;
  if (format != ListingFormat::mlsd) arg = without_ls_options(arg);
  auto path = co_await resolve_or_refuse(arg);
  if (!path) co_return;
  const bool pattern =
      format != ListingFormat::mlsd && vfs::base_name(*path).find_first_of("*?[") != std::string_view::npos;
  auto list_job = [fs = *fs_, p = *path, pattern] { return build_listing(fs, p, pattern); };
  auto listing = co_await run_blocking(state_->blocking, std::move(list_job));
  if (!listing) {
    co_await reply_error(listing.error(), arg.empty() ? cwd_ : arg);
    co_return;
  }
  if (format == ListingFormat::mlsd && !listing->directory) {
    // MLSD lists a directory; for a file, MLST is the command (RFC 3659 7.1).
    co_await reply(501, std::string(arg) + ": not a directory.");
    co_return;
  }
  if (format == ListingFormat::nlst && !listing->directory) name_as_written(*listing, arg);
  std::string text = format_listing(listing->entries, format);
  if (over_control) {
    co_await reply(213, status_reply(*path, text));
    co_return;
  }
  co_await send_over_data(text);
}

std::string Session::format_listing(const std::vector<FileInfo>& entries, ListingFormat format) const {
  std::string text;
  std::time_t now = std::time(nullptr);
  for (const FileInfo& entry : entries) {
    if (!ftp::listable_name(entry.name)) continue;
    switch (format) {
      case ListingFormat::list: ftp::append_list_line(text, entry, now); break;
      case ListingFormat::nlst: text += entry.name + "\r\n"; break;
      case ListingFormat::mlsd:
        ftp::append_mlsx_line(text, entry, mlst_facts_);
        text += "\r\n";
        break;
    }
  }
  return text;
}

asio::awaitable<void> Session::send_over_data(const std::string& text) {
  auto data = co_await open_data_connection();
  if (!data) co_return;
  if (!co_await begin_transfer(*data, "Here comes the directory listing.")) co_return;
  suspend_idle_timeout();  // a long listing to a slow reader is not an idle session
  std::error_code ec = co_await data->write_all(text);
  co_await data->close();
  touch();
  if (ec) {
    co_await reply(426, "Connection closed; transfer aborted.");
  } else {
    co_await reply(226, "Directory send OK.");
  }
}

}  // namespace ferry
