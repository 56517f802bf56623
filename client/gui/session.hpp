// Session: ferry-gui's one door to the server. It owns an Asio io_context on its own thread
// and runs ferry_client_lib's FtpClient jobs there (one connection for browsing, one per
// transfer); every result comes back to the GUI thread as a queued call that emits a signal.
// No Asio type appears here, so widget code never includes Asio.
#pragma once

#include <QList>
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>

namespace ferry::gui {

struct ServerAddress {
  QString host;
  quint16 port = 21;
  QString user;
  QString password;
  bool tls = false;          // explicit FTPS (AUTH TLS); data connections use PROT P
  bool implicitTls = false;  // ftps://: TLS from the first byte
  QString caFile;            // PEM to trust besides the system store ("" = system only)
};

// One entry of a remote directory, as the remote table shows it.
struct RemoteEntry {
  QString name;
  bool directory = false;
  bool symlink = false;
  quint64 size = 0;
  qint64 mtime = 0;  // seconds since the epoch, UTC
};

enum class TransferState { queued, running, verified, unverified, failed, cancelled };

// How a transfer ended, for the transfer list's last column.
struct TransferResult {
  TransferState state = TransferState::failed;
  QString text;  // "received N bytes, SHA-256 matches the server (...)" or the reason
  quint64 size = 0;
};

class Session : public QObject {
  Q_OBJECT

 public:
  explicit Session(QObject* parent = nullptr);
  // Cancels whatever runs, waits (bounded) for the Asio thread to finish, and joins it.
  ~Session() override;

  // Connect and log in on the browsing connection; then `connected` or `failed`. A transfer
  // opens its own connection with the same address and credentials.
  void open(const ServerAddress& address);
  // Abandons a connection attempt in progress (the attempt ends with `failed("cancelled")`).
  void abortOpen();
  // Closes every connection (transfers are cancelled) and forgets the credentials.
  void close();
  bool isOpen() const { return open_; }
  const ServerAddress& address() const { return address_; }
  // Where the login landed (PWD), "/" when the server did not say; set before `connected`.
  const QString& loginDirectory() const { return loginDirectory_; }

  // Lists a remote directory (an absolute path); then `listing` or `browseFailed`.
  void list(const QString& path);

  // Queue a transfer; returns its id. At most three run at once, each on its own
  // connection; `transferQueued`, `transferProgress` and `transferFinished` report it.
  int download(const QString& remotePath, quint64 sizeHint, const QString& localDirectory);
  int upload(const QString& localFile, const QString& remoteDirectory);
  void cancelTransfer(int id);
  void cancelAllTransfers();
  int activeTransfers() const { return static_cast<int>(active_.size()); }

 Q_SIGNALS:
  void connected();
  void failed(const QString& reason);        // connect or login failed; the form stays usable
  void browseFailed(const QString& reason);  // listing a directory failed
  void listing(const QString& path, const QList<ferry::gui::RemoteEntry>& entries, bool writable);
  void transcript(const QString& line);  // "Command: ...", "Response: ...", "Status: ...", "Error: ..."
  void transferQueued(int id, const QString& name, bool upload, quint64 total);
  void transferStarted(int id);
  // Bytes of the file present so far, its size (0: unknown) and the rate in bytes/s.
  void transferProgress(int id, quint64 done, quint64 total, double rate);
  void transferFinished(int id, const ferry::gui::TransferResult& result, const QString& remoteDirectory);
  void allTransfersFinished();

 private:
  struct Impl;
  void finishTransfer(int id, const TransferResult& result, const QString& remoteDirectory);

  std::unique_ptr<Impl> impl_;
  ServerAddress address_;
  QString loginDirectory_ = QStringLiteral("/");
  bool open_ = false;
  int nextId_ = 1;
  QList<int> active_;
};

}  // namespace ferry::gui

Q_DECLARE_METATYPE(ferry::gui::RemoteEntry)
Q_DECLARE_METATYPE(ferry::gui::TransferResult)
