// The mirror job: listings, the plan, and the parallel transfer workers.
#include "mirror.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "download.hpp"
#include "terminal_progress.hpp"
#include "upload.hpp"

namespace ferry::client {

namespace fs = std::filesystem;

namespace {

constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

bool under(std::string_view path, std::string_view directory) {
  return path.size() > directory.size() && path.starts_with(directory) && path[directory.size()] == '/';
}

// A name from a remote listing that could leave the local directory, or that a local file
// system cannot hold.
bool unsafe_name(std::string_view name) {
  return name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos ||
         name.find('\0') != std::string_view::npos;
}

}  // namespace

// ---------------------------------------------------------------------------------------
// The plan.

MirrorPlan plan_mirror(const std::vector<TreeEntry>& source, const std::vector<TreeEntry>& target,
                       bool compare_mtime) {
  std::map<std::string_view, const TreeEntry*> targets;
  for (const auto& entry : target) targets.emplace(entry.path, &entry);
  std::vector<const TreeEntry*> ordered;
  ordered.reserve(source.size());
  for (const auto& entry : source) ordered.push_back(&entry);
  // A parent's path is a prefix of its children's, so it sorts first.
  std::sort(ordered.begin(), ordered.end(), [](const TreeEntry* a, const TreeEntry* b) { return a->path < b->path; });

  MirrorPlan plan;
  std::vector<std::string_view> skipped;  // directories whose whole subtree is left out
  for (const TreeEntry* entry : ordered) {
    if (std::any_of(skipped.begin(), skipped.end(), [&](std::string_view dir) { return under(entry->path, dir); })) {
      continue;
    }
    const auto found = targets.find(entry->path);
    const TreeEntry* existing = found == targets.end() ? nullptr : found->second;
    switch (entry->type) {
      case FileType::directory:
        if (existing && existing->type != FileType::directory) {
          plan.notes.push_back("skipping " + entry->path + "/: the target has a non-directory of that name");
          skipped.push_back(entry->path);
        } else if (!existing) {
          plan.directories.push_back(entry->path);
        }
        break;
      case FileType::file:
        if (existing && existing->type != FileType::file) {
          plan.notes.push_back("skipping " + entry->path + ": the target has a " +
                               (existing->type == FileType::directory ? "directory" : "non-regular file") +
                               " of that name");
        } else if (!existing || existing->size != entry->size ||
                   (compare_mtime && entry->mtime != 0 && existing->mtime != 0 && entry->mtime > existing->mtime)) {
          plan.transfers.push_back(*entry);
        } else {
          ++plan.unchanged;
        }
        break;
      case FileType::symlink:
        plan.notes.push_back("skipping symlink " + entry->path + " (symlinks are not followed)");
        break;
      case FileType::other:
        plan.notes.push_back("skipping " + entry->path + ": not a regular file or directory");
        break;
    }
  }
  return plan;
}

// ---------------------------------------------------------------------------------------
// Listings.

namespace {

TreeEntry local_entry(const fs::path& path, const fs::path& root) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    throw ClientError(ErrorKind::local, "cannot read " + path.string() + ": " + std::strerror(errno));
  }
  TreeEntry entry;
  entry.path = path.lexically_relative(root).generic_string();
  entry.mtime = static_cast<std::int64_t>(st.st_mtim.tv_sec);
  if (S_ISREG(st.st_mode)) {
    entry.type = FileType::file;
    entry.size = static_cast<std::uint64_t>(st.st_size);
  } else if (S_ISDIR(st.st_mode)) {
    entry.type = FileType::directory;
  } else if (S_ISLNK(st.st_mode)) {
    entry.type = FileType::symlink;
  } else {
    entry.type = FileType::other;
  }
  return entry;
}

}  // namespace

std::vector<TreeEntry> list_local_tree(const fs::path& root, std::vector<UnreadableDirectory>* unreadable) {
  std::vector<TreeEntry> entries;
  std::error_code ec;
  if (!fs::exists(root, ec)) return entries;
  // Directory by directory (not recursive_directory_iterator, which stops at the first
  // directory it cannot open), so that one unreadable subdirectory costs only its subtree.
  std::deque<fs::path> pending{root};
  while (!pending.empty()) {
    const fs::path directory = std::move(pending.front());
    pending.pop_front();
    const bool is_root = directory == root;
    fs::directory_iterator it(directory, ec);
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
      TreeEntry entry = local_entry(it->path(), root);
      if (entry.type == FileType::directory) pending.push_back(it->path());
      entries.push_back(std::move(entry));
    }
    if (!ec) continue;
    if (is_root || unreadable == nullptr) {
      throw ClientError(ErrorKind::local, "cannot read " + directory.string() + ": " + ec.message());
    }
    // Entries read before a failure part-way stay out too: the directory counts as unknown.
    const std::string relative = directory.lexically_relative(root).generic_string();
    std::erase_if(entries, [&relative](const TreeEntry& entry) { return under(entry.path, relative); });
    unreadable->push_back({relative, ec.message()});
    ec.clear();
  }
  return entries;
}

std::string join_remote(std::string_view root, std::string_view relative) {
  std::string path(root);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (relative.empty()) return path.empty() ? "/" : path;
  if (path.empty() || path.back() != '/') path += '/';
  path += relative;
  return path;
}

namespace {

// A remote tree deeper than this is cut there (a server may show an endless one).
constexpr std::size_t max_remote_depth = 64;

// A failure after which this connection cannot go on (as opposed to one refusal).
bool connection_gone(const FtpClient& client, const ClientError& error) {
  return !client.is_connected() || error.kind() == ErrorKind::timeout || error.kind() == ErrorKind::cancelled ||
         error.kind() == ErrorKind::connect;
}

// Drops the entries at or below any of `directories`: what is in them is unknown.
void leave_out(std::vector<TreeEntry>& entries, const std::vector<std::string>& directories) {
  std::erase_if(entries, [&directories](const TreeEntry& entry) {
    return std::any_of(directories.begin(), directories.end(),
                       [&entry](const std::string& directory) { return under(entry.path, directory); });
  });
}

// The remote tree below `root`, directory by directory (MLSD, or LIST when FEAT has no MLST).
// A directory whose MLSD unique fact was seen before (a cycle through a link) is skipped
// with a note; one deeper than max_remote_depth too, and it counts in `cut`. A directory
// below the root that cannot be listed (550 permission denied, a failed data connection)
// gets a note and its relative path goes into `unlisted`: what is in it is unknown, so the
// caller must neither take it for empty nor the whole tree for missing. Only the root's own
// listing, and a lost connection, throw.
asio::awaitable<std::vector<TreeEntry>> list_remote_tree(FtpClient& client, std::string root,
                                                         std::vector<std::string>& notes, std::uint64_t& cut,
                                                         std::vector<std::string>& unlisted) {
  std::vector<TreeEntry> entries;
  std::deque<std::pair<std::string, std::size_t>> pending{{std::string(), 0}};
  std::set<std::uint64_t> seen;
  while (!pending.empty()) {
    const std::string relative = std::move(pending.front().first);
    const std::size_t depth = pending.front().second;
    pending.pop_front();
    std::string directory = join_remote(root, relative);
    std::vector<FileInfo> listing;
    std::optional<std::string> failure;
    try {
      listing = co_await client.list(std::move(directory));
    } catch (const ClientError& error) {
      if (relative.empty() || connection_gone(client, error)) throw;
      failure = error.what();
    }
    if (failure) {
      notes.push_back("cannot list " + relative + "/ (" + *failure + "): left out");
      unlisted.push_back(relative);
      continue;
    }
    for (const FileInfo& info : listing) {
      std::string path = relative.empty() ? info.name : relative + "/" + info.name;
      if (unsafe_name(info.name)) {
        notes.push_back("skipping a remote entry with an unusable name in " + join_remote(root, relative));
        continue;
      }
      if (info.type == FileType::directory && info.unique_id != 0 && !seen.insert(info.unique_id).second) {
        notes.push_back("skipping " + path + "/: the same directory as one listed before (a cycle)");
        continue;
      }
      if (info.type == FileType::directory && depth + 1 >= max_remote_depth) {
        notes.push_back("skipping " + path + "/: deeper than " + std::to_string(max_remote_depth) + " levels");
        ++cut;
        continue;
      }
      TreeEntry entry{path, info.type, info.size, info.mtime};
      if (info.type == FileType::directory) pending.emplace_back(path, depth + 1);
      entries.push_back(std::move(entry));
    }
  }
  co_return entries;
}

void set_local_mtime(const fs::path& path, std::int64_t mtime) {
  struct timespec times[2] = {};
  times[0].tv_nsec = UTIME_OMIT;
  times[1].tv_sec = static_cast<time_t>(mtime);
  if (::utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) {
    throw ClientError(ErrorKind::local, "cannot set the time of " + path.string() + ": " + std::strerror(errno));
  }
}

// What the workers share; everything runs on one executor, so no locks.
struct MirrorState {
  const MirrorRequest* request = nullptr;
  bool use_mdtm = false;   // download without MLSD: LIST times are coarse, ask MDTM
  bool set_remote_time = false;  // upload with MFMT
  std::vector<TreeEntry> queue;
  std::size_t next = 0;
  std::size_t files_done = 0;
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  MirrorSummary summary;

  void report() const {
    if (request->progress) request->progress(bytes_done, bytes_total, files_done, queue.size());
  }
  void note(const std::string& line) const {
    if (request->note) request->note(line);
  }
};

asio::awaitable<void> transfer_one(FtpClient& client, MirrorState& state, const TreeEntry& entry,
                                   std::uint64_t& counted) {
  const MirrorRequest& request = *state.request;
  const std::string remote = join_remote(request.remote_root, entry.path);
  const fs::path local = request.local_root / entry.path;
  ProgressSink progress = [&state, &counted](std::uint64_t done, std::uint64_t) {
    if (done > counted) {
      state.bytes_done += done - counted;
      counted = done;
      state.report();
    }
  };
  bool verified = false;
  if (request.direction == MirrorDirection::download) {
    DownloadRequest job;
    job.remote_path = remote;
    job.target = local;
    job.partial = PartialName::unique;  // parallel workers, and remote names ending in .part
    job.progress = std::move(progress);
    const DownloadReceipt receipt = co_await download_file(client, std::move(job));
    verified = receipt.verification == Verification::matched;
    std::int64_t mtime = entry.mtime;
    if (state.use_mdtm) {
      std::string path = remote;
      mtime = (co_await client.mdtm(std::move(path))).value_or(0);
    }
    if (mtime != 0) set_local_mtime(local, mtime);
  } else {
    UploadRequest job;
    job.source = local;
    job.remote_path = remote;
    job.progress = std::move(progress);
    const UploadReceipt receipt = co_await upload_file(client, std::move(job));
    verified = receipt.verification == Verification::matched;
    if (state.set_remote_time && entry.mtime != 0) {
      // The file is uploaded (and verified) by now: a server that will not set its time
      // costs a note, not a failure. A lost connection still fails it.
      std::optional<std::string> refused;
      try {
        std::string path = remote;
        co_await client.set_mtime(std::move(path), entry.mtime);
      } catch (const ClientError& error) {
        if (connection_gone(client, error)) throw;
        refused = error.what();
      }
      if (refused) state.note(entry.path + ": uploaded, but its modification time was not set (" + *refused + ")");
    }
  }
  if (verified) ++state.summary.verified;
}

asio::awaitable<void> worker(FtpClient& client, MirrorState& state, bool fresh, unsigned index) {
  const MirrorRequest& request = *state.request;
  if (fresh) {
    try {
      co_await request.open_connection(client);
    } catch (const ClientError& error) {
      state.note("connection " + std::to_string(index + 1) + ": " + error.what());
      co_return;
    }
  }
  while (state.next < state.queue.size()) {
    const TreeEntry& entry = state.queue[state.next++];
    std::uint64_t counted = 0;
    std::optional<std::string> failure;
    try {
      co_await transfer_one(client, state, entry, counted);
    } catch (const ClientError& error) {
      failure = error.what();
    } catch (const std::exception& error) {
      failure = error.what();
    }
    ++state.files_done;
    if (failure) {
      ++state.summary.failed;
      state.bytes_done -= std::min(state.bytes_done, counted);
      state.bytes_total -= std::min(state.bytes_total, entry.size);
      state.note(entry.path + ": " + *failure);
    } else {
      ++state.summary.transferred;
      state.summary.bytes += entry.size;
      if (entry.size > counted) state.bytes_done += entry.size - counted;
    }
    state.report();
    if (failure && !client.is_connected()) {
      // A timeout or a lost connection closes the client: open it again for the rest.
      try {
        co_await request.open_connection(client);
      } catch (const ClientError& error) {
        state.note("connection " + std::to_string(index + 1) + " lost: " + error.what());
        co_return;
      }
    }
  }
  if (fresh) co_await client.quit();
}

}  // namespace

std::string describe(const MirrorSummary& summary) {
  std::string text = "mirror: " + std::to_string(summary.transferred) + (summary.transferred == 1 ? " file" : " files");
  if (summary.transferred > 0) {
    text += " (";
    text += format_bytes(summary.bytes);
    text += ")";
  }
  text += " transferred, " + std::to_string(summary.unchanged) + " unchanged, " + std::to_string(summary.failed) +
          " failed";
  if (summary.skipped > 0) text += ", " + std::to_string(summary.skipped) + " skipped";
  return text;
}

asio::awaitable<MirrorSummary> run_mirror(FtpClient& first, MirrorRequest request) {
  const unsigned jobs = std::clamp(request.jobs, 1u, 16u);
  MirrorState state;
  state.request = &request;
  const Features features = co_await first.feat();
  const bool download = request.direction == MirrorDirection::download;
  std::vector<std::string> notes;
  std::uint64_t cut = 0;  // remote directories left out for their depth
  std::vector<std::string> unlisted;  // remote directories that could not be listed
  std::vector<UnreadableDirectory> unreadable;  // local ones

  std::vector<TreeEntry> remote;
  std::vector<TreeEntry> local;
  bool compare_mtime = true;
  std::string remote_root = request.remote_root;
  if (download) {
    remote = co_await list_remote_tree(first, remote_root, notes, cut, unlisted);
    std::error_code ec;
    fs::create_directories(request.local_root, ec);
    if (ec) throw ClientError(ErrorKind::local, "cannot create " + request.local_root.string() + ": " + ec.message());
    local = list_local_tree(request.local_root, &unreadable);
    state.use_mdtm = !features.has("MLST");
  } else {
    std::error_code ec;
    if (!fs::is_directory(request.local_root, ec)) {
      throw ClientError(ErrorKind::local, request.local_root.string() + " is not a directory");
    }
    local = list_local_tree(request.local_root, &unreadable);
    // Only a not-found on the root's own listing means "there is no remote tree yet";
    // list_remote_tree reports a subdirectory it cannot list in `unlisted` instead.
    bool missing = false;
    try {
      remote = co_await list_remote_tree(first, remote_root, notes, cut, unlisted);
    } catch (const ClientError& error) {
      if (error.kind() != ErrorKind::not_found) throw;
      missing = true;
    }
    if (missing && remote_root != "/") co_await first.make_directory(remote_root);
    // What is in a remote directory that could not be listed is unknown: nothing is
    // uploaded into it, so no newer remote file there is overwritten.
    leave_out(local, unlisted);
    // Without MFMT a remote file's time is when it was uploaded: only sizes compare.
    compare_mtime = features.has("MFMT");
    state.set_remote_time = compare_mtime;
  }

  // A local directory that cannot be read: what is in it is unknown on this side, so
  // nothing is copied into it or from it; noted, and counted as failed.
  std::vector<std::string> unreadable_paths;
  for (const UnreadableDirectory& directory : unreadable) {
    notes.push_back("cannot read " + (request.local_root / directory.path).string() + " (" + directory.reason +
                    "): left out");
    unreadable_paths.push_back(directory.path);
  }
  if (download) leave_out(remote, unreadable_paths);
  unlisted.insert(unlisted.end(), unreadable_paths.begin(), unreadable_paths.end());

  MirrorPlan plan = download ? plan_mirror(remote, local, compare_mtime) : plan_mirror(local, remote, compare_mtime);
  for (auto& line : plan.notes) notes.push_back(std::move(line));
  for (const auto& line : notes) state.note(line);
  // A directory cut for its depth or that could not be listed is a failure, not a skip.
  state.summary.skipped = notes.size() - cut - unlisted.size();
  state.summary.failed = cut + unlisted.size();
  state.summary.unchanged = plan.unchanged;

  for (const std::string& directory : plan.directories) {
    if (download) {
      std::error_code ec;
      fs::create_directory(request.local_root / directory, ec);
      if (ec) {
        state.note("cannot create " + (request.local_root / directory).string() + ": " + ec.message());
        ++state.summary.failed;
        continue;
      }
    } else {
      std::string path = join_remote(remote_root, directory);
      try {
        co_await first.make_directory(std::move(path));
      } catch (const ClientError& error) {
        state.note(error.what());
        ++state.summary.failed;
        continue;
      }
    }
    ++state.summary.directories_created;
  }

  state.queue = std::move(plan.transfers);
  for (const auto& entry : state.queue) state.bytes_total += entry.size;
  state.report();

  const unsigned workers = static_cast<unsigned>(std::min<std::size_t>(jobs, std::max<std::size_t>(state.queue.size(), 1)));
  std::vector<std::unique_ptr<FtpClient>> extra;
  for (unsigned i = 1; i < workers; ++i) {
    extra.push_back(std::make_unique<FtpClient>(first.executor()));
    if (request.configure) request.configure(*extra.back(), i);
  }
  std::size_t running = workers;
  asio::steady_timer all_done(first.executor(), asio::steady_timer::time_point::max());
  auto finished = [&running, &all_done](std::exception_ptr) {
    if (--running == 0) all_done.cancel();
  };
  asio::co_spawn(first.executor(), worker(first, state, false, 0), finished);
  for (unsigned i = 1; i < workers; ++i) {
    asio::co_spawn(first.executor(), worker(*extra[i - 1], state, true, i), finished);
  }
  while (running > 0) co_await all_done.async_wait(use_tuple);

  if (state.next < state.queue.size()) {
    const std::size_t left = state.queue.size() - state.next;
    state.summary.failed += left;
    state.note(std::to_string(left) + " files not transferred: no connection to the server left");
  }
  co_return state.summary;
}

}  // namespace ferry::client
