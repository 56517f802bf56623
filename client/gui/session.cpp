// Session's Asio side: the io_context thread, the serialized browsing jobs, the transfer
// queue, and the words a person reads when something fails. Everything in Impl below the
// "Asio thread only" line is touched only on the io_context's thread; the GUI side of
// Session is touched only on the GUI thread; queued calls carry values between them.
#include "session.hpp"

#include <QDir>
#include <QFileInfo>
#include <QMetaObject>
#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <chrono>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <thread>

#include "download.hpp"
#include "ftp/listing.hpp"
#include "ftp_client.hpp"
#include "upload.hpp"

namespace ferry::gui {

namespace fs = std::filesystem;
using client::ClientError;
using client::ErrorKind;
using client::FtpClient;

namespace {

constexpr std::size_t max_parallel_transfers = 3;
constexpr auto progress_interval = std::chrono::milliseconds(100);

std::string to_std(const QString& text) { return text.toStdString(); }
QString to_q(std::string_view text) { return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size())); }

std::string remote_join(const std::string& directory, const std::string& name) {
  if (directory.empty() || directory == "/") return "/" + name;
  return directory.back() == '/' ? directory + name : directory + "/" + name;
}

std::string base_name(const std::string& remote_path) {
  const std::size_t slash = remote_path.rfind('/');
  return slash == std::string::npos ? remote_path : remote_path.substr(slash + 1);
}

RemoteEntry to_entry(const FileInfo& info) {
  RemoteEntry entry;
  entry.name = QString::fromStdString(info.name);
  entry.directory = info.type == FileType::directory;
  entry.symlink = info.type == FileType::symlink;
  entry.size = info.size;
  entry.mtime = info.mtime;
  return entry;
}

}  // namespace

struct Session::Impl {
  struct Transfer {
    int id = 0;
    bool upload = false;
    std::string remote_path;
    std::string remote_directory;
    fs::path local;  // download: the final local name; upload: the source file
    std::uint64_t total = 0;
    std::shared_ptr<FtpClient> client;
    bool cancelled = false;
    bool resumed = false;  // download: continued an existing .part file
  };
  struct Meter {
    std::chrono::steady_clock::time_point start;
    std::chrono::steady_clock::time_point last;
    std::uint64_t first = 0;
    bool started = false;
  };
  using Job = std::function<asio::awaitable<void>()>;

  explicit Impl(Session* session) : q(session), guard(io.get_executor()) {
    thread = std::thread([this] {
      io.run();
      finished.set_value();
    });
  }

  // A call of `f` on the GUI thread, if the Session still exists then.
  template <typename F>
  void to_gui(F f) {
    QMetaObject::invokeMethod(q, std::move(f), Qt::QueuedConnection);
  }
  void note_error(int id, const std::string& text) {
    const QString prefix = id > 0 ? QStringLiteral("[%1] ").arg(id) : QString();
    to_gui([q = q, line = prefix + QStringLiteral("Error: ") + to_q(text)] { Q_EMIT q->transcript(line); });
  }

  Session* q;
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::promise<void> finished;
  std::thread thread;

  // ---- Asio thread only -----------------------------------------------------------------
  std::string host;
  std::uint16_t port = 21;
  std::string user;
  std::string password;
  client::TlsOptions tls;  // FTPS settings of the site, for every connection
  std::shared_ptr<FtpClient> browser;
  // Escape before the login attempt has begun (it waits behind an earlier job, say the
  // previous connection's QUIT): the attempt, when its turn comes, does not start.
  bool open_aborted = false;
  std::deque<Job> jobs;
  bool draining = false;
  std::deque<std::shared_ptr<Transfer>> waiting;
  std::map<int, std::shared_ptr<Transfer>> running;
  // Every client made, so that shutting down can cancel even one that is saying QUIT.
  std::vector<std::weak_ptr<FtpClient>> clients;

  client::TranscriptSink transcript_for(int id) {
    return [this, id](client::TranscriptKind kind, std::string_view line) {
      QString text = id > 0 ? QStringLiteral("[%1] ").arg(id) : QString();
      switch (kind) {
        case client::TranscriptKind::sent:
          text += QStringLiteral("Command: ");
          break;
        case client::TranscriptKind::received:
          text += QStringLiteral("Response: ");
          break;
        case client::TranscriptKind::info:
          text += QStringLiteral("Status: ");
          break;
      }
      text += to_q(line);
      to_gui([q = q, text] { Q_EMIT q->transcript(text); });
    };
  }

  // FtpClient::cancel() posts a handler that uses the client: keep the client alive until
  // that handler has run (the io_context runs handlers in order on this one thread).
  void cancel_client(const std::shared_ptr<FtpClient>& ftp) {
    if (!ftp) return;
    ftp->cancel();
    asio::post(io, [ftp] {});
  }

  std::shared_ptr<FtpClient> make_client(int id) {
    auto ftp = std::make_shared<FtpClient>(io.get_executor());
    ftp->set_transcript(transcript_for(id));
    ftp->set_timeout(std::chrono::seconds(30));
    ftp->set_tls(tls);
    std::erase_if(clients, [](const std::weak_ptr<FtpClient>& c) { return c.expired(); });
    clients.push_back(ftp);
    return ftp;
  }

  // What a person should read for a failure: the library's messages are written for users
  // already; connection refusals and login refusals get the hint that helps most.
  std::string humane(const std::exception& error) const {
    const auto* client_error = dynamic_cast<const ClientError*>(&error);
    if (client_error == nullptr) return error.what();
    const std::string message = client_error->what();
    const std::string authority = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                                  std::to_string(port);
    switch (client_error->kind()) {
      case ErrorKind::connect:
        if (message.starts_with("connection refused")) {
          return "connection refused: is ferryd running on " + authority + "?";
        }
        return message;
      case ErrorKind::login:
        return "login refused: the server did not accept user \"" + user + "\" with this password";
      case ErrorKind::refused:
        return "permission denied: " + message;
      case ErrorKind::cancelled:
        return "cancelled";
      default:
        return message;
    }
  }

  asio::awaitable<void> log_in(FtpClient& ftp) {
    if (host.empty()) throw ClientError(ErrorKind::connect, "not connected");
    const std::string h = host;
    const std::string u = user;
    const std::string p = password;
    co_await ftp.connect(h, port);
    co_await ftp.login(u, p);
  }

  // Browsing jobs run one at a time on the browsing connection (FTP has one command in
  // flight per control connection).
  void enqueue(Job job) {
    jobs.push_back(std::move(job));
    if (draining) return;
    draining = true;
    asio::co_spawn(io, drain(), asio::detached);
  }

  asio::awaitable<void> drain() {
    while (!jobs.empty()) {
      Job job = std::move(jobs.front());
      jobs.pop_front();
      co_await job();
    }
    draining = false;
  }

  asio::awaitable<void> open_job() {
    if (std::exchange(open_aborted, false)) {
      to_gui([q = q] {
        q->open_ = false;
        Q_EMIT q->failed(QStringLiteral("cancelled"));
      });
      co_return;
    }
    auto ftp = make_client(0);
    browser = ftp;
    std::string error;
    std::string home = "/";
    try {
      co_await log_in(*ftp);
      if (auto pwd = co_await ftp->working_directory()) home = *pwd;
    } catch (const std::exception& e) {
      error = humane(e);
    }
    if (!error.empty()) {
      if (browser == ftp) browser.reset();
      note_error(0, error);
      to_gui([q = q, reason = to_q(error)] {
        q->open_ = false;
        Q_EMIT q->failed(reason);
      });
      co_return;
    }
    to_gui([q = q, home = to_q(home)] {
      q->open_ = true;
      q->loginDirectory_ = home;
      Q_EMIT q->connected();
    });
  }

  // The browsing connection, reconnected when the server closed it (idle timeout).
  asio::awaitable<std::shared_ptr<FtpClient>> ensure_browser() {
    if (browser && browser->is_connected()) co_return browser;
    if (host.empty()) throw ClientError(ErrorKind::connect, "not connected");
    auto ftp = make_client(0);
    co_await log_in(*ftp);
    browser = ftp;
    co_return ftp;
  }

  asio::awaitable<void> list_job(std::string path) {
    std::string error;
    std::vector<FileInfo> entries;
    bool writable = true;  // unknown: let the server decide
    // A browsing connection the server closed meanwhile (idle timeout, restart) is
    // reopened once, as FileZilla does, instead of failing the listing.
    for (int attempt = 0; attempt < 2; ++attempt) {
      bool lost = false;
      error.clear();
      try {
        std::shared_ptr<FtpClient> ftp = co_await ensure_browser();
        entries = co_await ftp->list(path);
        const client::Features features = co_await ftp->feat();
        if (features.has("MLST")) {
          const std::string line = "MLST " + path;
          const ftp::Reply reply = co_await ftp->command(line);
          for (const std::string& text : reply.lines) {
            std::string_view facts = text;
            while (!facts.empty() && facts.front() == ' ') facts.remove_prefix(1);
            if (auto info = ftp::parse_mlsx_line(facts); info && info->type == FileType::directory) {
              writable = info->writable;
            }
          }
        }
      } catch (const std::exception& e) {
        error = humane(e);
        const auto* client_error = dynamic_cast<const ClientError*>(&e);
        lost = client_error != nullptr && client_error->kind() != ErrorKind::cancelled && browser &&
               !browser->is_connected() && !host.empty();
      }
      if (!lost || attempt > 0) break;
      browser.reset();
      note_error(0, error);
      to_gui([q = q] { Q_EMIT q->transcript(QStringLiteral("Status: connection lost; reconnecting")); });
    }
    if (!error.empty()) {
      note_error(0, error);
      to_gui([q = q, reason = to_q(error)] { Q_EMIT q->browseFailed(reason); });
      co_return;
    }
    QList<RemoteEntry> rows;
    rows.reserve(static_cast<qsizetype>(entries.size()));
    for (const FileInfo& info : entries) rows.push_back(to_entry(info));
    to_gui([q = q, where = to_q(path), rows = std::move(rows), writable] { Q_EMIT q->listing(where, rows, writable); });
  }

  // Leaving is best effort: a server that stopped answering gets a few seconds, not 30.
  asio::awaitable<void> quit_job(std::shared_ptr<FtpClient> ftp) {
    ftp->set_timeout(std::chrono::seconds(3));
    co_await ftp->quit();
  }

  // Starts waiting transfers in order, up to the limit. A download to a local name that a
  // running download writes waits for it: the two would share one .part file.
  void start_waiting() {
    for (auto it = waiting.begin(); it != waiting.end() && running.size() < max_parallel_transfers;) {
      std::shared_ptr<Transfer> transfer = *it;
      const bool busy = !transfer->upload && std::any_of(running.begin(), running.end(), [&](const auto& other) {
        return !other.second->upload && other.second->local == transfer->local;
      });
      if (busy) {
        ++it;
        continue;
      }
      it = waiting.erase(it);
      running[transfer->id] = transfer;
      asio::co_spawn(io, run_transfer(transfer), asio::detached);
    }
  }

  client::ProgressSink progress_for(int id) {
    return [this, id, meter = std::make_shared<Meter>()](std::uint64_t done, std::uint64_t total) {
      const auto now = std::chrono::steady_clock::now();
      if (!meter->started) {
        meter->started = true;
        meter->start = now;
        meter->first = done;
        meter->last = now - progress_interval;
      }
      if (now - meter->last < progress_interval && done != total) return;
      meter->last = now;
      const double seconds = std::chrono::duration<double>(now - meter->start).count();
      const double rate = seconds > 0.05 ? static_cast<double>(done - meter->first) / seconds : 0.0;
      to_gui([q = q, id, done, total, rate] { Q_EMIT q->transferProgress(id, done, total, rate); });
    };
  }

  asio::awaitable<void> run_transfer(std::shared_ptr<Transfer> transfer) {
    to_gui([q = q, id = transfer->id] { Q_EMIT q->transferStarted(id); });
    auto ftp = make_client(transfer->id);
    transfer->client = ftp;
    TransferResult result;
    std::string error;
    try {
      if (transfer->cancelled) throw ClientError(ErrorKind::cancelled, "cancelled");
      co_await log_in(*ftp);
      if (transfer->upload) {
        client::UploadRequest request;
        request.source = transfer->local;
        request.remote_path = transfer->remote_path;
        request.progress = progress_for(transfer->id);
        const client::UploadReceipt receipt = co_await client::upload_file(*ftp, std::move(request));
        result.size = receipt.size;
        result.text = to_q(client::describe(receipt));
        result.state = receipt.verification == client::Verification::matched ? TransferState::verified
                                                                              : TransferState::unverified;
      } else {
        client::DownloadRequest request;
        request.remote_path = transfer->remote_path;
        request.target = transfer->local;
        // Continue only what an earlier attempt of ours left (never an unrelated file under
        // the final name); a cancel removes only a .part file this attempt created.
        std::error_code ignored;
        transfer->resumed = fs::exists(fs::symlink_status(client::partial_path(transfer->local), ignored));
        request.resume = transfer->resumed;
        request.discard_when_cancelled = true;
        request.progress = progress_for(transfer->id);
        const client::DownloadReceipt receipt = co_await client::download_file(*ftp, std::move(request));
        result.size = receipt.size;
        std::string text = client::describe(receipt);
        if (receipt.resumed_from > 0) text += "; resumed after " + std::to_string(receipt.resumed_from) + " bytes";
        result.text = to_q(text);
        result.state = receipt.verification == client::Verification::matched ? TransferState::verified
                                                                              : TransferState::unverified;
      }
    } catch (const std::exception& e) {
      error = transfer->cancelled ? std::string("cancelled") : humane(e);
    }
    if (error.empty()) {
      ftp->set_timeout(std::chrono::seconds(3));
      co_await ftp->quit();
    } else {
      // download_file's message says what became of the .part file; a cancel says it here.
      if (!transfer->upload && transfer->cancelled) {
        error += transfer->resumed ? "; the partial file " + client::partial_path(transfer->local).filename().string() +
                                         " is kept: download again to resume"
                                   : "; nothing was saved";
      }
      result.state = transfer->cancelled ? TransferState::cancelled : TransferState::failed;
      result.text = to_q(error);
      note_error(transfer->id, error);
    }
    running.erase(transfer->id);
    to_gui([q = q, id = transfer->id, result, directory = to_q(transfer->remote_directory)] {
      q->finishTransfer(id, result, directory);
    });
    start_waiting();
  }

  void queue(std::shared_ptr<Transfer> transfer) {
    waiting.push_back(std::move(transfer));
    start_waiting();
  }

  void cancel(int id) {
    for (auto it = waiting.begin(); it != waiting.end(); ++it) {
      if ((*it)->id != id) continue;
      waiting.erase(it);
      TransferResult result;
      result.state = TransferState::cancelled;
      result.text = QStringLiteral("cancelled before it started");
      to_gui([q = q, id, result] { q->finishTransfer(id, result, QString()); });
      return;
    }
    if (auto it = running.find(id); it != running.end()) {
      it->second->cancelled = true;
      cancel_client(it->second->client);
    }
  }

  void cancel_all() {
    std::vector<int> ids;
    for (const auto& transfer : waiting) ids.push_back(transfer->id);
    for (const auto& [id, transfer] : running) ids.push_back(id);
    for (int id : ids) cancel(id);
  }
};

Session::Session(QObject* parent) : QObject(parent), impl_(std::make_unique<Impl>(this)) {
  qRegisterMetaType<ferry::gui::RemoteEntry>();
  qRegisterMetaType<ferry::gui::TransferResult>();
}

Session::~Session() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    impl->cancel_all();
    impl->jobs.clear();
    for (const auto& weak : impl->clients) {
      impl->cancel_client(weak.lock());
    }
  });
  impl->guard.reset();
  // Cancelled operations end at once; hashing a large file may take a moment. Stop the
  // io_context rather than hang the window's closing forever.
  if (impl->finished.get_future().wait_for(std::chrono::seconds(10)) != std::future_status::ready) impl->io.stop();
  impl->thread.join();
}

void Session::open(const ServerAddress& address) {
  address_ = address;
  open_ = false;
  Impl* impl = impl_.get();
  client::TlsOptions tls;
  tls.mode = address.implicitTls ? client::TlsMode::implicit_tls
             : address.tls       ? client::TlsMode::explicit_tls
                                 : client::TlsMode::none;
  tls.ca_file = to_std(address.caFile);
  asio::post(impl->io, [impl, host = to_std(address.host), port = address.port, user = to_std(address.user),
                        password = to_std(address.password), tls] {
    impl->tls = tls;
    impl->cancel_client(impl->browser);
    impl->browser.reset();
    impl->host = host;
    impl->port = port;
    impl->user = user;
    impl->password = password;
    impl->open_aborted = false;
    impl->enqueue([impl] { return impl->open_job(); });
  });
}

void Session::abortOpen() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    if (impl->browser) {
      impl->cancel_client(impl->browser);  // the attempt under way
    } else {
      impl->open_aborted = true;  // the attempt still queued
    }
  });
}

void Session::close() {
  open_ = false;
  address_.password.clear();
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] {
    impl->cancel_all();
    impl->host.clear();
    impl->password.clear();
    if (std::shared_ptr<FtpClient> ftp = std::exchange(impl->browser, nullptr)) {
      impl->enqueue([impl, ftp] { return impl->quit_job(ftp); });
    }
  });
}

void Session::list(const QString& path) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, path = to_std(path)] {
    impl->enqueue([impl, path] { return impl->list_job(path); });
  });
}

int Session::download(const QString& remotePath, quint64 sizeHint, const QString& localDirectory) {
  auto transfer = std::make_shared<Impl::Transfer>();
  transfer->id = nextId_++;
  transfer->remote_path = to_std(remotePath);
  const std::string name = base_name(transfer->remote_path);
  transfer->local = fs::path(to_std(localDirectory)) / name;
  transfer->total = sizeHint;
  active_.push_back(transfer->id);
  Q_EMIT transferQueued(transfer->id, QString::fromStdString(name), false, sizeHint);
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, transfer] { impl->queue(transfer); });
  return transfer->id;
}

int Session::upload(const QString& localFile, const QString& remoteDirectory) {
  auto transfer = std::make_shared<Impl::Transfer>();
  transfer->id = nextId_++;
  transfer->upload = true;
  transfer->local = fs::path(to_std(localFile));
  transfer->remote_directory = to_std(remoteDirectory);
  transfer->remote_path = remote_join(transfer->remote_directory, transfer->local.filename().string());
  const QFileInfo info(localFile);
  transfer->total = static_cast<std::uint64_t>(std::max<qint64>(info.size(), 0));
  active_.push_back(transfer->id);
  Q_EMIT transferQueued(transfer->id, info.fileName(), true, transfer->total);
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, transfer] { impl->queue(transfer); });
  return transfer->id;
}

void Session::cancelTransfer(int id) {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl, id] { impl->cancel(id); });
}

void Session::cancelAllTransfers() {
  Impl* impl = impl_.get();
  asio::post(impl->io, [impl] { impl->cancel_all(); });
}

void Session::finishTransfer(int id, const TransferResult& result, const QString& remoteDirectory) {
  active_.removeAll(id);
  Q_EMIT transferFinished(id, result, remoteDirectory);
  if (active_.isEmpty()) Q_EMIT allTransfersFinished();
}

}  // namespace ferry::gui
